/**
 * compile(r)(input) ≡ evaluate(r, input): same decision (allow, status, code, reason,
 * path, name), same mutations of args and res, same calls to the host, for random
 * rules of every type and random inputs. Replay a failure with the printed seed:
 *   DFC_FUZZ_SEED=<seed> npx vitest run test/differential/compile-vs-evaluate.test.ts
 * and run more cases with DFC_FUZZ_RUNS=<count>.
 */
import fc from 'fast-check';
import { expect, test } from 'vitest';
import { applyResponse, applyResponseReference, compile, evaluate, type Decision, type RuleInput } from '@dfc/rules';
import type { Rule } from '@dfc/schema';
import { fuzzSettings, inputArb, makeHost, resArb, ruleArb } from './arbitraries.js';

const PATH = 'rules.blog.posts.read';
const INPUTS_PER_RULE = 5;

type Run = { decision?: Decision; error?: string; input: RuleInput; calls: unknown[]; sync?: boolean };

async function runInterpreter(rule: Rule, input: RuleInput, variant: number): Promise<Run> {
  const host = makeHost(variant);
  const copy = structuredClone(input);
  try {
    return { decision: await evaluate(rule, copy, host.ctx, PATH), input: copy, calls: host.calls };
  } catch (e) {
    return { error: (e as Error).message, input: copy, calls: host.calls };
  }
}

async function runCompiled(fn: ReturnType<typeof compile> | Error, input: RuleInput, variant: number): Promise<Run> {
  const host = makeHost(variant);
  const copy = structuredClone(input);
  if (fn instanceof Error) return { error: fn.message, input: copy, calls: host.calls };
  const out = fn(copy, host.ctx);
  const sync = !(out instanceof Promise);
  return { decision: await out, input: copy, calls: host.calls, sync };
}

export async function checkRule(rule: Rule, inputs: { input: RuleInput; variant: number; extraRes: unknown }[]): Promise<void> {
  let fn: ReturnType<typeof compile> | Error;
  try {
    fn = compile(rule, PATH);
  } catch (e) {
    fn = e as Error;
  }
  for (const { input, variant, extraRes } of inputs) {
    const a = await runInterpreter(rule, input, variant);
    const b = await runCompiled(fn, input, variant);
    expect(b.error).toEqual(a.error);
    expect(b.decision).toEqual(a.decision);
    expect(b.input).toEqual(a.input);
    expect(b.calls).toEqual(a.calls);
    // A rule with no I/O compiles to a synchronous closure.
    if (!(fn instanceof Error)) expect(b.sync).toBe(!fn.async);
    // Deferred response work applies the same way through both appliers.
    const response = a.decision?.response;
    if (response && extraRes !== undefined) {
      const host = makeHost(variant);
      const ra = structuredClone(extraRes);
      const rb = structuredClone(extraRes);
      expect(applyResponse(b.decision!.response, rb, host.ctx)).toEqual(applyResponseReference(response, ra, host.ctx));
      expect(rb).toEqual(ra);
    }
  }
}

const caseArb = fc.record({
  rule: ruleArb(3),
  inputs: fc.array(
    fc.record({ input: inputArb, variant: fc.integer({ min: 0, max: 4 }), extraRes: resArb }),
    { minLength: INPUTS_PER_RULE, maxLength: INPUTS_PER_RULE },
  ),
});

test('compiled rules decide and mutate exactly as the reference interpreter', async () => {
  const { seed, numRuns } = fuzzSettings(10_000 / INPUTS_PER_RULE);
  console.log(`compile-vs-evaluate: seed ${seed}, ${numRuns} rules × ${INPUTS_PER_RULE} inputs = ${numRuns * INPUTS_PER_RULE} cases`);
  let decided = 0;
  let allowed = 0;
  await fc.assert(
    fc.asyncProperty(caseArb, async ({ rule, inputs }) => {
      await checkRule(rule, inputs);
      decided += inputs.length;
    }),
    { seed, numRuns },
  );
  expect(decided).toBe(numRuns * INPUTS_PER_RULE);
  void allowed;
}, 300_000);
