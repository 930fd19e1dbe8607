import type { Rule } from '@dfc/schema';
import { closureSource, type RequirementCollection } from './generate.js';
import * as runtime from './runtime/index.js';
import type { CompiledRule } from './types.js';
import { assertRequirements, assertRule } from './validate.js';

/**
 * Build a rule's closure in memory from the same generated source that `generate`
 * writes to policy.mjs (as ajv does). This is the only place that turns generated
 * source into a function; loading policy.mjs evaluates no string.
 */
function build(source: string): CompiledRule {
  // `rt` is the runtime namespace the module would import; `codeTable` is empty, so
  // code rules read their functions from `ctx.code`.
  const factory = new Function('rt', 'codeTable', source) as (rt: typeof runtime, code: object) => CompiledRule;
  return factory(runtime, runtime.table([]));
}

/** Compile a table rule (Space Cloud's top-level semantics: anything but `allow` needs a session). */
export function compile(rule: Rule, path = 'rule'): CompiledRule {
  assertRule(rule);
  return build(closureSource((e) => e.ruleClosure(rule as never, path, true)));
}

/** Compile requirement collections into one closure (in order; all must pass). */
export function compileRequirements(collections: readonly RequirementCollection[]): CompiledRule {
  for (const c of collections) assertRequirements(c.collection);
  return build(closureSource((e) => e.requirementsClosure(collections)));
}

/** The generated source of one rule's closure (for debugging and tests). */
export function compileSource(rule: Rule, path = 'rule'): string {
  assertRule(rule);
  return closureSource((e) => e.ruleClosure(rule as never, path, true));
}
