import { hash } from 'node:crypto';
import type { Json, PolicyService, PolicyTable, Where } from '@dfc/schema';
import { sql, type CompiledQuery, type Kysely, type Transaction } from 'kysely';
import { DataError } from './errors.js';
import { mapError } from './map-error.js';
import { WhereRenderer, fullOrder } from './render.js';
import { sameParams, selectShape, type SelectShape } from './select-shape.js';
import type { DataSource, OrderBy, Row, SelectQuery } from './types.js';
import { shorten } from './text.js';
import { arrayRowDecoder, checkWriteRow, decodeRow, rowDecoder, tableColumns, toParam, type Dialect } from './values.js';

/**
 * The one `DataSource` implementation: kysely over better-sqlite3, pg or mysql2.
 * Statements are built with kysely's query builder; names come from the declared
 * service only and values are always parameters.
 */

/** What a data source shares with its transactions. */
export interface Core {
  readonly dialect: Dialect;
  readonly service: PolicyService;
  readonly db: Kysely<any>;
  /** MySQL only: which server answered (they name binary no-pad collations differently). */
  flavor?: 'mariadb' | 'mysql';
  closed: boolean;
  /** Closes the pool; set by the dialect setup. */
  readonly destroy: () => Promise<void>;
  /**
   * SQLite: how long an operation keeps retrying while another process holds the lock.
   * The driver itself waits only briefly (better-sqlite3 waits synchronously, which would
   * stop every other request); the rest of the wait is between attempts.
   */
  readonly busyTimeoutMs?: number;
  /** SQLite: the database once the dialect has opened it; selects run on it as prepared statements. */
  sqlite?: SqliteDatabase;
  /** Transactions begun and not yet ended (on SQLite, a select then waits for kysely's connection lock). */
  openTransactions: number;
  /** Compiled selects by shape (see select-shape.ts); null for a shape that renders every time. */
  readonly selects: Map<string, CompiledQuery | null>;
  /** SQLite: prepared statements by SQL text. */
  readonly statements: Map<string, SqliteStatement>;
  /** PostgreSQL: the pool, for selects run as named (prepared) statements outside transactions. */
  pg?: PgPool;
  /** PostgreSQL: statement names by SQL text. */
  readonly statementNames: Map<string, string>;
  /** PostgreSQL: part of every statement name, moved on when prepared statements went stale. */
  statementGeneration: number;
}

/** The part of pg's pool the data source uses directly. */
export interface PgPool {
  query(config: { name: string; text: string; values: unknown[]; rowMode: 'array' }): Promise<{ rows: unknown[] }>;
}

/** The parts of better-sqlite3 the data source uses directly. */
export interface SqliteDatabase {
  prepare(sql: string): SqliteStatement;
}
export interface SqliteStatement {
  all(params: readonly unknown[]): unknown[];
  /** Rows as arrays of values in select-list order (better-sqlite3's raw mode). */
  raw(toggle?: boolean): SqliteStatement;
}

/** A select's columns, paging, order and shape, worked out once per call. */
interface SelectPlan {
  columns: readonly string[];
  limit: number | undefined;
  offset: number | undefined;
  requested: OrderBy[];
  ordered: boolean;
  where: Where;
  /** The full order, when `ordered` and the renderer accepts it. */
  order?: Required<OrderBy>[];
  shape?: SelectShape;
}

/** Most shapes (and SQLite statements) kept per database; past it they start over. */
const MAX_SHAPES = 1000;

const cores = new WeakMap<DataSource, { core: Core; db: Kysely<any> | Transaction<any> }>();

/** The internals behind a data source this module made (for DDL); undefined for anything else. */
export function internalsOf(ds: DataSource): { core: Core; db: Kysely<any> | Transaction<any> } | undefined {
  return cores.get(ds);
}

/** Largest LIMIT that every dialect accepts, for an OFFSET without a LIMIT (MySQL and SQLite need one). */
const NO_LIMIT = Number.MAX_SAFE_INTEGER;

/** A lock held by another connection (SQLite: `SQLITE_BUSY` and its extended codes), before or after mapping. */
function isBusy(err: unknown): boolean {
  const raw = err instanceof DataError ? err.cause : err;
  const code = (raw as { code?: unknown } | null)?.code;
  return typeof code === 'string' && code.startsWith('SQLITE_BUSY');
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Marks an error thrown by the caller's transaction callback, so it is rethrown untouched. */
class CallerError {
  constructor(readonly error: unknown) {}
}

function checkCount(name: 'limit' | 'offset', v: unknown): number | undefined {
  if (v === undefined) return undefined;
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) {
    throw new DataError('invalid', `\`${name}\` must be a non-negative integer`);
  }
  return v;
}

export class SqlDataSource implements DataSource {
  readonly dialect: Dialect;

  constructor(
    private readonly core: Core,
    private readonly db: Kysely<any> | Transaction<any>,
    private readonly inTransaction: boolean,
  ) {
    this.dialect = core.dialect;
    cores.set(this, { core, db });
  }

  private table(name: string): PolicyTable {
    if (this.core.closed) throw new DataError('unavailable', 'the database connection is closed');
    if (typeof name !== 'string' || !Object.hasOwn(this.core.service.tables, name)) {
      throw new DataError('not_found', `unknown table \`${shorten(String(name))}\``);
    }
    return this.core.service.tables[name]!;
  }

  private async run<T>(table: PolicyTable | undefined, fn: () => Promise<T>): Promise<T> {
    return this.whileBusy(async () => {
      try {
        return await fn();
      } catch (err) {
        if (err instanceof CallerError) throw err;
        throw mapError(this.dialect, err, table);
      }
    });
  }

  /**
   * SQLite: run `fn` again while another process holds the lock, sleeping between
   * attempts (so other requests go on) until the busy timeout. Only outside a
   * transaction: a failed attempt has then rolled back, and running it again is safe.
   */
  private async whileBusy<T>(fn: () => Promise<T>): Promise<T> {
    const budget = this.core.busyTimeoutMs;
    if (budget === undefined || this.inTransaction) return fn();
    const deadline = Date.now() + budget;
    for (let wait = 5; ; wait = Math.min(wait * 2, 100)) {
      try {
        return await fn();
      } catch (err) {
        const cause = err instanceof CallerError ? err.error : err;
        if (!isBusy(cause) || Date.now() + wait > deadline) throw err;
        await sleep(wait);
      }
    }
  }

  /** Runs `fn` inside a transaction, joining the current one if there is one. */
  private atomic<T>(fn: (db: Kysely<any> | Transaction<any>) => Promise<T>): Promise<T> {
    if (this.inTransaction) return fn(this.db);
    return this.counted(() => this.db.transaction().execute((trx) => fn(trx)));
  }

  /** Runs `fn`, which opens a transaction, counted as open from before it begins until after it ends. */
  private async counted<T>(fn: () => Promise<T>): Promise<T> {
    this.core.openTransactions++;
    try {
      return await fn();
    } finally {
      this.core.openTransactions--;
    }
  }

  /**
   * Runs a compiled select of `columns` and decodes its rows. On SQLite, outside any
   * transaction, as a prepared statement on the open database (the driver runs it
   * synchronously, so nothing interleaves; rows come as arrays, which the driver builds
   * far faster than objects); otherwise through kysely, which waits for the connection.
   */
  private async rowsOf(compiled: CompiledQuery, t: PolicyTable, columns: readonly string[]): Promise<Row[]> {
    const db = this.core.sqlite;
    if (db !== undefined && !this.inTransaction && this.core.openTransactions === 0) {
      let stmt = this.core.statements.get(compiled.sql);
      if (stmt === undefined) {
        stmt = db.prepare(compiled.sql).raw(true);
        if (this.core.statements.size >= MAX_SHAPES) this.core.statements.clear();
        this.core.statements.set(compiled.sql, stmt);
      }
      return stmt.all(compiled.parameters).map(arrayRowDecoder(t, columns) as (r: unknown) => Row);
    }
    const pool = this.core.pg;
    if (pool !== undefined && !this.inTransaction) {
      // A named statement is parsed and planned once per connection, then only bound and
      // run (an unnamed one is parsed on every request); rows come as arrays.
      const query = { name: this.statementName(compiled.sql), text: compiled.sql, values: compiled.parameters as unknown[], rowMode: 'array' as const };
      let rows: unknown[];
      try {
        rows = (await pool.query(query)).rows;
      } catch (err) {
        // A table altered under prepared statements ("cached plan must not change result
        // type"): statements are named anew, and so prepared again on each connection.
        if ((err as { code?: unknown }).code !== '0A000') throw err;
        this.core.statementNames.clear();
        this.core.statementGeneration++;
        rows = (await pool.query({ ...query, name: this.statementName(compiled.sql) })).rows;
      }
      return rows.map(arrayRowDecoder(t, columns) as (r: unknown) => Row);
    }
    return (await this.db.executeQuery(compiled)).rows.map(rowDecoder(t, columns) as (r: unknown) => Row);
  }

  /** A name for the SQL text: its hash, so a name never stands for two texts on any connection. */
  private statementName(text: string): string {
    const names = this.core.statementNames;
    let name = names.get(text);
    if (name === undefined) {
      name = `dfc_${this.core.statementGeneration}_${hash('sha256', text, 'hex').slice(0, 32)}`;
      if (names.size >= MAX_SHAPES) names.clear();
      names.set(text, name);
    }
    return name;
  }

  /**
   * The columns a select reads: every column (one frozen list per table), or those
   * requested, each once. A frozen request without repeats is returned as it is, so the
   * row decoder compiled for it is found by identity.
   */
  private columns(t: PolicyTable, tableName: string, requested?: readonly string[]): readonly string[] {
    if (requested === undefined) return tableColumns(t);
    if (!Array.isArray(requested) || requested.length === 0) {
      throw new DataError('invalid', 'at least one column must be selected');
    }
    const out: string[] = [];
    for (const c of requested) {
      if (typeof c !== 'string' || !Object.hasOwn(t.columns, c)) {
        throw new DataError('invalid', `unknown column \`${shorten(String(c))}\` in \`${tableName}\``);
      }
      if (!out.includes(c)) out.push(c);
    }
    return out.length === requested.length && Object.isFrozen(requested) ? requested : out;
  }

  private paramsOf(t: PolicyTable, values: Map<string, Json>): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    for (const [k, v] of values) {
      Object.defineProperty(out, k, { value: toParam(this.dialect, t.columns[k]!.type, v), enumerable: true, writable: true, configurable: true });
    }
    return out;
  }

  selectNow(tableName: string, q: SelectQuery): Row[] | undefined {
    let t: PolicyTable;
    try {
      t = this.table(tableName);
    } catch {
      return undefined;
    }
    return this.preparedSelect(t, tableName, q);
  }

  async select(tableName: string, q: SelectQuery): Promise<Row[]> {
    const t = this.table(tableName);
    const ready = this.preparedSelect(t, tableName, q);
    if (ready !== undefined) return ready;
    return this.run(t, async () => {
      const p = this.selectPlan(t, tableName, q);
      const known = p.shape ? this.core.selects.get(p.shape.key) : undefined;
      if (p.shape && known) return this.rowsOf({ ...known, parameters: p.shape.params }, t, p.columns);
      const compiled = this.selectQuery(t, tableName, p).compile();
      if (p.shape && known === undefined) {
        // Trusted only when the statement binds exactly the values the shape found, in order.
        if (this.core.selects.size >= MAX_SHAPES) this.core.selects.clear();
        this.core.selects.set(p.shape.key, sameParams(compiled.parameters, p.shape.params) ? compiled : null);
      }
      return this.rowsOf(compiled, t, p.columns);
    });
  }

  /**
   * What a select reads and its shape. Throws for columns, a limit or an offset it
   * refuses; an order the renderer would refuse gives no shape (the select then fails
   * where it always did, in {@link selectQuery}).
   */
  private selectPlan(t: PolicyTable, tableName: string, q: SelectQuery): SelectPlan {
    const columns = this.columns(t, tableName, q.columns);
    const limit = checkCount('limit', q.limit);
    const offset = checkCount('offset', q.offset);
    const requested = q.order ?? [];
    const ordered = requested.length > 0 || limit !== undefined || offset !== undefined;
    let order: Required<OrderBy>[] | undefined;
    try {
      if (ordered) order = fullOrder(t, tableName, requested);
    } catch {
      return { columns, limit, offset, requested, ordered, where: q.where };
    }
    const shape = selectShape(this.dialect, t, tableName, columns, q.where, order, limit, offset, NO_LIMIT);
    return { columns, limit, offset, requested, ordered, where: q.where, ...(order ? { order } : {}), ...(shape ? { shape } : {}) };
  }

  /**
   * SQLite, outside any transaction, a shape already compiled and prepared: the rows,
   * read synchronously. Undefined whenever anything is not so, or the statement fails;
   * the caller then takes the full path (which checks, retries a busy database and maps
   * errors as always, running the read again).
   */
  private preparedSelect(t: PolicyTable, tableName: string, q: SelectQuery): Row[] | undefined {
    const core = this.core;
    if (core.sqlite === undefined || this.inTransaction || core.openTransactions !== 0 || core.statements.size === 0) return undefined;
    let p: SelectPlan;
    try {
      p = this.selectPlan(t, tableName, q);
    } catch {
      return undefined;
    }
    const known = p.shape ? core.selects.get(p.shape.key) : undefined;
    const stmt = known ? core.statements.get(known.sql) : undefined;
    if (!p.shape || stmt === undefined) return undefined;
    let raw: unknown[];
    try {
      raw = stmt.all(p.shape.params);
    } catch {
      return undefined;
    }
    return raw.map(arrayRowDecoder(t, p.columns) as (r: unknown) => Row);
  }

  /** A select built with kysely's query builder (compiled once per shape by `select`). */
  private selectQuery(t: PolicyTable, tableName: string, p: SelectPlan) {
    const renderer = new WhereRenderer(this.dialect, t, tableName);
    let query = this.db
      .selectFrom(tableName)
      .select(p.columns)
      .where((eb) => renderer.render(eb, p.where));
    if (p.ordered) {
      for (const o of p.order ?? fullOrder(t, tableName, p.requested)) {
        if (this.dialect === 'mysql') {
          // MySQL has no NULLS FIRST/LAST: sort on `col is null` first.
          query = query.orderBy(sql`${sql.ref(o.column)} is null`, o.nulls === 'last' ? 'asc' : 'desc');
          query = query.orderBy(o.column, o.direction);
        } else {
          query = query.orderBy(o.column, (ob) => {
            const dir = o.direction === 'asc' ? ob.asc() : ob.desc();
            return o.nulls === 'first' ? dir.nullsFirst() : dir.nullsLast();
          });
        }
      }
    }
    const { limit, offset } = p;
    // SQLite built with STAT4 (better-sqlite3's build) reads a bare `limit ?` while planning
    // and so prepares the statement again every time it is bound (~3 µs a read, measured);
    // `cast(? as integer)` binds the same value without that.
    const count = (n: number) => (this.dialect === 'sqlite' ? sql<number>`cast(${n} as integer)` : n);
    if (limit !== undefined) query = query.limit(count(limit));
    else if (offset !== undefined && this.dialect !== 'postgres') query = query.limit(count(NO_LIMIT));
    if (offset !== undefined) query = query.offset(offset);
    return query;
  }

  async count(tableName: string, where: Where): Promise<number> {
    const t = this.table(tableName);
    return this.run(t, async () => {
      const renderer = new WhereRenderer(this.dialect, t, tableName);
      const row = await this.db
        .selectFrom(tableName)
        .select((eb) => eb.fn.countAll().as('n'))
        .where((eb) => renderer.render(eb, where))
        .executeTakeFirstOrThrow();
      return Number((row as { n: unknown }).n);
    });
  }

  async insert(tableName: string, rows: Row[]): Promise<Row[]> {
    const t = this.table(tableName);
    if (!Array.isArray(rows)) throw new DataError('invalid', 'records must be a list');
    const checked = rows.map((r) => checkWriteRow(tableName, t, r, 'insert'));
    if (checked.length === 0) return [];
    const columns = Object.keys(t.columns);
    const pk = t.primaryKey;
    return this.run(t, () =>
      this.atomic(async (db) => {
        const out: Row[] = [];
        for (const values of checked) {
          const params = this.paramsOf(t, values);
          const empty = values.size === 0;
          if (this.dialect === 'mysql') {
            const result = empty
              ? await sql`insert into ${sql.table(tableName)} () values ()`.execute(db)
              : await db.insertInto(tableName).values(params).executeTakeFirst();
            const id = values.has(pk)
              ? toParam(this.dialect, t.columns[pk]!.type, values.get(pk)!)
              : (result as { insertId?: bigint }).insertId !== undefined
                ? Number((result as { insertId?: bigint }).insertId)
                : undefined;
            if (id === undefined || id === null) {
              throw new DataError('invalid', `\`${pk}\` is required`, { column: pk });
            }
            const stored = await db.selectFrom(tableName).select(columns).where(pk, '=', id).executeTakeFirst();
            if (!stored) throw new DataError('internal', 'the stored record could not be read back');
            out.push(decodeRow(t, columns, stored as Record<string, unknown>));
          } else {
            const stored = empty
              ? ((await sql`insert into ${sql.table(tableName)} default values returning ${sql.join(columns.map((c) => sql.ref(c)))}`.execute(db)).rows[0] as Record<string, unknown>)
              : await db.insertInto(tableName).values(params).returning(columns).executeTakeFirstOrThrow();
            out.push(decodeRow(t, columns, stored as Record<string, unknown>));
            if (this.dialect === 'postgres' && t.columns[pk]!.type === 'integer' && values.has(pk)) {
              await this.bumpSequence(db, tableName, pk, values.get(pk) as number);
            }
          }
        }
        return out;
      }),
    );
  }

  /**
   * An identity column's sequence does not move when a row is inserted with an explicit
   * key; move it past that key so later generated keys do not collide.
   */
  private async bumpSequence(db: Kysely<any> | Transaction<any>, tableName: string, pk: string, id: number): Promise<void> {
    const quoted = '"' + tableName.replace(/"/g, '""') + '"';
    await sql`select setval(s.seq, ${id}) from (select pg_get_serial_sequence(${quoted}, ${pk}) as seq) s
      where s.seq is not null and coalesce(pg_sequence_last_value(s.seq::regclass), 0) < ${id}`.execute(db);
  }

  async update(tableName: string, where: Where, values: Row): Promise<Row[]> {
    const t = this.table(tableName);
    const checked = checkWriteRow(tableName, t, values, 'update');
    const columns = Object.keys(t.columns);
    const pk = t.primaryKey;
    const pkType = t.columns[pk]!.type;
    const renderer = new WhereRenderer(this.dialect, t, tableName);
    if (checked.size === 0) return this.select(tableName, { where });
    const params = this.paramsOf(t, checked);
    return this.run(t, async () => {
      if (this.dialect !== 'mysql') {
        const rows = await this.db
          .updateTable(tableName)
          .set(params)
          .where((eb) => renderer.render(eb, where))
          .returning(columns)
          .execute();
        return rows.map((r) => decodeRow(t, columns, r as Record<string, unknown>));
      }
      // MySQL has no RETURNING: lock the matching keys, update them, read them back.
      return this.atomic(async (db) => {
        const keys = await db
          .selectFrom(tableName)
          .select(pk)
          .where((eb) => renderer.render(eb, where))
          .forUpdate()
          .execute();
        if (keys.length === 0) return [];
        const ids = keys.map((k) => (k as Record<string, unknown>)[pk]);
        await db.updateTable(tableName).set(params).where(pk, 'in', ids).execute();
        const after = checked.has(pk) ? [toParam(this.dialect, pkType, checked.get(pk)!)] : ids;
        const rows = await db.selectFrom(tableName).select(columns).where(pk, 'in', after).orderBy(pk).execute();
        return rows.map((r) => decodeRow(t, columns, r as Record<string, unknown>));
      });
    });
  }

  async delete(tableName: string, where: Where): Promise<Row[]> {
    const t = this.table(tableName);
    const columns = Object.keys(t.columns);
    const pk = t.primaryKey;
    const renderer = new WhereRenderer(this.dialect, t, tableName);
    return this.run(t, async () => {
      if (this.dialect !== 'mysql') {
        const rows = await this.db
          .deleteFrom(tableName)
          .where((eb) => renderer.render(eb, where))
          .returning(columns)
          .execute();
        return rows.map((r) => decodeRow(t, columns, r as Record<string, unknown>));
      }
      return this.atomic(async (db) => {
        const rows = await db
          .selectFrom(tableName)
          .select(columns)
          .where((eb) => renderer.render(eb, where))
          .orderBy(pk)
          .forUpdate()
          .execute();
        if (rows.length === 0) return [];
        const ids = rows.map((k) => (k as Record<string, unknown>)[pk]);
        await db.deleteFrom(tableName).where(pk, 'in', ids).execute();
        return rows.map((r) => decodeRow(t, columns, r as Record<string, unknown>));
      });
    });
  }

  async transaction<T>(fn: (tx: DataSource) => Promise<T>): Promise<T> {
    if (this.core.closed) throw new DataError('unavailable', 'the database connection is closed');
    if (this.inTransaction) return fn(this);
    try {
      return await this.counted(() =>
        this.whileBusy(() =>
          this.db.transaction().execute(async (trx) => {
            try {
              return await fn(new SqlDataSource(this.core, trx, true));
            } catch (err) {
              throw new CallerError(err);
            }
          }),
        ),
      );
    } catch (err) {
      if (err instanceof CallerError) throw err.error;
      throw mapError(this.dialect, err);
    }
  }

  async ping(): Promise<void> {
    if (this.core.closed) throw new DataError('unavailable', 'the database connection is closed');
    await this.run(undefined, async () => {
      await sql`select 1`.execute(this.db);
    });
  }

  async close(): Promise<void> {
    if (this.inTransaction || this.core.closed) return;
    this.core.closed = true;
    await this.core.destroy();
  }
}
