/**
 * Tracing never changes a decision: `evaluate(r, input, ctx, path, { trace })` decides,
 * mutates and calls the host exactly as `evaluate(r, input, ctx, path)`, and its trace
 * is well formed (the root first, depths that follow the paths, the deciding node
 * present with the decision's outcome). Replay a failure with DFC_FUZZ_SEED=<seed>.
 */
import fc from 'fast-check';
import { expect, test } from 'vitest';
import { evaluate, type TraceEvent } from '@dfc/rules';
import { fuzzSettings, inputArb, makeHost, ruleArb } from './arbitraries.js';

const PATH = 'rules.blog.posts.read';
const INPUTS_PER_RULE = 3;

function depthOf(path: string): number {
  return (path.slice(PATH.length).match(/\.clauses\[\d+\]|\.clause/g) ?? []).length;
}

test('a traced evaluation decides as an untraced one, and its trace is well formed', async () => {
  const { seed, numRuns } = fuzzSettings(3000 / INPUTS_PER_RULE);
  console.log(`trace: seed ${seed}, ${numRuns} rules × ${INPUTS_PER_RULE} inputs`);
  const caseArb = fc.record({
    rule: ruleArb(3),
    inputs: fc.array(fc.record({ input: inputArb, variant: fc.integer({ min: 0, max: 4 }) }), { minLength: INPUTS_PER_RULE, maxLength: INPUTS_PER_RULE }),
  });
  await fc.assert(
    fc.asyncProperty(caseArb, async ({ rule, inputs }) => {
      for (const { input, variant } of inputs) {
        const plainHost = makeHost(variant);
        const plainInput = structuredClone(input);
        const plain = await evaluate(rule, plainInput, plainHost.ctx, PATH).catch((e: Error) => e.message);
        const tracedHost = makeHost(variant);
        const tracedInput = structuredClone(input);
        const trace: TraceEvent[] = [];
        const traced = await evaluate(rule, tracedInput, tracedHost.ctx, PATH, { trace }).catch((e: Error) => e.message);
        expect(traced).toEqual(plain);
        expect(tracedInput).toEqual(plainInput);
        expect(tracedHost.calls).toEqual(plainHost.calls);
        if (typeof traced === 'string') continue; // an invalid rule is refused before anything runs

        expect(trace[0]).toMatchObject({ path: PATH, depth: 0 });
        for (const e of trace) {
          expect(e.path.startsWith(PATH)).toBe(true);
          expect(e.depth).toBe(depthOf(e.path));
        }
        if (traced.code !== 'response') {
          expect(trace[0]!.outcome).toBe(traced.allow ? 'pass' : traced.code);
        }
        if (!traced.allow && traced.code !== 'response') {
          const decider = trace.find((e) => e.path === traced.path);
          expect(decider, `no event for ${traced.path}`).toBeDefined();
          expect(decider!.outcome).not.toBe('pass');
        }
      }
    }),
    { seed, numRuns },
  );
}, 300_000);
