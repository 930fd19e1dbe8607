import type { Json, PolicyTable, Where } from '@dfc/schema';
import { DataError } from './errors.js';
import { shorten } from './text.js';
import { checkWhereValue } from './values.js';

/**
 * Evaluates a `Where` against one row in JavaScript with exactly the meaning the SQL
 * renderer gives it on every dialect (tested differentially against all three):
 * SQL's three-valued logic (a comparison with a null column is unknown, `not unknown`
 * is unknown, and only `true` matches), binary string order by code point,
 * case-sensitive LIKE, `in ()` false.
 */
export function matchesWhere(where: Where, row: Readonly<Record<string, unknown>>, table: PolicyTable): boolean {
  return evaluateWhere(where, row, table) === true;
}

/** Three-valued result: `null` is SQL's unknown. Throws `DataError('invalid')` where rendering it would. */
export function evaluateWhere(where: Where, row: Readonly<Record<string, unknown>>, table: PolicyTable): boolean | null {
  return evaluate(where, row, table, 0);
}

function columnOf(table: PolicyTable, name: string) {
  if (!Object.hasOwn(table.columns, name)) throw new DataError('invalid', `unknown column \`${shorten(name)}\``);
  return table.columns[name]!;
}

/** The row's value in the comparable form for its column type; null when absent, null or not of the type. */
function rowValue(table: PolicyTable, row: Readonly<Record<string, unknown>>, name: string): Json {
  const col = columnOf(table, name);
  const v = Object.hasOwn(row, name) ? row[name] : null;
  if (v === null || v === undefined) return null;
  if (col.type === 'json') return v as Json;
  const checked = checkWhereValue(name, col, v as Json);
  return checked.ok ? checked.value : null;
}

function compare(type: string, a: Json, b: Json): number {
  switch (type) {
    case 'string':
      return compareCodePoints(a as string, b as string);
    case 'date':
      return Date.parse(a as string) - Date.parse(b as string);
    case 'bool':
      return Number(a) - Number(b);
    default:
      return (a as number) - (b as number);
  }
}

/** Binary string order (UTF-8 bytes, which is code point order), as the databases compare. */
export function compareCodePoints(a: string, b: string): number {
  let i = 0;
  let j = 0;
  while (i < a.length && j < b.length) {
    const x = a.codePointAt(i)!;
    const y = b.codePointAt(j)!;
    if (x !== y) return x - y;
    i += x > 0xffff ? 2 : 1;
    j += y > 0xffff ? 2 : 1;
  }
  return (a.length - i) - (b.length - j) === 0 ? 0 : i < a.length ? 1 : -1;
}

function evaluate(w: Where, row: Readonly<Record<string, unknown>>, table: PolicyTable, depth: number): boolean | null {
  if (depth > 64) throw new DataError('invalid', 'a condition nests deeper than 64 levels');
  switch (w.kind) {
    case 'const':
      return w.value;
    case 'and': {
      let unknown = false;
      for (const x of w.items) {
        const r = evaluate(x, row, table, depth + 1);
        if (r === false) return false;
        if (r === null) unknown = true;
      }
      return unknown ? null : true;
    }
    case 'or': {
      let unknown = false;
      for (const x of w.items) {
        const r = evaluate(x, row, table, depth + 1);
        if (r === true) return true;
        if (r === null) unknown = true;
      }
      return unknown ? null : false;
    }
    case 'not': {
      const r = evaluate(w.item, row, table, depth + 1);
      return r === null ? null : !r;
    }
    case 'null': {
      const isNull = rowValue(table, row, w.column) === null;
      return w.negated ? !isNull : isNull;
    }
    case 'cmp': {
      const col = columnOf(table, w.column);
      if (w.value === null) {
        if (w.op !== '=' && w.op !== '!=') throw new DataError('invalid', `\`${w.column}\` can only be compared with null through \`is null\``);
        const isNull = rowValue(table, row, w.column) === null;
        return w.op === '=' ? isNull : !isNull;
      }
      const checked = checkWhereValue(w.column, col, w.value);
      if (!checked.ok) throw new DataError('invalid', checked.message, { column: w.column });
      const a = rowValue(table, row, w.column);
      if (a === null) return null;
      const c = compare(col.type, a, checked.value);
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
      throw new DataError('invalid', 'a condition is malformed');
    }
    case 'in': {
      const col = columnOf(table, w.column);
      if (w.values.length === 0) return w.negated;
      const values = w.values.map((v) => {
        if (v === null) throw new DataError('invalid', `a list compared with \`${w.column}\` may not hold null`);
        const checked = checkWhereValue(w.column, col, v);
        if (!checked.ok) throw new DataError('invalid', checked.message, { column: w.column });
        return checked.value;
      });
      const a = rowValue(table, row, w.column);
      if (a === null) return null;
      const hit = values.some((v) => compare(col.type, a, v) === 0);
      return w.negated ? !hit : hit;
    }
    case 'like': {
      const col = columnOf(table, w.column);
      if (col.type !== 'string') throw new DataError('invalid', `\`like\` applies to text columns, and \`${w.column}\` is not one`);
      const a = rowValue(table, row, w.column);
      if (a === null) return null;
      const hit = likeMatch(w.pattern, a as string);
      return w.negated ? !hit : hit;
    }
  }
}

type PatternItem = { kind: 'char'; cp: number } | { kind: 'one' } | { kind: 'any' };

function compile(pattern: string): PatternItem[] {
  const items: PatternItem[] = [];
  const cps = Array.from(pattern, (c) => c.codePointAt(0)!);
  for (let i = 0; i < cps.length; i++) {
    const c = cps[i]!;
    if (c === 0x5c /* \ */) {
      const d = cps[i + 1];
      if (d === undefined) items.push({ kind: 'char', cp: c });
      else {
        items.push({ kind: 'char', cp: d });
        i++;
      }
    } else if (c === 0x25 /* % */) items.push({ kind: 'any' });
    else if (c === 0x5f /* _ */) items.push({ kind: 'one' });
    else items.push({ kind: 'char', cp: c });
  }
  return items;
}

/**
 * SQL LIKE (case-sensitive, `\` escapes, `_` one code point, `%` any run) by the
 * classic two-pointer wildcard match: O(text × pattern) at worst, no regex, no
 * exponential backtracking.
 */
export function likeMatch(pattern: string, text: string): boolean {
  const p = compile(pattern);
  const t = Array.from(text, (c) => c.codePointAt(0)!);
  let ti = 0;
  let pi = 0;
  let star = -1;
  let mark = 0;
  while (ti < t.length) {
    const item = p[pi];
    if (item && (item.kind === 'one' || (item.kind === 'char' && item.cp === t[ti]))) {
      ti++;
      pi++;
    } else if (item && item.kind === 'any') {
      star = pi++;
      mark = ti;
    } else if (star >= 0) {
      pi = star + 1;
      ti = ++mark;
    } else {
      return false;
    }
  }
  while (pi < p.length && p[pi]!.kind === 'any') pi++;
  return pi === p.length;
}
