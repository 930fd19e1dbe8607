/**
 * Throw-away databases for the data-layer tests: a temp SQLite file, or a fresh
 * `dfc_test_<random>` database on the local PostgreSQL (127.0.0.1:5432, user
 * postgres, trust) and MariaDB (127.0.0.1:3306, root, no password), dropped afterwards.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { PolicyDatabase, PolicyService, PolicyTable } from '@dfc/schema';
import { createConnection } from 'mysql2/promise';
import pg from 'pg';
import { openDataSource, type DataSource, type OpenOptions } from '../../packages/runtime/src/data/index.js';

export type DialectName = 'sqlite' | 'postgres' | 'mysql';
export const DIALECTS: DialectName[] = ['sqlite', 'postgres', 'mysql'];

export const PG_ADMIN_URL = 'postgres://postgres@127.0.0.1:5432/postgres';
export const MYSQL_ADMIN = { host: '127.0.0.1', port: 3306, user: 'root', password: '' };

export interface TestDatabase {
  dialect: DialectName;
  /** The `database` block of a service that points at this database. */
  database: PolicyDatabase;
  /** The connection URL (PostgreSQL, MySQL) or file path (SQLite). */
  url: string;
  /** Name of the database (PostgreSQL, MySQL). */
  name: string;
  baseDir: string;
  /** Options for openDataSource. */
  options(extra?: Partial<OpenOptions>): OpenOptions;
  service(tables: Record<string, PolicyTable>): PolicyService;
  open(tables: Record<string, PolicyTable>, extra?: Partial<OpenOptions>): DataSource;
  drop(): Promise<void>;
}

export async function createTestDatabase(dialect: DialectName, poolMax = 4): Promise<TestDatabase> {
  const name = `dfc_test_${randomBytes(6).toString('hex')}`;
  const baseDir = mkdtempSync(join(tmpdir(), 'dfc-data-'));
  let database: PolicyDatabase;
  let url: string;
  let dropServer: () => Promise<void> = async () => {};
  switch (dialect) {
    case 'sqlite':
      url = join(baseDir, 'test.db');
      database = { type: 'sqlite', file: 'test.db' };
      break;
    case 'postgres': {
      const admin = new pg.Client({ connectionString: PG_ADMIN_URL });
      await admin.connect();
      await admin.query(`create database ${name}`);
      await admin.end();
      url = `postgres://postgres@127.0.0.1:5432/${name}`;
      database = { type: 'postgres', url: { $secret: 'DFC_TEST_DB_URL' }, poolMax };
      dropServer = async () => {
        const c = new pg.Client({ connectionString: PG_ADMIN_URL });
        await c.connect();
        await c.query(`drop database if exists ${name} with (force)`);
        await c.end();
      };
      break;
    }
    case 'mysql': {
      const admin = await createConnection(MYSQL_ADMIN);
      await admin.query(`create database ${name} character set utf8mb4`);
      await admin.end();
      url = `mysql://root@127.0.0.1:3306/${name}`;
      database = { type: 'mysql', url: { $secret: 'DFC_TEST_DB_URL' }, poolMax };
      dropServer = async () => {
        const c = await createConnection(MYSQL_ADMIN);
        await c.query(`drop database if exists ${name}`);
        await c.end();
      };
      break;
    }
  }
  const opened: DataSource[] = [];
  const db: TestDatabase = {
    dialect,
    database,
    url,
    name,
    baseDir,
    options: (extra) => ({ baseDir, resolveSecret: () => url, connectTimeoutMs: 3000, ...extra }),
    service: (tables) => ({ database, maxRecords: 1000, tables, security: [] }),
    open(tables, extra) {
      const ds = openDataSource(db.service(tables), db.options(extra));
      opened.push(ds);
      return ds;
    },
    async drop() {
      for (const ds of opened) await ds.close().catch(() => {});
      await dropServer();
      rmSync(baseDir, { recursive: true, force: true });
    },
  };
  return db;
}
