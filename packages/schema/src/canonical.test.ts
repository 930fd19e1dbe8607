import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { canonicalJson, policyHash, prettyCanonicalJson } from './canonical.js';

describe('canonical JSON', () => {
  test('sorts keys at every depth and drops undefined members', () => {
    expect(canonicalJson({ b: 1, a: { d: [3, { z: 1, y: undefined, x: 2 }], c: null } })).toBe(
      '{"a":{"c":null,"d":[3,{"x":2,"z":1}]},"b":1}',
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
});
