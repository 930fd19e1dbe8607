import type { Json, PolicyTable, Where } from '@dfc/schema';
import { sql, type Expression, type ExpressionBuilder, type SqlBool } from 'kysely';
import { DataError } from './errors.js';
import type { OrderBy } from './types.js';
import { shorten } from './text.js';
import { checkWhereValue, toParam, type Dialect } from './values.js';

/**
 * `Where` → a kysely expression, for SQLite, PostgreSQL and MySQL/MariaDB. Column
 * names come only from the table's declared columns (checked here) and reach SQL only
 * through kysely's identifier quoting; every value is a bound parameter, converted by
 * the column's declared type. The one piece of SQL text written here by hand is the
 * fixed `escape '!'` of LIKE and the constants `1 = 1` / `1 = 0`.
 */

// invariant: deeper than anything parseFilter produces (32), bounded so a hand-built
// Where cannot exhaust the stack.
const MAX_RENDER_DEPTH = 64;

type EB = ExpressionBuilder<any, any>;
type Bool = Expression<SqlBool>;

const TRUE_SQL = sql<SqlBool>`1 = 1`;
const FALSE_SQL = sql<SqlBool>`1 = 0`;

/** LIKE escape character on every dialect; `\` is avoided because MySQL string literals treat it specially. */
const LIKE_ESCAPE = '!';

/**
 * Rewrites a pattern that escapes with `\` (the Where convention) into one that escapes
 * with `!`. A `\` before any other character makes that character literal; a trailing
 * lone `\` is a literal backslash.
 */
export function toLikePattern(pattern: string): string {
  let out = '';
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i]!;
    if (c === '\\') {
      const d = pattern[i + 1];
      if (d === undefined) {
        out += '\\';
        continue;
      }
      i++;
      out += d === '%' || d === '_' || d === LIKE_ESCAPE ? LIKE_ESCAPE + d : d;
      continue;
    }
    out += c === LIKE_ESCAPE ? LIKE_ESCAPE + c : c;
  }
  return out;
}

function column(table: PolicyTable, tableName: string, name: string) {
  // invariant: own properties only, so `__proto__` or `constructor` never name a column.
  if (typeof name !== 'string' || !Object.hasOwn(table.columns, name)) {
    throw new DataError('invalid', `unknown column \`${shorten(String(name))}\` in \`${tableName}\``);
  }
  return table.columns[name]!;
}

export class WhereRenderer {
  constructor(
    private readonly dialect: Dialect,
    private readonly table: PolicyTable,
    private readonly tableName: string,
  ) {}

  /** The expression for `where`, for use as `.where((eb) => renderer.render(eb, where))`. */
  render(eb: EB, where: Where): Bool {
    return this.node(eb, where, 0);
  }

  private value(eb: EB, name: string, v: Json): Expression<unknown> {
    const col = this.table.columns[name]!;
    const checked = checkWhereValue(name, col, v);
    if (!checked.ok) throw new DataError('invalid', checked.message, { column: name });
    const param = toParam(this.dialect, col.type, checked.value);
    // PostgreSQL types an untyped parameter from the column it is compared with, so
    // `bigint_col = '1.5'` would fail to parse: compare such values as double precision.
    if (
      this.dialect === 'postgres' &&
      col.type === 'integer' &&
      typeof param === 'number' &&
      !Number.isSafeInteger(param)
    ) {
      return eb.cast(eb.val(param), 'double precision');
    }
    return eb.val(param);
  }

  private node(eb: EB, w: Where, depth: number): Bool {
    if (depth > MAX_RENDER_DEPTH) throw new DataError('invalid', `a condition nests deeper than ${MAX_RENDER_DEPTH} levels`);
    if (w === null || typeof w !== 'object') throw new DataError('invalid', 'a condition is malformed');
    switch (w.kind) {
      case 'const':
        return w.value === true ? TRUE_SQL : FALSE_SQL;
      case 'and':
      case 'or': {
        if (!Array.isArray(w.items)) throw new DataError('invalid', 'a condition is malformed');
        if (w.items.length === 0) return w.kind === 'and' ? TRUE_SQL : FALSE_SQL;
        const items = w.items.map((x) => this.node(eb, x, depth + 1));
        if (items.length === 1) return items[0]!;
        return w.kind === 'and' ? eb.and(items) : eb.or(items);
      }
      case 'not':
        return eb.not(this.node(eb, w.item, depth + 1));
      case 'null':
        column(this.table, this.tableName, w.column);
        return eb(eb.ref(w.column), w.negated ? 'is not' : 'is', null);
      case 'cmp': {
        column(this.table, this.tableName, w.column);
        if (w.value === null) {
          if (w.op === '=' || w.op === '!=') return eb(eb.ref(w.column), w.op === '=' ? 'is' : 'is not', null);
          throw new DataError('invalid', `\`${w.column}\` can only be compared with null through \`is null\``, { column: w.column });
        }
        const op = w.op === '!=' ? '<>' : w.op;
        if (!['=', '<>', '>', '>=', '<', '<='].includes(op)) throw new DataError('invalid', 'a condition is malformed');
        return eb(eb.ref(w.column), op as '=', this.value(eb, w.column, w.value));
      }
      case 'in': {
        column(this.table, this.tableName, w.column);
        if (!Array.isArray(w.values)) throw new DataError('invalid', 'a condition is malformed');
        // `x in ()` is not SQL; an empty list matches nothing (and `not in ()` everything).
        if (w.values.length === 0) return w.negated ? TRUE_SQL : FALSE_SQL;
        const values = w.values.map((v) => {
          if (v === null) throw new DataError('invalid', `a list compared with \`${w.column}\` may not hold null`, { column: w.column });
          return this.value(eb, w.column, v);
        });
        return eb(eb.ref(w.column), w.negated ? 'not in' : 'in', values);
      }
      case 'like': {
        const col = column(this.table, this.tableName, w.column);
        if (col.type !== 'string') {
          throw new DataError('invalid', `\`like\` applies to text columns, and \`${w.column}\` is not one`, { column: w.column });
        }
        if (typeof w.pattern !== 'string') throw new DataError('invalid', 'a condition is malformed');
        const pattern = eb.val(toLikePattern(w.pattern));
        // The escape clause is a fixed literal, never user text.
        return w.negated
          ? sql<SqlBool>`${eb.ref(w.column)} not like ${pattern} escape '!'`
          : sql<SqlBool>`${eb.ref(w.column)} like ${pattern} escape '!'`;
      }
      default:
        throw new DataError('invalid', 'a condition is malformed');
    }
  }
}

/**
 * Checks `order` against the table and adds the primary key as a final tiebreak.
 * Nulls sort last ascending and first descending unless said otherwise, on every
 * dialect (each database has its own default).
 */
export function fullOrder(table: PolicyTable, tableName: string, order: readonly OrderBy[]): Required<OrderBy>[] {
  const out: Required<OrderBy>[] = [];
  for (const o of order) {
    column(table, tableName, o.column);
    if (o.direction !== 'asc' && o.direction !== 'desc') throw new DataError('invalid', 'an order direction must be `asc` or `desc`');
    if (o.nulls !== undefined && o.nulls !== 'first' && o.nulls !== 'last') {
      throw new DataError('invalid', 'an order nulls position must be `first` or `last`');
    }
    out.push({ column: o.column, direction: o.direction, nulls: o.nulls ?? (o.direction === 'asc' ? 'last' : 'first') });
  }
  if (Object.hasOwn(table.columns, table.primaryKey) && !out.some((o) => o.column === table.primaryKey)) {
    out.push({ column: table.primaryKey, direction: 'asc', nulls: 'last' });
  }
  return out;
}
