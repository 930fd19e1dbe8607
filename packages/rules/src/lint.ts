/**
 * Static checks of a rule, separate from evaluation (as Cedar's validator is): what
 * would make a rule deny every time, never decide, or not mean what it says. The
 * compiler's analyze stage maps each issue to a diagnostic; `id` is stable.
 */
import { FORBIDDEN_SEGMENTS, MAX_RULE_DEPTH, type ColumnType, type Json, type Operation, type Rule } from '@dfc/schema';
import { msg, show } from './messages.js';
import { compareInstants, parseDate, parseDuration } from './runtime/dates.js';
import { ruleDepth } from './validate.js';
import { checkWebhookUrl, type WebhookPolicy } from './webhook.js';

export type RuleIssueId =
  | 'max-depth'
  | 'unknown-rule'
  | 'empty-combinator'
  | 'unreachable-clause'
  | 'match-eval'
  | 'operand-type'
  | 'invalid-date'
  | 'in-scalar'
  | 'res-in-rule'
  | 'unknown-variable'
  | 'unknown-column'
  | 'forbidden-path'
  | 'unsupported-path'
  | 'unknown-helper'
  | 'helper-arguments'
  | 'field-target'
  | 'store-target'
  | 'unknown-query-target'
  | 'hash-password'
  | 'webhook-url-invalid'
  | 'webhook-url-scheme'
  | 'webhook-url-http'
  | 'webhook-url-userinfo'
  | 'webhook-url-fragment'
  | 'webhook-url-private'
  | 'constant-rule'
  | 'operand-column-type';

export interface RuleIssue {
  id: RuleIssueId;
  severity: 'error' | 'warning' | 'info';
  /** Cedar style: lowercase, no final period, user input in backticks. */
  message: string;
  /** Config path, e.g. `rules.blog.posts.read.clauses[1].f2`. */
  path: string;
  note?: string;
}

export interface LintContext {
  /** Config path of the rule, e.g. `rules.blog.posts.read`. */
  path: string;
  /** The table's columns; paths such as `args.find.x`, `args.doc.x`, `res.x` must name one. */
  columns?: Readonly<Record<string, ColumnType>>;
  /** Every service's tables and columns, for `query` rules. */
  tables?: Readonly<Record<string, Readonly<Record<string, Readonly<Record<string, ColumnType>>>>>>;
  /** The operation the rule guards: `args.doc` exists for create, `args.find` for read/update/delete… */
  operation?: Operation;
  /** What webhook URLs may be. */
  webhooks?: WebhookPolicy;
  /**
   * Whether the rule is a table's rule (which needs a session unless it is `allow`);
   * false for the rule of a requirement. @default true
   */
  topLevel?: boolean;
}

const ARGS_BY_OPERATION: Record<Operation, readonly string[]> = {
  create: ['auth', 'op', 'doc', 'token'],
  read: ['auth', 'op', 'find', 'token', 'opts'],
  update: ['auth', 'op', 'find', 'update', 'token'],
  delete: ['auth', 'op', 'find', 'token'],
};
const ALL_ARGS = ['auth', 'op', 'find', 'doc', 'update', 'token', 'opts', 'result'];
const HELPERS = ['exists', 'length', 'now', 'addDuration', 'roundUpDate'];
const EVALS: Record<string, readonly string[]> = {
  string: ['==', '!=', 'in', 'notIn'],
  number: ['==', '!=', '>', '>=', '<', '<=', 'in', 'notIn'],
  bool: ['==', '!='],
  date: ['==', '!=', '>', '>=', '<', '<='],
};
const PLURAL: Record<string, string> = { string: 'strings', number: 'numbers', bool: 'booleans', date: 'dates' };
const WORD: Record<string, string> = { string: 'string', number: 'number', bool: 'boolean', date: 'date' };

type AnyRule = Rule & { rule: string; clauses?: AnyRule[]; clause?: AnyRule; store?: string };

function isRef(v: unknown): v is string {
  return typeof v === 'string' && (v.startsWith('args.') || v.startsWith('utils.') || v.startsWith('res.'));
}

class Linter {
  readonly issues: RuleIssue[] = [];
  /** `args.<x>` names that `query`/`webhook` rules store into. */
  readonly stores = new Set<string>(['result']);

  constructor(readonly ctx: LintContext) {}

  add(id: RuleIssueId, severity: RuleIssue['severity'], message: string, path: string, note?: string): void {
    const issue: RuleIssue = { id, severity, message, path };
    if (note !== undefined) issue.note = note;
    this.issues.push(issue);
  }

  collectStores(rule: AnyRule): void {
    if ((rule.rule === 'query' || rule.rule === 'webhook') && typeof rule.store === 'string' && rule.store.startsWith('args.')) {
      this.stores.add(rule.store.slice(5).split('.')[0]!);
    }
    for (const c of rule.clauses ?? []) this.collectStores(c);
    if (rule.clause) this.collectStores(rule.clause);
  }

  /** Check an `args.…` path: known variable, known column, no prototype segments, no brackets. */
  argsPath(text: string, path: string, write = false): void {
    const segments = text.slice('args.'.length).split('.');
    if (segments.some((s) => FORBIDDEN_SEGMENTS.has(s))) {
      this.add('forbidden-path', 'error', msg.forbidden(text), path);
      return;
    }
    if (/[[\]()]/.test(text)) {
      this.add('unsupported-path', 'error', `\`${show(text)}\` uses brackets or parentheses`, path, 'dfc paths are dotted names; write `args.a.b.0`');
      return;
    }
    const head = segments[0]!;
    const allowed = this.ctx.operation ? [...ARGS_BY_OPERATION[this.ctx.operation], ...this.stores] : [...ALL_ARGS, ...this.stores];
    if (!allowed.includes(head)) {
      const why = this.ctx.operation && ALL_ARGS.includes(head) ? `\`args.${head}\` is not set for \`${this.ctx.operation}\` rules` : `\`args.${show(head)}\` is not a variable`;
      this.add('unknown-variable', write ? 'warning' : 'error', why, path, `the variables are ${allowed.map((a) => `\`args.${a}\``).join(', ')}`);
      return;
    }
    if (head === 'find' || head === 'doc') this.column(segments[1], text, path);
    if (head === 'update' && segments[1]?.startsWith('$')) this.column(segments[2], text, path);
  }

  column(name: string | undefined, text: string, path: string): void {
    const columns = this.ctx.columns;
    if (!columns || name === undefined || name.startsWith('$')) return;
    if (!Object.hasOwn(columns, name)) {
      this.add('unknown-column', 'error', `\`${show(text)}\` names no column of this table`, path, `the columns are ${Object.keys(columns).map((c) => `\`${c}\``).join(', ')}`);
    }
  }

  /** Check a reference used as a value (a `match` operand, a `force` value, a `find` value). */
  ref(text: string, path: string): void {
    if (text.startsWith('res.')) {
      this.add('res-in-rule', 'error', msg.resInRule(text), path, '`res.` fields can be changed by `remove`, `force`, `encrypt`, `decrypt` and `hash`, not compared');
      return;
    }
    if (text.startsWith('args.')) return this.argsPath(text, path);
    // utils.fn(params)
    const open = text.indexOf('(');
    const close = open < 0 ? -1 : text.indexOf(')', open);
    const fn = text.slice('utils.'.length, open < 0 ? undefined : open);
    if (open < 0 || close !== text.length - 1 || !HELPERS.includes(fn)) {
      this.add('unknown-helper', 'error', msg.badHelper(text), path, `the helpers are ${HELPERS.map((h) => `\`utils.${h}\``).join(', ')}`);
      return;
    }
    const inner = text.slice(open + 1, close);
    const params = inner.trim() === '' ? [] : inner.split(',').map((p) => p.trim().replace(/^(['"])(.*)\1$/s, '$2'));
    const arity = { exists: 1, length: 1, now: 0, addDuration: 2, roundUpDate: 2 }[fn as 'now'];
    const bad = () => this.add('helper-arguments', 'error', msg.badHelperArgs(text), path);
    if (params.length !== arity || params.some((p) => p.startsWith('utils.') || p.startsWith('res.'))) return bad();
    if ((fn === 'exists' || fn === 'length') && !params[0]!.startsWith('args.')) return bad();
    for (const p of params) if (p.startsWith('args.')) this.argsPath(p, path);
    if (fn === 'addDuration' || fn === 'roundUpDate') {
      const [d, other] = params as [string, string];
      if (!d.startsWith('args.') && parseDate(d) === undefined) this.add('invalid-date', 'error', msg.badDate(d), path);
      if (fn === 'addDuration' && !other.startsWith('args.') && parseDuration(other) === undefined) {
        this.add('invalid-date', 'error', msg.badDuration(other), path, 'durations use Go syntax: `1h30m`, `90s`, `250ms`; there is no day unit');
      }
      if (fn === 'roundUpDate' && !other.startsWith('args.') && !['year', 'month', 'day', 'hour', 'minute', 'second'].includes(other)) {
        this.add('invalid-date', 'error', msg.badUnit(other), path, 'the units are `year`, `month`, `day`, `hour`, `minute`, `second`');
      }
    }
  }

  /** A `match` operand of a given type. */
  operand(value: Json, type: string, path: string, listElement = false): void {
    if (isRef(value)) return this.ref(value, path);
    const word = WORD[type]!;
    switch (type) {
      case 'string':
        if (typeof value !== 'string') this.add('operand-type', 'error', msg.notA(value, 'string'), path);
        return;
      case 'number':
      case 'bool': {
        const js = type === 'bool' ? 'boolean' : 'number';
        if (typeof value === js) return;
        if (typeof value === 'string') {
          this.add('operand-type', 'error', msg.notVariable(value, word), path, `Space Cloud reads \`${show(value)}\` as a variable that never resolves, so the comparison never holds; write a ${word} literal or use \`type: 'string'\``);
        } else {
          this.add('operand-type', 'error', msg.notA(value, word as 'number'), path);
        }
        return;
      }
      case 'date':
        if (listElement || typeof value !== 'string') this.add('operand-type', 'error', msg.notA(value, 'date'), path);
        else if (parseDate(value) === undefined) this.add('invalid-date', 'error', msg.badDate(value), path, 'dates are RFC 3339 (`2024-01-31T12:00:00Z`) or `YYYY-MM-DD`');
        return;
    }
  }

  rule(rule: AnyRule, path: string): void {
    switch (rule.rule) {
      case 'allow':
      case 'deny':
      case 'authenticated':
      case 'code':
        return;
      case 'and':
      case 'or': {
        const clauses = rule.clauses ?? [];
        if (clauses.length === 0) {
          this.add('empty-combinator', 'error', msg.empty(rule.rule), path, `Space Cloud lets an empty \`${rule.rule}\` pass; dfc denies it, so give it clauses or use \`allow\`/\`deny\``);
        }
        const decisive = rule.rule === 'or' ? 'allow' : 'deny';
        // A clause that always allows (in an `or`) or always denies (in an `and`) decides
        // before the ones after it: literally `allow`/`deny`, or by what it compares.
        const at = clauses.findIndex((c) => staticOutcome(c) === decisive);
        if (at >= 0 && at < clauses.length - 1) {
          const literal = clauses[at]!.rule === decisive;
          const what = literal ? `\`${decisive}\`` : `the clause that always ${decisive === 'allow' ? 'holds' : 'fails'}`;
          const note = literal ? `\`${decisive}\` at \`clauses[${at}]\` always decides first` : `\`clauses[${at}]\` always ${decisive === 'allow' ? 'allows' : 'denies'}, so it decides first`;
          this.add('unreachable-clause', 'warning', `the clauses after ${what} in this \`${rule.rule}\` never decide`, `${path}.clauses[${at + 1}]`, note);
        }
        clauses.forEach((c, i) => this.rule(c, `${path}.clauses[${i}]`));
        return;
      }
      case 'match': {
        const r = rule as Extract<Rule, { rule: 'match' }>;
        if (!Object.hasOwn(EVALS, r.type)) return this.add('match-eval', 'error', msg.unknownType(r.type), `${path}.type`);
        if (!EVALS[r.type]!.includes(r.eval)) {
          return this.add('match-eval', 'error', msg.cannotCompare(r.eval, PLURAL[r.type]!), `${path}.eval`);
        }
        this.operand(r.f1, r.type, `${path}.f1`);
        this.operandKind(r.f1, r.type, `${path}.f1`, false);
        if (r.eval === 'in' || r.eval === 'notIn') {
          if (Array.isArray(r.f2)) {
            r.f2.forEach((e, i) => {
              this.operand(e, r.type, `${path}.f2[${i}]`, true);
              this.operandKind(e, r.type, `${path}.f2[${i}]`, false);
            });
          } else if (isRef(r.f2)) {
            this.ref(r.f2, `${path}.f2`);
            this.operandKind(r.f2, r.type, `${path}.f2`, true);
          } else {
            this.add('in-scalar', 'error', msg.needsList(r.eval, r.f2), `${path}.f2`, `Space Cloud lets \`${r.eval}\` with a single value ${r.eval === 'in' ? 'always fail' : 'always pass'}; write a list`);
          }
        } else {
          this.operand(r.f2, r.type, `${path}.f2`);
          this.operandKind(r.f2, r.type, `${path}.f2`, false);
        }
        return;
      }
      case 'remove':
      case 'encrypt':
      case 'decrypt':
      case 'hash':
        (rule as { fields: string[] }).fields.forEach((f, i) => this.field(f, `${path}.fields[${i}]`, rule.rule));
        break;
      case 'force': {
        const r = rule as Extract<Rule, { rule: 'force' }>;
        this.field(r.field, `${path}.field`, 'force');
        if (isRef(r.value)) this.ref(r.value, `${path}.value`);
        break;
      }
      case 'query': {
        const r = rule as Extract<Rule, { rule: 'query' }>;
        const tables = this.ctx.tables;
        let columns: Readonly<Record<string, ColumnType>> | undefined;
        if (tables) {
          const service = Object.hasOwn(tables, r.db) ? tables[r.db] : undefined;
          if (!service) this.add('unknown-query-target', 'error', `\`${show(r.db)}\` is not a service`, `${path}.db`);
          else if (!Object.hasOwn(service, r.col)) this.add('unknown-query-target', 'error', `\`${show(r.db)}\` has no table \`${show(r.col)}\``, `${path}.col`);
          else columns = service[r.col];
        }
        this.queryFind(r, columns, `${path}.find`);
        this.store(r.store, path);
        break;
      }
      case 'webhook': {
        const r = rule as Extract<Rule, { rule: 'webhook' }>;
        for (const issue of checkWebhookUrl(r.url, this.ctx.webhooks ?? {})) this.add(issue.id, 'error', issue.message, `${path}.url`, issue.note);
        this.store(r.store, path);
        break;
      }
      default:
        this.add('unknown-rule', 'error', msg.unknownRule((rule as { rule: unknown }).rule), `${path}.rule`);
        return;
    }
    if (rule.clause) {
      if (TRANSFORMS.has(rule.rule) && staticOutcome(rule.clause) === 'deny') {
        this.add('unreachable-clause', 'warning', `this \`${rule.rule}\` never applies: its \`clause\` never holds`, path, 'a transform whose clause does not hold is skipped; remove the transform, or fix its clause');
      }
      this.rule(rule.clause, `${path}.clause`);
    }
  }

  /**
   * Nodes that always allow or always deny though they are not literally `allow` or
   * `deny`: the outermost such node is reported (its clauses explain it).
   */
  constants(rule: AnyRule, path: string, top: boolean): void {
    const outcome = staticOutcome(rule);
    if (outcome !== undefined && rule.rule !== 'allow' && rule.rule !== 'deny') {
      const cause = constantCause(rule, outcome);
      const where = cause !== undefined ? ` (\`${cause}\` ${outcome === 'allow' ? 'always holds' : 'never holds'})` : '';
      if (outcome === 'deny') {
        this.add('constant-rule', 'warning', `this \`${rule.rule}\` never holds: it denies every request that reaches it${where}`, path, "write `{ rule: 'deny' }` if that is meant; otherwise the rule compares values that cannot change");
      } else if (top) {
        this.add('constant-rule', 'warning', `this \`${rule.rule}\` always holds: it allows every caller with a session${where}`, path, "write `{ rule: 'authenticated' }` (or `{ rule: 'allow' }` for everyone) if that is meant; otherwise the rule compares values that cannot change");
      } else {
        this.add('constant-rule', 'warning', `this \`${rule.rule}\` always holds${where}`, path, 'a condition that always holds checks nothing; the rule compares values that cannot change');
      }
      return;
    }
    rule.clauses?.forEach((c, i) => this.constants(c, `${path}.clauses[${i}]`, false));
    if (rule.clause && !TRANSFORMS.has(rule.rule)) this.constants(rule.clause, `${path}.clause`, false);
    else if (rule.clause && staticOutcome(rule.clause) === undefined) this.constants(rule.clause, `${path}.clause`, false);
  }

  /**
   * A `match` operand that names a column (or a helper) whose values can never be of the
   * match's type: the comparison errors on every request, and the rule denies.
   */
  operandKind(value: Json, type: string, path: string, list: boolean): void {
    if (typeof value !== 'string' || !isRef(value)) return;
    const kind = this.kindOf(value);
    if (kind === undefined || kind.kind === 'json') return;
    if (list) {
      this.add('operand-column-type', 'error', `\`${show(value)}\` is ${an(kind.kind)} \`${kind.kind}\` ${kind.what}, not a list`, path, `\`in\` and \`notIn\` need a list: a literal list, or a \`json\` column that holds one`);
      return;
    }
    if (COMPATIBLE[type]!.includes(kind.kind)) return;
    this.add(
      'operand-column-type',
      'error',
      `\`${show(value)}\` is ${an(kind.kind)} \`${kind.kind}\` ${kind.what}, which a \`${type}\` match cannot compare`,
      path,
      `the comparison fails on every request that reaches it, and the rule denies; use \`type: '${SUGGESTED_TYPE[kind.kind] ?? type}'\``,
    );
  }

  /** What a variable or helper holds, when the config says: a column's type, or a helper's result. */
  kindOf(text: string): { kind: string; what: string } | undefined {
    if (text.startsWith('utils.')) {
      const fn = text.slice(6, text.indexOf('(') < 0 ? undefined : text.indexOf('('));
      const out = { exists: 'bool', length: 'number', now: 'date', addDuration: 'date', roundUpDate: 'date' }[fn as 'now'];
      return out ? { kind: out, what: `value (\`utils.${fn}\`)` } : undefined;
    }
    const segments = text.slice(5).split('.');
    if (text === 'args.op' || text === 'args.token') return { kind: 'string', what: 'variable' };
    const columns = this.ctx.columns;
    if (!columns) return undefined;
    let column: string | undefined;
    if ((segments[0] === 'find' || segments[0] === 'doc') && segments.length === 2) column = segments[1];
    if (segments[0] === 'update' && segments[1]?.startsWith('$') && segments.length === 3) column = segments[2];
    if (column === undefined || !Object.hasOwn(columns, column)) return undefined;
    return { kind: columns[column]!, what: 'column' };
  }

  field(field: string, path: string, kind: string): void {
    let segments: string[];
    if (field.startsWith('res.')) {
      segments = field.slice(4).split('.');
      if (segments.some((s) => FORBIDDEN_SEGMENTS.has(s))) return this.add('forbidden-path', 'error', msg.forbidden(field), path);
      this.column(segments[0], field, path);
    } else if (field.startsWith('args.')) {
      segments = field.split('.');
      if (!FIELD_SCOPES.has(segments[1] ?? '')) {
        return this.add('field-target', 'error', `\`${show(field)}\` cannot be changed`, path, 'fields are columns under `args.doc`, `args.find`, `args.update.$set` (and the other operators) or `res`');
      }
      this.argsPath(field, path, true);
    } else {
      return this.add('field-target', 'error', msg.badField(field), path);
    }
    if (kind === 'encrypt' || kind === 'decrypt' || kind === 'hash') {
      const column = fieldColumn(segments, field.startsWith('res.'));
      const type = column !== undefined && this.ctx.columns && Object.hasOwn(this.ctx.columns, column) ? this.ctx.columns[column] : undefined;
      if (type !== undefined && type !== 'string') {
        this.add('operand-type', 'error', `column \`${column}\` is ${type}: only string columns can be ${kind === 'hash' ? 'hashed' : `${kind}ed`}`, path, `\`${kind}\` turns a string into a string`);
      }
    }
    if (kind === 'hash' && /pass(word)?|pwd/i.test(segments[segments.length - 1] ?? '')) {
      this.add('hash-password', 'warning', `\`${show(field)}\` is hashed with unsalted SHA-256`, path, 'SHA-256 without a salt is fast to brute-force; hash passwords with scrypt or argon2 in the application, or in a `code` rule');
    }
  }

  store(store: string | undefined, path: string): void {
    if (store === undefined) return;
    if (!store.startsWith('args.')) return this.add('store-target', 'error', msg.badStore(store), `${path}.store`);
    if (store.slice(5).split('.').some((s) => FORBIDDEN_SEGMENTS.has(s))) this.add('forbidden-path', 'error', msg.forbidden(store), `${path}.store`);
  }

  /**
   * A `query` rule's `find`: its keys are columns of the queried table, and a column's
   * operators are those the rule's query applies (any other matches no row).
   */
  queryFind(r: Extract<Rule, { rule: 'query' }>, columns: Readonly<Record<string, ColumnType>> | undefined, path: string): void {
    for (const [column, value] of Object.entries(r.find)) {
      const at = `${path}.${column}`;
      if (columns && !Object.hasOwn(columns, column)) {
        this.add('unknown-column', 'error', `unknown column \`${show(column)}\` in table \`${show(r.col)}\``, at, `the columns are ${Object.keys(columns).map((c) => `\`${c}\``).join(', ')}`);
      }
      if (typeof value === 'object' && value !== null && !Array.isArray(value)) {
        for (const op of Object.keys(value)) {
          if (!QUERY_OPERATORS.has(op)) {
            this.add('match-eval', 'error', `\`${show(op)}\` is not an operator of \`query\` rules`, `${at}.${op}`, 'a query rule\'s `find` takes `$eq`, `$ne`, `$in` and `$nin`; any other operator would match no row');
          }
        }
      }
    }
    this.find(r.find, path);
  }

  find(value: Json, path: string): void {
    if (isRef(value)) return this.ref(value, path);
    if (Array.isArray(value)) value.forEach((v, i) => this.find(v, `${path}[${i}]`));
    else if (typeof value === 'object' && value !== null) for (const [k, v] of Object.entries(value)) this.find(v, `${path}.${k}`);
  }
}

/** Static problems of a rule, in config order; empty when there are none. */
export function lintRule(rule: Rule, ctx: LintContext): RuleIssue[] {
  const linter = new Linter(ctx);
  if (ruleDepth(rule) > MAX_RULE_DEPTH) {
    linter.add('max-depth', 'error', `the rule is nested more than ${MAX_RULE_DEPTH} levels deep`, ctx.path);
    return linter.issues;
  }
  linter.collectStores(rule as AnyRule);
  linter.rule(rule as AnyRule, ctx.path);
  linter.constants(rule as AnyRule, ctx.path, ctx.topLevel !== false);
  return linter.issues;
}

const TRANSFORMS: ReadonlySet<string> = new Set(['remove', 'force', 'encrypt', 'decrypt', 'hash']);

/** The request variables whose columns a transform may change. */
const FIELD_SCOPES: ReadonlySet<string> = new Set(['doc', 'find', 'update']);

/** The operators a `query` rule's `find` may use on a column (runtime/rule-query.ts applies them). */
const QUERY_OPERATORS: ReadonlySet<string> = new Set(['$eq', '$ne', '$in', '$nin']);

/** The column a field names (`res.age`, `args.doc.age`, `args.update.$set.age` → `age`). */
function fieldColumn(segments: readonly string[], res: boolean): string | undefined {
  if (res) return segments.length === 1 ? segments[0] : undefined;
  if (segments[1] === 'update') return segments.length === 4 ? segments[3] : undefined;
  return segments.length === 3 ? segments[2] : undefined;
}

const an = (word: string) => (/^[aeiou]/i.test(word) ? 'an' : 'a');

/** Column types (and helper results) each match type can compare. `json` columns may hold anything. */
const COMPATIBLE: Record<string, readonly string[]> = {
  string: ['string', 'date'],
  number: ['integer', 'number'],
  bool: ['bool'],
  date: ['date', 'string'],
};
const SUGGESTED_TYPE: Record<string, string> = { string: 'string', date: 'date', integer: 'number', number: 'number', bool: 'bool' };

/**
 * What a rule decides whatever the request, when that can be known from the rule alone:
 * `allow`, `deny`, or undefined (it depends on the request, the data or the host).
 * Errors deny, so a comparison that can only fail or error is `deny`.
 */
export function staticOutcome(rule: Rule): 'allow' | 'deny' | undefined {
  const r = rule as AnyRule;
  switch (r.rule) {
    case 'allow':
      return 'allow';
    case 'deny':
      return 'deny';
    case 'and': {
      const clauses = r.clauses ?? [];
      if (clauses.length === 0) return undefined; // reported as an empty `and`
      const outcomes = clauses.map(staticOutcome);
      if (outcomes.includes('deny')) return 'deny';
      return outcomes.every((o) => o === 'allow') ? 'allow' : undefined;
    }
    case 'or': {
      const clauses = r.clauses ?? [];
      if (clauses.length === 0) return undefined;
      const outcomes = clauses.map(staticOutcome);
      if (outcomes.includes('allow')) return 'allow';
      return outcomes.every((o) => o === 'deny') ? 'deny' : undefined;
    }
    case 'match':
      return matchOutcome(r as Extract<Rule, { rule: 'match' }>);
    default:
      return undefined;
  }
}

/** The clause that makes a constant `and`/`or` constant, relative to it. */
function constantCause(rule: AnyRule, outcome: 'allow' | 'deny'): string | undefined {
  if (rule.rule !== 'and' && rule.rule !== 'or') return undefined;
  const clauses = rule.clauses ?? [];
  const decisive = rule.rule === 'or' ? 'allow' : 'deny';
  if (outcome === decisive) {
    const i = clauses.findIndex((c) => staticOutcome(c) === decisive);
    return i >= 0 ? `clauses[${i}]` : undefined;
  }
  return undefined;
}

/** A `match` of two literals (or of a variable with itself) decides the same way every time. */
function matchOutcome(r: Extract<Rule, { rule: 'match' }>): 'allow' | 'deny' | undefined {
  if (!Object.hasOwn(EVALS, r.type) || !EVALS[r.type]!.includes(r.eval)) return undefined;
  const { f1, f2 } = r;
  if (isRef(f1) || isRef(f2)) {
    // `x != x`, `x < x`, `x > x` never hold: false when `x` is there, an error when not.
    if (typeof f1 === 'string' && f1 === f2 && isRef(f1) && !f1.startsWith('utils.now') && ['!=', '<', '>'].includes(r.eval)) return 'deny';
    return undefined;
  }
  const js = { string: 'string', number: 'number', bool: 'boolean', date: 'string' }[r.type]!;
  const scalar = (v: Json): boolean => typeof v === js && (r.type !== 'date' || parseDate(v) !== undefined);
  if (!scalar(f1)) return undefined; // a literal of the wrong type is its own error
  if (r.eval === 'in' || r.eval === 'notIn') {
    if (!Array.isArray(f2) || f2.some((e) => isRef(e) || !scalar(e))) return undefined;
    const member = f2.includes(f1);
    return (r.eval === 'in') === member ? 'allow' : 'deny';
  }
  if (!scalar(f2)) return undefined;
  let cmp: number;
  if (r.type === 'date') cmp = compareInstants(parseDate(f1)!, parseDate(f2)!);
  else if (r.type === 'string') cmp = f1 === f2 ? 0 : 1; // only == and != apply to strings
  else cmp = f1 === f2 ? 0 : (f1 as number | boolean) < (f2 as number | boolean) ? -1 : 1;
  const holds = { '==': cmp === 0, '!=': cmp !== 0, '<': cmp < 0, '<=': cmp <= 0, '>': cmp > 0, '>=': cmp >= 0 }[r.eval as '=='];
  return holds ? 'allow' : 'deny';
}
