import type { Decision, ResponseAction, RuleContext } from './rule-types.js';

/**
 * The host helpers of `@dfc/rules/runtime` (the same module policy.mjs imports), loaded
 * once. Response work is applied by the rule engine's own code, so what `dfc test`
 * shows and what the server sends cannot drift apart.
 */
export interface RulesRuntime {
  applyResponse(actions: readonly ResponseAction[] | undefined, res: unknown, ctx?: RuleContext): Decision;
  hashString(s: string): string;
}

let loaded: Promise<RulesRuntime> | undefined;

export function rulesRuntime(): Promise<RulesRuntime> {
  loaded ??= import('@dfc/rules/runtime').then((m) => {
    const rt = m as unknown as Partial<RulesRuntime>;
    if (typeof rt.applyResponse !== 'function' || typeof rt.hashString !== 'function') {
      throw new Error('@dfc/rules/runtime does not export applyResponse and hashString');
    }
    return rt as RulesRuntime;
  });
  return loaded;
}
