/**
 * SQLite under a lock held by another process: better-sqlite3 is synchronous, so waiting
 * for the lock inside the driver would stop the whole server (every request, the admin
 * port) for the busy timeout. The wait happens between attempts instead: other work goes
 * on, a write succeeds once the lock is released, and fails as `unavailable` (503) when
 * the lock outlives the busy timeout.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import type { PolicyService, Where } from '@dfc/schema';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { createTables, DataError, openDataSource, type DataSource } from './index.js';

const ALL: Where = { kind: 'const', value: true };
const service: PolicyService = {
  database: { type: 'sqlite', file: 'busy.db' },
  maxRecords: 100,
  security: [],
  tables: { t: { primaryKey: 'id', columns: { id: { type: 'integer', nullable: false }, v: { type: 'string', nullable: true } } } },
};

describe('a SQLite file locked by another process', () => {
  let dir: string;
  let ds: DataSource;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'dfc-busy-'));
    ds = openDataSource(service, { baseDir: dir, resolveSecret: () => '', busyTimeoutMs: 1500 });
    await createTables(ds, service);
    await ds.insert('t', [{ v: 'a' }]);
  });
  afterAll(async () => {
    await ds.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test('a write waiting for the lock lets other work run, and succeeds once the lock is released', async () => {
    const holder = new Database(join(dir, 'busy.db'));
    holder.exec('BEGIN IMMEDIATE');
    let settled = false;
    const write = ds.insert('t', [{ v: 'b' }]).finally(() => (settled = true));
    // A read on the same data source is answered while the write still waits.
    expect(await ds.count('t', ALL)).toBe(1);
    expect(settled).toBe(false);
    // The lock is released by a timer: it fires only if the event loop is not held.
    setTimeout(() => {
      holder.exec('ROLLBACK');
      holder.close();
    }, 100);
    expect(await write).toEqual([{ id: 2, v: 'b' }]);
    expect(await ds.count('t', ALL)).toBe(2);
  });

  test('a lock held past the busy timeout fails the write as unavailable, and nothing is written', async () => {
    const holder = new Database(join(dir, 'busy.db'));
    holder.exec('BEGIN IMMEDIATE');
    try {
      const e = await ds.insert('t', [{ v: 'c' }]).then(() => undefined, (err: unknown) => err);
      expect(e).toBeInstanceOf(DataError);
      expect((e as DataError).kind).toBe('unavailable');
      const tx = await ds.transaction((t) => t.update('t', ALL, { v: 'x' })).then(() => undefined, (err: unknown) => err);
      expect((tx as DataError).kind).toBe('unavailable');
    } finally {
      holder.exec('ROLLBACK');
      holder.close();
    }
    expect(await ds.select('t', { where: ALL, columns: ['v'], order: [{ column: 'id', direction: 'asc' }] })).toEqual([{ v: 'a' }, { v: 'b' }]);
  });
});
