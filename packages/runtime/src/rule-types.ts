/** The rule engine's contract types, from `@dfc/rules`. */
export type { CompiledRule, Decision, DenialCode, FieldCrypto, ResponseAction, RuleContext, RuleInput, TraceEvent, TracedOperand } from '@dfc/rules';
