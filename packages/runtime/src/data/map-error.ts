import type { PolicyTable } from '@dfc/schema';
import { DataError } from './errors.js';
import type { Dialect } from './values.js';

/**
 * Driver errors → `DataError`. The message shown to clients is one of a few fixed
 * sentences (plus a declared column name when the error names one); the driver's own
 * text, which can hold SQL, values or host names, stays in `cause` for logs.
 */

const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'ETIMEDOUT',
  'EPIPE',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EADDRNOTAVAIL',
  // mysql2
  'PROTOCOL_CONNECTION_LOST',
  'PROTOCOL_SEQUENCE_TIMEOUT',
  'PROTOCOL_ENQUEUE_AFTER_FATAL_ERROR',
  'PROTOCOL_ENQUEUE_AFTER_QUIT',
  'ER_CON_COUNT_ERROR',
  'ER_SERVER_SHUTDOWN',
  'ER_CONNECTION_KILLED',
  'ER_QUERY_INTERRUPTED',
  'ER_STATEMENT_TIMEOUT',
  'ER_QUERY_TIMEOUT',
  'ER_LOCK_WAIT_TIMEOUT',
  'ER_LOCK_DEADLOCK',
  'ER_TOO_MANY_USER_CONNECTIONS',
  'ER_ACCESS_DENIED_ERROR',
  'ER_BAD_DB_ERROR',
  'ER_DBACCESS_DENIED_ERROR',
  // better-sqlite3
  'SQLITE_BUSY',
  'SQLITE_LOCKED',
  'SQLITE_CANTOPEN',
  'SQLITE_READONLY',
  'SQLITE_FULL',
  'SQLITE_NOTADB',
  'SQLITE_CORRUPT',
  'SQLITE_PROTOCOL',
]);

/** pg's own connection failures carry no code, only a message. */
const PG_CONNECTION_MESSAGES = [
  'Connection terminated',
  'timeout exceeded when trying to connect',
  'Client has encountered a connection error',
  'Query read timeout',
  'Cannot use a pool after calling end',
  'Client was closed and is not queryable',
  'connection is in closed state',
  'Pool is closed',
];

const MYSQL_INVALID = new Set([
  1048, // column cannot be null
  1364, // field has no default value
  1264, // out of range
  1265, // data truncated
  1292, // incorrect value
  1366, // incorrect value for column
  1367, // illegal value
  1406, // data too long
  1451, // row is referenced (foreign key)
  1452, // foreign key fails
  3140, // invalid JSON
  4025, // CHECK constraint failed (MariaDB)
  3819, // CHECK constraint failed (MySQL)
]);

function codeOf(err: unknown): string | undefined {
  if (err && typeof err === 'object' && 'code' in err) {
    const c = (err as { code: unknown }).code;
    if (typeof c === 'string') return c;
  }
  return undefined;
}

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

function isNetworkError(err: unknown, depth = 0): boolean {
  if (!err || typeof err !== 'object' || depth > 3) return false;
  const code = codeOf(err);
  if (code !== undefined && NETWORK_CODES.has(code)) return true;
  if (code?.startsWith('SQLITE_IOERR')) return true;
  if ((err as { fatal?: unknown }).fatal === true) return true;
  if (err instanceof AggregateError && err.errors.some((e) => isNetworkError(e, depth + 1))) return true;
  const msg = messageOf(err);
  if (PG_CONNECTION_MESSAGES.some((m) => msg.includes(m))) return true;
  const cause = (err as { cause?: unknown }).cause;
  return cause !== undefined && isNetworkError(cause, depth + 1);
}

/** A declared column named by the driver, or undefined (names not declared are never echoed). */
function declaredColumn(table: PolicyTable | undefined, name: string | undefined): string | undefined {
  if (!table || !name) return undefined;
  return Object.hasOwn(table.columns, name) ? name : undefined;
}

function missingColumn(dialect: Dialect, err: unknown): string | undefined {
  const msg = messageOf(err);
  if (dialect === 'postgres') {
    const c = (err as { column?: unknown }).column;
    return typeof c === 'string' ? c : undefined;
  }
  if (dialect === 'sqlite') {
    // "NOT NULL constraint failed: table.column"
    const at = msg.lastIndexOf('.');
    return msg.startsWith('NOT NULL constraint failed: ') && at > 0 ? msg.slice(at + 1) : undefined;
  }
  // "Column 'x' cannot be null" / "Field 'x' doesn't have a default value"
  const first = msg.indexOf("'");
  const second = first >= 0 ? msg.indexOf("'", first + 1) : -1;
  return second > first ? msg.slice(first + 1, second) : undefined;
}

function required(column: string | undefined, err: unknown): DataError {
  return column === undefined
    ? new DataError('invalid', 'a required field is missing', { cause: err })
    : new DataError('invalid', `\`${column}\` is required`, { column, cause: err });
}

/** Classifies any error thrown while talking to the database. */
export function mapError(dialect: Dialect, err: unknown, table?: PolicyTable): DataError {
  if (err instanceof DataError) return err;
  const code = codeOf(err);

  if (dialect === 'postgres' && code !== undefined && /^[0-9A-Z]{5}$/.test(code)) {
    if (code === '23505') return new DataError('unique', 'a record with the same key already exists', { cause: err });
    if (code === '23502') return required(declaredColumn(table, missingColumn(dialect, err)), err);
    if (code.startsWith('23') || code.startsWith('22')) {
      return new DataError('invalid', 'a value does not fit its column', { cause: err });
    }
    if (code === '57014') return new DataError('unavailable', 'the database did not answer in time', { cause: err });
    if (code.startsWith('08') || code.startsWith('57P') || code === '53300' || code === '53400' || code === '40001' || code === '40P01' || code === '55P03') {
      return new DataError('unavailable', 'the database is unavailable', { cause: err });
    }
    if (code === '3D000' || code === '28P01' || code === '28000') {
      return new DataError('unavailable', 'the database is unavailable', { cause: err });
    }
    return new DataError('internal', 'the database could not process the request', { cause: err });
  }

  if (dialect === 'mysql') {
    const errno = (err as { errno?: unknown } | null)?.errno;
    if (code === 'ER_DUP_ENTRY' || errno === 1062) {
      return new DataError('unique', 'a record with the same key already exists', { cause: err });
    }
    if (errno === 1048 || errno === 1364) return required(declaredColumn(table, missingColumn(dialect, err)), err);
    if (typeof errno === 'number' && MYSQL_INVALID.has(errno)) {
      return new DataError('invalid', 'a value does not fit its column', { cause: err });
    }
    if (errno === 1969 || errno === 3024 || errno === 1317) {
      return new DataError('unavailable', 'the database did not answer in time', { cause: err });
    }
  }

  if (dialect === 'sqlite' && code !== undefined && code.startsWith('SQLITE_')) {
    if (code === 'SQLITE_CONSTRAINT_UNIQUE' || code === 'SQLITE_CONSTRAINT_PRIMARYKEY') {
      return new DataError('unique', 'a record with the same key already exists', { cause: err });
    }
    if (code === 'SQLITE_CONSTRAINT_NOTNULL') return required(declaredColumn(table, missingColumn(dialect, err)), err);
    if (code.startsWith('SQLITE_CONSTRAINT') || code === 'SQLITE_MISMATCH' || code === 'SQLITE_TOOBIG' || code === 'SQLITE_RANGE') {
      return new DataError('invalid', 'a value does not fit its column', { cause: err });
    }
  }

  if (isNetworkError(err)) return new DataError('unavailable', 'the database is unavailable', { cause: err });
  return new DataError('internal', 'the database could not process the request', { cause: err });
}
