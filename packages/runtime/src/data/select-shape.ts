import type { Json, PolicyTable, Where } from '@dfc/schema';
import type { OrderBy } from './types.js';
import { toLikePattern } from './render.js';
import { checkWhereValue, toParam, type Dialect, type Param } from './values.js';

/**
 * The shape of a select: everything that decides its SQL text (table, columns, order,
 * paging clauses, the structure of the condition and which values are null or need a
 * cast), with the values it binds, in the order the rendered statement binds them.
 * Two selects of one shape render the same SQL, so it is compiled once per shape and
 * only the values change (see `SqlDataSource.select`).
 *
 * Anything the renderer would refuse (an unknown column, a malformed condition, a value
 * of the wrong type) gives no shape: such a select takes the renderer's path and fails
 * there, with its message.
 */

// Same bound as the renderer's.
const MAX_DEPTH = 64;
const OPS = new Set(['=', '<>', '>', '>=', '<', '<=']);

export interface SelectShape {
  key: string;
  params: Param[];
}

export function selectShape(
  dialect: Dialect,
  table: PolicyTable,
  tableName: string,
  columns: readonly string[],
  where: Where,
  order: readonly Required<OrderBy>[] | undefined,
  limit: number | undefined,
  offset: number | undefined,
  noLimit: number,
): SelectShape | undefined {
  const params: Param[] = [];
  const cond = shapeOf(dialect, table, where, 0, params);
  if (cond === undefined) return undefined;
  let key = `${tableName}|${columns.join(',')}|${cond}|`;
  if (order) for (const o of order) key += `${o.column} ${o.direction} ${o.nulls},`;
  if (limit !== undefined) {
    key += '|l';
    params.push(limit);
  } else if (offset !== undefined && dialect !== 'postgres') {
    key += '|L';
    params.push(noLimit);
  }
  if (offset !== undefined) {
    key += '|o';
    params.push(offset);
  }
  return { key, params };
}

function shapeOf(dialect: Dialect, table: PolicyTable, w: Where, depth: number, params: Param[]): string | undefined {
  if (depth > MAX_DEPTH || w === null || typeof w !== 'object') return undefined;
  switch (w.kind) {
    case 'const':
      return w.value === true ? 'T' : 'F';
    case 'and':
    case 'or': {
      if (!Array.isArray(w.items)) return undefined;
      let out = w.kind === 'and' ? 'A(' : 'O(';
      for (const item of w.items) {
        const s = shapeOf(dialect, table, item, depth + 1, params);
        if (s === undefined) return undefined;
        out += s + ',';
      }
      return out + ')';
    }
    case 'not': {
      const s = shapeOf(dialect, table, w.item, depth + 1, params);
      return s === undefined ? undefined : `N(${s})`;
    }
    case 'null':
      if (!declared(table, w.column)) return undefined;
      return `U${w.negated ? '!' : ''}${w.column}`;
    case 'cmp': {
      if (!declared(table, w.column)) return undefined;
      if (w.value === null) return w.op === '=' || w.op === '!=' ? `Z${w.op}${w.column}` : undefined;
      const op = w.op === '!=' ? '<>' : w.op;
      if (!OPS.has(op)) return undefined;
      const cast = bind(dialect, table, w.column, w.value, params);
      return cast === undefined ? undefined : `C${op}${w.column}${cast}`;
    }
    case 'in': {
      if (!declared(table, w.column) || !Array.isArray(w.values)) return undefined;
      let out = `I${w.negated ? '!' : ''}${w.column}:`;
      for (const v of w.values) {
        if (v === null) return undefined;
        const cast = bind(dialect, table, w.column, v, params);
        if (cast === undefined) return undefined;
        out += cast === '' ? 'v' : cast;
      }
      return out;
    }
    case 'like': {
      if (!declared(table, w.column) || table.columns[w.column]!.type !== 'string' || typeof w.pattern !== 'string') return undefined;
      params.push(toLikePattern(w.pattern));
      return `L${w.negated ? '!' : ''}${w.column}`;
    }
    default:
      return undefined;
  }
}

function declared(table: PolicyTable, column: unknown): column is string {
  return typeof column === 'string' && Object.hasOwn(table.columns, column);
}

/** Checks and converts a compared value as the renderer does; `#` when it is compared as double precision, undefined when refused. */
function bind(dialect: Dialect, table: PolicyTable, column: string, value: Json, params: Param[]): string | undefined {
  const col = table.columns[column]!;
  const checked = checkWhereValue(column, col, value);
  if (!checked.ok) return undefined;
  const param = toParam(dialect, col.type, checked.value);
  params.push(param);
  return dialect === 'postgres' && col.type === 'integer' && typeof param === 'number' && !Number.isSafeInteger(param) ? '#' : '';
}

/** The same values, as bound (a shape is trusted only when its first statement bound exactly these). */
export function sameParams(a: readonly unknown[], b: readonly unknown[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) {
    const x = a[i];
    const y = b[i];
    if (Object.is(x, y)) continue;
    if (x instanceof Date && y instanceof Date && x.getTime() === y.getTime()) continue;
    return false;
  }
  return true;
}
