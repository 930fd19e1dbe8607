import { OPERATIONS, isExactJson, type ColumnType, type ConfigTable, type Rule, type SourceRule } from '@dfc/schema';
import { lintRule, type LintContext as RuleLintContext, type RuleIssue, type RuleIssueId } from '@dfc/rules';
import type { DiagnosticCode } from '../diagnostics/codes.js';
import { displayPath } from '../diagnostics/config-path.js';
import type { RawPath } from '../diagnostics/config-path.js';
import { didYouMean, listOf } from '../util/suggest.js';
import { allRules, tableOf, walkRule, type Lint } from './context.js';

/** Rule sets name a service and table that exist. */
export const ruleSetTargets: Lint = {
  name: 'rule-set-targets',
  codes: ['DFC4010', 'DFC4011'],
  run({ config, report }) {
    (config.rules ?? []).forEach((set, i) => {
      const service = config.services.find((s) => s.name === set.service);
      if (!service) {
        report('DFC4010', `rules refer to unknown service \`${set.service}\``, ['rules', i], {
          notes: [didYouMean(set.service, config.services.map((s) => s.name)), 'pass a service from `services` to `defineRule`'],
        });
        return;
      }
      if (set.table !== 'default' && !Object.hasOwn(service.tables, set.table)) {
        report('DFC4011', `rules refer to unknown table \`${set.table}\` of service \`${service.name}\``, ['rules', i], {
          notes: [didYouMean(set.table, Object.keys(service.tables)), `tables: ${listOf(Object.keys(service.tables), 'and')}, or \`default\``],
        });
      }
    });
  },
};

/** Operations no rule covers: denied, which may be intended, so this is information. */
export const missingRules: Lint = {
  name: 'no-rule',
  codes: ['DFC4004', 'DFC4038'],
  run({ config, report }) {
    const sets = new Map<string, { ops: Set<string>; index: number }>();
    (config.rules ?? []).forEach((set, i) => {
      sets.set(`${set.service}/${set.table}`, { ops: new Set(Object.keys(set.rules).filter((k) => set.rules[k as 'read'] !== undefined)), index: i });
    });
    config.services.forEach((s, i) => {
      const defaults = sets.get(`${s.name}/default`);
      const fallback = defaults?.ops ?? new Set<string>();
      // A `default` rule applies only to tables without their own rule for the operation.
      for (const op of OPERATIONS) {
        if (!defaults || !fallback.has(op) || Object.keys(s.tables).some((t) => !sets.get(`${s.name}/${t}`)?.ops.has(op))) continue;
        report('DFC4038', `the \`default\` rule for \`${op}\` of service \`${s.name}\` is never used: every table has its own`, ['rules', defaults.index, 'rules', op], {
          notes: ['a `default` rule applies only to tables that have no rule for the operation', 'remove it, or remove the tables\' own rules that it should replace'],
        });
      }
      for (const t of Object.keys(s.tables)) {
        const own = sets.get(`${s.name}/${t}`);
        const missing = OPERATIONS.filter((op) => !own?.ops.has(op) && !fallback.has(op));
        if (missing.length === 0) continue;
        const path: RawPath = own ? ['rules', own.index] : ['services', i, 'tables', t];
        report('DFC4004', `table \`${s.name}/${t}\` has no rule for ${listOf(missing, 'or')}, which ${missing.length === 1 ? 'is' : 'are'} therefore denied`, path, {
          notes: ['add a rule, or a `default` rule set for the service (`defineRule(service, \'default\', { … })`)', 'write `{ rule: \'deny\' }` to say that denying is intended'],
        });
      }
    });
  },
};

/** Rule-level issues from the rule engine's static checks, as diagnostics. */
const ISSUE_CODES: Record<RuleIssueId, DiagnosticCode | ((issue: RuleIssue) => DiagnosticCode)> = {
  // Same checks as validate's; a config that reaches analyze has passed them.
  'max-depth': 'DFC3008',
  'unknown-rule': 'DFC3004',
  'empty-combinator': 'DFC4005',
  'unreachable-clause': 'DFC4008',
  'match-eval': 'DFC4026',
  'operand-type': 'DFC4021',
  'invalid-date': 'DFC4027',
  'in-scalar': 'DFC4028',
  'res-in-rule': 'DFC4029',
  'unknown-variable': (issue) => (issue.severity === 'error' ? 'DFC4022' : 'DFC4030'),
  'unknown-column': 'DFC4003',
  'forbidden-path': 'DFC4031',
  'unsupported-path': 'DFC4032',
  'unknown-helper': 'DFC4033',
  'helper-arguments': 'DFC4034',
  'field-target': 'DFC3012',
  'store-target': 'DFC4036',
  'unknown-query-target': (issue) => (issue.path.endsWith('.db') ? 'DFC4010' : 'DFC4011'),
  'hash-password': 'DFC4037',
  'webhook-url-invalid': 'DFC4018',
  'webhook-url-scheme': 'DFC4018',
  'webhook-url-http': 'DFC4018',
  'webhook-url-userinfo': 'DFC4018',
  'webhook-url-fragment': 'DFC4018',
  'webhook-url-private': 'DFC4018',
  'constant-rule': 'DFC4039',
  'operand-column-type': 'DFC4040',
};

export const RULE_ISSUE_CODES: readonly DiagnosticCode[] = [
  ...new Set<DiagnosticCode>([...Object.values(ISSUE_CODES).filter((c): c is DiagnosticCode => typeof c === 'string'), 'DFC4022', 'DFC4030', 'DFC4010', 'DFC4011']),
];

/** `.clauses[1].f2` → `['clauses', 1, 'f2']`: the part of an issue's path below its rule. */
export function parseRelativePath(text: string): (string | number)[] | undefined {
  const out: (string | number)[] = [];
  const re = /\.([^.[\]]+)|\[(\d+)\]|\[("(?:[^"\\]|\\.)*")\]/gy;
  let m: RegExpExecArray | null;
  let at = 0;
  while (at < text.length && (m = re.exec(text)) !== null) {
    if (m[1] !== undefined) out.push(m[1]);
    else if (m[2] !== undefined) out.push(Number(m[2]));
    else out.push(JSON.parse(m[3]!) as string);
    at = re.lastIndex;
  }
  return at === text.length ? out : undefined;
}

function columnTypes(table: ConfigTable | undefined): Record<string, ColumnType> | undefined {
  if (!table) return undefined;
  return Object.fromEntries(Object.entries(table.columns).map(([name, c]) => [name, typeof c === 'string' ? c : c.type]));
}

/** Every rule through the rule engine's static checks (columns, operand types, dead clauses, webhooks…). */
export const ruleIssues: Lint = {
  name: 'rule-issues',
  codes: RULE_ISSUE_CODES,
  run({ config, report }) {
    const tables: Record<string, Record<string, Record<string, ColumnType>>> = {};
    const columnsOf = new Map<ConfigTable, Record<string, ColumnType>>();
    for (const s of config.services) {
      tables[s.name] = Object.fromEntries(
        Object.entries(s.tables).map(([t, table]) => {
          const columns = columnTypes(table)!;
          columnsOf.set(table, columns);
          return [t, columns];
        }),
      );
    }
    const webhooks = { allowHttp: config.webhooks?.allowHttp ?? false, allowPrivateHosts: config.webhooks?.allowPrivateHosts ?? [] };
    for (const site of allRules(config)) {
      const base = displayPath(config, site.path);
      const ctx: RuleLintContext = { path: base, tables, webhooks };
      const table = tableOf(config, site.service, site.table);
      const columns = table && (columnsOf.get(table) ?? columnTypes(table));
      if (columns) ctx.columns = columns;
      if (site.operation) ctx.operation = site.operation;
      // A requirement's rule is not a table's rule: no implied session check at its top.
      ctx.topLevel = site.operation !== undefined;
      // Code rules hold a function here; the engine checks the artifact form.
      for (const issue of lintRule(withoutCode(site.rule), ctx)) {
        const mapped = ISSUE_CODES[issue.id];
        const code = typeof mapped === 'function' ? mapped(issue) : mapped;
        const rest = issue.path.startsWith(base) ? parseRelativePath(issue.path.slice(base.length)) : undefined;
        report(code, issue.message, rest ? [...site.path, ...rest] : site.path, { notes: [issue.note] });
      }
    }
  },
};

/** The rule with `code` rules replaced by a reference, which is all the linter looks at. */
function withoutCode(rule: SourceRule): Rule {
  // Most rules are plain JSON without code rules: their JSON copy would equal them.
  if (isExactJson(rule, 256, isCodeRule)) return rule as Rule;
  return JSON.parse(
    JSON.stringify(rule, (_key, value: unknown) =>
      value !== null && typeof value === 'object' && (value as { rule?: unknown }).rule === 'code'
        ? { rule: 'code', id: 'c0', sourceHash: 'sha256:' + '0'.repeat(64), async: false }
        : value,
    ),
  ) as Rule;
}

/** A `code` rule holds a function here: never plain JSON. */
const isCodeRule = (o: object): boolean => (o as { rule?: unknown }).rule === 'code';

/** `encrypt`/`decrypt` need the field key (`crypto.key`). */
export const encryptionKey: Lint = {
  name: 'encryption-without-key',
  codes: ['DFC4024'],
  run({ config, report }) {
    if (config.crypto !== undefined) return;
    for (const site of allRules(config)) {
      walkRule(site.rule, site.path, (rule, path) => {
        if (rule.rule !== 'encrypt' && rule.rule !== 'decrypt') return;
        report('DFC4024', `\`${rule.rule}\` rule needs a field encryption key`, path, {
          notes: ['set `crypto: { key: secret(\'FIELD_KEY\') }` in `defineConfig` (a base64 32-byte key)'],
        });
      });
    }
  },
};
