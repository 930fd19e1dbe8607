/**
 * What a rule can name: the variables Space Cloud's rules see, typed against one
 * table's columns. Everything here is types only.
 *
 * A rule is typed twice. Its *contextual* type (what the editor completes) offers
 * the known paths as string literals next to `string & {}`, so completion lists
 * them and a plain literal such as `'admin'` still fits. Its *check* type (see
 * check.ts) then looks at the strings actually written: one that starts with
 * `args.`, `res.` or `utils.` must be a known path, otherwise it becomes a readable
 * error type.
 */

/** A column's storage type. */
export type ColumnType = 'string' | 'integer' | 'number' | 'bool' | 'date' | 'json';

/** The CRUD operations a rule set may name (Space Cloud's keys). */
export type Operation = 'create' | 'read' | 'update' | 'delete';

/** Column name → type, for one table. */
export type ColumnTypes = { readonly [column: string]: ColumnType };

/**
 * Everything a rule is checked against: the service, the table (or `default`),
 * the operation (`any` for requirement blocks, which apply to every operation),
 * its columns, and every table of the service (for `query` rules).
 */
export interface RuleContext {
  /** The service's name (a `query` on it is checked against its tables). */
  service: string;
  /** The table, or `default`. */
  table: string;
  /** The operation, or `any` for requirement rules. */
  op: Operation | 'any';
  /** The table's columns (for `default`, every column of the service). */
  columns: ColumnTypes;
  /** Every table of the service. */
  tables: { readonly [table: string]: ColumnTypes };
}

/** Mongo-style update operators Space Cloud passes in `args.update`. */
export type UpdateOperator = '$set' | '$inc' | '$mul' | '$min' | '$max' | '$unset' | '$push' | '$currentDate';

/** The request variables present for each operation (besides auth, op, token, result). */
export type ScopeOf<Op> = Op extends 'create'
  ? 'doc'
  : Op extends 'read'
    ? 'find' | 'opts'
    : Op extends 'update'
      ? 'find' | 'update'
      : Op extends 'delete'
        ? 'find'
        : 'doc' | 'find' | 'update' | 'opts';

type Scope<X extends RuleContext> = ScopeOf<X['op']>;

export type ColumnName<X extends RuleContext> = keyof X['columns'] & string;

/** Columns of type `json`: paths may go below them (`args.doc.followers.0`). */
export type JsonColumn<X extends RuleContext> = {
  [K in keyof X['columns']]: X['columns'][K] extends 'json' ? K : never;
}[keyof X['columns']] &
  string;

/** Columns whose values are strings (what encrypt, decrypt and hash accept). */
export type StringColumn<X extends RuleContext> = {
  [K in keyof X['columns']]: X['columns'][K] extends 'string' ? K : never;
}[keyof X['columns']] &
  string;

/** Claims completion suggests; any other claim name is accepted too. */
export type SuggestedClaim = 'id' | 'sub' | 'role' | 'email' | 'name';

type Columns<P extends string, X extends RuleContext> = `${P}.${ColumnName<X>}`;
type BelowJson<P extends string, X extends RuleContext> = `${P}.${JsonColumn<X>}.${string}`;

/** Request variables that name columns, as literals. */
type ScopeLiteral<X extends RuleContext> =
  | ('find' extends Scope<X> ? 'args.find' | Columns<'args.find', X> : never)
  | ('doc' extends Scope<X> ? 'args.doc' | Columns<'args.doc', X> : never)
  | ('update' extends Scope<X>
      ? 'args.update' | `args.update.${UpdateOperator}` | Columns<`args.update.${UpdateOperator}`, X>
      : never)
  | ('opts' extends Scope<X> ? 'args.opts' | 'args.opts.limit' | 'args.opts.skip' : never);

type ScopeBelowJson<X extends RuleContext> =
  | ('find' extends Scope<X> ? BelowJson<'args.find', X> : never)
  | ('doc' extends Scope<X> ? BelowJson<'args.doc', X> : never)
  | ('update' extends Scope<X> ? BelowJson<`args.update.${UpdateOperator}`, X> : never);

/** Variable paths as literals: what completion lists. */
export type VariableLiteral<X extends RuleContext> =
  | 'args.auth'
  | `args.auth.${SuggestedClaim}`
  | 'args.op'
  | 'args.token'
  | 'args.result'
  | ScopeLiteral<X>
  | 'res'
  | Columns<'res', X>;

/** Every variable path a rule may read (claims and query results are open-ended). */
export type VariablePath<X extends RuleContext> =
  | VariableLiteral<X>
  | `args.auth.${string}`
  | `args.result.${string}`
  | ScopeBelowJson<X>
  | BelowJson<'res', X>;

/**
 * `utils.*` helpers as literals, for completion: the common forms only (each
 * suggestion is a member of a union the checker walks, so they are kept few).
 */
type HelperLiteral<X extends RuleContext> =
  | ('find' extends Scope<X> ? `utils.exists(${Columns<'args.find', X>})` : never)
  | ('doc' extends Scope<X> ? `utils.exists(${Columns<'args.doc', X>})` : never)
  | ('update' extends Scope<X> ? `utils.exists(${Columns<'args.update.$set', X>})` : never)
  | 'utils.length(args.result)'
  | 'utils.now()';

/** The paths completion offers for an operand. */
export type SuggestedPath<X extends RuleContext> = VariableLiteral<X> | HelperLiteral<X>;

/**
 * Every path an operand may hold. Helper calls (`utils.exists(…)`, `utils.length(…)`,
 * `utils.addDuration(…)`, `utils.roundUpDate(…)`) are parsed and their arguments
 * checked by `CheckPath` rather than listed here.
 */
export type KnownPath<X extends RuleContext> = VariablePath<X> | 'utils.now()';

/** Field paths (what remove, force, encrypt, decrypt and hash change), as literals. */
export type FieldLiteral<X extends RuleContext, C extends string = ColumnName<X>> =
  | ('find' extends Scope<X> ? `args.find.${C}` : never)
  | ('doc' extends Scope<X> ? `args.doc.${C}` : never)
  | ('update' extends Scope<X> ? `args.update.${UpdateOperator}.${C}` : never)
  | `res.${C}`;

/** Every field path, including paths below json columns. */
export type FieldPath<X extends RuleContext> = FieldLiteral<X> | ScopeBelowJson<X> | BelowJson<'res', X>;

/** The value a column holds, as rules and `code` functions see it. */
export type ColumnValue<T extends ColumnType> = T extends 'string' | 'date'
  ? string
  : T extends 'integer' | 'number'
    ? number
    : T extends 'bool'
      ? boolean
      : JsonValue;

/** A table row as `code` rules see it (every column optional: requests carry some). */
export type Row<X extends RuleContext> = { -readonly [K in ColumnName<X>]?: ColumnValue<X['columns'][K]> | null };

/** JSON data. */
export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };
