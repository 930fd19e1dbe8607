/**
 * SQL injection through every parameter the data layer reads (checklist I7): each
 * payload of test/corpus/sql-injection.txt, placed in filter values, whole filters,
 * identifiers, order, fields, ids, limit/offset, lookups and written values, on
 * SQLite, PostgreSQL and MariaDB. Each is either a FilterError or a literal match;
 * never another error. Afterwards the canary table is unchanged and no table was added.
 * A statement timeout of 2 s turns any successful SLEEP/pg_sleep into a failure.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { PolicyTable, Where } from '@dfc/schema';
import Database from 'better-sqlite3';
import { createConnection } from 'mysql2/promise';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  FilterError,
  createTables,
  matchesWhere,
  parseCount,
  parseFields,
  parseFilter,
  parseIds,
  parseOrder,
  type DataSource,
  type Row,
} from '../../packages/runtime/src/data/index.js';
import { quote } from '../../packages/runtime/src/data/print.js';
import { likeMatch } from '../../packages/runtime/src/data/match.js';
import { DIALECTS, MYSQL_ADMIN, createTestDatabase, type TestDatabase } from './data-databases.js';

const corpusFile = fileURLToPath(new URL('../corpus/sql-injection.txt', import.meta.url));
const PAYLOADS: string[] = readFileSync(corpusFile, 'utf8')
  .split('\n')
  .filter((l) => l.startsWith('"'))
  .map((l) => JSON.parse(l) as string);

const target: PolicyTable = {
  primaryKey: 'id',
  columns: {
    id: { type: 'integer', nullable: false },
    v: { type: 'string', nullable: true },
    note: { type: 'string', nullable: true },
    n: { type: 'integer', nullable: true },
  },
};
const canary: PolicyTable = {
  primaryKey: 'id',
  columns: { id: { type: 'integer', nullable: false }, v: { type: 'string', nullable: false } },
};
const tables = { target, canary };
const CANARY_ROWS = [
  { id: 1, v: 'canary-one' },
  { id: 2, v: 'canary-two' },
  { id: 3, v: "it's" },
];
const TRUE: Where = { kind: 'const', value: true };

/** Reads the table names and the canary rows straight from the database, not through the data layer. */
async function inspect(db: TestDatabase): Promise<{ tables: string[]; canary: unknown[] }> {
  switch (db.dialect) {
    case 'sqlite': {
      const raw = new Database(db.url, { readonly: true });
      try {
        const names = raw.prepare("select name from sqlite_master where type = 'table' order by name").all() as { name: string }[];
        const rows = raw.prepare('select id, v from canary order by id').all();
        return { tables: names.map((r) => r.name), canary: rows };
      } finally {
        raw.close();
      }
    }
    case 'postgres': {
      const c = new pg.Client({ connectionString: db.url });
      await c.connect();
      try {
        const names = await c.query("select table_schema || '.' || table_name as name from information_schema.tables where table_schema not in ('pg_catalog', 'information_schema') order by 1");
        const rows = await c.query('select id::int as id, v from canary order by id');
        return { tables: names.rows.map((r: { name: string }) => r.name), canary: rows.rows };
      } finally {
        await c.end();
      }
    }
    case 'mysql': {
      const c = await createConnection({ ...MYSQL_ADMIN, database: db.name });
      try {
        const [names] = await c.query('select table_name as name from information_schema.tables where table_schema = ? order by 1', [db.name]);
        const [rows] = await c.query('select id, v from canary order by id');
        return { tables: (names as { name: string }[]).map((r) => r.name), canary: rows as unknown[] };
      } finally {
        await c.end();
      }
    }
  }
}

/** A parse outcome: the value, or the FilterError (anything else fails the test). */
function attempt<T>(fn: () => T): T | FilterError {
  try {
    return fn();
  } catch (e) {
    if (e instanceof FilterError) return e;
    throw e;
  }
}

it('the corpus holds at least 300 distinct payloads', () => {
  expect(new Set(PAYLOADS).size).toBe(PAYLOADS.length);
  expect(PAYLOADS.length).toBeGreaterThanOrEqual(300);
});

describe.each(DIALECTS)('SQL injection on %s', (dialect) => {
  let db: TestDatabase;
  let ds: DataSource;
  let stored: Row[] = [];
  let before: { tables: string[]; canary: unknown[] };
  const outcomes = { refused: 0, literal: 0 };

  beforeAll(async () => {
    db = await createTestDatabase(dialect);
    ds = db.open(tables, { statementTimeoutMs: 2000 });
    await createTables(ds, db.service(tables));
    await ds.insert('canary', CANARY_ROWS);
    // One row per payload that is storable text (NUL is refused on every database).
    const storable = PAYLOADS.filter((p) => !p.includes('\u0000'));
    stored = await ds.insert('target', [...storable.map((v) => ({ v, n: v.length })), { v: 'x', n: 0 }, { v: null, n: null }]);
    before = await inspect(db);
    expect(before.canary).toEqual(CANARY_ROWS);
  });
  afterAll(async () => {
    await db?.drop();
  });

  const ids = (rows: Row[]) => rows.map((r) => r.id as number).sort((a, b) => a - b);
  const expectedIds = (w: Where) => ids(stored.filter((r) => matchesWhere(w, r, target)));

  async function checkWhere(w: Where, label: string) {
    const got = ids(await ds.select('target', { where: w, columns: ['id'] }));
    expect(got, label).toEqual(expectedIds(w));
    expect(await ds.count('target', w), label).toBe(got.length);
  }

  it('filter values match literally', async () => {
    const lookup = (p: string) => (name: string) => (name === 'user.id' ? p : undefined);
    for (const p of PAYLOADS) {
      const literal = [
        [`v = ${quote(p)}`, (v: string) => v === p],
        [`v contains ${quote(p)}`, (v: string) => v.includes(p)],
        [`v starts with ${quote(p)}`, (v: string) => v.startsWith(p)],
        [`v in (${quote(p)}, 'x')`, (v: string) => v === p || v === 'x'],
        [`v like ${quote(p)}`, (v: string) => likeMatch(p, v)],
        ['v = {user.id}', (v: string) => v === p],
        [`v != ${quote(p)}`, (v: string) => v !== p],
      ] as const;
      for (const [text, predicate] of literal) {
        const w = attempt(() => parseFilter(text, target, { lookup: lookup(p) }));
        if (w instanceof FilterError) {
          // Only text no database stores faithfully is refused as a value.
          expect(p.includes('\u0000') || /[\ud800-\udfff]/.test(p), `${text}: ${w.message}`).toBe(true);
          outcomes.refused++;
          continue;
        }
        const got = ids(await ds.select('target', { where: w, columns: ['id'] }));
        const want = ids(stored.filter((r) => typeof r.v === 'string' && predicate(r.v)));
        expect(got, text).toEqual(want);
        if (text.startsWith('v = ')) expect(got.length, text).toBe(stored.filter((r) => r.v === p).length);
        outcomes.literal++;
      }
    }
  });

  it('payloads as filter text, operators and identifiers are refused or mean only what they say', async () => {
    for (const p of PAYLOADS) {
      const texts = [p, `v = ${p}`, `${p} = 1`, `v = 'x' ${p}`, `v = 'x' and ${p}`, `(v = 'x') or (${p})`, `v in (${p})`, `n > ${p}`, `v ${p} 'x'`, `not ${p}`];
      for (const text of texts) {
        const w = attempt(() => parseFilter(text, target));
        if (w instanceof FilterError) {
          outcomes.refused++;
          continue;
        }
        await checkWhere(w, text);
        outcomes.literal++;
      }
    }
  });

  it('order, fields, ids, limit and offset refuse anything but their grammar', async () => {
    for (const p of PAYLOADS) {
      for (const text of [p, `v ${p}`, `v, ${p}`, `${p}, v`, `v desc ${p}`]) {
        const order = attempt(() => parseOrder(text, target));
        if (order instanceof FilterError) {
          outcomes.refused++;
          continue;
        }
        const rows = await ds.select('target', { where: TRUE, columns: ['id'], order, limit: 3 });
        expect(rows, text).toHaveLength(3);
        outcomes.literal++;
      }
      for (const text of [p, `v,${p}`, `${p},v`]) {
        const fields = attempt(() => parseFields(text, target));
        if (fields instanceof FilterError) {
          outcomes.refused++;
          continue;
        }
        const rows = await ds.select('target', { where: TRUE, columns: fields, limit: 2 });
        for (const r of rows) expect(Object.keys(r), text).toEqual(fields);
        outcomes.literal++;
      }
      const idList = attempt(() => parseIds(p, target));
      if (idList instanceof FilterError) outcomes.refused++;
      else {
        const w: Where = { kind: 'in', column: 'id', values: idList, negated: false };
        await checkWhere(w, `ids=${p}`);
        outcomes.literal++;
      }
      for (const parameter of ['limit', 'offset'] as const) {
        const n = attempt(() => parseCount(p, parameter));
        if (n instanceof FilterError) outcomes.refused++;
        else {
          const rows = await ds.select('target', { where: TRUE, columns: ['id'], [parameter]: n, ...(parameter === 'offset' ? { limit: 1 } : {}) });
          expect(rows.length).toBeLessThanOrEqual(parameter === 'limit' ? n : 1);
          outcomes.literal++;
        }
      }
    }
  });

  it('written values are stored literally', async () => {
    for (const p of PAYLOADS) {
      if (p.includes('\u0000')) {
        // NUL is refused on every database (PostgreSQL cannot store it; SQLite's LIKE stops at it).
        await expect(ds.insert('target', [{ v: p }])).rejects.toMatchObject({ kind: 'invalid', column: 'v' });
        continue;
      }
      const [row] = await ds.insert('target', [{ v: p, note: 'written' }]);
      expect(row!.v).toBe(p);
      const [updated] = await ds.update('target', { kind: 'cmp', column: 'id', op: '=', value: row!.id as number }, { note: p });
      expect(updated).toEqual({ ...row, note: p });
      const [deleted] = await ds.delete('target', { kind: 'cmp', column: 'id', op: '=', value: row!.id as number });
      expect(deleted).toEqual(updated);
    }
    expect(await ds.count('target', TRUE)).toBe(stored.length);
  });

  it('left the canary and the table list unchanged', async () => {
    const after = await inspect(db);
    expect(after).toEqual(before);
    expect(await ds.select('canary', { where: TRUE, order: [{ column: 'id', direction: 'asc' }] })).toEqual(CANARY_ROWS);
    // Both outcomes happened: the suite is not passing by refusing everything.
    expect(outcomes.refused).toBeGreaterThan(1000);
    expect(outcomes.literal).toBeGreaterThan(3000);
  });
});
