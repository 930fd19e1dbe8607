/**
 * Row conditions around rules: DreamFactory role filters as a `Where` (lookups become
 * bound values), a JS evaluation of a `Where` over a row (the write-side check, and a
 * test oracle), and conversions between Space Cloud's `args.find` and `Where`.
 */
import { FALSE, TRUE, andWhere, escapeLike, type CmpOp, type Json, type PolicyRoleFilter, type Where } from '@dfc/schema';

// ---------------------------------------------------------------------------
// Role filters

/** Where lookups such as `{user.id}` read from. */
export interface LookupScope {
  /** Verified JWT claims: `{user.x}` and `{auth.x}` read them (`{user.id}` falls back to `sub`). */
  claims?: Readonly<Record<string, unknown>> | null;
  /** The caller's role name: `{role.name}`. */
  role?: string;
  /** The calling app's name: `{app.name}`. */
  app?: string;
}

const LOOKUP = /\{([^{}\s]+)\}/g;
const WHOLE_LOOKUP = /^\{([^{}\s]+)\}$/;
const FORBIDDEN = new Set(['__proto__', 'constructor', 'prototype']);

function ownPath(root: unknown, segments: readonly string[]): unknown {
  let v = root;
  for (const s of segments) {
    if (FORBIDDEN.has(s) || typeof v !== 'object' || v === null || Array.isArray(v) || !Object.hasOwn(v, s)) return undefined;
    v = (v as Record<string, unknown>)[s];
  }
  return v;
}

/** The value of one lookup (`user.id`, `auth.tenant`, `role.name`, `app.name`); undefined when unknown. */
export function resolveLookup(name: string, scope: LookupScope): unknown {
  const [ns, ...rest] = name.split('.');
  if (rest.length === 0) return undefined;
  switch (ns) {
    case 'user':
    case 'auth': {
      const v = ownPath(scope.claims, rest);
      if (v === undefined && ns === 'user' && rest.length === 1 && rest[0] === 'id') return ownPath(scope.claims, ['sub']);
      return v;
    }
    case 'role':
      return rest.length === 1 && rest[0] === 'name' ? scope.role : undefined;
    case 'app':
      return rest.length === 1 && rest[0] === 'name' ? scope.app : undefined;
    default:
      return undefined;
  }
}

function isScalar(v: unknown): v is string | number | boolean {
  return typeof v === 'string' || typeof v === 'boolean' || (typeof v === 'number' && Number.isFinite(v));
}

type Resolved = { value: Json } | { unresolved: string };

/** Resolve lookups in a filter value: a whole-value lookup keeps its type; lookups inside text become text. */
function resolveValue(value: Json | undefined, scope: LookupScope): Resolved {
  if (typeof value !== 'string') return { value: value === undefined ? null : value };
  const whole = WHOLE_LOOKUP.exec(value);
  if (whole) {
    const v = resolveLookup(whole[1]!, scope);
    return isScalar(v) ? { value: v } : { unresolved: whole[1]! };
  }
  let missing: string | undefined;
  const text = value.replace(LOOKUP, (_m, name: string) => {
    const v = resolveLookup(name, scope);
    if (!isScalar(v)) {
      missing ??= name;
      return '';
    }
    return String(v);
  });
  return missing !== undefined ? { unresolved: missing } : { value: text };
}

export interface RoleFilterResult {
  /** The condition; `FALSE` when anything could not be resolved (fail closed). */
  where: Where;
  /** Lookups or filters that could not be turned into a condition, for logs. */
  problems: string[];
}

function filterWhere(f: PolicyRoleFilter, scope: LookupScope, problems: string[]): Where {
  const column = f.name;
  const op = f.operator;
  if (op === 'is null' || op === 'is not null') return { kind: 'null', column, negated: op === 'is not null' };
  if (op === 'in' || op === 'not in') {
    let items: Json[];
    if (Array.isArray(f.value)) items = f.value;
    else if (typeof f.value === 'string') {
      const text = f.value.trim().replace(/^\((.*)\)$/s, '$1');
      items = text === '' ? [] : text.split(',').map((s) => s.trim());
    } else if (isScalar(f.value)) items = [f.value];
    else {
      problems.push(`filter on \`${column}\` needs a list`);
      return FALSE;
    }
    const values: Json[] = [];
    for (const item of items) {
      const r = resolveValue(item, scope);
      if ('unresolved' in r) {
        problems.push(`lookup \`{${r.unresolved}}\` has no value`);
        return FALSE;
      }
      if (!isScalar(r.value)) {
        problems.push(`filter on \`${column}\` has a list item that is not a scalar`);
        return FALSE;
      }
      values.push(r.value);
    }
    return { kind: 'in', column, values, negated: op === 'not in' };
  }
  const r = resolveValue(f.value, scope);
  if ('unresolved' in r) {
    problems.push(`lookup \`{${r.unresolved}}\` has no value`);
    return FALSE;
  }
  const v = r.value;
  switch (op) {
    case 'like':
      if (typeof v !== 'string') break;
      return { kind: 'like', column, pattern: v, negated: false };
    case 'starts with':
    case 'ends with':
    case 'contains': {
      if (!isScalar(v)) break;
      const e = escapeLike(String(v));
      const pattern = op === 'starts with' ? e + '%' : op === 'ends with' ? '%' + e : '%' + e + '%';
      return { kind: 'like', column, pattern, negated: false };
    }
    default: {
      const cmp: CmpOp = op === '<>' ? '!=' : (op as CmpOp);
      // `= null` means "is null" (SQL's `= NULL` would never hold).
      if (v === null && (cmp === '=' || cmp === '!=')) return { kind: 'null', column, negated: cmp === '!=' };
      if (!isScalar(v)) break;
      return { kind: 'cmp', column, op: cmp, value: v };
    }
  }
  problems.push(`filter on \`${column}\` has a value that \`${op}\` cannot use`);
  return FALSE;
}

/**
 * One access entry's filters as a row condition, combined by `filterOp`. Lookups are
 * resolved from the caller into bound values, never pasted into filter text; anything
 * that cannot be resolved makes the whole condition `FALSE`.
 */
export function roleFilterWhere(filters: readonly PolicyRoleFilter[], filterOp: 'AND' | 'OR', scope: LookupScope): RoleFilterResult {
  if (filters.length === 0) return { where: TRUE, problems: [] };
  const problems: string[] = [];
  const items = filters.map((f) => filterWhere(f, scope, problems));
  if (problems.length > 0) return { where: FALSE, problems };
  if (filterOp === 'AND') return { where: andWhere(items), problems };
  return { where: items.length === 1 ? items[0]! : { kind: 'or', items }, problems };
}

// ---------------------------------------------------------------------------
// Evaluating a Where over a row

export interface MatchOptions {
  /** LIKE ignores case (SQLite's and MySQL's default collations); default false (PostgreSQL). */
  caseInsensitiveLike?: boolean;
}

type Tri = boolean | null;

/** A column value as SQL compares it: NULL, a number or a string. */
function sqlValue(v: unknown): number | string | null {
  if (v === null || v === undefined) return null;
  if (typeof v === 'boolean') return v ? 1 : 0;
  if (typeof v === 'number') return Number.isNaN(v) ? null : v;
  if (typeof v === 'bigint') return Number(v);
  if (typeof v === 'string') return v;
  if (v instanceof Date) return Number.isNaN(v.getTime()) ? null : v.toISOString();
  return null;
}

const NUMERIC = /^\s*[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?\s*$/;

/** -1/0/1, or null when SQL could not compare them. */
function compareSql(a: number | string, b: number | string): number | null {
  if (typeof a === typeof b) return a < b ? -1 : a > b ? 1 : 0;
  const [n, s] = typeof a === 'number' ? [a, b as string] : [b as number, a as string];
  if (!NUMERIC.test(s)) return null;
  const m = Number(s);
  const c = n < m ? -1 : n > m ? 1 : 0;
  return typeof a === 'number' ? c : -c;
}

function likeRegex(pattern: string, insensitive: boolean): RegExp {
  let src = '';
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i]!;
    if (c === '\\' && i + 1 < pattern.length) src += escapeRegex(pattern[++i]!);
    else if (c === '%') src += '.*';
    else if (c === '_') src += '.';
    else src += escapeRegex(c);
  }
  return new RegExp(`^${src}$`, insensitive ? 'isu' : 'su');
}

function escapeRegex(c: string): string {
  return /[\\^$.*+?()[\]{}|/]/.test(c) ? '\\' + c : c;
}

function columnOf(row: Readonly<Record<string, unknown>>, column: string): number | string | null {
  return Object.hasOwn(row, column) ? sqlValue(row[column]) : null;
}

function evalWhere(w: Where, row: Readonly<Record<string, unknown>>, opts: MatchOptions): Tri {
  switch (w.kind) {
    case 'const':
      return w.value;
    case 'and': {
      let unknown = false;
      for (const item of w.items) {
        const r = evalWhere(item, row, opts);
        if (r === false) return false;
        if (r === null) unknown = true;
      }
      return unknown ? null : true;
    }
    case 'or': {
      let unknown = false;
      for (const item of w.items) {
        const r = evalWhere(item, row, opts);
        if (r === true) return true;
        if (r === null) unknown = true;
      }
      return unknown ? null : false;
    }
    case 'not': {
      const r = evalWhere(w.item, row, opts);
      return r === null ? null : !r;
    }
    case 'null': {
      const isNull = columnOf(row, w.column) === null;
      return w.negated ? !isNull : isNull;
    }
    case 'cmp': {
      const a = columnOf(row, w.column);
      const b = sqlValue(w.value);
      if (a === null || b === null) return null;
      const c = compareSql(a, b);
      if (c === null) return null;
      switch (w.op) {
        case '=':
          return c === 0;
        case '!=':
          return c !== 0;
        case '<':
          return c < 0;
        case '<=':
          return c <= 0;
        case '>':
          return c > 0;
        case '>=':
          return c >= 0;
      }
      return null;
    }
    case 'in': {
      const a = columnOf(row, w.column);
      if (a === null) return null;
      let unknown = false;
      let hit = false;
      for (const v of w.values) {
        const b = sqlValue(v);
        if (b === null) {
          unknown = true;
          continue;
        }
        const c = compareSql(a, b);
        if (c === 0) {
          hit = true;
          break;
        }
        if (c === null) unknown = true;
      }
      const r: Tri = hit ? true : unknown ? null : false;
      return w.negated ? (r === null ? null : !r) : r;
    }
    case 'like': {
      const a = columnOf(row, w.column);
      if (a === null) return null;
      const hit = likeRegex(w.pattern, opts.caseInsensitiveLike === true).test(String(a));
      return w.negated ? !hit : hit;
    }
  }
}

/**
 * Whether a row satisfies a condition, with SQL's three-valued logic (a comparison
 * with NULL is unknown, and unknown is not a match). Used to check that a written row
 * still satisfies the role's filter, and as a test oracle for rendered SQL.
 */
export function matchesWhere(where: Where, row: Readonly<Record<string, unknown>>, options: MatchOptions = {}): boolean {
  return evalWhere(where, row, options) === true;
}

// ---------------------------------------------------------------------------
// args.find ↔ Where

const FIND_OPS: Record<string, CmpOp> = { $eq: '=', $ne: '!=', $gt: '>', $gte: '>=', $lt: '<', $lte: '<=' };

export type FindResult = { ok: true; where: Where } | { ok: false; reason: string };

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof Date);
}

function isCell(v: unknown): v is string | number | boolean {
  return isScalar(v);
}

/**
 * `args.find` (Space Cloud's Mongo-style where) as a `Where`: `{ col: v }` is equality,
 * `{ col: null }` is `is null`, `{ col: { $gt: 1, $in: [...] } }` uses operators,
 * `$and`/`$or` take lists of finds. After a rule has run, AND this into the query so
 * that `force args.find.userId = args.auth.id` constrains the rows touched. Columns
 * not in `columns` (when given) and anything it cannot express are refused.
 */
export function findToWhere(find: unknown, columns?: ReadonlySet<string> | readonly string[]): FindResult {
  const known = columns === undefined ? undefined : columns instanceof Set ? columns : new Set(columns as readonly string[]);
  const build = (f: unknown): FindResult => {
    if (!isPlainObject(f)) return { ok: false, reason: 'a find must be an object' };
    const items: Where[] = [];
    for (const key of Object.keys(f)) {
      const v = f[key];
      if (v === undefined) continue;
      if (key === '$and' || key === '$or') {
        if (!Array.isArray(v)) return { ok: false, reason: `\`${key}\` needs a list` };
        const parts: Where[] = [];
        for (const sub of v) {
          const r = build(sub);
          if (!r.ok) return r;
          parts.push(r.where);
        }
        if (key === '$and') items.push(andWhere(parts));
        else items.push(parts.length === 0 ? FALSE : parts.length === 1 ? parts[0]! : { kind: 'or', items: parts });
        continue;
      }
      if (key.startsWith('$')) return { ok: false, reason: `\`${key}\` is not supported` };
      if (FORBIDDEN.has(key) || (known && !known.has(key))) return { ok: false, reason: `\`${key}\` is not a column` };
      if (v === null) {
        items.push({ kind: 'null', column: key, negated: false });
      } else if (isCell(v)) {
        items.push({ kind: 'cmp', column: key, op: '=', value: v });
      } else if (isPlainObject(v)) {
        for (const op of Object.keys(v)) {
          const arg = v[op];
          if (Object.hasOwn(FIND_OPS, op)) {
            if (arg === null && (op === '$eq' || op === '$ne')) items.push({ kind: 'null', column: key, negated: op === '$ne' });
            else if (isCell(arg)) items.push({ kind: 'cmp', column: key, op: FIND_OPS[op]!, value: arg });
            else return { ok: false, reason: `\`${key}.${op}\` needs a scalar` };
          } else if (op === '$in' || op === '$nin') {
            if (!Array.isArray(arg) || !arg.every(isCell)) return { ok: false, reason: `\`${key}.${op}\` needs a list of scalars` };
            items.push({ kind: 'in', column: key, values: arg as Json[], negated: op === '$nin' });
          } else {
            return { ok: false, reason: `\`${key}.${op}\` is not supported` };
          }
        }
      } else {
        return { ok: false, reason: `\`${key}\` has a value that cannot be compared` };
      }
    }
    return { ok: true, where: andWhere(items) };
  };
  return build(find);
}

/**
 * The equality conditions at the top of a `Where` (what Space Cloud's `args.find`
 * shows a rule), as a plain object: `a = 1 AND b = 'x'` → `{ a: 1, b: 'x' }`.
 * Conditions under OR or NOT, and other operators, are left out.
 */
export function whereToFind(where: Where): Record<string, Json> {
  const out: Record<string, Json> = {};
  const items = where.kind === 'and' ? where.items : [where];
  for (const w of items) {
    if (w.kind === 'cmp' && w.op === '=' && !Object.hasOwn(out, w.column) && !FORBIDDEN.has(w.column)) out[w.column] = w.value;
  }
  return out;
}
