import type { SecretValue, Where } from '@dfc/schema';

/** One record as JSON-ready values keyed by column name. */
export type Row = Record<string, unknown>;

/** One `ORDER BY` term. Without `nulls`, nulls sort last ascending and first descending on every database. */
export interface OrderBy {
  column: string;
  direction: 'asc' | 'desc';
  nulls?: 'first' | 'last';
}

/** What `select` reads: a condition, the columns (all declared ones by default), order and paging. */
export interface SelectQuery {
  where: Where;
  /** Declared columns to return; all of them when absent. */
  columns?: readonly string[];
  order?: OrderBy[];
  /** A non-negative integer. */
  limit?: number;
  /** A non-negative integer. */
  offset?: number;
}

/**
 * One service's database. Every method validates table and column names against the
 * service's declared tables, binds every value as a parameter, returns rows as
 * JSON-ready values by declared column type, and throws only `DataError`.
 */
export interface DataSource {
  readonly dialect: 'sqlite' | 'postgres' | 'mysql';
  /** Rows matching `q.where`. With `order`, `limit` or `offset`, the primary key is added as a final tiebreak so pages are stable. */
  select(table: string, q: SelectQuery): Promise<Row[]>;
  /**
   * The rows `select` would return, read without a promise when the source can (SQLite
   * outside transactions, a query shape already prepared); undefined otherwise, and then
   * `select` reads them. Optional: a source without it is always read through `select`.
   */
  selectNow?(table: string, q: SelectQuery): Row[] | undefined;
  /** How many rows match. */
  count(table: string, where: Where): Promise<number>;
  /** Inserts each row (in one transaction) and returns them as stored, generated keys included. */
  insert(table: string, rows: Row[]): Promise<Row[]>;
  /** Sets `values` on every row matching `where`; returns the updated rows as stored. */
  update(table: string, where: Where, values: Row): Promise<Row[]>;
  /** Deletes every row matching `where`; returns the deleted rows. */
  delete(table: string, where: Where): Promise<Row[]>;
  /**
   * Runs `fn` in a transaction: committed when it resolves, rolled back when it throws.
   * Use the `tx` it is given for every query inside (on SQLite the one connection is
   * held until `fn` settles). A nested call joins the outer transaction.
   */
  transaction<T>(fn: (tx: DataSource) => Promise<T>): Promise<T>;
  /** Resolves when the database answers; `DataError('unavailable')` otherwise. */
  ping(): Promise<void>;
  /** Closes the pool or file. Idempotent. */
  close(): Promise<void>;
}

/** Options for {@link openDataSource}. */
export interface OpenOptions {
  /** Directory that relative SQLite file names are resolved against (the config's directory). */
  baseDir: string;
  /** Turns a `{ $secret }` / `{ $encrypted }` reference into its value (a connection URL). Called when the pool is created. */
  resolveSecret: (ref: SecretValue) => string;
  /** Longest a statement may run before it is cancelled (PostgreSQL, MariaDB/MySQL). @default 30000 */
  statementTimeoutMs?: number;
  /** Longest to wait for a new connection. @default 5000 */
  connectTimeoutMs?: number;
  /** SQLite: how long to wait for a lock held by another process. @default 5000 */
  busyTimeoutMs?: number;
  /** Called with background pool errors (an idle connection dropped by the server), which are otherwise ignored. */
  onPoolError?: (error: unknown) => void;
}
