export { diffPolicies } from './diff.js';
export { renderDiff, summaryLine, type DiffFormat } from './render.js';
export { compareRules, canonicalRule, sameRule } from './rules.js';
export { describeRule } from './describe.js';
export type { ChangeArea, ChangeClass, PolicyChange, PolicyDiff } from './types.js';
