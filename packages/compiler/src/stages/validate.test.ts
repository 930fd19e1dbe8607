import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { isDiagnosticCode } from '../diagnostics/codes.js';
import { Locator } from '../source/locate.js';
import { analyze } from './analyze.js';
import { normalize } from './normalize.js';
import { validate } from './validate.js';

// Security checklist C6: whatever the config module exports, validation (and the stages
// after it) give diagnostics or a policy, never an exception.

const base = {
  services: [
    {
      name: 'blog',
      database: { type: 'sqlite', file: './blog.db' },
      tables: { posts: { columns: { id: 'integer', userId: 'string' }, primaryKey: 'id' } },
      security: { signedIn: { type: 'authenticated' } },
    },
  ],
  rules: [
    {
      service: 'blog',
      table: 'posts',
      rules: {
        read: { rule: 'or', clauses: [{ rule: 'allow' }, { rule: 'match', eval: 'in', type: 'string', f1: 'args.auth.role', f2: ['a'] }] },
        update: { rule: 'and', clauses: [{ rule: 'force', field: 'args.doc.userId', value: 'args.auth.id' }] },
      },
    },
  ],
  roles: [{ name: 'editor', access: [{ service: 'blog', component: '_table/posts', verbs: ['GET'], filters: [{ name: 'userId', operator: '=', value: '{user.id}' }] }] }],
  apps: [{ name: 'web', apiKey: { $secret: 'K' }, role: 'editor' }],
  cors: [{ path: '/api/v2/*', origins: ['https://a.example'], methods: ['GET'] }],
  auth: { jwt: { secret: { $secret: 'J' }, issuer: 'i', audience: 'a' } },
};

function run(value: unknown): void {
  const locator = new Locator({ root: value, sites: new WeakMap(), entry: '/nowhere/dfc.config.ts' });
  const v = validate({ value, locator });
  for (const d of v.diagnostics) {
    expect(isDiagnosticCode(d.code)).toBe(true);
    expect(d.message).not.toMatch(/[\n\r]/);
  }
  if (!v.config) {
    expect(v.diagnostics.length).toBeGreaterThan(0);
    return;
  }
  const n = normalize({ config: v.config, root: value, locator });
  if (!n.policy) return;
  const a = analyze({ config: v.config, policy: n.policy, origins: n.origins, root: value, locator });
  expect(a.diagnostics.filter((d) => d.code.startsWith('DFC9'))).toEqual([]);
}

/** The base config with one value somewhere replaced by anything at all. */
const mutated = fc
  .tuple(fc.nat(), fc.anything({ withNullPrototype: true, withObjectString: true, withBoxedValues: true, maxDepth: 3 }))
  .map(([pick, replacement]) => {
    const copy = structuredClone(base) as Record<string, unknown>;
    const slots: [Record<string | number, unknown>, string | number][] = [];
    const walk = (v: unknown) => {
      if (v === null || typeof v !== 'object') return;
      for (const k of Object.keys(v)) {
        slots.push([v as Record<string, unknown>, Array.isArray(v) ? Number(k) : k]);
        walk((v as Record<string, unknown>)[k]);
      }
    };
    walk(copy);
    const [owner, key] = slots[pick % slots.length]!;
    owner[key] = replacement;
    return copy;
  });

describe('validate never throws', () => {
  test('the base config is valid', () => {
    const locator = new Locator({ root: base, sites: new WeakMap(), entry: '/x.ts' });
    expect(validate({ value: base, locator }).diagnostics).toEqual([]);
  });
  test('on arbitrary values', () => {
    fc.assert(fc.property(fc.anything({ maxDepth: 4 }), (value) => run(value)), { numRuns: 2000 });
  });
  test('on configs with one part replaced by anything', () => {
    fc.assert(fc.property(mutated, (value) => run(value)), { numRuns: 2000 });
  });
  test('on cycles, deep nesting and prototype keys', () => {
    const cyclic = structuredClone(base) as { rules: { rules: { read: { clauses: unknown[] } } }[] };
    cyclic.rules[0]!.rules.read.clauses.push(cyclic.rules[0]!.rules.read);
    let deep: unknown = { rule: 'allow' };
    for (let i = 0; i < 10_000; i++) deep = { rule: 'and', clauses: [deep] };
    const proto = JSON.parse('{"services":[{"name":"x","database":{"type":"sqlite","file":"a"},"tables":{"__proto__":{"columns":{},"primaryKey":"id"}}}]}');
    for (const value of [cyclic, { ...base, rules: [{ service: 'blog', table: 'posts', rules: { read: deep } }] }, proto]) {
      const locator = new Locator({ root: value, sites: new WeakMap(), entry: '/x.ts' });
      const out = validate({ value, locator });
      expect(out.config).toBeUndefined();
      expect(out.diagnostics.length).toBeGreaterThan(0);
    }
  });
  test('an object shared by several places is refused wherever it nests too deep or holds a prototype key', () => {
    // 200 levels: within the limit from the top, beyond it below 100 more.
    let shared: unknown = JSON.parse('{"__proto__":1}');
    for (let i = 0; i < 200; i++) shared = { a: shared };
    let deeper: unknown = shared;
    for (let i = 0; i < 100; i++) deeper = [deeper];
    const value = { ...base, x: shared, y: [shared, deeper] };
    const locator = new Locator({ root: value, sites: new WeakMap(), entry: '/x.ts' });
    const out = validate({ value, locator });
    expect(out.diagnostics.map((d) => [d.code, d.path?.split('.a').length])).toEqual([
      ['DFC3012', 201],
      ['DFC3012', 201],
      ['DFC3008', 156],
    ]);
    // Without the prototype key, the shared object is walked once from the top and again where it goes too deep.
    let plain: unknown = { leaf: true };
    for (let i = 0; i < 200; i++) plain = { a: plain };
    let below: unknown = plain;
    for (let i = 0; i < 100; i++) below = [below];
    const again = { ...base, x: plain, y: [plain, plain, below] };
    const codes = validate({ value: again, locator: new Locator({ root: again, sites: new WeakMap(), entry: '/x.ts' }) }).diagnostics.map((d) => d.code);
    expect(codes).toEqual(['DFC3008']);
  });
});

test('with a cache, rule sets parsed before are taken from it, and the result and the diagnostics are those of a parse without it', () => {
  const locate = (value: unknown) => new Locator({ root: value, sites: new WeakMap(), entry: '/nowhere/dfc.config.ts' });
  const withTwo = (second: unknown) => ({ ...base, rules: [base.rules[0], second] });
  const posts = { service: 'blog', table: 'default', rules: { read: { rule: 'allow' } } };
  const cache = {};
  const first = validate({ value: withTwo(posts), locator: locate(withTwo(posts)), cache });
  expect(first.diagnostics).toEqual([]);
  expect(first.config).toEqual(validate({ value: withTwo(posts), locator: locate(withTwo(posts)) }).config);

  // The second rule set changes: the first comes from the cache, the second is parsed.
  const changed = { service: 'blog', table: 'default', rules: { read: { rule: 'deny' } } };
  const second = validate({ value: withTwo(changed), locator: locate(withTwo(changed)), cache });
  expect(second.config).toEqual(validate({ value: withTwo(changed), locator: locate(withTwo(changed)) }).config);
  expect(second.config?.rules?.[0]).toBe(first.config?.rules?.[0]);
  expect(second.config?.rules?.[1]).not.toBe(first.config?.rules?.[1]);

  // A rule set that does not parse is reported at its own index, as without the cache.
  const wrong = { service: 'blog', table: 'default', rules: { read: { rule: 'alow' } } };
  const failed = validate({ value: withTwo(wrong), locator: locate(withTwo(wrong)), cache });
  expect(failed.config).toBeUndefined();
  expect(failed.diagnostics.map((d) => d.path)).toEqual(['rules.blog.default.read.rule']);
  expect(failed.diagnostics).toEqual(validate({ value: withTwo(wrong), locator: locate(withTwo(wrong)) }).diagnostics);

  // A rule set with a function (no exact JSON) is parsed every time.
  const coded = { service: 'blog', table: 'default', rules: { read: { rule: 'code', fn: () => true } } };
  const a = validate({ value: withTwo(coded), locator: locate(withTwo(coded)), cache });
  const b = validate({ value: withTwo(coded), locator: locate(withTwo(coded)), cache });
  expect(b.config?.rules?.[1]).not.toBe(a.config?.rules?.[1]);
  expect(b.config?.rules?.[0]).toBe(first.config?.rules?.[0]);
});
