import { NAME_PATTERN, type ColumnType, type Json, type PolicyColumn, type PolicyTable } from '@dfc/schema';
import { DataError } from './errors.js';
import { hasLoneSurrogate, shorten } from './text.js';
import type { Row } from './types.js';

/**
 * Values by declared column type, in three directions: a JSON value written by a
 * client (strict), a value compared in a condition (a little looser: numeric text for
 * number columns, `'true'`/`0`/`1` for bool), and a value read back from a driver
 * (turned into the JSON form every dialect agrees on).
 *
 * Canonical JSON forms: `integer`/`number` → number, `bool` → boolean, `date` → an
 * ISO-8601 UTC string with milliseconds (`2024-05-01T12:00:00.000Z`), `json` → the
 * parsed value, `string` → string.
 */

export type Dialect = 'sqlite' | 'postgres' | 'mysql';

/** A value bound as a query parameter: never an object or array (mysql2 would expand those into SQL). */
export type Param = string | number | boolean | null | Date;

export type Checked = { ok: true; value: Json } | { ok: false; message: string };

const TYPE_NAMES: Record<ColumnType, string> = {
  string: 'a string',
  integer: 'an integer',
  number: 'a number',
  bool: 'a boolean',
  date: 'a date (ISO-8601 text)',
  json: 'JSON',
};

function kindOf(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  switch (typeof value) {
    case 'string':
      return 'a string';
    case 'number':
      return Number.isInteger(value) ? 'an integer' : 'a number';
    case 'boolean':
      return 'a boolean';
    case 'object':
      return 'an object';
    default:
      return typeof value;
  }
}

function bad(column: string, type: ColumnType, value: unknown): Checked {
  return { ok: false, message: `\`${column}\` must be ${TYPE_NAMES[type]}, not ${kindOf(value)}` };
}

// invariant: the input is length-capped before this regex runs, and it has no nested
// unbounded quantifiers (each group repeats a bounded number of digits).
const DATE_RE =
  /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?(Z|z|[+-]\d{2}:?\d{2})?)?$/;

/** Earliest and latest years every supported database stores (MySQL DATETIME's range). */
const MIN_YEAR = 1000;
const MAX_YEAR = 9999;

/**
 * Parses ISO-8601 dates and date-times (`2024-05-01`, `2024-05-01T12:00`,
 * `2024-05-01 12:00:00.5+02:00`) into the canonical UTC form; a time without an
 * offset is UTC. Returns undefined for anything else, including impossible dates.
 */
export function parseDate(text: string): string | undefined {
  if (text.length > 40) return undefined;
  const m = DATE_RE.exec(text);
  if (!m) return undefined;
  const year = Number(m[1]);
  const month = Number(m[2]);
  const day = Number(m[3]);
  const hour = m[4] === undefined ? 0 : Number(m[4]);
  const minute = m[5] === undefined ? 0 : Number(m[5]);
  const second = m[6] === undefined ? 0 : Number(m[6]);
  const ms = m[7] === undefined ? 0 : Math.floor(Number((m[7] + '00').slice(0, 3)));
  if (year < MIN_YEAR || year > MAX_YEAR || month < 1 || month > 12 || day < 1) return undefined;
  const daysInMonth = new Date(Date.UTC(year, month, 0)).getUTCDate();
  if (day > daysInMonth || hour > 23 || minute > 59 || second > 59) return undefined;
  let offsetMinutes = 0;
  const zone = m[8];
  if (zone !== undefined && zone !== 'Z' && zone !== 'z') {
    const digits = zone.slice(1).replace(':', '');
    const oh = Number(digits.slice(0, 2));
    const om = Number(digits.slice(2, 4));
    if (oh > 23 || om > 59) return undefined;
    offsetMinutes = (oh * 60 + om) * (zone[0] === '-' ? -1 : 1);
  }
  const time = Date.UTC(year, month - 1, day, hour, minute, second, ms) - offsetMinutes * 60_000;
  const date = new Date(time);
  const y = date.getUTCFullYear();
  // An offset can push a boundary date out of the storable range.
  if (y < MIN_YEAR || y > MAX_YEAR) return undefined;
  return date.toISOString();
}

/**
 * Text every database stores and compares the same way: no NUL (PostgreSQL cannot
 * store it, SQLite's LIKE stops at it) and no unpaired surrogate (the drivers replace it).
 */
function textProblem(column: string, value: string): Checked | undefined {
  if (value.includes('\u0000')) return { ok: false, message: `\`${column}\` may not hold a NUL character` };
  if (hasLoneSurrogate(value)) return { ok: false, message: `\`${column}\` is not valid unicode text` };
  return undefined;
}

/** A client-written value for `column`: the exact JSON type, nothing converted but date formats. */
export function checkWriteValue(column: string, col: PolicyColumn, value: unknown): Checked {
  if (value === null || value === undefined) {
    return col.nullable ? { ok: true, value: null } : { ok: false, message: `\`${column}\` cannot be null` };
  }
  switch (col.type) {
    case 'string':
      return typeof value === 'string' ? (textProblem(column, value) ?? { ok: true, value }) : bad(column, col.type, value);
    case 'integer':
      if (typeof value === 'number' && Number.isInteger(value)) {
        return Number.isSafeInteger(value)
          ? { ok: true, value }
          : { ok: false, message: `\`${column}\` is out of range (integers are limited to ±9007199254740991)` };
      }
      return bad(column, col.type, value);
    case 'number':
      return typeof value === 'number' && Number.isFinite(value) ? { ok: true, value } : bad(column, col.type, value);
    case 'bool':
      return typeof value === 'boolean' ? { ok: true, value } : bad(column, col.type, value);
    case 'date': {
      if (typeof value !== 'string') return bad(column, col.type, value);
      const iso = parseDate(value);
      return iso === undefined
        ? { ok: false, message: `\`${column}\` must be an ISO-8601 date between the years 1000 and 9999` }
        : { ok: true, value: iso };
    }
    case 'json':
      return { ok: true, value: value as Json };
  }
}

const NUMERIC_TEXT = /^-?(?:0|[1-9]\d{0,30})(?:\.\d{1,30})?(?:[eE][+-]?\d{1,3})?$/;

/**
 * A value compared with `column` in a condition. Numeric text is accepted for number
 * columns and `'true'`/`'false'`/`0`/`1` for bool columns (lookups from token claims
 * are often text); numbers compare with text columns as their decimal text. `json`
 * columns take no comparisons: only `is null`.
 */
export function checkWhereValue(column: string, col: PolicyColumn, value: Json): Checked {
  if (value === null) return { ok: false, message: `\`${column}\` can only be compared with null through \`is null\`` };
  switch (col.type) {
    case 'string':
      if (typeof value === 'string') return textProblem(column, value) ?? { ok: true, value };
      if (typeof value === 'number' && Number.isFinite(value)) return { ok: true, value: String(value) };
      return bad(column, col.type, value);
    case 'integer':
    case 'number': {
      if (typeof value === 'number') return Number.isFinite(value) ? { ok: true, value } : bad(column, col.type, value);
      if (typeof value === 'string' && value.length <= 64 && NUMERIC_TEXT.test(value)) {
        const n = Number(value);
        if (Number.isFinite(n)) return { ok: true, value: n };
      }
      return bad(column, col.type, value);
    }
    case 'bool':
      if (typeof value === 'boolean') return { ok: true, value };
      if (value === 1 || value === 'true') return { ok: true, value: true };
      if (value === 0 || value === 'false') return { ok: true, value: false };
      return bad(column, col.type, value);
    case 'date': {
      const iso = typeof value === 'string' ? parseDate(value) : undefined;
      return iso === undefined
        ? { ok: false, message: `\`${column}\` must be compared with an ISO-8601 date between the years 1000 and 9999` }
        : { ok: true, value: iso };
    }
    case 'json':
      return { ok: false, message: `\`${column}\` holds JSON and can only be tested with \`is null\` or \`is not null\`` };
  }
}

/** The driver parameter for a canonical value of the given type. */
export function toParam(dialect: Dialect, type: ColumnType, value: Json): Param {
  if (value === null) return null;
  switch (type) {
    case 'bool':
      // better-sqlite3 cannot bind booleans; MySQL stores BOOLEAN as TINYINT(1).
      return dialect === 'postgres' ? (value as boolean) : value ? 1 : 0;
    case 'date':
      // mysql2 writes a Date in the pool's time zone (UTC); the others take ISO text.
      return dialect === 'mysql' ? new Date(value as string) : (value as string);
    case 'json':
      // Text on every dialect (PostgreSQL casts it to jsonb); an array bound as-is
      // would become a PostgreSQL array or a MySQL value list.
      return JSON.stringify(value);
    case 'string':
      return value as string;
    case 'integer':
    case 'number':
      return value as number;
  }
}

/** A value read from the driver, in its canonical JSON form. */
export function fromDb(type: ColumnType, raw: unknown): Json {
  if (raw === null || raw === undefined) return null;
  switch (type) {
    case 'bool':
      if (typeof raw === 'boolean') return raw;
      if (typeof raw === 'number' || typeof raw === 'bigint') return Number(raw) !== 0;
      if (typeof raw === 'string') return raw !== '0' && raw !== 'false' && raw !== 'f' && raw !== '';
      return Boolean(raw);
    case 'integer':
    case 'number':
      if (typeof raw === 'number') return raw;
      if (typeof raw === 'bigint' || typeof raw === 'string') return Number(raw);
      return Number(raw);
    case 'date': {
      if (raw instanceof Date) return Number.isNaN(raw.getTime()) ? null : raw.toISOString();
      const text = String(raw);
      const iso = parseDate(text);
      if (iso !== undefined) return iso;
      const d = new Date(text);
      return Number.isNaN(d.getTime()) ? text : d.toISOString();
    }
    case 'json':
      if (typeof raw === 'string') {
        try {
          return JSON.parse(raw) as Json;
        } catch {
          // Text written by something other than dfc: return it as stored.
          return raw;
        }
      }
      if (Buffer.isBuffer(raw)) {
        try {
          return JSON.parse(raw.toString('utf8')) as Json;
        } catch {
          return raw.toString('utf8');
        }
      }
      return raw as Json;
    case 'string':
      if (typeof raw === 'string') return raw;
      if (Buffer.isBuffer(raw)) return raw.toString('utf8');
      // An invalid date (MySQL's zero date, say) reads as null, as it does in a date column.
      if (raw instanceof Date) return Number.isNaN(raw.getTime()) ? null : raw.toISOString();
      return String(raw);
  }
}

/** A driver row turned into a JSON-ready row holding `columns` in the given order. */
export function decodeRow(table: PolicyTable, columns: readonly string[], raw: Record<string, unknown>): Row {
  const row: Row = {};
  for (const name of columns) {
    const col = table.columns[name]!;
    const value = fromDb(col.type, raw[name]);
    // Assigning `__proto__` would set the prototype: such a column is defined as a field.
    if (name === '__proto__') Object.defineProperty(row, name, { value, enumerable: true, writable: true, configurable: true });
    else row[name] = value;
  }
  return row;
}

export type RowDecoder = (raw: Record<string, unknown>) => Row;
/** A row decoder for a driver's row as an array of values in select-list order. */
export type ArrayRowDecoder = (raw: readonly unknown[]) => Row;

/** At most this many column lists per table are compiled when they are not frozen (a `fields` parameter makes a new one per request). */
const MAX_LOOSE_DECODERS = 64;
interface Decoders<D> {
  frozen: WeakMap<readonly string[], D>;
  loose: Map<string, D>;
}
const decoders = new WeakMap<PolicyTable, Decoders<RowDecoder>>();
const arrayDecoders = new WeakMap<PolicyTable, Decoders<ArrayRowDecoder>>();
const allColumnLists = new WeakMap<PolicyTable, readonly string[]>();

/** Every column of `table`, in declared order: one frozen list per table. */
export function tableColumns(table: PolicyTable): readonly string[] {
  let list = allColumnLists.get(table);
  if (list === undefined) allColumnLists.set(table, (list = Object.freeze(Object.keys(table.columns))));
  return list;
}

/**
 * {@link decodeRow} for `columns` of `table`, compiled: a function that builds the row as
 * one object literal, so each row costs what a driver's own row costs (the generic loop
 * stores each field under a computed key, which V8 does slowly). A frozen list is known
 * by identity; any other by its names (and compiled once per table for the first 64).
 * Lists naming `__proto__` (or anything but a column name) keep the generic loop.
 */
export function rowDecoder(table: PolicyTable, columns: readonly string[]): RowDecoder {
  return cachedDecoder(decoders, table, columns, () => compileDecoder(table, columns, false) as RowDecoder);
}

/** {@link rowDecoder} for rows that come as arrays of values in the order of `columns`. */
export function arrayRowDecoder(table: PolicyTable, columns: readonly string[]): ArrayRowDecoder {
  return cachedDecoder(arrayDecoders, table, columns, () => compileDecoder(table, columns, true) as ArrayRowDecoder);
}

function cachedDecoder<D>(all: WeakMap<PolicyTable, Decoders<D>>, table: PolicyTable, columns: readonly string[], compile: () => D): D {
  let known = all.get(table);
  if (known === undefined) all.set(table, (known = { frozen: new WeakMap(), loose: new Map() }));
  const frozen = Object.isFrozen(columns);
  let decode = frozen ? known.frozen.get(columns) : undefined;
  if (decode !== undefined) return decode;
  const key = frozen ? '' : columns.join(',');
  decode = frozen ? undefined : known.loose.get(key);
  if (decode === undefined) {
    decode = compile();
    if (!frozen && known.loose.size < MAX_LOOSE_DECODERS) known.loose.set(key, decode);
  }
  if (frozen) known.frozen.set(columns, decode);
  return decode;
}

function compileDecoder(table: PolicyTable, columns: readonly string[], arrays: boolean): RowDecoder | ArrayRowDecoder {
  const list = [...columns];
  if (!list.every((c) => NAME_PATTERN.test(c) && c !== '__proto__' && Object.hasOwn(table.columns, c))) {
    if (!arrays) return (raw: Record<string, unknown>) => decodeRow(table, list, raw);
    return (raw: readonly unknown[]) => decodeRow(table, list, Object.fromEntries(list.map((c, i) => [c, raw[i]])));
  }
  const fields = list.map((c, i) => {
    const type = table.columns[c]!.type;
    const v = arrays ? `raw[${i}]` : `raw[${JSON.stringify(c)}]`;
    // The common driver value of each type inline; anything else (null included) through fromDb.
    const fast =
      type === 'integer' || type === 'number'
        ? `typeof (v = ${v}) === "number" ? v : fromDb(${JSON.stringify(type)}, v)`
        : type === 'string'
          ? `typeof (v = ${v}) === "string" ? v : fromDb("string", v)`
          : type === 'bool'
            ? `(v = ${v}) === 1 ? true : v === 0 ? false : typeof v === "boolean" ? v : fromDb("bool", v)`
            : `fromDb(${JSON.stringify(type)}, ${v})`;
    return `${JSON.stringify(c)}: ${fast}`;
  });
  return new Function('fromDb', `return function decodeRow(raw) { let v; return { ${fields.join(', ')} }; };`)(fromDb) as RowDecoder;
}

/** Checks every key of a written row against the declared columns and coerces its value; throws `DataError('invalid')`. */
export function checkWriteRow(
  tableName: string,
  table: PolicyTable,
  row: Row,
  mode: 'insert' | 'update' = 'insert',
): Map<string, Json> {
  if (row === null || typeof row !== 'object' || Array.isArray(row)) {
    throw new DataError('invalid', `a record for \`${tableName}\` must be a JSON object`);
  }
  const out = new Map<string, Json>();
  for (const key of Object.keys(row)) {
    if (!Object.hasOwn(table.columns, key)) {
      throw new DataError('invalid', `unknown column \`${shorten(key)}\` in \`${tableName}\``);
    }
    const col = table.columns[key]!;
    const value = row[key];
    // The primary key may be left out or null for the database to generate.
    if (mode === 'insert' && (value === null || value === undefined) && key === table.primaryKey) continue;
    if (value === undefined) continue;
    if (value === null && key === table.primaryKey) {
      throw new DataError('invalid', `\`${key}\` cannot be null`, { column: key });
    }
    const checked = checkWriteValue(key, col, value);
    if (!checked.ok) throw new DataError('invalid', checked.message, { column: key });
    out.set(key, checked.value);
  }
  return out;
}
