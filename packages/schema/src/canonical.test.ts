import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { canonicalJson, exactJson, hashedPolicyJson, isExactJson, policyHash, prettyCanonicalJson } from './canonical.js';

describe('canonical JSON', () => {
  test('sorts keys at every depth and drops undefined members', () => {
    expect(canonicalJson({ b: 1, a: { d: [3, { z: 1, y: undefined, x: 2 }], c: null } })).toBe(
      '{"a":{"c":null,"d":[3,{"x":2,"z":1}]},"b":1}',
    );
  });

  test('orders integer-like keys by code unit too, and keeps an own `__proto__` key', () => {
    expect(canonicalJson({ b: 1, 10: 'x', 2: 'y', a: [{ 1: true, '01': false }] })).toBe('{"10":"x","2":"y","a":[{"01":false,"1":true}],"b":1}');
    expect(canonicalJson(JSON.parse('{"z":0,"__proto__":{"b":1,"a":2}}'))).toBe('{"__proto__":{"a":2,"b":1},"z":0}');
    expect(prettyCanonicalJson({ 3: [], 1: {} })).toBe('{\n  "1": {},\n  "3": []\n}');
  });

  test('prints objects that are not plain by their own enumerable keys', () => {
    expect(canonicalJson({ d: new Date(0), m: new Map([[1, 2]]), s: Object.assign(Object.create(null), { b: 2, a: 1 }) })).toBe(
      '{"d":{},"m":{},"s":{"a":1,"b":2}}',
    );
  });

  test('escapes U+2028 and U+2029 so the text is also a valid JS literal', () => {
    expect(canonicalJson({ s: 'a\u2028b\u2029c' })).toBe('{"s":"a\\u2028b\\u2029c"}');
  });

  test('refuses values JSON cannot hold faithfully', () => {
    expect(() => canonicalJson({ n: Number.NaN })).toThrow(/non-finite/);
    expect(() => canonicalJson({ n: Infinity })).toThrow(/non-finite/);
    expect(() => canonicalJson({ f: () => 1 })).toThrow(/function/);
    expect(() => canonicalJson({ b: 10n })).toThrow(/bigint/);
  });

  test('pretty form parses to the same value and is stable under key order', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (value) => {
        const text = prettyCanonicalJson(value);
        expect(canonicalJson(JSON.parse(text))).toBe(canonicalJson(value));
        const shuffled = JSON.parse(JSON.stringify(value), (_k, v) =>
          v && typeof v === 'object' && !Array.isArray(v) ? Object.fromEntries(Object.entries(v).reverse()) : v,
        );
        expect(prettyCanonicalJson(shuffled)).toBe(text);
      }),
      { numRuns: 300 },
    );
  });

  test('policyHash ignores the hash field and changes with any other field', () => {
    const a = { x: 1, hash: 'sha256:old' };
    expect(policyHash(a)).toBe(policyHash({ x: 1, hash: 'sha256:new' }));
    expect(policyHash(a)).not.toBe(policyHash({ x: 2, hash: 'sha256:old' }));
    expect(policyHash(a)).toMatch(/^sha256:[0-9a-f]{64}$/);
  });

  test('hashedPolicyJson gives policyHash and the pretty canonical JSON of the policy with that hash', () => {
    const same = (policy: Record<string, unknown>) => {
      const { hash, text } = hashedPolicyJson(policy);
      expect(hash).toBe(policyHash(policy));
      expect(text).toBe(prettyCanonicalJson({ ...policy, hash }));
    };
    same({});
    same({ hash: 'sha256:old' });
    same({ zeta: 1, alpha: { b: [1, 'x'] }, hash: 'stale' });
    same({ a: 1, b: 2 });
    same({ x: 1, y: undefined });
    same({ hasha: 1, has: 2, 'hash ': 3, H: 4, 'h\u2028': 'a\u2028b' });
    same(JSON.parse('{"__proto__":{"b":1},"zz":2}'));
    same({ 10: 'x', 2: 'y', rules: { 1: true } });
    fc.assert(
      fc.property(fc.dictionary(fc.string(), fc.jsonValue()), (policy) => same(policy)),
      { numRuns: 300 },
    );
  });
});

describe('exactJson', () => {
  test('is JSON.stringify for plain data, key order included', () => {
    const value = { b: [1, 'x', true, null, { a: -1.5 }], a: {} };
    expect(exactJson(value)).toBe(JSON.stringify(value));
    expect(exactJson({ a: 1, b: 2 })).not.toBe(exactJson({ b: 2, a: 1 }));
    expect(exactJson(JSON.parse('{"__proto__":{"a":1}}'))).toBe('{"__proto__":{"a":1}}');
  });

  test('is undefined for values JSON drops or changes, and past the depth given', () => {
    for (const value of [-0, NaN, Infinity, undefined, () => 1, 1n, new Date(0), [1, , 2], { a: undefined }, { a: [{ b: -0 }] }, Symbol('s')]) {
      expect(exactJson(value), String(value)).toBeUndefined();
    }
    expect(exactJson({ a: { b: {} } }, 2)).toBeUndefined();
    expect(exactJson({ a: { b: {} } }, 3)).toBe('{"a":{"b":{}}}');
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    expect(exactJson(cyclic)).toBeUndefined();
  });

  test('isExactJson treats the objects `refuse` names as not plain, at any depth', () => {
    const code = (o: object) => (o as { rule?: unknown }).rule === 'code';
    expect(isExactJson({ rule: 'and', clauses: [{ rule: 'allow' }] }, 256, code)).toBe(true);
    expect(isExactJson({ rule: 'and', clauses: [{ rule: 'code', id: 'c0' }] }, 256, code)).toBe(false);
    expect(isExactJson({ rule: 'code' }, 256, code)).toBe(false);
    expect(isExactJson({ rule: 'code' })).toBe(true);
  });
});
