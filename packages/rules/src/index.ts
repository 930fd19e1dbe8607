export type { CompiledRule, Decision, DenialCode, FieldCrypto, ResponseAction, Rule, RuleContext, RuleInput } from './types.js';
export { evaluate, evaluateRequirements, applyResponseReference } from './interpret.js';
export { compile, compileRequirements, compileSource } from './compile.js';
export { generate, RUNTIME_SPECIFIER, type GenerateInput, type RequirementCollection } from './generate.js';
export { applyResponse, lookupRule, allOf, ALLOW } from './runtime/index.js';
export { InvalidRuleError, ruleDepth } from './validate.js';
