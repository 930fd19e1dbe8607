import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { VERBS, type PolicyAccess, type PolicyService, type Verb } from '@dfc/schema';
import { compilePolicy } from './compiled.js';
import { decide } from './decide.js';
import { makeArtifact, makePolicy } from './testing.js';

/**
 * Properties of decide() over generated roles and requests (Cedar's theorems where they
 * hold for DreamFactory's tiers): the order of access entries and duplicates do not
 * matter; nothing is allowed without a rule; a denying rule always denies; the role
 * filter of the deciding tier is always part of the where clause.
 */

const table = (): PolicyService['tables'][string] => ({ primaryKey: 'id', columns: { id: { type: 'integer', nullable: false }, owner: { type: 'string', nullable: false } } });
const services: Record<string, PolicyService> = {
  a: { database: { type: 'sqlite', file: ':memory:' }, maxRecords: 10, security: [{ name: 'anyone', type: 'allowAnonymous' }], tables: { t1: table(), t2: table() } },
  b: { database: { type: 'sqlite', file: ':memory:' }, maxRecords: 10, security: [{ name: 'anyone', type: 'allowAnonymous' }], tables: { t1: table() } },
};

const entryArb: fc.Arbitrary<PolicyAccess> = fc.record({
  service: fc.constantFrom('a', 'b', '*'),
  component: fc.constantFrom('*', '_table/*', '_table/t1', '_table/t2', '_table/t*', '_schema', '_doc'),
  verbs: fc.subarray([...VERBS] as Verb[]),
  requestor: fc.constantFrom<('api' | 'script')[]>(['api'], ['script'], ['api', 'script']),
  filters: fc.constantFrom([], [{ name: 'owner', operator: '=' as const, value: '{user.id}' }]),
  filterOp: fc.constantFrom<'AND' | 'OR'>('AND', 'OR'),
});

const requestArb = fc.record({
  service: fc.constantFrom('a', 'b'),
  table: fc.constantFrom('t1', 't2'),
  verb: fc.constantFrom(...(VERBS as readonly Verb[])),
});

const allow = () => ({ allow: true });
const rulesFor = (fn: () => { allow: boolean }) => {
  const out: Record<string, () => { allow: boolean }> = {};
  for (const s of ['a', 'b']) for (const t of ['t1', 't2']) for (const op of ['create', 'read', 'update', 'delete']) out[`${s}/${t}/${op}`] = fn;
  return out;
};
const ruleJson = { a: { t1: {}, t2: {} }, b: { t1: {} } } as Record<string, Record<string, Record<string, unknown>>>;
for (const s of Object.values(ruleJson)) for (const t of Object.values(s)) for (const op of ['create', 'read', 'update', 'delete']) t[op] = { rule: 'allow' };

function compiled(access: PolicyAccess[], rule = allow) {
  const policy = makePolicy({
    services,
    rules: ruleJson as never,
    roles: { r: { active: true, access } },
    apps: { app: { apiKey: { $secret: 'K' }, role: 'r', roles: [], active: true } },
  });
  return compilePolicy(makeArtifact(policy, { rules: rulesFor(rule) }), { env: { K: 'key-0123456789' } });
}

const outcome = async (c: ReturnType<typeof compiled>, r: { service: string; table: string; verb: Verb }) => {
  const d = await decide(c, { app: 'app', claims: { id: 'u1' }, ...r });
  return d.allow ? { allow: true, where: d.where } : { allow: false, code: d.error.code };
};

describe('decide() properties', () => {
  test('entry order and duplicates do not change any decision', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(entryArb, { maxLength: 6 }), requestArb, fc.nat(), async (entries, req, seed) => {
        const shuffled = [...entries].sort((x, y) => ((JSON.stringify(x).length * 31 + seed) % 7) - ((JSON.stringify(y).length * 17 + seed) % 5));
        const doubled = [...entries, ...entries.slice(0, seed % (entries.length + 1))];
        const base = await outcome(compiled(entries), req);
        expect(await outcome(compiled(shuffled), req)).toEqual(base);
        expect(await outcome(compiled(doubled), req)).toEqual(base);
      }),
      { numRuns: 300 },
    );
  });

  test('whatever the access, a denying rule denies and nothing passes without the verb granted', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(entryArb, { maxLength: 6 }), requestArb, async (entries, req) => {
        const denied = await outcome(compiled(entries, () => ({ allow: false })), req);
        expect(denied.allow).toBe(false);
        const allowed = await outcome(compiled(entries), req);
        if (allowed.allow) {
          // some api entry for this service (or all services) grants the verb
          expect(entries.some((e) => e.requestor.includes('api') && e.verbs.includes(req.verb) && (e.service === req.service || e.service === '*'))).toBe(true);
        }
      }),
      { numRuns: 300 },
    );
  });

  test('an allowed request carries the owner filter whenever every granting entry has it', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(entryArb, { minLength: 1, maxLength: 4 }), requestArb, async (entries, req) => {
        const filtered = entries.map((e) => ({ ...e, filters: [{ name: 'owner', operator: '=' as const, value: '{user.id}' }] }));
        const d = await outcome(compiled(filtered), req);
        if (d.allow) expect(d.where).toEqual({ kind: 'cmp', column: 'owner', op: '=', value: 'u1' });
      }),
      { numRuns: 300 },
    );
  });
});
