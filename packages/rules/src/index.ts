/**
 * @dfc/rules: Space Cloud's rule language (plus `code` rules and Aptify requirement
 * collections), as a reference interpreter (`evaluate`), a compiler to closures
 * (`compile`) and the generator of policy.mjs (`generate`), which agree on every input.
 */
export type {
  CompiledRule,
  Decision,
  DenialCode,
  EvaluateOptions,
  FieldCrypto,
  ResponseAction,
  Rule,
  RuleContext,
  RuleInput,
  TraceEvent,
  TraceOutcome,
  TracedOperand,
} from './types.js';
export { evaluate, evaluateRequirements, applyResponseReference } from './interpret.js';
export { compile, compileRequirements, compileSource } from './compile.js';
export { generate, GenerateCache, RUNTIME_SPECIFIER, type GenerateInput, type RequirementCollection } from './generate.js';
export { applyResponse, lookupRule, allOf, hashString, ALLOW } from './runtime/index.js';
export { InvalidRuleError, ruleDepth } from './validate.js';
export { lintRule, staticOutcome, type LintContext, type RuleIssue, type RuleIssueId } from './lint.js';
export {
  createFieldCrypto,
  decryptSpaceCloud,
  keyId,
  parseKey,
  FieldDecryptError,
  type FieldCryptoOptions,
  type FieldKeyring,
  type KeyMaterial,
} from './crypto.js';
export {
  checkWebhookUrl,
  createWebhookFetch,
  isPrivateAddress,
  WebhookError,
  type WebhookFetchOptions,
  type WebhookPolicy,
  type WebhookUrlIssue,
} from './webhook.js';
export {
  findToWhere,
  matchesWhere,
  resolveLookup,
  roleFilterWhere,
  whereToFind,
  type FindResult,
  type LookupScope,
  type MatchOptions,
  type RoleFilterResult,
} from './where.js';
