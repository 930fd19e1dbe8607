import { OPERATIONS, type Policy } from '@dfc/schema';
import { generate, type GenerateInput, type RequirementCollection } from '@dfc/rules';
import { diagnostic, type Diagnostic } from '../diagnostics/diagnostic.js';
import { formatRelativePath } from '../diagnostics/config-path.js';
import type { CodeRuleEntry } from './normalize.js';

export interface CodegenInput {
  policy: Policy;
  code: Record<string, CodeRuleEntry>;
}

export interface CodegenOutput {
  diagnostics: Diagnostic[];
  /** The text of policy.mjs. */
  module?: string;
}

const key = (...segments: string[]) => formatRelativePath(segments);

/**
 * The keyed view of the policy that policy.mjs is generated from: one rule per
 * `service/table/operation` (a table without its own rule for an operation gets the
 * `default` table's, as in Space Cloud), and one requirement collection per service,
 * table and column that has one.
 */
export function moduleInput(policy: Policy, code: Record<string, CodeRuleEntry>): GenerateInput {
  const rules: GenerateInput['rules'] = {};
  const requirements: Record<string, RequirementCollection> = {};
  for (const serviceName of Object.keys(policy.services).sort()) {
    const service = policy.services[serviceName]!;
    const sets = policy.rules[serviceName] ?? {};
    const fallback = sets['default'] ?? {};
    requirements[serviceName] = {
      collection: service.security,
      path: key('services', serviceName, 'security'),
      // Aptify: the service level implies `authenticated` unless it allows anonymous callers.
      implicitAuthenticated: true,
    };
    for (const tableName of Object.keys(service.tables).sort()) {
      const table = service.tables[tableName]!;
      const own = sets[tableName] ?? {};
      for (const op of OPERATIONS) {
        const rule = own[op];
        const fromDefault = rule === undefined ? fallback[op] : undefined;
        if (rule) rules[`${serviceName}/${tableName}/${op}`] = { rule, path: key('rules', serviceName, tableName, op) };
        else if (fromDefault) rules[`${serviceName}/${tableName}/${op}`] = { rule: fromDefault, path: key('rules', serviceName, 'default', op) };
      }
      if (table.security) {
        requirements[`${serviceName}/${tableName}`] = {
          collection: table.security,
          path: key('services', serviceName, 'tables', tableName, 'security'),
          implicitAuthenticated: false,
        };
      }
      for (const columnName of Object.keys(table.columns).sort()) {
        const column = table.columns[columnName]!;
        if (!column.security) continue;
        requirements[`${serviceName}/${tableName}/${columnName}`] = {
          collection: column.security,
          path: key('services', serviceName, 'tables', tableName, 'columns', columnName, 'security'),
          implicitAuthenticated: false,
        };
      }
    }
  }
  const sources: Record<string, string> = {};
  for (const id of Object.keys(code).sort()) sources[id] = code[id]!.source;
  return { hash: policy.hash, rules, requirements, code: sources };
}

/** policy.mjs, from @dfc/rules' generator: user data never reaches it except JSON-quoted. */
export function codegen(input: CodegenInput): CodegenOutput {
  try {
    return { diagnostics: [], module: generate(moduleInput(input.policy, input.code)) };
  } catch (error) {
    return {
      diagnostics: [
        diagnostic('DFC9002', 'generating policy.mjs failed', {
          notes: [error instanceof Error ? error.message : String(error), 'this is a bug in dfc; please report it with the config that caused it'],
        }),
      ],
    };
  }
}
