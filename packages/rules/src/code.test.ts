import { describe, expect, test } from 'vitest';
import { Code, Name, _, join, jsonText, lit, name, quote } from './code.js';
import { Scope } from './scope.js';

describe('the codegen kit', () => {
  test('`_` splices Code as is and quotes everything else', () => {
    const n = name('v0');
    expect(String(_`${n} === ${'a"b'}`)).toBe('v0 === "a\\"b"');
    expect(String(_`f(${1}, ${-2}, ${-0}, ${true}, ${null})`)).toBe('f(1, (-2), (-0), true, null)');
    expect(String(_`x = ${'${process.exit(1)}`'}`)).toBe('x = "${process.exit(1)}`"');
  });

  test('U+2028 and U+2029 are escaped (they end a line, and a comment, in JS)', () => {
    const s = quote('a\u2028b\u2029c');
    expect(s).toBe('"a\\u2028b\\u2029c"');
    expect(s).not.toMatch(/[\u2028\u2029]/);
    expect(new Function(`return ${s};`)()).toBe('a\u2028b\u2029c');
  });

  test('lit refuses what JSON would silently change', () => {
    for (const bad of [NaN, Infinity, -Infinity, undefined, () => 1, Symbol('x'), 1n, { a: 1 }, [1]]) {
      expect(() => lit(bad), String(typeof bad)).toThrow(TypeError);
    }
  });

  test('names are identifiers and never reserved words or dangerous globals', () => {
    for (const bad of ['1x', '-x', 'a b', 'a.b', '', 'eval', 'constructor', '__proto__', 'return', 'globalThis', 'a\u2028']) {
      expect(() => name(bad), bad).toThrow(TypeError);
    }
    expect(name('k12')).toBeInstanceOf(Name);
  });

  test('Code cannot be made outside the kit', () => {
    expect(() => new (Code as unknown as new (t: symbol, s: string) => Code)(Symbol('dfc.code'), 'evil()')).toThrow(TypeError);
    expect(() => join(['x' as unknown as Code])).toThrow(TypeError);
  });

  test('jsonText keeps -0 and key order, and refuses cycles and non-plain objects', () => {
    expect(jsonText({ b: -0, a: [1, 'x'] })).toBe('{"b":-0,"a":[1,"x"]}');
    expect(JSON.parse(jsonText({ v: -0 })).v).toBe(-0);
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    expect(() => jsonText(cyclic)).toThrow(TypeError);
    expect(() => jsonText(new Date())).toThrow(TypeError);
    expect(() => jsonText({ n: NaN })).toThrow(TypeError);
  });

  test('the scope mints names from counters and deduplicates constants', () => {
    const s = new Scope();
    expect(String(s.mint('v'))).toBe('v0');
    expect(String(s.mint('v'))).toBe('v1');
    const a = s.set(['admin', 'x']);
    expect(s.set(['admin', 'x'])).toBe(a);
    expect(s.json({ __proto__: 1 })).not.toBe(a);
    expect(String(s.declarations)).toBe('const k0 = set(["admin", "x"]);\nconst k1 = json("{}");');
    expect(s.helpers).toEqual(['json', 'set']);
    expect(() => s.h('eval' as never)).toThrow(TypeError);
  });

  test('a scope with parameters keeps apart the declarations that depend on them, directly or through another declaration', () => {
    const P = name('P');
    const s = new Scope([P]);
    const roles = s.set(['admin', 'member']);
    const fields = s.strings(['password']);
    const quoted = s.hoist(_`f(${'P'}, ${'a \\" P'})`);
    const denial = s.hoist(_`denial(${'denied'}, ${P} + ${'.clause'}, ${fields})`);
    const decision = s.hoist(_`respond([${denial}])`);
    s.declare(name('r0'), _`(input) => ${roles}.has(input)`);
    s.declare(name('r1'), _`(input) => ${decision}`);
    expect(String(s.shared)).toBe(
      [`const ${roles} = set(["admin", "member"]);`, `const ${fields} = json("[\\"password\\"]");`, `const ${quoted} = f("P", "a \\\\\\" P");`, 'const r0 = (input) => k0.has(input);'].join('\n'),
    );
    expect(String(s.own)).toBe([`const ${denial} = denial("denied", P + ".clause", k1);`, `const ${decision} = respond([k3]);`, 'const r1 = (input) => k4;'].join('\n'));
    // Without parameters, everything is shared, in order.
    const t = new Scope();
    t.hoist(_`denial(${P})`);
    expect(String(t.own)).toBe('');
    expect(String(t.shared)).toBe(String(t.declarations));
  });
});
