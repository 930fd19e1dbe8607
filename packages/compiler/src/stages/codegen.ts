import { OPERATIONS, type Policy, type PolicyRequirement, type Rule } from '@dfc/schema';
import type { Diagnostic } from '../diagnostics/diagnostic.js';
import type { CodeRuleEntry } from './normalize.js';

/** What the rule engine's code generator takes: everything policy.mjs compiles. */
export interface ModuleInput {
  hash: string;
  /** `service/table/operation` → rule; tables without their own rule get the `default` table's. */
  rules: Record<string, Rule>;
  /** `service`, `service/table`, `service/table/column` → requirement collection. */
  requirements: Record<string, PolicyRequirement[]>;
  /** Code rule id → function source. */
  code: Record<string, CodeRuleEntry>;
}

export interface CodegenInput {
  policy: Policy;
  code: Record<string, CodeRuleEntry>;
}

export interface CodegenOutput {
  diagnostics: Diagnostic[];
  /** The text of policy.mjs. */
  module?: string;
}

/** The keyed view of the policy that the generated module is built from. */
export function moduleInput(policy: Policy, code: Record<string, CodeRuleEntry>): ModuleInput {
  const rules: Record<string, Rule> = {};
  const requirements: Record<string, PolicyRequirement[]> = {};
  for (const [serviceName, service] of Object.entries(policy.services).sort(byKey)) {
    const sets = policy.rules[serviceName] ?? {};
    const fallback = sets['default'] ?? {};
    if (service.security.length > 0) requirements[serviceName] = service.security;
    for (const [tableName, table] of Object.entries(service.tables).sort(byKey)) {
      const own = sets[tableName] ?? {};
      for (const op of OPERATIONS) {
        // Space Cloud's `default` table: its rule applies to a table that has none for the operation.
        const rule = own[op] ?? fallback[op];
        if (rule) rules[`${serviceName}/${tableName}/${op}`] = rule;
      }
      if (table.security) requirements[`${serviceName}/${tableName}`] = table.security;
      for (const [columnName, column] of Object.entries(table.columns).sort(byKey)) {
        if (column.security) requirements[`${serviceName}/${tableName}/${columnName}`] = column.security;
      }
    }
  }
  const sortedCode: Record<string, CodeRuleEntry> = {};
  for (const [id, entry] of Object.entries(code).sort(byKey)) sortedCode[id] = entry;
  return { hash: policy.hash, rules, requirements, code: sortedCode };
}

function byKey<T>(a: [string, T], b: [string, T]): number {
  return a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0;
}

export function codegen(input: CodegenInput): CodegenOutput {
  const m = moduleInput(input.policy, input.code);
  // Placeholder until @dfc/rules' generator is wired in.
  return { diagnostics: [], module: `export const hash = ${JSON.stringify(m.hash)};\n` };
}
