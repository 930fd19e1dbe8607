/**
 * The hostile-input corpus (checklist C1–C5): every value of hostile.json used as a
 * rule name, error message, string literal, path segment, list element, force value,
 * query table and find key/value, webhook URL, requirement and role name, rule key and
 * config path → generate → parse-and-check → import. Nothing injected ever runs (a
 * canary global, `process.exit` and `Object.prototype` stay untouched), the module
 * always parses, and its closures decide as the interpreter does.
 */
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { compile, evaluate, evaluateRequirements, generate, InvalidRuleError, type CompiledRule, type RequirementCollection, type RuleInput } from '@dfc/rules';
import type { Json, PolicyRequirement, Rule } from '@dfc/schema';
import { assertModuleIsSafe, moduleProblems } from './module-check.js';
import { makeHost } from '../differential/arbitraries.js';

const corpus = JSON.parse(readFileSync(join(import.meta.dirname, 'hostile.json'), 'utf8')) as { strings: string[]; numbers: number[]; values: Json[] };
const TMP = join(import.meta.dirname, '..', '.tmp', `hostile-${process.pid}`);

const g = globalThis as Record<string, unknown>;
const realExit = process.exit;
let exitCalls = 0;
beforeAll(() => {
  mkdirSync(TMP, { recursive: true });
  delete g.__pwned;
  process.exit = ((): never => {
    exitCalls++;
    throw new Error('process.exit called by generated code');
  }) as typeof process.exit;
});
afterAll(() => {
  process.exit = realExit;
  rmSync(TMP, { recursive: true, force: true });
});

function untouched(): void {
  expect(g.__pwned).toBeUndefined();
  expect(exitCalls).toBe(0);
  expect(Object.getOwnPropertyNames(Object.prototype).sort()).toEqual(PROTO_KEYS);
  expect(({} as Record<string, unknown>).isAdmin).toBeUndefined();
}
const PROTO_KEYS = Object.getOwnPropertyNames(Object.prototype).sort();

/** Rules that put `s` in every position a rule has. */
function rulesFor(s: string): Rule[] {
  return [
    { rule: 'deny', name: s, error: s || 'x' },
    { rule: 'match', eval: '==', type: 'string', f1: 'args.auth.id', f2: s, name: s || 'n' },
    { rule: 'match', eval: 'in', type: 'string', f1: 'args.auth.id', f2: [s, 'x', 'args.auth.id'] },
    { rule: 'match', eval: '==', type: 'string', f1: `args.find.${s}`, f2: 'args.auth.id' },
    { rule: 'match', eval: '==', type: 'number', f1: 5, f2: s },
    { rule: 'match', eval: '>', type: 'date', f1: s, f2: '2020-01-01' },
    { rule: 'match', eval: '==', type: 'bool', f1: `utils.exists(args.find.${s})`, f2: true },
    { rule: 'force', field: `args.doc.${s || 'x'}`, value: s },
    { rule: 'force', field: 'args.doc.v', value: { [s]: [s, { [s]: s }] } },
    { rule: 'remove', fields: [`res.${s || 'x'}`, `args.find.${s || 'x'}`] },
    { rule: 'hash', fields: [`res.${s || 'x'}`] },
    { rule: 'query', db: s || 'db', col: s || 'col', find: { [s]: s, nested: { $in: [s, `args.find.${s}`] } }, store: 'args.q' },
    { rule: 'webhook', url: s || 'u', timeout: 1 },
    { rule: 'or', clauses: [{ rule: 'match', eval: '!=', type: 'string', f1: s, f2: 'args.auth.id' }, { rule: 'deny', name: s || 'n' }] },
  ];
}

function inputFor(s: string): RuleInput {
  const find: Record<string, unknown> = {};
  Object.defineProperty(find, s, { value: s, enumerable: true, writable: true, configurable: true });
  return { args: { auth: { id: s, role: s }, find, doc: {} }, res: [{ [s]: s, x: 1 }] };
}

async function importModule(source: string, n: number): Promise<{ rules: Record<string, CompiledRule>; requirements: Record<string, CompiledRule> }> {
  const file = join(TMP, `m${n}.mjs`);
  writeFileSync(file, source);
  return import(pathToFileURL(file).href);
}

describe('hostile corpus', () => {
  test('the corpus holds at least 200 values', () => {
    expect(corpus.strings.length + corpus.numbers.length + corpus.values.length).toBeGreaterThanOrEqual(200);
    expect(Object.is(corpus.numbers[0], -0)).toBe(true);
  });

  test('strings in every rule position: generated modules parse, pass the AST check, run nothing injected, and agree with the interpreter', async () => {
    let modules = 0;
    let checked = 0;
    let refused = 0;
    for (const s of corpus.strings) {
      const rules: Record<string, { rule: Rule; path: string }> = {};
      const valid: [string, Rule][] = [];
      for (const [i, rule] of rulesFor(s).entries()) {
        // Rules the schema refuses (prototype segments in a path) make both engines throw.
        let compiled: CompiledRule | undefined;
        try {
          compiled = compile(rule, s);
        } catch (e) {
          expect(e).toBeInstanceOf(InvalidRuleError);
          await expect(evaluate(rule, inputFor(s), makeHost().ctx, s)).rejects.toThrow(InvalidRuleError);
          refused++;
          continue;
        }
        expect(compiled).toBeTypeOf('function');
        // Keys and paths are hostile too.
        const key = `${s}/${i}`;
        rules[key] = { rule, path: s };
        valid.push([key, rule]);
      }
      const collection: PolicyRequirement[] = [{ name: s, type: 'role', roles: [s, 'admin'] }];
      const ruleReq: PolicyRequirement = { name: `${s}!`, type: 'rule', rule: { rule: 'match', eval: '==', type: 'string', f1: 'args.auth.id', f2: s } };
      // A requirement rule the schema refuses is refused by both engines, like the rules above.
      if (valid.some(([, r]) => r.rule === 'match' && r.type === 'string' && r.eval === '==' && r.f2 === s)) collection.push(ruleReq);
      const requirements: Record<string, RequirementCollection> = { [s]: { collection, path: s, implicitAuthenticated: false } };
      const source = generate({ hash: s, rules, requirements, code: {} });
      expect(moduleProblems(source)).toEqual([]);
      assertModuleIsSafe(source);
      const mod = await importModule(source, ++modules);
      untouched();
      for (const [key, rule] of valid) {
        for (const input of [inputFor(s), { args: { auth: { id: 'x' }, find: { x: s } } } as RuleInput]) {
          const a = structuredClone(input);
          const b = structuredClone(input);
          const da = await evaluate(rule, a, makeHost().ctx, s);
          const db = await mod.rules[key]!(b, makeHost().ctx);
          expect(db).toEqual(da);
          expect(b).toEqual(a);
          checked++;
        }
      }
      for (const role of [s, 'admin', 'other']) {
        const input = { ...inputFor(s), role };
        const c = requirements[s]!;
        expect(await mod.requirements[s]!(structuredClone(input))).toEqual(await evaluateRequirements([c], structuredClone(input)));
      }
      untouched();
    }
    console.log(`hostile strings: ${modules} modules, ${checked} decisions compared, ${refused} rules refused by validation`);
    expect(checked).toBeGreaterThan(corpus.strings.length * 10);
  }, 120_000);

  test('numbers: finite ones become literals that keep their value (and -0); NaN and ±Infinity are refused', async () => {
    for (const [ni, n] of corpus.numbers.entries()) {
      const rules: Rule[] = [
        { rule: 'match', eval: '==', type: 'number', f1: 'args.doc.n', f2: n },
        { rule: 'match', eval: 'in', type: 'number', f1: 'args.doc.n', f2: [n, 1] },
        { rule: 'force', field: 'args.doc.m', value: n },
        { rule: 'force', field: 'args.doc.o', value: { v: n } },
      ];
      const source = generate({ hash: 'h', rules: Object.fromEntries(rules.map((r, i) => [`k${i}`, { rule: r, path: 'p' }])), requirements: {}, code: {} });
      assertModuleIsSafe(source);
      const mod = await importModule(source, 10_000 + ni);
      for (const [i, rule] of rules.entries()) {
        for (const v of [n, -n, 0, -0, NaN, String(n)]) {
          const input: RuleInput = { args: { auth: { id: 'u' }, doc: { n: v } } };
          const a = structuredClone(input);
          const b = structuredClone(input);
          expect(await mod.rules[`k${i}`]!(b)).toEqual(await evaluate(rule, a, undefined, 'p'));
          expect(b).toEqual(a);
        }
      }
      const forced = { args: { auth: { id: 'u' }, doc: {} } } as RuleInput;
      await mod.rules.k2!(forced);
      expect(Object.is(forced.args.doc!.m, n)).toBe(true);
    }
    for (const bad of [NaN, Infinity, -Infinity]) {
      const rule = { rule: 'match', eval: '==', type: 'number', f1: 'args.doc.n', f2: bad } as Rule;
      expect(() => compile(rule)).toThrow(InvalidRuleError);
      expect(() => generate({ hash: 'h', rules: { k: { rule, path: 'p' } }, requirements: {}, code: {} })).toThrow(InvalidRuleError);
      await expect(evaluate(rule, { args: {} })).rejects.toThrow(InvalidRuleError);
    }
    untouched();
  });

  test('structured values (deep nesting, own `__proto__` keys) as force values, find values and inputs', async () => {
    for (const [i, v] of corpus.values.entries()) {
      const rules: Rule[] = [
        { rule: 'force', field: 'args.doc.v', value: v },
        { rule: 'query', db: 'blog', col: 'posts', find: { v }, store: 'args.q' },
      ];
      const source = generate({ hash: 'h', rules: Object.fromEntries(rules.map((r, j) => [`k${j}`, { rule: r, path: 'p' }])), requirements: {}, code: {} });
      assertModuleIsSafe(source);
      const mod = await importModule(source, 20_000 + i);
      for (const [j, rule] of rules.entries()) {
        const input: RuleInput = { args: { auth: { id: 'u' }, doc: { v }, find: { v } } };
        const a = structuredClone(input);
        const b = structuredClone(input);
        const ha = makeHost();
        const hb = makeHost();
        expect(await mod.rules[`k${j}`]!(b, hb.ctx)).toEqual(await evaluate(rule, a, ha.ctx, 'p'));
        expect(b).toEqual(a);
        expect(hb.calls).toEqual(ha.calls);
      }
      untouched();
    }
  });

  test('the AST check catches code that was not generated (a mutation test)', () => {
    const source = generate({ hash: 'h', rules: { k: { rule: { rule: 'allow' }, path: 'p' } }, requirements: {}, code: {} });
    expect(moduleProblems(source)).toEqual([]);
    const injected = [
      source.replace('export const hash', 'process.exit(1);\nexport const hash'),
      source.replace('export const hash', 'globalThis.__pwned = 1;\nexport const hash'),
      source.replace('export const hash', 'const k99 = Function("return 1");\nexport const hash'),
      source.replace('export const hash', 'const k99 = { __proto__: null };\nexport const hash'),
      source.replace('export const hash', 'import("node:fs");\nexport const hash'),
      source.replace('export const hash', '// a comment\nexport const hash'),
      source.replace('"@dfc/rules/runtime";', '"@dfc/rules/runtime";\nimport fs from "node:fs";'),
      source.replace('export const hash', 'const k99 = `x${1}`;\nexport const hash'),
      source.replace('export const hash', 'const k99 = ALLOW.constructor;\nexport const hash'),
      source.replace('export const hash = "h"', 'export const hash = "h" +'),
      source.replace('export const hash', 'const k99 = ALLOW["constructor"]["constructor"]("return 1");\nexport const hash'),
    ];
    for (const bad of injected) expect(moduleProblems(bad).length, bad.slice(-200)).toBeGreaterThan(0);
  });
});
