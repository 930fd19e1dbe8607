import { andWhere, type Json, type PolicyTable, type Where } from '@dfc/schema';
import { matchesWhere } from './data/index.js';
import { DfcError, q } from './errors.js';

/**
 * What a `query` rule's `find` means, shared by the server (which renders the column
 * conditions to SQL) and `dfc test` (which applies them to fixture rows), so that both
 * read the same rows for the same find.
 *
 * - `{ col: value }` is `col = value`; `null` is `col is null`; a list is `col in (…)`;
 * - `{ col: { $eq, $ne, $in, $nin } }` is applied to the rows the column conditions
 *   selected; on a json list column, `$in` means "the list holds one of" and `$nin`
 *   "holds none of"; an unknown operator matches nothing (fail closed).
 */
export interface RuleFind {
  /** Conditions on columns, for SQL. */
  where: Where;
  /** Operator conditions, applied to each row afterwards with {@link matchesOperators}. */
  operators: readonly [column: string, ops: Readonly<Record<string, unknown>>][];
}

/** Split a resolved `find`; a column the table does not have is refused. */
export function ruleFind(find: Readonly<Record<string, Json>>, table: PolicyTable): RuleFind {
  const eq: Where[] = [];
  const operators: [string, Record<string, unknown>][] = [];
  for (const [k, v] of Object.entries(find)) {
    if (!Object.hasOwn(table.columns, k)) throw new DfcError('DFC_ERR_INTERNAL', `a query rule names an unknown column ${q(k)}`);
    if (v !== null && typeof v === 'object' && !Array.isArray(v)) operators.push([k, v as Record<string, unknown>]);
    else if (v === null) eq.push({ kind: 'null', column: k, negated: false });
    else if (Array.isArray(v)) eq.push({ kind: 'in', column: k, values: v, negated: false });
    else eq.push({ kind: 'cmp', column: k, op: '=', value: v });
  }
  return { where: andWhere(eq), operators };
}

/** Whether a row satisfies a find's operator conditions. */
export function matchesOperators(row: Readonly<Record<string, unknown>>, operators: RuleFind['operators']): boolean {
  return operators.every(([k, ops]) => mongoMatch(row[k], ops));
}

/**
 * The rows of `rows` a `query` rule with this `find` reads: the column conditions with
 * the database's meaning (`matchesWhere`), then the operators.
 */
export function findRows<R extends Readonly<Record<string, unknown>>>(
  rows: readonly R[],
  find: Readonly<Record<string, Json>>,
  table: PolicyTable,
): R[] {
  const f = ruleFind(find, table);
  return rows.filter((r) => matchesWhere(f.where, r, table) && matchesOperators(r, f.operators));
}

/** Mongo-style operators a `query` rule's find may hold for one column. */
function mongoMatch(value: unknown, ops: Readonly<Record<string, unknown>>): boolean {
  for (const [op, arg] of Object.entries(ops)) {
    const list = Array.isArray(arg) ? arg : [arg];
    const have = Array.isArray(value) ? value : [value];
    switch (op) {
      case '$eq':
        if (JSON.stringify(value) !== JSON.stringify(arg)) return false;
        break;
      case '$ne':
        if (JSON.stringify(value) === JSON.stringify(arg)) return false;
        break;
      case '$in':
        if (!have.some((h) => list.some((l) => l === h))) return false;
        break;
      case '$nin':
        if (have.some((h) => list.some((l) => l === h))) return false;
        break;
      default:
        return false; // an operator we do not know matches nothing (fail closed)
    }
  }
  return true;
}
