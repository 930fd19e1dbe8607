import { OPERATIONS, isVariablePath, type SourceRule } from '@dfc/schema';
import type { RawPath } from '../diagnostics/config-path.js';
import { didYouMean, listOf } from '../util/suggest.js';
import { allRules, tableOf, walkRule, type Lint, type LintContext } from './context.js';

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
  codes: ['DFC4004'],
  run({ config, report }) {
    const sets = new Map<string, { ops: Set<string>; index: number }>();
    (config.rules ?? []).forEach((set, i) => {
      sets.set(`${set.service}/${set.table}`, { ops: new Set(Object.keys(set.rules).filter((k) => set.rules[k as 'read'] !== undefined)), index: i });
    });
    config.services.forEach((s, i) => {
      const fallback = sets.get(`${s.name}/default`)?.ops ?? new Set<string>();
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

const UPDATE_OPERATORS = new Set(['$set', '$inc', '$mul', '$max', '$min', '$unset', '$push', '$currentDate', '$rename']);

/** The column a variable path names in the guarded table, if it names one. */
function columnIn(path: string): string | undefined {
  const segs = path.split('.');
  if (segs[0] === 'res') return segs[1];
  if (segs[0] !== 'args') return undefined;
  if (segs[1] === 'find' || segs[1] === 'doc') return segs[2];
  if (segs[1] === 'update' && segs[2] !== undefined && UPDATE_OPERATORS.has(segs[2])) return segs[3];
  return undefined;
}

/** Variable paths inside an operand, including the arguments of `utils.*(…)` calls. */
function pathsIn(operand: string): string[] {
  if (/^(args|res)\./.test(operand) && !operand.includes('(')) return [operand];
  return [...operand.matchAll(/(?:^|[^A-Za-z0-9_$.])((?:args|res)\.[A-Za-z0-9_$.]+)/g)].map((m) => m[1]!.replace(/\.$/, ''));
}

function ruleProblems(ctx: LintContext, rule: SourceRule, path: RawPath, service: string, table: string | undefined): void {
  const { config, report } = ctx;
  const columns = tableOf(config, service, table)?.columns;
  const checkPath = (value: string, at: RawPath) => {
    if (!columns) return;
    for (const p of pathsIn(value)) {
      const column = columnIn(p);
      if (column === undefined || column.startsWith('$') || column.length === 0) continue;
      if (Object.hasOwn(columns, column)) continue;
      report('DFC4003', `\`${p}\` names unknown column \`${column}\` of table \`${table}\``, at, {
        notes: [didYouMean(column, Object.keys(columns)), `columns: ${listOf(Object.keys(columns), 'and', 20)}`],
      });
    }
  };
  switch (rule.rule) {
    case 'and':
    case 'or': {
      if (rule.clauses.length === 0) {
        report('DFC4005', `empty \`${rule.rule}\``, path, {
          notes: [
            rule.rule === 'and'
              ? 'Space Cloud allows on an empty `and`; dfc refuses it because a rule that checks nothing should not allow'
              : 'an empty `or` can never allow',
            'add clauses, or write `{ rule: \'allow\' }` or `{ rule: \'deny\' }` to say what you mean',
          ],
        });
        break;
      }
      const decisive = rule.rule === 'and' ? 'deny' : 'allow';
      const at = rule.clauses.findIndex((c) => c.rule === decisive);
      if (at >= 0 && at < rule.clauses.length - 1) {
        report('DFC4008', `clauses after \`clauses[${at}]\` never run: it always ${decisive === 'deny' ? 'denies' : 'allows'}`, [...path, 'clauses', at + 1], {
          notes: [`an \`${rule.rule}\` stops at its first ${decisive === 'deny' ? 'failing' : 'passing'} clause`, 'remove them, or move them before it'],
        });
      }
      break;
    }
    case 'match':
      for (const key of ['f1', 'f2'] as const) {
        const v = rule[key];
        if (typeof v === 'string' && /^(args|res|utils)\./.test(v)) {
          checkPath(v, [...path, key]);
          continue;
        }
        // DESIGN.md: Space Cloud reads such an operand as a path that resolves to
        // nothing, so the rule silently never matches; dfc refuses it.
        if ((rule.type === 'number' || rule.type === 'bool') && !literalOf(rule.type, v, rule.eval)) {
          const want = rule.type === 'number' ? 'a number' : '`true` or `false`';
          report('DFC4021', `operand \`${key}\` of a \`${rule.type}\` match is neither a variable path nor ${want}`, [...path, key], {
            notes: [
              typeof v === 'string' ? `found the string \`${v.length > 40 ? v.slice(0, 37) + '…' : v}\`` : undefined,
              `write ${want}${rule.eval === 'in' || rule.eval === 'notIn' ? ' (or a list of them)' : ''}, a path such as \`args.auth.level\`, or use \`type: 'string'\``,
            ],
          });
        }
      }
      break;
    case 'remove':
    case 'encrypt':
    case 'decrypt':
    case 'hash':
      rule.fields.forEach((f, i) => checkPath(f, [...path, 'fields', i]));
      if ((rule.rule === 'encrypt' || rule.rule === 'decrypt') && config.crypto === undefined) {
        report('DFC4024', `\`${rule.rule}\` rule needs a field encryption key`, path, {
          notes: ['set `crypto: { key: secret(\'FIELD_KEY\') }` in `defineConfig` (a base64 32-byte key)'],
        });
      }
      break;
    case 'force':
      checkPath(rule.field, [...path, 'field']);
      if (typeof rule.value === 'string' && isVariablePath(rule.value)) checkPath(rule.value, [...path, 'value']);
      break;
    case 'query': {
      const target = config.services.find((s) => s.name === rule.db);
      if (!target) {
        report('DFC4010', `query rule reads unknown service \`${rule.db}\``, [...path, 'db'], {
          notes: [didYouMean(rule.db, config.services.map((s) => s.name))],
        });
        break;
      }
      const targetTable = target.tables[rule.col];
      if (!Object.hasOwn(target.tables, rule.col) || !targetTable) {
        report('DFC4011', `query rule reads unknown table \`${rule.col}\` of service \`${rule.db}\``, [...path, 'col'], {
          notes: [didYouMean(rule.col, Object.keys(target.tables))],
        });
        break;
      }
      for (const [key, value] of Object.entries(rule.find)) {
        if (!key.startsWith('$') && !Object.hasOwn(targetTable.columns, key)) {
          report('DFC4003', `query rule filters on unknown column \`${key}\` of table \`${rule.col}\``, [...path, 'find', key], {
            mode: 'key',
            notes: [didYouMean(key, Object.keys(targetTable.columns))],
          });
        }
        if (typeof value === 'string' && isVariablePath(value)) checkPath(value, [...path, 'find', key]);
      }
      break;
    }
    case 'webhook': {
      let url: URL | undefined;
      try {
        url = new URL(rule.url);
      } catch {
        url = undefined;
      }
      if (!url || (url.protocol !== 'https:' && url.protocol !== 'http:')) {
        report('DFC4018', `webhook url \`${rule.url}\` is not an http or https URL`, [...path, 'url']);
      } else if (url.protocol === 'http:' && config.webhooks?.allowHttp !== true) {
        report('DFC4018', `webhook url \`${rule.url}\` is not https`, [...path, 'url'], {
          notes: ['request data would travel unencrypted', 'use https, or set `webhooks: { allowHttp: true }` for local development'],
        });
      }
      break;
    }
    default:
      break;
  }
}

function literalOf(type: 'number' | 'bool', value: unknown, evaluation: string): boolean {
  const one = (v: unknown) => (type === 'number' ? typeof v === 'number' && Number.isFinite(v) : typeof v === 'boolean');
  if ((evaluation === 'in' || evaluation === 'notIn') && Array.isArray(value)) return value.every(one);
  return one(value);
}

/** Per-rule checks over every rule and every nested clause. */
export const ruleContents: Lint = {
  name: 'rule-contents',
  codes: ['DFC4003', 'DFC4005', 'DFC4008', 'DFC4010', 'DFC4011', 'DFC4018', 'DFC4021', 'DFC4024'],
  run(ctx) {
    for (const site of allRules(ctx.config)) {
      walkRule(site.rule, site.path, (rule, path) => ruleProblems(ctx, rule, path, site.service, site.table));
    }
  },
};
