import type { CheckService, ContextOf, ServiceLike } from './check.js';
import type { ColumnType, RuleContext } from './context.js';
import type { Rule } from './rules.js';
import type { SecretValue } from './secret.js';
import type { ChecksOff, HoverDocs } from './index.js';
import { trace } from './trace.js';
import type { ColumnValueDefinition, DatabaseValue, RequirementBlockValue } from './values.js';

// ---------------------------------------------------------------------------
// requirement collections (Aptify)

/**
 * Passes for every caller, with or without a session. On a service it lifts the
 * implied `authenticated` requirement.
 */
export interface AllowAnonymousRequirement {
  /** Passes for every caller. */
  type: 'allowAnonymous';
}

/** Passes for callers with a valid session. */
export interface AuthenticatedRequirement {
  /** Passes with a session. */
  type: 'authenticated';
}

/**
 * Passes when the caller's role is one of `roles`.
 * @example { type: 'role', roles: ['admin'] }
 */
export interface RoleRequirement {
  /** Passes for the roles listed. */
  type: 'role';
  /** Role names (as in `defineRole({ name })`); one is enough. */
  roles: readonly [string, ...string[]];
}

/**
 * Passes when a rule passes; the rule is typed against the table it guards.
 * @example { type: 'rule', rule: { rule: 'match', eval: '==', type: 'string', f1: 'args.auth.id', f2: 'args.doc.userId' } }
 */
export interface RuleRequirement<X extends RuleContext = RuleContext> {
  /** Passes when the rule passes. */
  type: 'rule';
  /** Any data rule. */
  rule: Rule<X>;
}

/** One requirement of a collection, discriminated on `type`. */
export type Requirement<X extends RuleContext = RuleContext> =
  | AllowAnonymousRequirement
  | AuthenticatedRequirement
  | RoleRequirement
  | RuleRequirement<X>;

/**
 * A requirement collection: descriptive name → requirement. The collection passes
 * when any of its requirements passes; a failure names the requirements that failed.
 * @example security: { signedIn: { type: 'authenticated' } }
 */
export type RequirementBlock<X extends RuleContext = RuleContext> = { readonly [name: string]: Requirement<X> };

// ---------------------------------------------------------------------------
// columns, tables, databases

/** A column with options; a bare column type (`'string'`) means `{ type: 'string' }`. */
export interface ColumnOptions {
  /** The column's type. */
  type: ColumnType;
  /**
   * Whether the column may hold `null`.
   * @default false
   */
  nullable?: boolean;
  /** Shown in the generated OpenAPI description. */
  description?: string;
  /**
   * Input-field requirements (Aptify's field level): checked when a request writes
   * this column; rules here are typed against the column's table.
   * @example security: { adminsOnly: { type: 'role', roles: ['admin'] } }
   */
  security?: RequirementBlock;
}

/** A column: its type, or its options. */
export type ColumnDefinition = ColumnType | ColumnOptions;

/**
 * A table the service exposes at `/_table/<name>`. (`K` keeps `primaryKey` literal
 * while the service is inferred, so it can be checked against the columns.)
 */
export interface TableOptions<K extends string = string> {
  /**
   * Column name → type or options.
   * @example columns: { id: 'integer', userId: 'string', isPublic: 'bool' }
   */
  columns: { readonly [column: string]: ColumnDefinition };
  /** The column that identifies a row (`/_table/<name>/<id>`). */
  primaryKey: K;
  /** Shown in the generated OpenAPI description. */
  description?: string;
  /**
   * Route-level requirements (Aptify), checked for every request to this table;
   * rules here are typed against this table.
   * @example security: { anyone: { type: 'allowAnonymous' } }
   */
  security?: RequirementBlock;
}

/** SQLite, the embedded default: one file, created (and seeded) by `dfc serve`. */
export interface SqliteDatabase {
  /** An SQLite file. */
  type: 'sqlite';
  /**
   * The database file, relative to the config file.
   * @example file: './blog.db'
   */
  file: string;
  /**
   * A JSON file (relative to the config) of rows per table, inserted when
   * `dfc serve` creates the database. Values written `{ "$encrypt": "…" }` or
   * `{ "$hash": "…" }` are stored encrypted or hashed.
   * @example seed: './seed.json'
   */
  seed?: string;
}

/** Connection pool options. */
export interface PoolOptions {
  /**
   * Most connections open at once.
   * @default 10
   */
  max?: number;
}

/** PostgreSQL. */
export interface PostgresDatabase {
  /** A PostgreSQL server. */
  type: 'postgres';
  /**
   * The connection URL, as a secret: it holds a password.
   * @example url: secret('BLOG_DB_URL')
   */
  url: SecretValue;
  /**
   * The schema that holds the tables.
   * @default 'public'
   */
  schema?: string;
  /** Connection pool options. */
  pool?: PoolOptions;
  /**
   * Run reads as named prepared statements, parsed and planned once per connection. Turn
   * off behind a pooler that cannot keep them (PgBouncer in transaction mode before 1.21).
   * @default true
   */
  preparedStatements?: boolean;
}

/** MySQL or MariaDB. */
export interface MysqlDatabase {
  /** A MySQL or MariaDB server. */
  type: 'mysql';
  /**
   * The connection URL, as a secret: it holds a password.
   * @example url: secret('BLOG_DB_URL')
   */
  url: SecretValue;
  /** Connection pool options. */
  pool?: PoolOptions;
}

/** Where a service's tables live, discriminated on `type`. */
export type DatabaseOptions = SqliteDatabase | PostgresDatabase | MysqlDatabase;

/**
 * A database-backed REST API at `/api/v2/<name>`. (`N` and `K` keep the name and
 * the primary keys literal while the service is inferred.)
 */
export interface ServiceOptions<N extends string = string, K extends string = string> {
  /**
   * The service's name, the first segment of its URLs.
   * @example name: 'blog'
   */
  name: N;
  /** Shown in the generated OpenAPI description. */
  description?: string;
  /** The database behind the service. */
  database: DatabaseOptions;
  /** Table name → table. Only tables listed here are reachable. */
  tables: { readonly [table: string]: TableOptions<K> };
  /**
   * Endpoint-level requirements (Aptify). `authenticated` is implied unless the
   * collection holds an `allowAnonymous` requirement.
   * @example security: { signedIn: { type: 'authenticated' } }
   */
  security?: RequirementBlock;
  /**
   * The largest page a GET may return (DreamFactory's `max_records`).
   * @default 1000
   */
  maxRecords?: number;
}

/** A table of a defined service. */
export type TableValue<D extends TableOptions> = {
  readonly columns: {
    readonly [C in keyof D['columns']]: ColumnValueDefinition<
      D['columns'][C] extends ColumnType ? D['columns'][C] : D['columns'][C] extends { type: infer T extends ColumnType } ? T : never
    >;
  };
  readonly primaryKey: D['primaryKey'];
  readonly description?: string;
  readonly security?: RequirementBlockValue;
};

/**
 * What `defineService` returns: the service as written, with its table and column
 * names kept, so rules and roles can be checked against them.
 */
export type Service<S extends ServiceOptions = ServiceOptions> = {
  readonly name: S['name'];
  readonly description?: string;
  readonly database: DatabaseValue;
  readonly tables: { readonly [T in keyof S['tables']]: TableValue<S['tables'][T]> };
  readonly security?: RequirementBlockValue;
  readonly maxRecords?: number;
};

/** The check a service's own requirement rules are typed with (for tooling). */
export type ServiceRuleContext<S extends ServiceLike, T extends string> = ContextOf<S, T, 'any'>;

/**
 * Declares a service: its database and the tables (and columns) it exposes.
 * Names are kept literally, so rules, roles and requirement blocks can be checked
 * against them.
 *
 * @example
 * export const blog = defineService({
 *   name: 'blog',
 *   database: { type: 'sqlite', file: './blog.db' },
 *   tables: {
 *     posts: { columns: { id: 'integer', userId: 'string', title: 'string' }, primaryKey: 'id' },
 *   },
 * });
 */
export function defineService<N extends string, K extends string, S extends ServiceOptions<N, K>>(
  service: ChecksOff extends true ? S : S extends CheckService<S> ? S & HoverDocs<ServiceOptions> : CheckService<S>,
): Service<S> {
  const value: unknown = service; // the checked parameter type is not needed past this point
  return trace('service', value) as Service<S>;
}
