/**
 * A database that goes away makes calls fail with DataError('unavailable') (the HTTP
 * side answers 503), and the same data source recovers when the database comes back:
 * a TCP proxy on 127.0.0.1 is stopped and restarted in front of the real server,
 * backends are terminated, a lock makes a statement time out.
 */
import { createServer, type Server, type Socket, connect } from 'node:net';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { PolicyTable, Where } from '@dfc/schema';
import { createConnection } from 'mysql2/promise';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DataError, createTables, openDataSource, type DataSource } from '../../packages/runtime/src/data/index.js';
import { MYSQL_ADMIN, createTestDatabase, type TestDatabase } from './data-databases.js';

const t: PolicyTable = {
  primaryKey: 'id',
  columns: { id: { type: 'integer', nullable: false }, v: { type: 'string', nullable: true } },
};
const TRUE: Where = { kind: 'const', value: true };

async function failure(p: Promise<unknown>): Promise<DataError> {
  const e = await p.then(
    () => undefined,
    (err: unknown) => err,
  );
  expect(e).toBeInstanceOf(DataError);
  return e as DataError;
}

/** A TCP forwarder on a fixed loopback port that can be stopped (dropping every connection) and started again. */
class Proxy {
  private server: Server | undefined;
  private sockets = new Set<Socket>();
  port = 0;
  constructor(private readonly upstreamPort: number) {}

  async start(): Promise<void> {
    const server = createServer((client) => {
      const upstream = connect(this.upstreamPort, '127.0.0.1');
      for (const s of [client, upstream]) {
        this.sockets.add(s);
        s.on('error', () => {
          client.destroy();
          upstream.destroy();
        });
        s.on('close', () => this.sockets.delete(s));
      }
      client.pipe(upstream).pipe(client);
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.port, '127.0.0.1', () => resolve());
    });
    this.port = (server.address() as { port: number }).port;
    this.server = server;
  }

  async stop(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    for (const s of this.sockets) s.destroy();
    this.sockets.clear();
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}

/** A loopback port with nothing listening on it. */
async function deadPort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', () => resolve()));
  const port = (s.address() as { port: number }).port;
  await new Promise<void>((resolve) => s.close(() => resolve()));
  return port;
}

/** Retries a call a few times, each failure being `unavailable`, until it succeeds. */
async function recovers<T>(fn: () => Promise<T>, attempts = 3): Promise<T> {
  for (let i = 1; ; i++) {
    try {
      return await fn();
    } catch (e) {
      expect(e).toBeInstanceOf(DataError);
      expect((e as DataError).kind).toBe('unavailable');
      if (i >= attempts) throw e;
    }
  }
}

/** Locks table `t` from a direct connection; resolves to the function that releases it. */
async function holdLock(db: TestDatabase): Promise<() => Promise<void>> {
  if (db.dialect === 'postgres') {
    const admin = new pg.Client({ connectionString: db.url });
    await admin.connect();
    await admin.query('begin');
    await admin.query('lock table t in access exclusive mode');
    return async () => {
      await admin.query('rollback');
      await admin.end();
    };
  }
  const admin = await createConnection({ ...MYSQL_ADMIN, database: db.name });
  await admin.query('lock tables t write');
  return async () => {
    await admin.query('unlock tables');
    await admin.end();
  };
}

/** Polls (bounded) until some statement on the test database waits for a lock. */
async function waitForLockWait(db: TestDatabase): Promise<void> {
  for (let i = 0; i < 200; i++) {
    let waiting = 0;
    if (db.dialect === 'postgres') {
      const c = new pg.Client({ connectionString: db.url });
      await c.connect();
      const r = await c.query("select count(*)::int as n from pg_stat_activity where datname = $1 and wait_event_type = 'Lock'", [db.name]);
      await c.end();
      waiting = r.rows[0].n;
    } else {
      const c = await createConnection(MYSQL_ADMIN);
      const [rows] = await c.query("select count(*) as n from information_schema.processlist where db = ? and state like '%lock%'", [db.name]);
      await c.end();
      waiting = Number((rows as { n: number }[])[0]!.n);
    }
    if (waiting > 0) return;
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error('no statement started waiting for the lock');
}

describe.each(['postgres', 'mysql'] as const)('%s outages', (dialect) => {
  let db: TestDatabase;
  const upstream = dialect === 'postgres' ? 5432 : 3306;

  beforeAll(async () => {
    db = await createTestDatabase(dialect);
    const ds = db.open({ t });
    await createTables(ds, db.service({ t }));
    await ds.insert('t', [{ v: 'a' }, { v: 'b' }]);
  });
  afterAll(async () => {
    await db?.drop();
  });

  it('is unavailable while the server is unreachable and recovers when it returns', async () => {
    const proxy = new Proxy(upstream);
    await proxy.start();
    const url = db.url.replace(`:${upstream}/`, `:${proxy.port}/`);
    const poolErrors: unknown[] = [];
    const ds = db.open({ t }, { resolveSecret: () => url, onPoolError: (e) => poolErrors.push(e) });
    try {
      expect(await ds.count('t', TRUE)).toBe(2);
      // Drop the connection while a statement is in flight (waiting on a lock held
      // directly, not through the proxy): the call fails, the process does not crash.
      const release = await holdLock(db);
      const inFlight = failure(ds.count('t', TRUE));
      await waitForLockWait(db);
      await proxy.stop();
      expect((await inFlight).kind).toBe('unavailable');
      await release();
      const down = await failure(ds.select('t', { where: TRUE }));
      expect(down.kind).toBe('unavailable');
      expect(down.message).toBe('the database is unavailable');
      expect(down.message).not.toContain(String(proxy.port));
      expect((await failure(ds.ping())).kind).toBe('unavailable');
      expect((await failure(ds.insert('t', [{ v: 'lost' }]))).kind).toBe('unavailable');
      await proxy.start();
      // The pool may hand out one connection that died with the proxy; it then recovers.
      expect(await recovers(() => ds.count('t', TRUE))).toBe(2);
      expect(await ds.select('t', { where: TRUE, columns: ['v'], order: [{ column: 'v', direction: 'asc' }] })).toEqual([{ v: 'a' }, { v: 'b' }]);
    } finally {
      await ds.close();
      await proxy.stop();
    }
  });

  it('recovers after the server terminates its connections', async () => {
    const ds = db.open({ t }, { onPoolError: () => {} });
    try {
      // Hold two pooled connections open.
      await Promise.all([ds.count('t', TRUE), ds.count('t', TRUE)]);
      if (dialect === 'postgres') {
        const admin = new pg.Client({ connectionString: db.url.replace(db.name, 'postgres') });
        await admin.connect();
        const r = await admin.query('select count(pg_terminate_backend(pid))::int as n from pg_stat_activity where datname = $1 and pid <> pg_backend_pid()', [db.name]);
        await admin.end();
        expect(r.rows[0].n).toBeGreaterThan(0);
      } else {
        const admin = await createConnection(MYSQL_ADMIN);
        const [rows] = await admin.query('select id from information_schema.processlist where db = ? and id <> connection_id()', [db.name]);
        expect((rows as unknown[]).length).toBeGreaterThan(0);
        for (const { id } of rows as { id: number }[]) await admin.query('kill connection ?', [id]);
        await admin.end();
      }
      expect(await recovers(() => ds.count('t', TRUE))).toBe(2);
      expect(await ds.count('t', TRUE)).toBe(2);
    } finally {
      await ds.close();
    }
  });

  it('answers unavailable when nothing listens at the address', async () => {
    const port = await deadPort();
    const ds = db.open({ t }, { resolveSecret: () => db.url.replace(`:${upstream}/`, `:${port}/`) });
    const e = await failure(ds.ping());
    expect(e.kind).toBe('unavailable');
    expect(e.message).not.toMatch(/127\.0\.0\.1|ECONNREFUSED|\d{4,5}/);
    await ds.close();
  });

  it('times out a statement that waits too long', async () => {
    const ds = db.open({ t }, { statementTimeoutMs: 300 });
    try {
      await ds.ping();
      if (dialect === 'postgres') {
        const admin = new pg.Client({ connectionString: db.url });
        await admin.connect();
        await admin.query('begin');
        await admin.query('lock table t in access exclusive mode');
        const e = await failure(ds.count('t', TRUE));
        await admin.query('rollback');
        await admin.end();
        expect(e.kind).toBe('unavailable');
        expect(e.message).toBe('the database did not answer in time');
      } else {
        const admin = await createConnection({ ...MYSQL_ADMIN, database: db.name });
        await admin.query('lock tables t write');
        const e = await failure(ds.count('t', TRUE));
        await admin.query('unlock tables');
        await admin.end();
        expect(e.kind).toBe('unavailable');
      }
      expect(await ds.count('t', TRUE)).toBe(2);
    } finally {
      await ds.close();
    }
  });
});

describe('sqlite and configuration outages', () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase('sqlite');
  });
  afterAll(async () => {
    await db?.drop();
  });

  it('is unavailable while the file cannot be opened and recovers once it can', async () => {
    const dir = join(db.baseDir, 'later');
    const ds = openDataSource(
      { database: { type: 'sqlite', file: 'later/app.db' }, maxRecords: 10, tables: { t }, security: [] },
      { baseDir: db.baseDir, resolveSecret: () => '' },
    );
    const e = await failure(ds.ping());
    expect(e.kind).toBe('unavailable');
    expect(e.message).not.toContain(db.baseDir);
    mkdirSync(dir);
    await ds.ping();
    await createTables(ds, { database: { type: 'sqlite', file: 'later/app.db' }, maxRecords: 10, tables: { t }, security: [] });
    expect(await ds.insert('t', [{ v: 'x' }])).toEqual([{ id: 1, v: 'x' }]);
    await ds.close();
  });

  it('is unavailable when the connection secret cannot be resolved, without echoing it', () => {
    const service = { database: { type: 'postgres' as const, url: { $secret: 'NOPE' }, poolMax: 1 }, maxRecords: 10, tables: { t }, security: [] };
    let caught: unknown;
    try {
      openDataSource(service, { baseDir: '.', resolveSecret: () => { throw new Error('secret NOPE=hunter2 missing'); } });
    } catch (e) {
      caught = e;
    }
    expect(caught).toBeInstanceOf(DataError);
    expect((caught as DataError).kind).toBe('unavailable');
    expect((caught as DataError).message).not.toContain('hunter2');
  });

  it('refuses a service whose names could not be declared columns', () => {
    const bad = (tables: Record<string, PolicyTable>) => () =>
      openDataSource({ database: { type: 'sqlite', file: ':memory:' }, maxRecords: 10, tables, security: [] }, { baseDir: '.', resolveSecret: () => '' });
    expect(bad({ 'a; drop': t })).toThrow(/is not a valid name/);
    expect(bad({ t: { primaryKey: 'id', columns: { id: t.columns.id!, 'x"y': t.columns.v! } } })).toThrow(/is not a valid name/);
    expect(bad({ t: { primaryKey: 'id', columns: { id: t.columns.id!, ['__proto__']: t.columns.v! } } })).toThrow(/is not a valid name/);
    expect(bad({ t: { primaryKey: 'nope', columns: t.columns } })).toThrow(/is not one of its columns/);
  });
});
