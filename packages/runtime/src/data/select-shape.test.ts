/**
 * Selects are compiled once per shape (the SQL text) and bound with each request's own
 * values; on SQLite they run as prepared statements on the open database, except while a
 * transaction is open on it, when they wait for it as every other statement does.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { PolicyService, PolicyTable, Where } from '@dfc/schema';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { createTables, openDataSource, type DataSource } from './index.js';
import { selectShape } from './select-shape.js';

const ALL: Where = { kind: 'const', value: true };
const table: PolicyTable = {
  primaryKey: 'id',
  columns: { id: { type: 'integer', nullable: false }, v: { type: 'string', nullable: true }, on: { type: 'bool', nullable: true } },
} as PolicyTable;
const service: PolicyService = {
  database: { type: 'sqlite', file: 'shape.db' },
  maxRecords: 100,
  security: [],
  tables: { t: table },
};
const eq = (column: string, value: string | number | boolean | null): Where => ({ kind: 'cmp', column, op: '=', value });

describe('selects of one shape', () => {
  let dir: string;
  let ds: DataSource;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'dfc-shape-'));
    ds = openDataSource(service, { baseDir: dir, resolveSecret: () => '' });
    await createTables(ds, service);
    await ds.insert('t', [
      { id: 1, v: 'a', on: true },
      { id: 2, v: 'b', on: false },
      { id: 3, v: null, on: true },
    ]);
  });
  afterAll(async () => {
    await ds.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test('bind their own values, again and again', async () => {
    for (let round = 0; round < 3; round++) {
      expect(await ds.select('t', { where: eq('v', 'a') })).toEqual([{ id: 1, v: 'a', on: true }]);
      expect(await ds.select('t', { where: eq('v', 'b') })).toEqual([{ id: 2, v: 'b', on: false }]);
      expect(await ds.select('t', { where: eq('on', true), limit: 1, offset: 1 })).toEqual([{ id: 3, v: null, on: true }]);
      expect(await ds.select('t', { where: eq('on', true), limit: 5, offset: 0, columns: ['id'] })).toEqual([{ id: 1 }, { id: 3 }]);
      // `v = null` renders `is null`: another shape than `v = 'a'`.
      expect(await ds.select('t', { where: eq('v', null) })).toEqual([{ id: 3, v: null, on: true }]);
      expect(await ds.select('t', { where: { kind: 'in', column: 'id', values: [2, 3], negated: false }, order: [{ column: 'id', direction: 'desc' }] })).toEqual([
        { id: 3, v: null, on: true },
        { id: 2, v: 'b', on: false },
      ]);
    }
  });

  test('`selectNow` reads a prepared shape without a promise; undefined for a shape not yet prepared, an unknown table, or inside a transaction', async () => {
    const fresh = { where: eq('id', 3), columns: ['v'], limit: 7 };
    expect(ds.selectNow!('t', fresh)).toBeUndefined();
    expect(await ds.select('t', fresh)).toEqual([{ v: null }]);
    expect(ds.selectNow!('t', fresh)).toEqual([{ v: null }]);
    expect(ds.selectNow!('t', { ...fresh, where: eq('id', 1) })).toEqual([{ v: 'a' }]);
    expect(ds.selectNow!('nope', fresh)).toBeUndefined();
    await ds.transaction(async () => {
      expect(ds.selectNow!('t', fresh)).toBeUndefined();
    });
  });

  test('refused values and unknown columns still fail as before', async () => {
    await expect(ds.select('t', { where: eq('id', 'x') })).rejects.toMatchObject({ kind: 'invalid' });
    await expect(ds.select('t', { where: eq('nope', 1) })).rejects.toMatchObject({ kind: 'invalid' });
    await expect(ds.select('t', { where: ALL, order: [{ column: 'nope', direction: 'asc' }] })).rejects.toMatchObject({ kind: 'invalid' });
  });

  test('a select outside an open transaction waits for it, and never sees what it rolls back', async () => {
    let inserted!: () => void;
    const begun = new Promise<void>((resolve) => (inserted = resolve));
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    const tx = ds.transaction(async (t) => {
      await t.insert('t', [{ id: 9, v: 'uncommitted' }]);
      inserted();
      await held;
      throw new Error('roll back');
    });
    await begun;
    const outside = ds.select('t', { where: eq('v', 'uncommitted') });
    release();
    await expect(tx).rejects.toThrow('roll back');
    expect(await outside).toEqual([]);
  });
});

describe('the shape of a select', () => {
  const shape = (where: Where, dialect: 'sqlite' | 'postgres' = 'sqlite') => selectShape(dialect, table, 't', ['id'], where, undefined, undefined, undefined, 0);

  test('is the same for other values and differs for another structure', () => {
    expect(shape(eq('v', 'a'))!.key).toBe(shape(eq('v', 'b'))!.key);
    expect(shape(eq('v', 'a'))!.params).toEqual(['a']);
    expect(shape(eq('v', 'a'))!.key).not.toBe(shape(eq('v', null))!.key);
    expect(shape({ kind: 'in', column: 'id', values: [1], negated: false })!.key).not.toBe(shape({ kind: 'in', column: 'id', values: [1, 2], negated: false })!.key);
    // PostgreSQL compares an integer column with a non-integer as double precision.
    expect(shape(eq('id', 1), 'postgres')!.key).not.toBe(shape(eq('id', 1.5), 'postgres')!.key);
  });

  test('is none for anything the renderer refuses', () => {
    expect(shape(eq('nope', 1))).toBeUndefined();
    expect(shape(eq('id', 'x'))).toBeUndefined();
    expect(shape({ kind: 'like', column: 'id', pattern: '1%', negated: false })).toBeUndefined();
    expect(shape({ kind: 'cmp', column: 'id', op: '~' as '=', value: 1 })).toBeUndefined();
  });
});
