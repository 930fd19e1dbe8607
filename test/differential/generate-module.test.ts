/**
 * generate() → write policy module → import() → the module's closures ≡ evaluate().
 * Rules are generated in batches, each batch one module (as policy.mjs holds many).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import fc from 'fast-check';
import { afterAll, expect, test } from 'vitest';
import { rmSync } from 'node:fs';
import { evaluate, evaluateRequirements, generate, type CompiledRule, type Decision, type RequirementCollection, type RuleInput } from '@dfc/rules';
import type { Rule } from '@dfc/schema';
import { fuzzSettings, inputArb, makeHost, requirementArb, ruleArb } from './arbitraries.js';
import { assertModuleIsSafe } from '../corpus/module-check.js';

const TMP = join(import.meta.dirname, '..', '.tmp', `generate-${process.pid}`);
mkdirSync(TMP, { recursive: true });
afterAll(() => rmSync(TMP, { recursive: true, force: true }));

let counter = 0;
/** Write a generated module under test/.tmp and import it. */
export async function importModule(source: string): Promise<{ rules: Record<string, CompiledRule>; requirements: Record<string, CompiledRule>; hash: string; code: Record<string, unknown> }> {
  const file = join(TMP, `policy-${++counter}.mjs`);
  writeFileSync(file, source);
  return import(pathToFileURL(file).href);
}

async function both(a: () => Promise<Decision>, b: () => Decision | Promise<Decision>): Promise<[Decision | string, Decision | string]> {
  const settle = async (f: () => Decision | Promise<Decision>) => {
    try {
      return await f();
    } catch (e) {
      return `threw: ${(e as Error).message}`;
    }
  };
  return [await settle(a), await settle(b)];
}

const BATCH = 25;

test('generated modules decide exactly as the reference interpreter', async () => {
  const { seed, numRuns } = fuzzSettings(40);
  console.log(`generate-module: seed ${seed}, ${numRuns} modules × ${BATCH} rules × 2 inputs`);
  await fc.assert(
    fc.asyncProperty(
      fc.array(fc.tuple(ruleArb(3), inputArb, inputArb, fc.integer({ min: 0, max: 4 })), { minLength: BATCH, maxLength: BATCH }),
      fc.array(fc.tuple(fc.array(requirementArb, { maxLength: 3 }), fc.boolean(), inputArb), { minLength: 5, maxLength: 5 }),
      async (cases, allReqCases) => {
        // Rules that fail validation make generate() throw; keep the valid ones.
        const valid = cases.filter(([rule]) => {
          try {
            generate({ hash: 'h', rules: { x: { rule, path: 'p' } }, requirements: {}, code: {} });
            return true;
          } catch {
            return false;
          }
        });
        // Likewise for requirement collections (a rule in one may name a prototype path).
        const reqCases = allReqCases.filter(([collection]) => {
          try {
            generate({ hash: 'h', rules: {}, requirements: { x: { collection, path: 'p', implicitAuthenticated: false } }, code: {} });
            return true;
          } catch {
            return false;
          }
        });
        const rules: Record<string, { rule: Rule; path: string }> = {};
        valid.forEach(([rule], i) => (rules[`blog/t${i}/read`] = { rule, path: `rules.blog.t${i}.read` }));
        const requirements: Record<string, RequirementCollection> = {};
        reqCases.forEach(([collection, implicit], i) => {
          requirements[`blog/t${i}`] = { collection, path: `services.blog.tables.t${i}.security`, implicitAuthenticated: implicit };
        });
        const source = generate({ hash: 'sha256:test', rules, requirements, code: {} });
        expect(generate({ hash: 'sha256:test', rules, requirements, code: {} })).toBe(source);
        assertModuleIsSafe(source);
        const mod = await importModule(source);
        expect(mod.hash).toBe('sha256:test');
        for (const [i, [rule, in1, in2, variant]] of valid.entries()) {
          for (const input of [in1, in2]) {
            const ha = makeHost(variant);
            const hb = makeHost(variant);
            const ia: RuleInput = structuredClone(input);
            const ib: RuleInput = structuredClone(input);
            const fn = mod.rules[`blog/t${i}/read`]!;
            const [da, db] = await both(() => evaluate(rule, ia, ha.ctx, `rules.blog.t${i}.read`), () => fn(ib, hb.ctx));
            expect(db).toEqual(da);
            expect(ib).toEqual(ia);
            expect(hb.calls).toEqual(ha.calls);
          }
        }
        for (const [i, [collection, implicit, input]] of reqCases.entries()) {
          const c: RequirementCollection = { collection, path: `services.blog.tables.t${i}.security`, implicitAuthenticated: implicit };
          const ha = makeHost(0);
          const hb = makeHost(0);
          const ia: RuleInput = structuredClone(input);
          const ib: RuleInput = structuredClone(input);
          const [da, db] = await both(() => evaluateRequirements([c], ia, ha.ctx), () => mod.requirements[`blog/t${i}`]!(ib, hb.ctx));
          expect(db).toEqual(da);
          expect(ib).toEqual(ia);
        }
      },
    ),
    { seed, numRuns },
  );
}, 300_000);
