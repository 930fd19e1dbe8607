import { FALSE, TRUE, andWhere, escapeLike, type Json, type PolicyAccess, type PolicyRoleFilter, type Where } from '@dfc/schema';

/**
 * Role filters (DreamFactory server-side filters) as Where conditions. Lookups such as
 * `{user.id}` are replaced by the caller's values as data (bound parameters later),
 * never pasted into filter text. A lookup with no value makes its filter false: an entry
 * whose filter cannot be evaluated grants nothing (fail closed).
 */

export interface LookupScope {
  /** Verified JWT claims (`{user.x}` and `{auth.x}` read them). */
  claims?: Readonly<Record<string, unknown>> | null;
  role?: string;
  app?: string;
}

const LOOKUP = /\{([A-Za-z_][A-Za-z0-9_]*)\.([A-Za-z_][A-Za-z0-9_]*)\}/g;
const WHOLE_LOOKUP = /^\{([A-Za-z_][A-Za-z0-9_]*)\.([A-Za-z_][A-Za-z0-9_]*)\}$/;

function lookup(scope: LookupScope, ns: string, key: string): unknown {
  switch (ns) {
    case 'user':
    case 'auth': {
      const c = scope.claims;
      if (!c || !Object.hasOwn(c, key)) return undefined;
      return c[key];
    }
    case 'role':
      return key === 'name' ? scope.role : undefined;
    case 'app':
      return key === 'name' ? scope.app : undefined;
    default:
      return undefined;
  }
}

const MISSING = Symbol('missing');

/** Resolve lookups in a filter value; MISSING when any lookup has no scalar value. */
export function resolveLookups(value: Json | undefined, scope: LookupScope): Json | typeof MISSING {
  if (typeof value === 'string') {
    const whole = WHOLE_LOOKUP.exec(value);
    if (whole) {
      const v = lookup(scope, whole[1]!, whole[2]!);
      return isScalar(v) ? v : MISSING;
    }
    let missing = false;
    const out = value.replace(LOOKUP, (_m, ns: string, key: string) => {
      const v = lookup(scope, ns, key);
      if (!isScalar(v) || v === null) {
        missing = true;
        return '';
      }
      return String(v);
    });
    return missing ? MISSING : out;
  }
  if (Array.isArray(value)) {
    const items: Json[] = [];
    for (const v of value) {
      const r = resolveLookups(v, scope);
      if (r === MISSING) return MISSING;
      items.push(r);
    }
    return items;
  }
  return value === undefined ? null : value;
}

function isScalar(v: unknown): v is string | number | boolean | null {
  return v === null || typeof v === 'string' || typeof v === 'boolean' || (typeof v === 'number' && Number.isFinite(v));
}

export function filterToWhere(f: PolicyRoleFilter, scope: LookupScope): Where {
  const v = resolveLookups(f.value, scope);
  if (v === MISSING) return FALSE;
  const col = f.name;
  switch (f.operator) {
    case '=':
    case '!=':
    case '>':
    case '>=':
    case '<':
    case '<=':
      if (v === null || typeof v === 'object') return FALSE;
      return { kind: 'cmp', column: col, op: f.operator, value: v };
    case '<>':
      if (v === null || typeof v === 'object') return FALSE;
      return { kind: 'cmp', column: col, op: '!=', value: v };
    case 'in':
    case 'not in': {
      const values = Array.isArray(v) ? v : typeof v === 'string' ? v.split(',').map((s) => s.trim()) : [v];
      return { kind: 'in', column: col, values, negated: f.operator === 'not in' };
    }
    case 'like':
      return typeof v === 'string' ? { kind: 'like', column: col, pattern: v, negated: false } : FALSE;
    case 'starts with':
    case 'ends with':
    case 'contains': {
      if (typeof v !== 'string' && typeof v !== 'number') return FALSE;
      const e = escapeLike(String(v));
      const pattern = f.operator === 'starts with' ? e + '%' : f.operator === 'ends with' ? '%' + e : '%' + e + '%';
      return { kind: 'like', column: col, pattern, negated: false };
    }
    case 'is null':
      return { kind: 'null', column: col, negated: false };
    case 'is not null':
      return { kind: 'null', column: col, negated: true };
  }
}

/** One access entry's filters, combined by its `filterOp`; TRUE when it has none. */
export function entryWhere(entry: PolicyAccess, scope: LookupScope): Where {
  if (entry.filters.length === 0) return TRUE;
  const items = entry.filters.map((f) => filterToWhere(f, scope));
  if (entry.filterOp === 'OR') {
    if (items.some((w) => w.kind === 'const' && w.value)) return TRUE;
    const kept = items.filter((w) => !(w.kind === 'const' && !w.value));
    if (kept.length === 0) return FALSE;
    return kept.length === 1 ? kept[0]! : { kind: 'or', items: kept };
  }
  return andWhere(items);
}

/**
 * The row condition a set of winning entries grants: rows any of them grants (entries in
 * one tier are unioned, like their verbs).
 */
export function entriesWhere(entries: readonly PolicyAccess[], scope: LookupScope): Where {
  if (entries.length === 0) return FALSE;
  const items: Where[] = [];
  for (const e of entries) {
    const w = entryWhere(e, scope);
    if (w.kind === 'const' && w.value) return TRUE;
    if (w.kind === 'const') continue;
    items.push(w);
  }
  if (items.length === 0) return FALSE;
  return items.length === 1 ? items[0]! : { kind: 'or', items };
}

/** Does a row satisfy a Where? (Used to check written rows; SQL is not consulted.) */
export function rowMatches(where: Where, row: Readonly<Record<string, unknown>>): boolean {
  switch (where.kind) {
    case 'const':
      return where.value;
    case 'and':
      return where.items.every((w) => rowMatches(w, row));
    case 'or':
      return where.items.some((w) => rowMatches(w, row));
    case 'not':
      return !rowMatches(where.item, row);
    case 'null': {
      const v = Object.hasOwn(row, where.column) ? row[where.column] : undefined;
      const isNull = v === null || v === undefined;
      return where.negated ? !isNull : isNull;
    }
    case 'cmp': {
      if (!Object.hasOwn(row, where.column)) return false;
      const a = normalize(row[where.column]);
      const b = normalize(where.value);
      if (a === null || b === null) return false;
      switch (where.op) {
        case '=':
          return a === b;
        case '!=':
          return a !== b;
        default: {
          if (typeof a !== typeof b) return false;
          const x = a as number | string;
          const y = b as number | string;
          return where.op === '>' ? x > y : where.op === '>=' ? x >= y : where.op === '<' ? x < y : x <= y;
        }
      }
    }
    case 'in': {
      if (!Object.hasOwn(row, where.column)) return false;
      const a = normalize(row[where.column]);
      if (a === null) return false;
      const hit = where.values.some((v) => normalize(v) === a);
      return where.negated ? !hit : hit;
    }
    case 'like': {
      if (!Object.hasOwn(row, where.column)) return false;
      const a = row[where.column];
      if (a === null || a === undefined || typeof a === 'object') return false;
      const hit = likeRegex(where.pattern).test(String(a));
      return where.negated ? !hit : hit;
    }
  }
}

/** Booleans stored as 0/1 and numbers sent as strings compare by value. */
function normalize(v: unknown): string | number | boolean | null {
  if (v === null || v === undefined) return null;
  if (typeof v === 'boolean') return v ? 1 : 0;
  if (typeof v === 'number') return v;
  if (typeof v === 'string') return v;
  if (v instanceof Date) return v.toISOString();
  return JSON.stringify(v);
}

function likeRegex(pattern: string): RegExp {
  let re = '';
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i]!;
    if (c === '\\' && i + 1 < pattern.length) re += escapeRe(pattern[++i]!);
    else if (c === '%') re += '[\\s\\S]*';
    else if (c === '_') re += '[\\s\\S]';
    else re += escapeRe(c);
  }
  return new RegExp('^' + re + '$', 'i');
}

function escapeRe(c: string): string {
  return c.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
}
