/**
 * The data layer's behaviour, table-driven over real SQLite, PostgreSQL and MariaDB:
 * the same calls must give the same JSON on each.
 */
import { join } from 'node:path';
import type { PolicyTable, Where } from '@dfc/schema';
import Database from 'better-sqlite3';
import pg from 'pg';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  DataError,
  createTables,
  openDataSource,
  parseFilter,
  parseOrder,
  seed,
  type DataSource,
} from '../../packages/runtime/src/data/index.js';
import { DIALECTS, createTestDatabase, type TestDatabase } from './data-databases.js';

const items: PolicyTable = {
  primaryKey: 'id',
  columns: {
    id: { type: 'integer', nullable: false },
    name: { type: 'string', nullable: false },
    qty: { type: 'integer', nullable: true },
    price: { type: 'number', nullable: true },
    active: { type: 'bool', nullable: false },
    born: { type: 'date', nullable: true },
    meta: { type: 'json', nullable: true },
    note: { type: 'string', nullable: true },
  },
};
const tags: PolicyTable = {
  primaryKey: 'code',
  columns: {
    code: { type: 'string', nullable: false },
    label: { type: 'string', nullable: true },
  },
};
const tables = { items, tags };
const TRUE: Where = { kind: 'const', value: true };

async function expectDataError(p: Promise<unknown>, kind: DataError['kind'], message?: RegExp | string, column?: string) {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err, 'expected a DataError').toBeInstanceOf(DataError);
  const d = err as DataError;
  expect(d.kind).toBe(kind);
  if (message !== undefined) expect(d.message).toMatch(message);
  if (column !== undefined) expect(d.column).toBe(column);
  // No SQL or driver text reaches the message.
  expect(d.message).not.toMatch(/select|insert|update|delete from|syntax|violates|duplicate entry|constraint failed/i);
  return d;
}

describe.each(DIALECTS)('data source on %s', (dialect) => {
  let db: TestDatabase;
  let ds: DataSource;

  beforeAll(async () => {
    db = await createTestDatabase(dialect);
    ds = db.open(tables);
    await createTables(ds, db.service(tables));
  });
  afterAll(async () => {
    await db?.drop();
  });
  beforeEach(async () => {
    await ds.delete('items', TRUE);
    await ds.delete('tags', TRUE);
  });

  it('creates tables idempotently and answers ping', async () => {
    await createTables(ds, db.service(tables));
    await ds.ping();
    expect(await ds.count('items', TRUE)).toBe(0);
  });

  it('returns inserted rows as stored, with generated keys and JSON-ready values', async () => {
    const rows = await ds.insert('items', [
      { name: 'a', qty: 3, price: 0.1 + 0.2, active: true, born: '2024-05-01', meta: { tags: ['x', 1], ok: true } },
      { name: 'b', active: false, born: '2024-05-01T12:30:00+02:00', meta: [1, 'two', null], note: 'n' },
      { name: 'c', active: true, meta: 'just text', price: -1.5e-7 },
    ]);
    expect(rows).toHaveLength(3);
    const [a, b, c] = rows as [Record<string, unknown>, Record<string, unknown>, Record<string, unknown>];
    expect(typeof a.id).toBe('number');
    expect(b.id).toBeGreaterThan(a.id as number);
    expect(a).toEqual({
      id: a.id,
      name: 'a',
      qty: 3,
      price: 0.1 + 0.2,
      active: true,
      born: '2024-05-01T00:00:00.000Z',
      meta: { tags: ['x', 1], ok: true },
      note: null,
    });
    expect(b).toMatchObject({ active: false, born: '2024-05-01T10:30:00.000Z', meta: [1, 'two', null], qty: null, price: null });
    expect(c).toMatchObject({ meta: 'just text', price: -1.5e-7 });
    const read = await ds.select('items', { where: TRUE, order: [{ column: 'id', direction: 'asc' }] });
    expect(read).toEqual(rows);
  });

  it('continues generated keys after rows inserted with explicit keys', async () => {
    await ds.insert('items', [{ id: 500, name: 'x', active: true }]);
    const [next] = await ds.insert('items', [{ name: 'y', active: true }]);
    expect(next!.id).toBeGreaterThan(500);
  });

  it('selects with filters, columns, order, limit and offset', async () => {
    await ds.insert('items', [
      { name: 'apple', qty: 5, active: true, note: null },
      { name: 'Apple', qty: 2, active: false, note: 'x' },
      { name: 'banana', qty: null, active: true, note: 'y' },
      { name: 'cherry', qty: 5, active: false, note: 'z' },
    ]);
    const names = async (filter: string, order = 'name') =>
      (await ds.select('items', { where: parseFilter(filter, items), columns: ['name'], order: parseOrder(order, items) })).map(
        (r) => r.name,
      );
    expect(await names('qty = 5')).toEqual(['apple', 'cherry']);
    expect(await names("name like 'a%'")).toEqual(['apple']);
    expect(await names("name like 'A%'")).toEqual(['Apple']);
    expect(await names("name contains 'an'")).toEqual(['banana']);
    expect(await names("name starts with 'ch' or name ends with 'ple'")).toEqual(['Apple', 'apple', 'cherry']);
    expect(await names('active = true')).toEqual(['apple', 'banana']);
    expect(await names('active != true')).toEqual(['Apple', 'cherry']);
    expect(await names('qty is null')).toEqual(['banana']);
    expect(await names('qty != 5')).toEqual(['Apple']);
    expect(await names('not (qty = 5)')).toEqual(['Apple']);
    expect(await names('qty in ()')).toEqual([]);
    expect(await names('qty not in ()')).toEqual(['Apple', 'apple', 'banana', 'cherry']);
    expect(await names("name > 'apple'")).toEqual(['banana', 'cherry']);
    expect(await names('qty > 1.5 and qty < 4.5')).toEqual(['Apple']);
    expect(await names('qty in (2, 5.5)')).toEqual(['Apple']);
    expect(await names("qty = '5'")).toEqual(['apple', 'cherry']);
    expect(await names('true')).toHaveLength(4);
    expect(await names('false')).toEqual([]);
    expect(await names('', 'qty desc, name')).toEqual(['banana', 'apple', 'cherry', 'Apple']);
    expect(await names('', 'qty asc, name')).toEqual(['Apple', 'apple', 'cherry', 'banana']);
    expect(await names('', 'qty asc nulls first, name desc')).toEqual(['banana', 'Apple', 'cherry', 'apple']);
    expect(await names('', 'note desc nulls last')).toEqual(['cherry', 'banana', 'Apple', 'apple']);

    const page = await ds.select('items', { where: TRUE, columns: ['name', 'qty'], order: [{ column: 'name', direction: 'asc' }], limit: 2, offset: 1 });
    expect(page).toEqual([
      { name: 'apple', qty: 5 },
      { name: 'banana', qty: null },
    ]);
    const tail = await ds.select('items', { where: TRUE, columns: ['name'], order: [{ column: 'name', direction: 'asc' }], offset: 3 });
    expect(tail).toEqual([{ name: 'cherry' }]);
    expect(await ds.select('items', { where: TRUE, limit: 0 })).toEqual([]);
    expect(await ds.count('items', parseFilter('qty >= 2', items))).toBe(3);
  });

  it('pages in a stable order by the primary key when the order ties', async () => {
    await ds.insert('items', Array.from({ length: 7 }, (_, i) => ({ name: 'same', active: i % 2 === 0 })));
    const all = (await ds.select('items', { where: TRUE, columns: ['id'], order: [{ column: 'name', direction: 'asc' }] })).map((r) => r.id);
    expect(all).toEqual([...all].sort((x, y) => (x as number) - (y as number)));
    const pages: unknown[] = [];
    for (let off = 0; off < 7; off += 3) {
      const page = await ds.select('items', { where: TRUE, columns: ['id'], order: [{ column: 'name', direction: 'asc' }], limit: 3, offset: off });
      pages.push(...page.map((r) => r.id));
    }
    expect(pages).toEqual(all);
  });

  it('compares strings in binary order with no padding and case-sensitive LIKE', async () => {
    await ds.insert('items', [
      { name: 'a', active: true },
      { name: 'a ', active: true },
      { name: 'A', active: true },
      { name: 'é', active: true },
      { name: '😀', active: true },
      { name: '50%_off', active: true },
      { name: '50xyoff', active: true },
      { name: 'back\\slash!', active: true },
    ]);
    const names = async (filter: string) =>
      (await ds.select('items', { where: parseFilter(filter, items), columns: ['name'] })).map((r) => r.name).sort();
    expect(await names("name = 'a'")).toEqual(['a']);
    expect(await names("name = 'a '")).toEqual(['a ']);
    expect(await names("name like 'a'")).toEqual(['a']);
    expect(await names("name > 'z'")).toEqual(['é', '😀'].sort());
    expect(await names("name > 'é'")).toEqual(['😀']);
    expect(await names("name contains '%_'")).toEqual(['50%_off']);
    expect(await names("name like '50%off'")).toEqual(['50%_off', '50xyoff']);
    expect(await names("name like '50\\\\%\\\\_off'")).toEqual(['50%_off']);
    expect(await names("name like '50!%off'")).toEqual([]);
    expect(await names("name contains '\\\\'")).toEqual(['back\\slash!']);
    expect(await names("name ends with 'slash!'")).toEqual(['back\\slash!']);
    expect(await names("name like '_'")).toEqual(['A', 'a', 'é', '😀'].sort());
    const ordered = (await ds.select('items', { where: TRUE, columns: ['name'], order: [{ column: 'name', direction: 'asc' }] })).map((r) => r.name);
    expect(ordered).toEqual(['50%_off', '50xyoff', 'A', 'a', 'a ', 'back\\slash!', 'é', '😀']);
  });

  it('compares dates chronologically whatever offset the value is written in', async () => {
    await ds.insert('items', [
      { name: 'early', active: true, born: '2020-01-01T00:00:00Z' },
      { name: 'late', active: true, born: '2020-01-01T23:00:00-05:00' },
    ]);
    const names = async (filter: string) =>
      (await ds.select('items', { where: parseFilter(filter, items), columns: ['name'] })).map((r) => r.name).sort();
    expect(await names("born > '2020-01-01T12:00:00+01:00'")).toEqual(['late']);
    expect(await names("born = '2020-01-02T04:00:00.000Z'")).toEqual(['late']);
    expect(await names("born <= '2020-01-01'")).toEqual(['early']);
  });

  it('updates and returns the rows as stored', async () => {
    const [a, b] = await ds.insert('items', [
      { name: 'a', qty: 1, active: true },
      { name: 'b', qty: 2, active: true },
    ]);
    const updated = await ds.update('items', parseFilter('qty >= 2', items), { active: false, meta: { v: 1 }, note: 'done' });
    expect(updated).toEqual([{ ...b, active: false, meta: { v: 1 }, note: 'done' }]);
    expect(await ds.update('items', parseFilter('qty > 100', items), { note: 'x' })).toEqual([]);
    const moved = await ds.update('items', { kind: 'cmp', column: 'id', op: '=', value: a!.id as number }, { id: 9000 });
    expect(moved).toEqual([{ ...a, id: 9000 }]);
    expect(await ds.update('items', TRUE, {})).toHaveLength(2);
  });

  it('deletes and returns the deleted rows', async () => {
    const rows = await ds.insert('items', [
      { name: 'a', active: true },
      { name: 'b', active: false },
    ]);
    const gone = await ds.delete('items', parseFilter('active = false', items));
    expect(gone).toEqual([rows[1]]);
    expect(await ds.count('items', TRUE)).toBe(1);
    expect(await ds.delete('items', parseFilter('active = false', items))).toEqual([]);
  });

  it('works with text primary keys', async () => {
    const rows = await ds.insert('tags', [{ code: 'x-1', label: 'one' }, { code: "o'neil", label: null }]);
    expect(rows).toEqual([
      { code: 'x-1', label: 'one' },
      { code: "o'neil", label: null },
    ]);
    await expectDataError(ds.insert('tags', [{ code: 'x-1' }]), 'unique', 'a record with the same key already exists');
    await expectDataError(ds.insert('tags', [{ label: 'no key' }]), 'invalid');
    expect(await ds.delete('tags', parseFilter("code = 'o''neil'", tags))).toEqual([{ code: "o'neil", label: null }]);
  });

  it('commits and rolls back transactions, rethrowing the caller’s error untouched', async () => {
    await ds.transaction(async (tx) => {
      await tx.insert('items', [{ name: 'kept', active: true }]);
      await tx.transaction(async (inner) => inner.insert('items', [{ name: 'nested', active: true }]));
    });
    expect(await ds.count('items', TRUE)).toBe(2);
    class Refused extends Error {}
    const err = await ds
      .transaction(async (tx) => {
        await tx.insert('items', [{ name: 'dropped', active: true }]);
        await tx.update('items', TRUE, { note: 'changed' });
        throw new Refused('no');
      })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Refused);
    expect(await ds.count('items', TRUE)).toBe(2);
    expect(await ds.count('items', parseFilter('note is not null', items))).toBe(0);
    // A failed multi-row insert stores none of its rows.
    await expectDataError(ds.insert('items', [{ name: 'ok', active: true }, { id: 1, name: 'x', active: 'yes' }]), 'invalid', undefined, 'active');
    await ds.insert('items', [{ id: 77, name: 'first', active: true }]);
    await expectDataError(ds.insert('items', [{ name: 'ok', active: true }, { id: 77, name: 'dup', active: true }]), 'unique');
    expect(await ds.count('items', TRUE)).toBe(3);
  });

  it('maps bad writes to clear invalid errors naming the column', async () => {
    await expectDataError(ds.insert('items', [{ name: 'x', active: true, qty: '5' }]), 'invalid', '`qty` must be an integer, not a string', 'qty');
    await expectDataError(ds.insert('items', [{ name: 'x', active: true, qty: 1.5 }]), 'invalid', '`qty` must be an integer, not a number', 'qty');
    await expectDataError(ds.insert('items', [{ name: 'x', active: 1 }]), 'invalid', '`active` must be a boolean, not an integer', 'active');
    await expectDataError(ds.insert('items', [{ name: 'x', active: true, born: 'yesterday' }]), 'invalid', /`born` must be an ISO-8601 date/, 'born');
    await expectDataError(ds.insert('items', [{ name: 'x', active: true, born: '2024-02-30' }]), 'invalid', undefined, 'born');
    await expectDataError(ds.insert('items', [{ name: null, active: true }]), 'invalid', '`name` cannot be null', 'name');
    await expectDataError(ds.insert('items', [{ active: true }]), 'invalid', '`name` is required', 'name');
    await expectDataError(ds.insert('items', [{ name: 'x', active: true, passwd: 'x' }]), 'invalid', 'unknown column `passwd` in `items`');
    await expectDataError(ds.insert('items', [JSON.parse('{"name":"x","active":true,"__proto__":{"admin":true}}')]), 'invalid', /unknown column `__proto__`/);
    await expectDataError(ds.insert('items', [{ name: 'x', active: true, qty: 2 ** 60 }]), 'invalid', /out of range/, 'qty');
    await expectDataError(ds.update('items', TRUE, { id: null }), 'invalid', '`id` cannot be null', 'id');
    await expectDataError(ds.insert('nope', [{}]), 'not_found', 'unknown table `nope`');
    await expectDataError(ds.select('constructor', { where: TRUE }), 'not_found');
    expect(await ds.count('items', TRUE)).toBe(0);
  });

  it('refuses text that not every database stores faithfully (NUL, unpaired surrogates)', async () => {
    await expectDataError(ds.insert('items', [{ name: 'a\u0000b', active: true }]), 'invalid', '`name` may not hold a NUL character', 'name');
    await expectDataError(ds.insert('items', [{ name: 'a\ud800', active: true }]), 'invalid', '`name` is not valid unicode text', 'name');
    await expectDataError(ds.select('items', { where: { kind: 'cmp', column: 'name', op: '=', value: 'a\u0000' } }), 'invalid', /NUL/);
    expect(await ds.count('items', TRUE)).toBe(0);
  });

  it('refuses conditions that cannot be rendered', async () => {
    const bad: [Where, RegExp][] = [
      [{ kind: 'cmp', column: 'passwd', op: '=', value: 1 }, /unknown column `passwd`/],
      [{ kind: 'cmp', column: '__proto__', op: '=', value: 1 }, /unknown column/],
      [{ kind: 'cmp', column: 'meta', op: '=', value: 'x' }, /holds JSON/],
      [{ kind: 'cmp', column: 'qty', op: '=', value: 'five' }, /`qty` must be an integer/],
      [{ kind: 'cmp', column: 'qty', op: '>', value: null }, /is null/],
      [{ kind: 'in', column: 'qty', values: [1, null], negated: false }, /may not hold null/],
      [{ kind: 'like', column: 'qty', pattern: '1%', negated: false }, /text columns/],
      [{ kind: 'cmp', column: 'qty', op: ';drop' as '=', value: 1 }, /malformed/],
      [{ kind: 'wat' } as unknown as Where, /malformed/],
    ];
    for (const [where, message] of bad) {
      await expectDataError(ds.select('items', { where }), 'invalid', message);
      await expectDataError(ds.count('items', where), 'invalid', message);
      await expectDataError(ds.delete('items', where), 'invalid', message);
    }
    let deep: Where = { kind: 'const', value: true };
    for (let i = 0; i < 100; i++) deep = { kind: 'not', item: deep };
    await expectDataError(ds.select('items', { where: deep }), 'invalid', /nests deeper/);
    await expectDataError(ds.select('items', { where: TRUE, limit: -1 }), 'invalid', /`limit` must be a non-negative integer/);
    await expectDataError(ds.select('items', { where: TRUE, offset: 1.5 }), 'invalid', /`offset`/);
    await expectDataError(ds.select('items', { where: TRUE, columns: ['id', 'passwd'] }), 'invalid', /unknown column `passwd`/);
    await expectDataError(ds.select('items', { where: TRUE, order: [{ column: 'passwd', direction: 'asc' }] }), 'invalid', /unknown column `passwd`/);
    expect(await ds.select('items', { where: { kind: 'cmp', column: 'qty', op: '=', value: null } })).toEqual([]);
  });

  it('seeds rows through the same checks, with an optional transform', async () => {
    await seed(ds, db.service(tables), { tags: [{ code: 'a', label: 'x' }, { code: 'b' }], items: [{ id: 3, name: 'n', active: true }] }, (table, row) =>
      table === 'tags' ? { ...row, label: `${String(row.label ?? '')}!` } : row,
    );
    expect(await ds.select('tags', { where: TRUE, order: [{ column: 'code', direction: 'asc' }] })).toEqual([
      { code: 'a', label: 'x!' },
      { code: 'b', label: '!' },
    ]);
    const [next] = await ds.insert('items', [{ name: 'after seed', active: true }]);
    expect(next!.id).toBeGreaterThan(3);
    await expect(seed(ds, db.service(tables), { ghosts: [] })).rejects.toThrow(/does not declare/);
    await expectDataError(seed(ds, db.service(tables), { tags: [{ code: 'c' }, { code: 'c' }] }), 'unique');
    expect(await ds.count('tags', TRUE)).toBe(2);
  });

  it('is unavailable after close, and close is idempotent', async () => {
    const other = db.open(tables);
    await other.ping();
    await other.close();
    await other.close();
    await expectDataError(other.ping(), 'unavailable');
    await expectDataError(other.select('items', { where: TRUE }), 'unavailable');
  });
});

describe('database options', () => {
  it('puts PostgreSQL tables in the configured schema (search_path)', async () => {
    const db = await createTestDatabase('postgres');
    try {
      const service = { ...db.service({ items }), database: { ...(db.database as Extract<typeof db.database, { type: 'postgres' }>), schema: 'app_data' } };
      const ds = openDataSource(service, db.options());
      await createTables(ds, service);
      await createTables(ds, service);
      await ds.insert('items', [{ name: 'in schema', active: true }]);
      await ds.close();
      const c = new pg.Client({ connectionString: db.url });
      await c.connect();
      const r = await c.query("select table_schema from information_schema.tables where table_name = 'items'");
      const rows = await c.query('select name from app_data.items');
      await c.end();
      expect(r.rows).toEqual([{ table_schema: 'app_data' }]);
      expect(rows.rows).toEqual([{ name: 'in schema' }]);
    } finally {
      await db.drop();
    }
  });

  // The source's own session, seen through a view of pg_prepared_statements (per session).
  const prepared: PolicyTable = { primaryKey: 'id', columns: { id: { type: 'string', nullable: false }, sql: { type: 'string', nullable: false } } };

  it.each([true, false])('PostgreSQL reads as named statements: %s (each parsed once per connection; read on after a column changes type)', async (named) => {
    const db = await createTestDatabase('postgres', 1);
    try {
      const base = db.service({ items, prepared });
      const service = { ...base, database: { ...(base.database as Extract<typeof base.database, { type: 'postgres' }>), ...(named ? {} : { preparedStatements: false as const }) } };
      const ds = openDataSource(service, db.options());
      await createTables(ds, db.service({ items }));
      await ds.insert('items', [{ name: 'x', active: true }]);
      const c = new pg.Client({ connectionString: db.url });
      await c.connect();
      try {
        await c.query('create view prepared as select name as id, statement as sql from pg_prepared_statements');
        const page = { where: TRUE, columns: ['id', 'name'], limit: 10 };
        for (let i = 0; i < 3; i++) expect(await ds.select('items', page)).toEqual([{ id: 1, name: 'x' }]);
        const statements = (await ds.select('prepared', { where: TRUE })).map((r) => String(r.sql));
        const readsItems = statements.filter((text) => /from "items"/.test(text));
        expect(readsItems).toHaveLength(named ? 1 : 0);
        // A prepared statement whose result type changes fails ("cached plan must not change result type"); an unnamed one would not.
        await c.query('alter table items alter column name type varchar(200)');
      } finally {
        await c.end();
      }
      for (let i = 0; i < 2; i++) expect(await ds.select('items', { where: TRUE, columns: ['id', 'name'], limit: 10 })).toEqual([{ id: 1, name: 'x' }]);
      await ds.close();
    } finally {
      await db.drop();
    }
  });

  it('opens SQLite files relative to the base directory, in WAL mode', async () => {
    const db = await createTestDatabase('sqlite');
    try {
      const ds = db.open({ items });
      await createTables(ds, db.service({ items }));
      await ds.insert('items', [{ name: 'x', active: true }]);
      const raw = new Database(join(db.baseDir, 'test.db'), { readonly: true });
      expect(raw.pragma('journal_mode', { simple: true })).toBe('wal');
      expect(raw.prepare('select name, active from items').all()).toEqual([{ name: 'x', active: 1 }]);
      raw.close();
    } finally {
      await db.drop();
    }
  });
});
