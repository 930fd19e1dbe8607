import type {
  ColumnName,
  ColumnType,
  ColumnTypes,
  FieldPath,
  KnownPath,
  Operation,
  RuleContext,
  ScopeOf,
  SuggestedPath,
  UpdateOperator,
} from './context.js';
import type {
  AllowRule,
  AndRule,
  AuthenticatedRule,
  CodeRule,
  DecryptRule,
  DenyRule,
  EncryptRule,
  ForceRule,
  HashRule,
  MatchRule,
  OrRule,
  QueryRule,
  RemoveRule,
  RuleKind,
  WebhookRule,
} from './rules.js';

/**
 * Check types: given what the user wrote (inferred as literal types), produce the
 * same type when it is valid, or the same shape with each wrong string replaced by
 * what is expected there: a readable message as a string literal type (so the
 * error reads "type '"args.find.usrId"' is not assignable to type '"unknown
 * column `usrId` in table `posts`"'"), or the union of valid names (so
 * completion lists them). The define* functions take `R extends Check<R> ? R :
 * Check<R>`, which infers `R` from the argument and then checks it.
 */

/** Strings that Space Cloud resolves as variables (others are literals). */
export type VariablePrefix = `args.${string}` | `res.${string}` | `utils.${string}`;

/** An option the object does not have. */
export type UnknownOption<K, Where extends string> = K extends string
  ? `unknown option \`${K}\` in ${Where}`
  : never;

type FirstSegment<S extends string> = S extends `${infer H}.${string}` ? H : S;
type AfterFirst<S extends string> = S extends `${string}.${infer T}` ? T : '';
type Trim<S extends string> = S extends ` ${infer R}` ? Trim<R> : S extends `${infer R} ` ? Trim<R> : S;
type Unquote<S extends string> = S extends `'${infer R}'` ? R : S extends `"${infer R}"` ? R : S;
type HelperArg<S extends string> = Unquote<Trim<S>>;

/** How a table is named in messages (`default` stands for every table). */
type TableLabel<X extends RuleContext> = X['table'] extends 'default'
  ? `any table of service \`${X['service']}\``
  : `table \`${X['table']}\``;

/** Date literals Space Cloud parses: `YYYY-MM-DD` or RFC 3339. */
export type DateLiteral = `${number}-${number}-${number}` | `${number}-${number}-${number}T${string}`;

type RoundUpUnit = 'year' | 'month' | 'day' | 'hour' | 'minute' | 'second';

// ---------------------------------------------------------------------------
// paths

type ColumnError<X extends RuleContext, P extends string, Rest extends string> =
  FirstSegment<Rest> extends ''
    ? `\`${P}.\` needs a column name`
    : FirstSegment<Rest> extends ColumnName<X>
      ? `column \`${FirstSegment<Rest>}\` is not json: \`${P}.${Rest}\` has no fields`
      : `unknown column \`${FirstSegment<Rest>}\` in ${TableLabel<X>}`;

type ArgsError<X extends RuleContext, Rest extends string> =
  FirstSegment<Rest> extends infer S extends string
    ? S extends 'find' | 'doc' | 'update' | 'opts'
      ? S extends ScopeOf<X['op']>
        ? S extends 'opts'
          ? `unknown option \`args.${Rest}\`: use \`args.opts.limit\` or \`args.opts.skip\``
          : S extends 'update'
            ? FirstSegment<AfterFirst<Rest>> extends UpdateOperator
              ? ColumnError<X, `args.update.${FirstSegment<AfterFirst<Rest>>}`, AfterFirst<AfterFirst<Rest>>>
              : `unknown update operator \`${FirstSegment<AfterFirst<Rest>>}\`: use \`$set\`, \`$inc\`, \`$unset\`, \`$push\` and the like`
            : ColumnError<X, `args.${S}`, AfterFirst<Rest>>
        : `\`args.${S}\` is not set in \`${X['op']}\` rules`
      : S extends 'op' | 'token'
        ? `\`args.${S}\` has no fields`
        : `unknown variable \`args.${S}\`: rules see \`args.auth\`, \`args.find\`, \`args.doc\`, \`args.update\`, \`args.op\`, \`args.opts\`, \`args.result\`, \`args.token\` and \`res\``
    : never;

type HelperError<X extends RuleContext, Rest extends string> = Rest extends `${infer Fn}(${infer Args})${infer Tail}`
  ? Tail extends ''
    ? Fn extends 'exists' | 'length'
      ? PathError<X, HelperArg<Args>>
      : Fn extends 'now'
        ? '`utils.now()` takes no arguments'
        : `unknown helper \`utils.${Fn}\`: use \`utils.exists\`, \`utils.length\`, \`utils.now\`, \`utils.addDuration\` or \`utils.roundUpDate\``
    : `unexpected text after \`utils.${Fn}(…)\``
  : `call helpers with parentheses, such as \`utils.exists(args.find.id)\``;

/** Why a string that looks like a path is not a known one. */
export type PathError<X extends RuleContext, L extends string> = L extends `utils.${infer Rest}`
  ? HelperError<X, Rest>
  : L extends `res.${infer Rest}`
    ? ColumnError<X, 'res', Rest>
    : L extends `args.${infer Rest}`
      ? ArgsError<X, Rest>
      : `unknown variable \`${L}\``;

/** Known paths that start with what was typed (so a half-typed path lists its completions). */
type Candidates<X extends RuleContext, L extends string> = Extract<SuggestedPath<X>, `${L}${string}`>;

type CheckDateArg<X extends RuleContext, A extends string> = A extends VariablePrefix
  ? A extends KnownPath<X>
    ? true
    : PathError<X, A>
  : A extends DateLiteral
    ? true
    : `\`${A}\` is not a date or a known path`;

/** A helper call: its arguments checked (a path for exists/length; a date, then a duration or unit). */
type CheckHelper<X extends RuleContext, L extends string> = L extends `utils.${'exists' | 'length'}(${infer A})`
  ? HelperArg<A> extends infer P extends string
    ? P extends KnownPath<X>
      ? L
      : P extends VariablePrefix
        ? PathError<X, P>
        : `\`${P}\` is not a variable path`
    : never
  : L extends `utils.addDuration(${infer A},${string})`
    ? CheckDateArg<X, HelperArg<A>> extends infer E
      ? E extends true
        ? L
        : E
      : never
    : L extends `utils.roundUpDate(${infer A},${infer U})`
      ? CheckDateArg<X, HelperArg<A>> extends infer E
        ? E extends true
          ? HelperArg<U> extends RoundUpUnit
            ? L
            : `unknown unit \`${HelperArg<U>}\`: use year, month, day, hour, minute or second`
          : E
        : never
      : L extends `utils.${'addDuration' | 'roundUpDate'}(${string})`
        ? '`utils.addDuration` and `utils.roundUpDate` take two arguments: a date and a duration or unit'
        : PathError<X, L>;

/**
 * A string that starts with `args.`, `res.` or `utils.`: itself when it is a known
 * path, else the paths it is the start of, else a message.
 */
export type CheckPath<X extends RuleContext, L extends string> =
  L extends KnownPath<X>
    ? L
    : L extends `utils.${string}(${string})`
      ? CheckHelper<X, L>
      : [Candidates<X, L>] extends [never]
        ? PathError<X, L>
        : Candidates<X, L>;

// ---------------------------------------------------------------------------
// operands

/** A `match` operand of type `Ty` as written (`V`). */
export type CheckOperand<X extends RuleContext, Ty, V> = V extends string
  ? string extends V
    ? V
    : V extends VariablePrefix
      ? CheckPath<X, V>
      : Ty extends 'date'
        ? V extends DateLiteral
          ? V
          : `\`${V}\` is not a date: write \`YYYY-MM-DD\` or RFC 3339 such as \`2024-01-31T12:00:00Z\``
        : Ty extends 'number'
          ? `\`${V}\` is not a number or a known path: write numbers without quotes`
          : Ty extends 'bool'
            ? `\`${V}\` is not a boolean or a known path: write \`true\` or \`false\` without quotes`
            : V
  : V;

/** The list operand of `in`/`notIn`: a list of operands, or one path that holds a list. */
type CheckInList<X extends RuleContext, Ty, B> = B extends readonly unknown[]
  ? { [I in keyof B]: CheckOperand<X, Ty, B[I]> }
  : B extends string
    ? string extends B
      ? B
      : B extends VariablePrefix
        ? CheckPath<X, B>
        : `\`${B}\` is not a list: \`in\` and \`notIn\` take a list or a path that holds one`
    : B;

/** A value that is used as written unless it is a path (force `value`, query `find`). */
type CheckValue<X extends RuleContext, V> = V extends string
  ? string extends V
    ? V
    : V extends VariablePrefix
      ? CheckPath<X, V>
      : V
  : V extends readonly unknown[]
    ? { [I in keyof V]: CheckValue<X, V[I]> }
    : V extends object
      ? { [K in keyof V]: CheckValue<X, V[K]> }
      : V;

// ---------------------------------------------------------------------------
// fields

/** The column a field path names (`args.update.$set.role` → `role`). */
type FieldColumn<L extends string> = L extends `args.update.${string}.${infer C}`
  ? C
  : L extends `args.${'doc' | 'find'}.${infer C}`
    ? C
    : L extends `res.${infer C}`
      ? C
      : never;

type CheckField<X extends RuleContext, L, Kind extends string> = L extends string
  ? string extends L
    ? L
    : L extends FieldPath<X>
      ? Kind extends 'encrypt' | 'decrypt' | 'hash'
        ? FieldColumn<L> extends infer C extends ColumnName<X>
          ? X['columns'][C] extends 'string'
            ? L
            : `column \`${C}\` is ${X['columns'][C]}: only string columns can be ${Kind extends 'hash' ? 'hashed' : `${Kind}ed`}`
          : L
        : L
      : L extends `${'args' | 'res'}.${string}`
        ? L extends KnownPath<X>
          ? `\`${L}\` cannot be changed: fields are columns under \`args.doc\`, \`args.find\`, \`args.update.$set\` (and the other operators) or \`res\``
          : CheckPath<X, L>
        : `\`${L}\` is not a field: fields start with \`args.\` or \`res.\``
  : L;

type CheckFields<X extends RuleContext, F, Kind extends string> = F extends readonly unknown[]
  ? { [I in keyof F]: CheckField<X, F[I], Kind> }
  : F;

// ---------------------------------------------------------------------------
// rules

/**
 * The options of each kind of rule. They do not depend on the table, so they are
 * looked up here once instead of picked out of `Rule<X>` for every table.
 */
interface RuleOptionsByKind {
  allow: keyof AllowRule;
  deny: keyof DenyRule;
  authenticated: keyof AuthenticatedRule;
  match: keyof MatchRule<RuleContext>;
  and: keyof AndRule<RuleContext>;
  or: keyof OrRule<RuleContext>;
  query: keyof QueryRule<RuleContext>;
  remove: keyof RemoveRule<RuleContext>;
  force: keyof ForceRule<RuleContext>;
  encrypt: keyof EncryptRule<RuleContext>;
  decrypt: keyof DecryptRule<RuleContext>;
  hash: keyof HashRule<RuleContext>;
  webhook: keyof WebhookRule<RuleContext>;
  code: keyof CodeRule<RuleContext>;
}

type RuleKeys<Kind> = Kind extends RuleKind ? RuleOptionsByKind[Kind] : never;

/** Options used as written (their declared types already say what is allowed). */
type PlainOption = 'rule' | 'name' | 'error' | 'eval' | 'type' | 'db' | 'url' | 'timeout' | 'store' | 'fn';

type CheckQueryCol<X extends RuleContext, R> = R extends { db: infer D; col: infer C extends string }
  ? string extends C
    ? C
    : D extends X['service']
      ? C extends keyof X['tables']
        ? C
        : keyof X['tables'] & string
      : C
  : never;

type CheckFind<X extends RuleContext, R, F> = R extends { db: infer D; col: infer C }
  ? D extends X['service']
    ? C extends keyof X['tables']
      ? {
          [K in keyof F]: K extends keyof X['tables'][C]
            ? CheckValue<X, F[K]>
            : `unknown column \`${K & string}\` in table \`${C & string}\``;
        }
      : { [K in keyof F]: CheckValue<X, F[K]> }
    : { [K in keyof F]: CheckValue<X, F[K]> }
  : F;

type CheckRuleProp<X extends RuleContext, R, Kind, P extends keyof R> = P extends RuleKeys<Kind>
  ? P extends PlainOption
    ? R[P]
    : P extends 'clause'
    ? CheckRule<X, R[P]>
    : P extends 'clauses'
      ? CheckRules<X, R[P]>
      : Kind extends 'match'
        ? P extends 'f1'
          ? CheckOperand<X, R extends { type: infer Ty } ? Ty : never, R[P]>
          : P extends 'f2'
            ? R extends { eval: 'in' | 'notIn' }
              ? CheckInList<X, R extends { type: infer Ty } ? Ty : never, R[P]>
              : CheckOperand<X, R extends { type: infer Ty } ? Ty : never, R[P]>
            : R[P]
        : Kind extends 'query'
          ? P extends 'col'
            ? CheckQueryCol<X, R>
            : P extends 'find'
              ? CheckFind<X, R, R[P]>
              : R[P]
          : Kind extends 'force'
            ? P extends 'field'
              ? CheckField<X, R[P], 'force'>
              : P extends 'value'
                ? CheckValue<X, R[P]>
                : R[P]
            : Kind extends 'remove' | 'encrypt' | 'decrypt' | 'hash'
              ? P extends 'fields'
                ? CheckFields<X, R[P], Kind>
                : R[P]
              : R[P]
      : P extends string
        ? `\`${Kind & string}\` rules have no option \`${P}\``
        : never;

/**
 * Checks one rule (and the rules nested in it) against `X`. A type that accepts
 * more than one kind of rule is a declared type (a constraint, `Rule<…>`), not
 * something written: it is left alone, which also stops the recursion through
 * `clauses` and `clause` of the declared types.
 */
export type CheckRule<X extends RuleContext, R> = [AllowRule | DenyRule] extends [R] ? R : CheckWritten<X, R>;

type CheckWritten<X extends RuleContext, R> = R extends { rule: infer Kind }
  ? { [P in keyof R]: CheckRuleProp<X, R, Kind, P> }
  : R;

/** Checks a list of rules. */
export type CheckRules<X extends RuleContext, L> = L extends readonly unknown[]
  ? { [I in keyof L]: CheckRule<X, L[I]> }
  : L;

// ---------------------------------------------------------------------------
// services, tables, requirement blocks

/** A column's type from its definition (`'string'` or `{ type: 'string', … }`). */
export type ColumnTypeOf<C> = C extends ColumnType ? C : C extends { type: infer T extends ColumnType } ? T : never;

/** What a service looks like to later definitions (input or output of defineService). */
export interface ServiceLike {
  /** The service's name. */
  readonly name: string;
  /** Its tables and their columns. */
  readonly tables: {
    // `object`, not a record of unknown: relating each table's columns to a record
    // resolved every column's type, for every service a rule or role names.
    readonly [table: string]: { readonly columns: object };
  };
}

/** Column types of every table of a service. */
export type TablesOf<S extends ServiceLike> = {
  [T in keyof S['tables'] & string]: { [C in keyof S['tables'][T]['columns'] & string]: ColumnTypeOf<S['tables'][T]['columns'][C]> };
};

/** Every column of a service, with the types it has in any table (for `default`). */
export type AllColumns<Tables> = {
  [C in { [T in keyof Tables]: keyof Tables[T] & string }[keyof Tables]]: {
    [T in keyof Tables]: C extends keyof Tables[T] ? Tables[T][C] : never;
  }[keyof Tables] &
    ColumnType;
};

/** The rule context for table `T` (or `default`) of service `S` and operation `Op`. */
export type ContextOf<S extends ServiceLike, T extends string, Op extends Operation | 'any'> = {
  service: S['name'];
  table: T;
  op: Op;
  columns: T extends keyof TablesOf<S> ? TablesOf<S>[T] : AllColumns<TablesOf<S>> extends infer A extends ColumnTypes ? A : never;
  tables: TablesOf<S>;
};

/** Tables a rule set may name: the service's tables and `default`. */
export type RuleTable<S extends ServiceLike> = (keyof S['tables'] & string) | 'default';

/** Checks a rule set: each operation's rule against its own context. */
export type CheckRuleSet<S extends ServiceLike, T extends string, R> = {
  [Op in keyof R]: Op extends Operation
    ? CheckRule<ContextOf<S, T, Op>, R[Op]>
    : `unknown operation \`${Op & string}\`: use create, read, update or delete`;
};

/** Checks a requirement block: `rule` requirements against `X`. */
export type CheckBlock<X extends RuleContext, B> = {
  [K in keyof B]: B[K] extends { type: 'rule'; rule: infer Rl }
    ? { [P in keyof B[K]]: P extends 'rule' ? CheckRule<X, Rl> : B[K][P] }
    : B[K];
};

type ColumnOptionKey = 'type' | 'nullable' | 'description' | 'security';
type TableOptionKey = 'columns' | 'primaryKey' | 'description' | 'security';
type ServiceOptionKey = 'name' | 'description' | 'database' | 'tables' | 'security' | 'maxRecords';

type CheckColumn<S extends ServiceLike, T extends string, C> = C extends object
  ? {
      [P in keyof C]: P extends 'security'
        ? CheckBlock<ContextOf<S, T, 'any'>, C[P]>
        : P extends ColumnOptionKey
          ? C[P]
          : UnknownOption<P, 'a column'>;
    }
  : C;

type CheckTable<S extends ServiceLike, T extends string, D> = {
  [P in keyof D]: P extends 'columns'
    ? { [C in keyof D[P]]: CheckColumn<S, T, D[P][C]> }
    : P extends 'primaryKey'
      ? string extends D[P]
        ? D[P]
        : D extends { columns: infer Cols }
          ? keyof Cols & string
          : D[P]
      : P extends 'security'
        ? CheckBlock<ContextOf<S, T, 'any'>, D[P]>
        : P extends TableOptionKey
          ? D[P]
          : UnknownOption<P, `table \`${T}\``>;
};

/** Checks a service definition: table keys, primary keys, requirement rules. */
export type CheckService<S extends ServiceLike> = {
  [P in keyof S]: P extends 'tables'
    ? { [T in keyof S['tables']]: CheckTable<S, T & string, S['tables'][T]> }
    : P extends 'security'
      ? CheckBlock<ContextOf<S, 'default', 'any'>, S[P]>
      : P extends ServiceOptionKey
        ? S[P]
        : UnknownOption<P, 'a service'>;
};
