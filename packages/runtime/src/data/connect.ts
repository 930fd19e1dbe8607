import { resolve } from 'node:path';
import { NAME_PATTERN, type PolicyService } from '@dfc/schema';
import Database from 'better-sqlite3';
import { CompiledQuery, Kysely, MysqlDialect, PostgresDialect, SqliteDialect, type Dialect as KyselyDialect } from 'kysely';
import { createPool as createMysqlPool, type Pool as MysqlPool } from 'mysql2';
import pg from 'pg';
import { DataError } from './errors.js';
import { SqlDataSource, type Core, type PgPool } from './source.js';
import type { DataSource, OpenOptions } from './types.js';

/**
 * Opening a service's database. Nothing connects here: pools and the SQLite file open
 * on first use, so a database that is down makes requests fail with
 * `DataError('unavailable')` (503) rather than making the server fail to start, and a
 * later request succeeds once it is back.
 */

const DEFAULT_STATEMENT_TIMEOUT = 30_000;
const DEFAULT_CONNECT_TIMEOUT = 5_000;
const DEFAULT_BUSY_TIMEOUT = 5_000;
/** Milliseconds better-sqlite3 itself waits for a lock (blocking the event loop). */
const SYNC_BUSY_WAIT = 10;

// pg type OIDs whose default parsers return strings.
const INT8_OID = 20;
const NUMERIC_OID = 1700;

/** Refuses names that could not be declared columns (the artifact is data; check it anyway). */
function checkNames(service: PolicyService): void {
  for (const [table, t] of Object.entries(service.tables)) {
    if (!NAME_PATTERN.test(table) || table === '__proto__') {
      throw new DataError('internal', `table name \`${table}\` is not a valid name`);
    }
    for (const col of Object.keys(t.columns)) {
      if (!NAME_PATTERN.test(col) || col === '__proto__') {
        throw new DataError('internal', `column name \`${col}\` in \`${table}\` is not a valid name`);
      }
    }
    if (!Object.hasOwn(t.columns, t.primaryKey)) {
      throw new DataError('internal', `primary key \`${t.primaryKey}\` of \`${table}\` is not one of its columns`);
    }
    if (t.columns[t.primaryKey]!.type === 'json') {
      throw new DataError('internal', `primary key \`${t.primaryKey}\` of \`${table}\` cannot hold JSON`);
    }
  }
}

/** A core's statement caches and transaction count, empty. */
function caches(): Pick<Core, 'openTransactions' | 'selects' | 'statements' | 'statementNames' | 'statementGeneration'> {
  return { openTransactions: 0, selects: new Map(), statements: new Map(), statementNames: new Map(), statementGeneration: 0 };
}

function positive(value: number | undefined, fallback: number): number {
  return typeof value === 'number' && Number.isFinite(value) && value > 0 ? Math.floor(value) : fallback;
}

/**
 * Opens the database a service declares: SQLite (a file relative to `baseDir`, WAL,
 * busy timeout), PostgreSQL (a pg pool; `schema` sets the search_path) or
 * MySQL/MariaDB (a mysql2 pool). Throws `DataError('internal')` for a malformed
 * service and `DataError('unavailable')` when the connection URL cannot be resolved.
 */
export function openDataSource(service: PolicyService, options: OpenOptions): DataSource {
  checkNames(service);
  const statementTimeout = positive(options.statementTimeoutMs, DEFAULT_STATEMENT_TIMEOUT);
  const connectTimeout = positive(options.connectTimeoutMs, DEFAULT_CONNECT_TIMEOUT);
  const onPoolError = options.onPoolError ?? (() => {});
  const database = service.database;
  let dialect: KyselyDialect;
  let core: Core;

  const resolveUrl = (ref: Parameters<OpenOptions['resolveSecret']>[0]): string => {
    try {
      return options.resolveSecret(ref);
    } catch (err) {
      throw new DataError('unavailable', 'the database connection settings could not be read', { cause: err });
    }
  };

  switch (database.type) {
    case 'sqlite': {
      const file = database.file === ':memory:' ? ':memory:' : resolve(options.baseDir, database.file);
      const busy = positive(options.busyTimeoutMs, DEFAULT_BUSY_TIMEOUT);
      dialect = new SqliteDialect({
        database: async () => {
          let db: Database.Database;
          try {
            // invariant: the driver waits synchronously, so only briefly; the data source
            // retries between attempts for the rest of the busy timeout.
            db = new Database(file, { timeout: Math.min(busy, SYNC_BUSY_WAIT) });
          } catch (err) {
            // A missing directory or an unreadable file: the database cannot be reached (503), not a bug.
            throw new DataError('unavailable', 'the database is unavailable', { cause: err });
          }
          try {
            if (file !== ':memory:') db.pragma('journal_mode = WAL');
            db.pragma('foreign_keys = ON');
            // Same LIKE on every dialect: case-sensitive.
            db.pragma('case_sensitive_like = ON');
          } catch (err) {
            db.close();
            throw err;
          }
          opened.sqlite = db;
          return db;
        },
      });
      const db = new Kysely<any>({ dialect });
      const opened: Core = { dialect: 'sqlite', service, db, closed: false, destroy: () => db.destroy(), busyTimeoutMs: busy, ...caches() };
      core = opened;
      break;
    }
    case 'postgres': {
      const connectionString = resolveUrl(database.url);
      const schema = database.schema;
      if (schema !== undefined && !NAME_PATTERN.test(schema)) {
        throw new DataError('internal', `schema name \`${schema}\` is not a valid name`);
      }
      const pool = new pg.Pool({
        connectionString,
        max: database.poolMax,
        connectionTimeoutMillis: connectTimeout,
        // Server-side limit, plus a client-side one a little later for a server that stops answering.
        statement_timeout: statementTimeout,
        query_timeout: statementTimeout + 5_000,
        idle_in_transaction_session_timeout: statementTimeout * 2,
        keepAlive: true,
        // invariant: `schema` matched NAME_PATTERN above, so it needs no quoting here.
        ...(schema !== undefined ? { options: `-c search_path=${schema}` } : {}),
        types: {
          getTypeParser: ((oid: number, format?: 'text' | 'binary') => {
            if (oid === INT8_OID || oid === NUMERIC_OID) return (v: string) => (v === null ? null : Number(v));
            return pg.types.getTypeParser(oid, format as 'text');
          }) as typeof pg.types.getTypeParser,
        },
      });
      // A client whose connection drops emits 'error': an idle one through the pool, a
      // checked-out one on itself (its query fails too). Without listeners either would
      // crash the process; the pool discards such clients and opens new ones.
      pool.on('error', onPoolError);
      pool.on('connect', (client) => {
        client.on('error', onPoolError);
      });
      dialect = new PostgresDialect({ pool });
      const db = new Kysely<any>({ dialect });
      core = { dialect: 'postgres', service, db, closed: false, destroy: () => db.destroy(), ...(database.preparedStatements === false ? {} : { pg: pool as unknown as PgPool }), ...caches() };
      break;
    }
    case 'mysql': {
      const uri = resolveUrl(database.url);
      let pool: MysqlPool;
      try {
        pool = createMysqlPool({
          uri,
          connectionLimit: database.poolMax,
          connectTimeout,
          // DATETIME values are written and read as UTC.
          timezone: 'Z',
          charset: 'utf8mb4',
          supportBigNumbers: true,
          bigNumberStrings: false,
          decimalNumbers: true,
          multipleStatements: false,
          enableKeepAlive: true,
        });
      } catch (err) {
        throw new DataError('unavailable', 'the database connection settings could not be read', { cause: err });
      }
      // A pooled connection drops itself from the pool on its first error but listens only
      // once; a second error event with no listener would crash the process.
      pool.on('connection', (conn) => {
        conn.on('error', onPoolError);
      });
      const state: Partial<Core> = {};
      dialect = new MysqlDialect({
        pool,
        onCreateConnection: async (conn) => {
          const version = await conn.executeQuery<{ v: string }>(CompiledQuery.raw('select version() as v'));
          const flavor = String(version.rows[0]?.v ?? '').toLowerCase().includes('mariadb') ? 'mariadb' : 'mysql';
          state.flavor = flavor;
          if (core) core.flavor = flavor;
          // Strict mode turns silent truncation into errors; UTC for DATETIME arithmetic.
          await conn.executeQuery(
            CompiledQuery.raw(
              "set session sql_mode = 'STRICT_ALL_TABLES,NO_ZERO_DATE,NO_ZERO_IN_DATE,ERROR_FOR_DIVISION_BY_ZERO,NO_ENGINE_SUBSTITUTION', time_zone = '+00:00'",
            ),
          );
          // invariant: the timeout is a positive integer computed above, not user text.
          await conn.executeQuery(
            CompiledQuery.raw(
              flavor === 'mariadb'
                ? `set session max_statement_time = ${(statementTimeout / 1000).toFixed(3)}`
                : `set session max_execution_time = ${statementTimeout}`,
            ),
          );
        },
      });
      const db = new Kysely<any>({ dialect });
      core = { dialect: 'mysql', service, db, closed: false, destroy: () => db.destroy(), ...caches() };
      if (state.flavor) core.flavor = state.flavor;
      break;
    }
    default:
      throw new DataError('internal', 'unsupported database type');
  }
  return new SqlDataSource(core, core.db, false);
}
