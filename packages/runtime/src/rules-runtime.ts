import { applyResponse, hashString } from '@dfc/rules';
import type { Decision, ResponseAction, RuleContext } from './rule-types.js';

/**
 * The rule engine's host helpers (the same code policy.mjs runs): response work is applied
 * by the engine itself, so what `dfc test` shows and what the server sends cannot drift.
 */
export interface RulesRuntime {
  applyResponse(actions: readonly ResponseAction[] | undefined, res: unknown, ctx?: RuleContext): Decision;
  hashString(s: string): string;
}

const runtime: RulesRuntime = { applyResponse, hashString };

export function rulesRuntime(): Promise<RulesRuntime> {
  return Promise.resolve(runtime);
}
