/**
 * Test helper: decide one input with all three engines (the interpreter, `compile`,
 * and a module from `generate` imported from disk) and check that they agree on the
 * decision and on what they did to the input. Returns the decision and the input as
 * the interpreter left it.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { expect } from 'vitest';
import type { Rule } from '@dfc/schema';
import { compile } from './compile.js';
import { generate } from './generate.js';
import { evaluate } from './interpret.js';
import type { CompiledRule, Decision, RuleContext, RuleInput } from './types.js';

const TMP = join(import.meta.dirname, '..', '..', '..', 'test', '.tmp', `rules-unit-${process.pid}`);
let n = 0;

export async function moduleRule(rule: Rule, path: string): Promise<CompiledRule> {
  mkdirSync(TMP, { recursive: true });
  const file = join(TMP, `m${++n}.mjs`);
  writeFileSync(file, generate({ hash: 'sha256:unit', rules: { 'svc/t/op': { rule, path } }, requirements: {}, code: {} }));
  const mod = (await import(pathToFileURL(file).href)) as { rules: Record<string, CompiledRule> };
  return mod.rules['svc/t/op']!;
}

export interface Decided {
  decision: Decision;
  /** The input after the interpreter ran (mutations applied). */
  input: RuleInput;
}

/** Decide with all three engines; each gets its own copy of the input and a context from `makeCtx`. */
export async function decide(
  rule: Rule,
  input: RuleInput,
  makeCtx: () => RuleContext = () => ({}),
  path = 'rules.svc.t.read',
  /** False when the engines' outputs legitimately differ (random encryption nonces). */
  compareInputs = true,
): Promise<Decided> {
  const a = structuredClone(input);
  const b = structuredClone(input);
  const c = structuredClone(input);
  const da = await evaluate(rule, a, makeCtx(), path);
  const db = await compile(rule, path)(b, makeCtx());
  const dc = await (await moduleRule(rule, path))(c, makeCtx());
  expect(db).toEqual(da);
  expect(dc).toEqual(da);
  if (compareInputs) {
    expect(b).toEqual(a);
    expect(c).toEqual(a);
  }
  return { decision: da, input: a };
}
