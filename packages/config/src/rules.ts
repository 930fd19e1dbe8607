import type {
  ColumnName,
  FieldLiteral,
  JsonValue,
  Row,
  RuleContext,
  SuggestedPath,
  UpdateOperator,
} from './context.js';

/**
 * Space Cloud's rule JSON, typed against a table. These are the contextual types
 * (what completion offers); `defineRule` and friends also run the check in
 * check.ts over what was written.
 */

/** A string operand: a known path (completed) or a literal string. */
export type StringOperand<X extends RuleContext> = SuggestedPath<X> | (string & {});
/** A number operand: a number or a path that holds one. */
export type NumberOperand<X extends RuleContext> = number | SuggestedPath<X> | (string & {});
/** A boolean operand: `true`, `false` or a path that holds one (`utils.exists(…)` does). */
export type BoolOperand<X extends RuleContext> = boolean | SuggestedPath<X> | (string & {});

interface RuleMeta {
  /**
   * A name for the rule, shown in denial messages and logs.
   * @example name: 'owner'
   */
  name?: string;
  /**
   * Replaces the denial message when this rule denies.
   * @example error: 'only the author may edit a post'
   */
  error?: string;
}

/** Allows the operation to anyone, with or without a session. */
export interface AllowRule extends RuleMeta {
  /** The kind of rule. */
  rule: 'allow';
}

/** Denies the operation, whatever the request holds. */
export interface DenyRule extends RuleMeta {
  /** The kind of rule. */
  rule: 'deny';
}

/** Allows the operation to callers with a valid session (a verified JWT). */
export interface AuthenticatedRule extends RuleMeta {
  /** The kind of rule. */
  rule: 'authenticated';
}

interface MatchBase extends RuleMeta {
  /** The kind of rule: a comparison of two operands. */
  rule: 'match';
}

/**
 * Compares two strings. An operand that starts with `args.` or `utils.` is a path;
 * any other string is a literal.
 * @example { rule: 'match', eval: '==', type: 'string', f1: 'args.auth.id', f2: 'args.find.userId' }
 */
export interface StringMatchRule<X extends RuleContext> extends MatchBase {
  /** What is compared: strings are equal or not (`in`/`notIn` take a list). */
  type: 'string';
  /** `==` or `!=` (strings have no order: compare dates with `type: 'date'`). */
  eval: '==' | '!=';
  /** Left operand: a path such as `args.auth.id`, or a literal. */
  f1: StringOperand<X>;
  /** Right operand: a path such as `args.find.userId`, or a literal such as `'admin'`. */
  f2: StringOperand<X>;
}

/**
 * Whether a string is (`in`) or is not (`notIn`) in a list.
 * @example { rule: 'match', eval: 'in', type: 'string', f1: 'args.auth.role', f2: ['admin', 'moderator'] }
 */
export interface StringInRule<X extends RuleContext> extends MatchBase {
  /** What is compared: strings. */
  type: 'string';
  /** `in`: f1 is one of f2; `notIn`: it is none of them. */
  eval: 'in' | 'notIn';
  /** The value looked for: a path or a literal. */
  f1: StringOperand<X>;
  /** The list: literals and paths, or one path that holds a list (such as a claim). */
  f2: readonly StringOperand<X>[] | StringOperand<X>;
}

/**
 * Compares two numbers. Operands are numbers or paths; a string that is not a
 * known path is an error (Space Cloud would read it as a missing path).
 * @example { rule: 'match', eval: '>=', type: 'number', f1: 'utils.length(args.result)', f2: 1 }
 */
export interface NumberMatchRule<X extends RuleContext> extends MatchBase {
  /** What is compared: numbers. */
  type: 'number';
  /** The comparison. */
  eval: '==' | '!=' | '>' | '>=' | '<' | '<=';
  /** Left operand: a number, or a path such as `args.find.score` or `utils.length(args.result)`. */
  f1: NumberOperand<X>;
  /** Right operand: a number (without quotes) or a path. */
  f2: NumberOperand<X>;
}

/**
 * Whether a number is (`in`) or is not (`notIn`) in a list.
 * @example { rule: 'match', eval: 'in', type: 'number', f1: 'args.find.id', f2: [1, 2, 3] }
 */
export interface NumberInRule<X extends RuleContext> extends MatchBase {
  /** What is compared: numbers. */
  type: 'number';
  /** `in`: f1 is one of f2; `notIn`: it is none of them. */
  eval: 'in' | 'notIn';
  /** The value looked for: a number or a path. */
  f1: NumberOperand<X>;
  /** Numbers and paths, or one path that holds a list. */
  f2: readonly NumberOperand<X>[] | StringOperand<X>;
}

/**
 * Compares two booleans: `true`, `false`, or paths that hold one.
 * @example { rule: 'match', eval: '==', type: 'bool', f1: 'utils.exists(args.find.postId)', f2: true }
 */
export interface BoolMatchRule<X extends RuleContext> extends MatchBase {
  /** What is compared: booleans. */
  type: 'bool';
  /** Booleans are equal or not. */
  eval: '==' | '!=';
  /** Left operand: `true`, `false`, or a path such as `utils.exists(args.find.id)`. */
  f1: BoolOperand<X>;
  /** Right operand: `true`, `false` (without quotes) or a path. */
  f2: BoolOperand<X>;
}

/**
 * Compares two instants. Literals are `YYYY-MM-DD` or RFC 3339
 * (`2024-01-31T12:00:00Z`); paths and `utils.now()` work too.
 * @example { rule: 'match', eval: '<', type: 'date', f1: 'args.doc.createdAt', f2: 'utils.now()' }
 */
export interface DateMatchRule<X extends RuleContext> extends MatchBase {
  /** What is compared: instants. */
  type: 'date';
  /** The comparison (earlier is smaller). */
  eval: '==' | '!=' | '>' | '>=' | '<' | '<=';
  /** Left operand: a date literal, a path, or a helper such as `utils.now()`. */
  f1: StringOperand<X>;
  /** Right operand: a date literal, a path, or a helper. */
  f2: StringOperand<X>;
}

/** Compares two operands of one type (`type`) with an operator (`eval`). */
export type MatchRule<X extends RuleContext> =
  | StringMatchRule<X>
  | StringInRule<X>
  | NumberMatchRule<X>
  | NumberInRule<X>
  | BoolMatchRule<X>
  | DateMatchRule<X>;

/**
 * Passes when every clause passes (checked in order, stopping at the first failure).
 * An empty list is refused by `dfc build`.
 */
export interface AndRule<X extends RuleContext> extends RuleMeta {
  /** The kind of rule. */
  rule: 'and';
  /** The rules that must all pass. */
  clauses: readonly Rule<X>[];
}

/** Passes when one clause passes (checked in order, stopping at the first success). */
export interface OrRule<X extends RuleContext> extends RuleMeta {
  /** The kind of rule. */
  rule: 'or';
  /** The rules of which one must pass. */
  clauses: readonly Rule<X>[];
}

/**
 * Operators a `query` rule's `find` may use on a column: equal, not equal, one of
 * (`$in`; on a json list column, "the list holds one of"), none of.
 */
export type FindOperator = '$eq' | '$ne' | '$in' | '$nin';

/** A value in a `query` rule's `find`: a literal, a path (resolved first), or operators. */
export type FindValue<X extends RuleContext> =
  | StringOperand<X>
  | number
  | boolean
  | null
  | readonly FindValue<X>[]
  | { readonly [Op in FindOperator]?: FindValue<X> };

/**
 * Reads rows with a query and decides from them. Paths in `find` are resolved
 * from the request first; the rows land in `args.result` for `clause`.
 * @example
 * { rule: 'query', db: 'blog', col: 'profiles',
 *   find: { userId: 'args.find.userId', isPublic: true },
 *   clause: { rule: 'match', eval: '==', type: 'number', f1: 'utils.length(args.result)', f2: 1 } }
 */
export interface QueryRule<X extends RuleContext> extends RuleMeta {
  /** The kind of rule. */
  rule: 'query';
  /** The service to read (Space Cloud's database alias): usually this rule's own service. */
  db: X['service'] | (string & {});
  /** The table to read (Space Cloud's collection). */
  col: (keyof X['tables'] & string) | (string & {});
  /**
   * Conditions on the table's columns: literals, paths (`'args.find.userId'`), or
   * operators (`{ $in: 'args.auth.id' }`).
   */
  find: { readonly [column: string]: FindValue<X> };
  /**
   * Where the rows are stored for `clause`.
   * @default 'args.result'
   */
  store?: `args.${string}`;
  /**
   * Decides the rule from the rows (`utils.length(args.result)`, …).
   * Without it the rule passes when a row was found.
   */
  clause?: Rule<X>;
}

/** A field a transforming rule may name: a column under `args.doc`, `args.find`, `args.update.$set`…, or `res`. */
export type FieldOperand<X extends RuleContext, C extends string = ColumnName<X>> = FieldLiteral<X, C> | (string & {});

/**
 * Removes fields from the request (`args.…`) or from every returned row (`res.…`).
 * Always passes.
 * @example { rule: 'remove', fields: ['args.update.$set.role'] }
 */
export interface RemoveRule<X extends RuleContext> extends RuleMeta {
  /** The kind of rule. */
  rule: 'remove';
  /** The fields to remove. */
  fields: readonly FieldOperand<X>[];
  /**
   * When given, the rule only acts if the clause passes; a failing clause skips it
   * (the rule still passes), an error in the clause denies.
   */
  clause?: Rule<X>;
}

/**
 * Sets a field of the request or of every returned row. A `value` that is a known
 * path is resolved; anything else is used as written.
 * @example { rule: 'force', field: 'args.find.userId', value: 'args.auth.id' }
 */
export interface ForceRule<X extends RuleContext> extends RuleMeta {
  /** The kind of rule. */
  rule: 'force';
  /** The field to set. */
  field: FieldOperand<X>;
  /** The value: a path such as `args.auth.id`, or a literal. */
  value: StringOperand<X> | number | boolean | null | readonly JsonValue[] | { readonly [key: string]: JsonValue };
  /**
   * When given, the rule only acts if the clause passes; a failing clause skips it
   * (the rule still passes), an error in the clause denies.
   */
  clause?: Rule<X>;
}

/**
 * Encrypts string fields (AES-256-GCM under `crypto.key`), typically before a create.
 * @example { rule: 'encrypt', fields: ['args.doc.email', 'args.doc.name'] }
 */
export interface EncryptRule<X extends RuleContext> extends RuleMeta {
  /** The kind of rule. */
  rule: 'encrypt';
  /** String columns to encrypt. */
  fields: readonly FieldOperand<X>[];
  /**
   * When given, the rule only acts if the clause passes; a failing clause skips it
   * (the rule still passes), an error in the clause denies.
   */
  clause?: Rule<X>;
}

/**
 * Decrypts fields that `encrypt` stored, typically in rows being returned.
 * @example { rule: 'decrypt', fields: ['res.email', 'res.name'] }
 */
export interface DecryptRule<X extends RuleContext> extends RuleMeta {
  /** The kind of rule. */
  rule: 'decrypt';
  /** String columns to decrypt. */
  fields: readonly FieldOperand<X>[];
  /**
   * When given, the rule only acts if the clause passes; a failing clause skips it
   * (the rule still passes), an error in the clause denies.
   */
  clause?: Rule<X>;
}

/**
 * Replaces string fields by their SHA-256 digest, typically a password before a create.
 * @example { rule: 'hash', fields: ['args.doc.password'] }
 */
export interface HashRule<X extends RuleContext> extends RuleMeta {
  /** The kind of rule. */
  rule: 'hash';
  /** String columns to hash. */
  fields: readonly FieldOperand<X>[];
  /**
   * When given, the rule only acts if the clause passes; a failing clause skips it
   * (the rule still passes), an error in the clause denies.
   */
  clause?: Rule<X>;
}

/**
 * Asks a service of yours: POSTs the request's `args` as JSON to `url` and passes
 * when the answer is 2xx with a JSON body. Timeouts and other answers deny.
 * @example { rule: 'webhook', url: 'https://hooks.example.com/dfc/moderate' }
 */
export interface WebhookRule<X extends RuleContext> extends RuleMeta {
  /** The kind of rule. */
  rule: 'webhook';
  /** The endpoint, written here in full: nothing from the request reaches the URL. */
  url: `https://${string}` | `http://${string}`;
  /**
   * Milliseconds to wait before the call is abandoned (and the rule denies).
   * @default 5000
   */
  timeout?: number;
  /**
   * Where the answer's body is stored for `clause`.
   * @default 'args.result'
   */
  store?: `args.${string}`;
  /**
   * When given, the rule only acts if the clause passes; a failing clause skips it
   * (the rule still passes), an error in the clause denies.
   */
  clause?: Rule<X>;
}

/** JWT claims of the caller's session. */
export interface Claims {
  readonly [claim: string]: unknown;
}

/** What a `code` rule's function receives: the request, typed by the table's columns. */
export interface CodeArgs<X extends RuleContext> {
  /** The session's claims; undefined without a session. */
  readonly auth?: Claims;
  /** Equality conditions of the request's filter (read, update, delete). */
  readonly find?: Readonly<Row<X>>;
  /** The row being created (create). */
  readonly doc?: Readonly<Row<X>>;
  /** The update: `{ $set: { … } }` and the other operators (update). */
  readonly update?: { readonly [Op in UpdateOperator]?: Readonly<Row<X>> };
  /** `one` for a single row (by id), `all` otherwise. */
  readonly op?: 'one' | 'all';
  /** What an earlier `query` or `webhook` stored. */
  readonly result?: unknown;
  /** Page options of a read. */
  readonly opts?: { readonly limit?: number; readonly skip?: number };
}

/**
 * Custom logic in TypeScript. The function is bundled into policy.mjs; its source
 * hash is part of the policy, so a change shows in `dfc diff`. It must not throw
 * (a throw denies) and should not do I/O (use `query` or `webhook`).
 * @example { rule: 'code', fn: ({ auth, find }) => auth?.id === find?.userId }
 */
export interface CodeRule<X extends RuleContext> extends RuleMeta {
  /** The kind of rule. */
  rule: 'code';
  /** Returns (or resolves to) true to allow. */
  fn: (args: CodeArgs<X>) => boolean | Promise<boolean>;
}

/** One rule, typed against a table (`X`). */
export type Rule<X extends RuleContext> =
  | AllowRule
  | DenyRule
  | AuthenticatedRule
  | MatchRule<X>
  | AndRule<X>
  | OrRule<X>
  | QueryRule<X>
  | RemoveRule<X>
  | ForceRule<X>
  | EncryptRule<X>
  | DecryptRule<X>
  | HashRule<X>
  | WebhookRule<X>
  | CodeRule<X>;

/** The rule kinds, as written in `rule`. */
export type RuleKind = Rule<RuleContext>['rule'];

/**
 * Documentation of every rule option, for hover text. `defineRule` intersects the
 * checked rules with it; every option is `unknown`, so it adds documentation and no
 * constraint (and costs the checker little, unlike intersecting with `Rule<…>`).
 */
export interface RuleDocs {
  /** The kind of rule: allow, deny, authenticated, match, and, or, query, remove, force, encrypt, decrypt, hash, webhook or code. */
  rule?: unknown;
  /** A name for the rule, shown in denial messages and logs. */
  name?: unknown;
  /** Replaces the denial message when this rule denies. */
  error?: unknown;
  /** `match`: the comparison (`==`, `!=`, `>`, `>=`, `<`, `<=`, `in`, `notIn`). */
  eval?: unknown;
  /** `match`: what is compared: `string`, `number`, `bool` or `date`. */
  type?: unknown;
  /** `match`: left operand, a path such as `args.auth.id` or a literal. */
  f1?: unknown;
  /** `match`: right operand, a path such as `args.find.userId` or a literal (a list for `in`/`notIn`). */
  f2?: unknown;
  /** `and`/`or`: the rules combined. */
  clauses?: readonly RuleDocs[];
  /** The condition under which the rule acts (`query`: decides from the rows in `args.result`). */
  clause?: RuleDocs;
  /** `query`: the service to read (Space Cloud's database alias). */
  db?: unknown;
  /** `query`: the table to read (Space Cloud's collection). */
  col?: unknown;
  /** `query`: conditions on the table's columns; paths are resolved from the request first. */
  find?: unknown;
  /** `query`/`webhook`: where the result is stored. Default `args.result`. */
  store?: unknown;
  /** `remove`/`encrypt`/`decrypt`/`hash`: the fields, under `args.…` (request) or `res.…` (each returned row). */
  fields?: unknown;
  /** `force`: the field to set. */
  field?: unknown;
  /** `force`: the value, a path such as `args.auth.id` or a literal. */
  value?: unknown;
  /** `webhook`: the endpoint; nothing from the request reaches the URL. */
  url?: unknown;
  /** `webhook`: milliseconds before the call is abandoned (and the rule denies). */
  timeout?: unknown;
  /** `code`: returns (or resolves to) true to allow. */
  fn?: unknown;
}
