import type { Config, Operation, Policy, SourceRule } from '@dfc/schema';
import type { DiagnosticCode } from '../diagnostics/codes.js';
import type { RawPath } from '../diagnostics/config-path.js';
import type { LocateMode } from '../source/locate.js';
import type { Origins } from '../stages/normalize.js';

export interface ReportOptions {
  mode?: LocateMode;
  /** The source there may hold a secret: no code frame. */
  sensitive?: boolean;
  notes?: (string | undefined | false)[];
}

/** What a lint sees: the validated config (with its paths), the policy, and a reporter. */
export interface LintContext {
  config: Config;
  policy: Policy;
  origins: Origins;
  report(code: DiagnosticCode, message: string, path: RawPath, options?: ReportOptions): void;
}

/** A lint: one check over the whole config, reporting the codes it lists. */
export interface Lint {
  name: string;
  codes: readonly DiagnosticCode[];
  run(ctx: LintContext): void;
}

/** Where a rule appears: a table's rule set, or a requirement of a collection. */
export interface RuleSite {
  rule: SourceRule;
  path: RawPath;
  service: string;
  /** The table the rule guards; `default` for the fallback rule set; absent at service level. */
  table?: string;
  operation?: Operation;
}

/** Every top-level rule of the config, with where it is. */
export function* allRules(config: Config): Generator<RuleSite> {
  for (const [i, set] of (config.rules ?? []).entries()) {
    for (const [op, rule] of Object.entries(set.rules)) {
      if (rule) yield { rule, path: ['rules', i, 'rules', op], service: set.service, table: set.table, operation: op as Operation };
    }
  }
  for (const [i, s] of config.services.entries()) {
    for (const [name, req] of Object.entries(s.security ?? {})) {
      if (req.type === 'rule') yield { rule: req.rule, path: ['services', i, 'security', name, 'rule'], service: s.name };
    }
    for (const [t, table] of Object.entries(s.tables)) {
      for (const [name, req] of Object.entries(table.security ?? {})) {
        if (req.type === 'rule') yield { rule: req.rule, path: ['services', i, 'tables', t, 'security', name, 'rule'], service: s.name, table: t };
      }
      for (const [c, col] of Object.entries(table.columns)) {
        if (typeof col !== 'object') continue;
        for (const [name, req] of Object.entries(col.security ?? {})) {
          if (req.type === 'rule') {
            yield { rule: req.rule, path: ['services', i, 'tables', t, 'columns', c, 'security', name, 'rule'], service: s.name, table: t };
          }
        }
      }
    }
  }
}

/** Visits a rule and every rule nested in it (`clauses`, `clause`), depth first. */
export function walkRule(rule: SourceRule, path: RawPath, visit: (rule: SourceRule, path: RawPath) => void): void {
  visit(rule, path);
  if ('clauses' in rule) rule.clauses.forEach((c, i) => walkRule(c, [...path, 'clauses', i], visit));
  if ('clause' in rule && rule.clause) walkRule(rule.clause, [...path, 'clause'], visit);
}

export function tableOf(config: Config, service: string, table: string | undefined) {
  if (table === undefined || table === 'default') return undefined;
  return config.services.find((s) => s.name === service)?.tables[table];
}
