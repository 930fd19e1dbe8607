/**
 * Cedar's authorization theorems, restated for dfc rules and checked as properties of
 * the interpreter and of compiled closures (checklist Z1, Z14):
 * - deny trumps allow: `and(r, deny)` never allows;
 * - allow needs a satisfied rule: an allowing `or` has a clause that allows on its own;
 * - monotonicity: adding an `or` clause after an allowing rule never removes access,
 *   adding an `and` clause never grants it;
 * - a rule that errs is never the reason for an allow (fault injection per rule kind);
 * - concurrent evaluations do not see each other.
 */
import fc from 'fast-check';
import { expect, test } from 'vitest';
import { compile, evaluate, type Decision, type RuleContext, type RuleInput } from '@dfc/rules';
import type { Rule } from '@dfc/schema';
import { fuzzSettings, inputArb, makeHost, ruleArb } from './arbitraries.js';

async function allowed(rule: Rule, input: RuleInput, variant: number): Promise<Decision | undefined> {
  try {
    return await evaluate(rule, structuredClone(input), makeHost(variant).ctx);
  } catch {
    return undefined; // refused by validation: not a decision
  }
}

const authed = inputArb.map((i) => ({ ...i, args: { ...i.args, auth: { id: 'u1', role: 'admin', age: 30 } } }));

test('deny trumps allow, and monotonicity of and/or', async () => {
  const { seed, numRuns } = fuzzSettings(600);
  console.log(`properties: seed ${seed}, ${numRuns} runs`);
  await fc.assert(
    fc.asyncProperty(ruleArb(2), ruleArb(2), authed, fc.integer({ min: 0, max: 4 }), async (r, x, input, variant) => {
      const alone = await allowed(r, input, variant);
      if (alone === undefined) return;
      const withDeny = await allowed({ rule: 'and', clauses: [r, { rule: 'deny' }] }, input, variant);
      expect(withDeny?.allow).toBe(false);
      const orX = await allowed({ rule: 'or', clauses: [r, x] }, input, variant);
      if (alone.allow && orX) expect(orX.allow).toBe(true);
      const andX = await allowed({ rule: 'and', clauses: [r, x] }, input, variant);
      if (andX?.allow) expect(alone.allow).toBe(true);
      // An allowing `or` has a clause that allows on its own (with the mutations of the clauses before it).
      if (orX?.allow) {
        const first = await allowed(r, input, variant);
        const second = await allowed({ rule: 'and', clauses: [{ rule: 'or', clauses: [r, { rule: 'allow' }] }, x] }, input, variant);
        expect(first?.allow === true || second?.allow === true).toBe(true);
      }
    }),
    { seed, numRuns },
  );
}, 120_000);

/**
 * A host whose every I/O fails in the given way. (A hanging database is the host's to
 * time out: the engine bounds only webhooks, so `hang` leaves queries failing fast.)
 */
function faulty(kind: 'throw' | 'hang' | 'garbage'): RuleContext {
  const fail = <T>(): Promise<T> =>
    kind === 'throw' ? Promise.reject(new Error('injected')) : kind === 'hang' ? new Promise<T>(() => undefined) : Promise.resolve('garbage' as T);
  return {
    query: () => (kind === 'hang' ? Promise.reject(new Error('statement timeout')) : fail()),
    fetch: () => fail(),
    crypto: {
      encrypt: () => {
        throw new Error('injected');
      },
      decrypt: () => {
        throw new Error('injected');
      },
    },
    code: { c: () => { throw new Error('injected'); }, a: async () => { throw new Error('injected'); } },
  };
}

test('fault injection: every rule kind that does I/O denies when the I/O fails', async () => {
  const code = (id: string, async: boolean): Rule => ({ rule: 'code', id, sourceHash: 'sha256:' + '0'.repeat(64), async });
  const rules: Rule[] = [
    { rule: 'query', db: 'blog', col: 'posts', find: { a: 1 } },
    { rule: 'query', db: 'blog', col: 'posts', find: {}, clause: { rule: 'allow' } },
    { rule: 'webhook', url: 'https://hooks.example.com/x', timeout: 20 },
    { rule: 'webhook', url: 'https://hooks.example.com/x', timeout: 20, clause: { rule: 'allow' } },
    { rule: 'encrypt', fields: ['args.doc.secret'] },
    { rule: 'decrypt', fields: ['args.doc.secret'] },
    { rule: 'decrypt', fields: ['res.secret'] },
    code('c', false),
    code('a', true),
    { rule: 'remove', fields: ['res.x'], clause: { rule: 'query', db: 'blog', col: 'posts', find: {}, clause: { rule: 'allow' } } },
    { rule: 'force', field: 'args.doc.x', value: 1, clause: { rule: 'webhook', url: 'https://hooks.example.com/x', timeout: 20 } },
  ];
  let checked = 0;
  for (const rule of rules) {
    for (const kind of ['throw', 'hang', 'garbage'] as const) {
      for (const wrap of [(r: Rule) => r, (r: Rule): Rule => ({ rule: 'and', clauses: [{ rule: 'authenticated' }, r] }), (r: Rule): Rule => ({ rule: 'or', clauses: [{ rule: 'deny' }, r] })]) {
        const r = wrap(rule);
        const input: RuleInput = { args: { auth: { id: 'u1' }, doc: { secret: 's' } }, res: { secret: 's', x: 1 } };
        const a = await evaluate(r, structuredClone(input), faulty(kind));
        const b = await compile(r)(structuredClone(input), faulty(kind));
        expect(a.allow, JSON.stringify([r, kind])).toBe(false);
        expect(b).toEqual(a);
        expect(a.status === 403 || a.status === 500).toBe(true);
        checked++;
      }
    }
  }
  expect(checked).toBe(rules.length * 9);
}, 60_000);

test('1,000 interleaved evaluations give the sequential results; closures are frozen', async () => {
  const cases = fc.sample(fc.tuple(ruleArb(2), authed, fc.integer({ min: 0, max: 4 })), { numRuns: 1000, seed: 42 });
  const compiled = cases.map(([r]) => {
    try {
      return compile(r);
    } catch {
      return undefined;
    }
  });
  const run = (i: number) => {
    const f = compiled[i];
    const [, input, variant] = cases[i]!;
    return f ? Promise.resolve(f(structuredClone(input), makeHost(variant).ctx)) : Promise.resolve(undefined);
  };
  const sequential: unknown[] = [];
  for (let i = 0; i < cases.length; i++) sequential.push(await run(i));
  const concurrent = await Promise.all(cases.map((_, i) => run(i)));
  expect(concurrent).toEqual(sequential);
  for (const f of compiled) if (f) expect(Object.isFrozen(f)).toBe(true);
}, 120_000);
