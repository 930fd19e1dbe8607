import type { ServiceLike, TablesOf } from './check.js';
import type { ColumnType, ColumnValue, JsonValue, Operation, UpdateOperator } from './context.js';
import type { App, Verb } from './values.js';

/**
 * Policy tests: requests and the decisions they must get, written next to the config
 * in `*.policy.test.ts` files and run by `dfc test` against the compiled policy (in
 * memory, with fixtures for `query` and `webhook` rules: no server, no database).
 * Everything here is data and types; the runner is part of the `dfc` command.
 */

/** Column name → type of table `T` of service `S` (any column, for the erased `PolicyTest`). */
type ColumnsOf<S extends ServiceLike, T extends string> = string extends T
  ? { readonly [column: string]: ColumnType }
  : T extends keyof TablesOf<S>
    ? TablesOf<S>[T]
    : never;

/** A value as a rule sees it, for a column of type `C`. */
type FieldValue<C> = C extends ColumnType ? ColumnValue<C> | null : JsonValue;

/**
 * Some columns of a row of table `T`, with their values (`find`, `doc`, `$set`).
 * @example { userId: 'alice', isPublic: true }
 */
export type TestRow<S extends ServiceLike, T extends string> = { -readonly [C in keyof ColumnsOf<S, T>]?: FieldValue<ColumnsOf<S, T>[C]> };

/**
 * A value stored encrypted, as an `encrypt` rule stores it (under the test run's key),
 * so that `decrypt` rules see a real ciphertext.
 * @example { $encrypt: 'alice@example.com' }
 */
export type EncryptedFixture = {
  $encrypt: string;
};

/**
 * A value stored hashed, as a `hash` rule stores it (SHA-256, base64).
 * @example { $hash: 'correct horse' }
 */
export type HashedFixture = {
  $hash: string;
};

/** A row stored in table `T`: string columns may be written `{ $encrypt }` or `{ $hash }`. */
export type StoredRow<S extends ServiceLike, T extends string> = {
  -readonly [C in keyof ColumnsOf<S, T>]?: ColumnsOf<S, T>[C] extends 'string'
    ? string | null | EncryptedFixture | HashedFixture
    : FieldValue<ColumnsOf<S, T>[C]>;
};

/** The update of an update request: `{ $set: { … } }` and Space Cloud's other operators. */
export type TestUpdate<S extends ServiceLike, T extends string> = { [Op in UpdateOperator]?: TestRow<S, T> };

/** What a webhook answers in a test. `body` must be JSON for the rule to pass. */
export interface WebhookFixture {
  /** The HTTP status (2xx passes, anything else denies). */
  status: number;
  /** The JSON body (stored in `args.result` or the rule's `store`). */
  body?: JsonValue;
}

/**
 * One request, as `decide()` receives it after the HTTP layer: the app, the session's
 * claims, the verb or operation and the request's arguments, plus the data the rules see.
 */
export interface PolicyTestRequest<S extends ServiceLike = ServiceLike, T extends string = string> {
  /**
   * The calling app: what `defineApp` returned, or its name. Its API key is not needed.
   * @example app: webApp
   */
  app: App | (string & {});
  /**
   * The session's claims (a verified JWT's payload); absent or `null`: no session. The
   * role claim (`auth.jwt.roleClaim`) selects a role when the app allows it.
   * @example claims: { id: 'alice', role: 'editor' }
   */
  claims?: { readonly [claim: string]: JsonValue } | null;
  /**
   * The HTTP verb (GET read, POST create, PUT/PATCH update, DELETE delete).
   * @default the verb of `operation`, or GET
   */
  verb?: Verb;
  /** The operation, when no `verb` is given. */
  operation?: Operation;
  /**
   * A record id (`/_table/<table>/<id>`): the request is for one row (`args.op` is
   * `one`) and `find` gets the primary key.
   */
  id?: string | number;
  /**
   * Equality conditions of the client's filter: what rules see as `args.find`.
   * @example find: { userId: 'alice' }
   */
  find?: TestRow<S, T>;
  /** The row being created (`args.doc`). */
  doc?: TestRow<S, T>;
  /** The update (`args.update`), e.g. `{ $set: { title: 'new' } }`. */
  update?: TestUpdate<S, T>;
  /**
   * The rows stored in the table. The runner returns those the request reads (its
   * `id`/`find`, the role's filters and forced conditions, as the database would) after
   * the response rules (`remove`, `decrypt`…): what `expect.response` is compared with.
   */
  rows?: readonly StoredRow<S, T>[];
  /**
   * Rows of the service's tables that `query` rules read, by table.
   * @example data: { profiles: [{ userId: 'bob', isPublic: false, followers: ['alice'] }] }
   */
  data?: { readonly [U in keyof TablesOf<S> & string]?: readonly StoredRow<S, U>[] };
  /**
   * What each webhook URL answers. A webhook with no fixture fails (the rule denies);
   * no request ever leaves the machine.
   * @example webhooks: { 'https://hooks.example.com/dfc/moderate': { status: 200, body: { ok: true } } }
   */
  webhooks?: { readonly [url: string]: WebhookFixture };
  /**
   * The time `utils.now()` reads (RFC 3339).
   * @default the real clock
   */
  now?: string;
}

/**
 * Fields of the request after the rules ran. A field whose value is `undefined` must be
 * absent; `{ $hash: text }` matches the hash of `text` (as a `hash` rule stores it) and
 * `{ $encrypt: text }` a ciphertext of `text` (as an `encrypt` rule stores it).
 */
export interface ExpectedArgs<S extends ServiceLike, T extends string> {
  find?: StoredRow<S, T>;
  doc?: StoredRow<S, T>;
  update?: { [Op in UpdateOperator]?: StoredRow<S, T> };
}

/** What the request must get. Only the properties given are checked. */
export interface PolicyTestExpect<S extends ServiceLike = ServiceLike, T extends string = string> {
  /** Allowed or denied. */
  decision: 'allow' | 'deny';
  /**
   * The HTTP status the server would answer: 200 when allowed; 401, 403 or 404 when
   * denied; 500 when the response rules refuse the rows.
   */
  status?: number;
  /**
   * The error code of a denial.
   * @example error: 'DFC_ERR_RULE_DENIED'
   */
  error?: `DFC_ERR_${string}`;
  /** The denial's message contains this text, or matches this pattern. */
  reason?: string | RegExp;
  /**
   * The rule that decided: its config path (`rules.blog.posts.update`, or a clause's,
   * `rules.blog.posts.update.clauses[1]`), or its `name`.
   */
  rule?: string;
  /** The role the request was decided with. */
  role?: string;
  /** Names of the requirements that failed (a denial by a requirement collection). */
  failed?: readonly string[];
  /**
   * Fields of `args.find`, `args.doc` and `args.update` after the rules ran (forced
   * values, hashes…). Fields not listed are not checked; `undefined` means absent.
   * @example args: { doc: { userId: 'alice' } }
   */
  args?: ExpectedArgs<S, T>;
  /**
   * The rows returned, in order, after the response rules: each listed field must have
   * this value (`undefined`: the field was removed; `{ $encrypt: text }`: still a
   * ciphertext of `text`); there must be as many rows.
   * @example response: [{ id: 'alice', password: undefined }]
   */
  response?: readonly StoredRow<S, T>[];
  /**
   * The row condition added to every query (role filters and forced conditions) as
   * filter text, or `null` for none.
   * @example where: "userId = 'alice'"
   */
  where?: string | null;
}

/**
 * Service endpoints that are not a table: the OpenAPI description (`_doc`), the schema
 * (`_schema`) and the list of tables (`_table`). A test of one of them runs no data rule.
 */
export type ServiceEndpoint = '_doc' | '_schema' | '_table';

/** A policy test of table `T` (or endpoint) of service `S`. */
export interface PolicyTest<S extends ServiceLike = ServiceLike, T extends string = string> {
  /** Shown in the report; unique within the file. */
  name: string;
  /** The service (what `defineService` returned). */
  service: S;
  /** The table, or a service endpoint (`_doc`, `_schema`, `_table`). */
  table: T;
  request: PolicyTestRequest<S, T>;
  expect: PolicyTestExpect<S, T>;
}

/** What `definePolicyTest` takes: a test without its service and table (given as arguments). */
export type PolicyTestOptions<S extends ServiceLike, T extends string> = Omit<PolicyTest<S, T>, 'service' | 'table'>;

/**
 * Declares a policy test of one table (or of `_doc`, `_schema`, `_table`): a request
 * and what it must get. Like `defineRule`, it is typed against the table's columns.
 *
 * @example
 * definePolicyTest(blog, 'posts', {
 *   name: 'an editor may not update a post of someone else',
 *   request: { app: webApp, claims: { id: 'alice', role: 'editor' }, verb: 'PATCH', find: { userId: 'bob' } },
 *   expect: { decision: 'deny', rule: 'rules.blog.posts.update' },
 * })
 */
export function definePolicyTest<S extends ServiceLike, T extends (keyof S['tables'] & string) | ServiceEndpoint>(
  service: S,
  table: T,
  test: PolicyTestOptions<S, T>,
): PolicyTest<S, T> {
  return { ...test, service, table };
}

/**
 * The default export of a `*.policy.test.ts` file: its tests, in order.
 *
 * @example
 * export default definePolicyTests([
 *   definePolicyTest(blog, 'posts', { name: 'anyone reads posts', request: { app: webApp }, expect: { decision: 'allow' } }),
 * ]);
 */
export function definePolicyTests(tests: readonly PolicyTest<ServiceLike, string>[]): PolicyTest[] {
  return [...tests] as PolicyTest[];
}
