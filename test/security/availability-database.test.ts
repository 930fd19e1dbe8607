/**
 * The database goes away under load (checklist §2.7 V3): examples/blog in a server
 * process, autocannon on loopback, and in the middle of the run
 *
 * - PostgreSQL: the TCP proxy the server connects through is stopped (every connection
 *   dropped, the port closed) and started again a few seconds later (the machine's
 *   PostgreSQL itself keeps running: other suites use it);
 * - SQLite: another process holds the database file's write lock, then releases it.
 *
 * Requests that need the database answer 503 with Retry-After and no detail; requests
 * refused before the database (bad key, role) keep their 401/403; no connection fails,
 * the process stays up, and it serves again once the database is back, without a restart.
 */
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { prepareBlog, ENV, KEYS, type BlogFiles } from './helpers/blog.js';
import { startChildServer, type Child } from './helpers/child.js';
import { LOAD_SECONDS, load, type LoadRequest, type LoadResult } from './helpers/load.js';
import { TcpProxy } from './helpers/proxy.js';

interface Mix {
  request: LoadRequest;
  /** Status when the database answers. */
  status: number;
  /** Whether the request needs the database (else its status never changes). */
  db: boolean;
  /** Statuses besides `status` while the database is away (503 unless said otherwise). */
  outage?: number[];
}

async function workload(blog: BlogFiles): Promise<Mix[]> {
  const alice = await blog.token('alice', 'editor');
  const web = { 'x-api-key': KEYS.web };
  const signed = { ...web, authorization: `Bearer ${alice}` };
  return [
    { request: { path: '/api/v2/blog/_table/posts', headers: web }, status: 200, db: true },
    { request: { path: '/api/v2/blog/_table/posts?filter=' + encodeURIComponent('isPublic = true') + '&include_count=true', headers: signed }, status: 200, db: true },
    // a `query` rule that cannot read its rows still denies (fails closed), answered 503 like any outage
    { request: { path: '/api/v2/blog/_table/profiles/bob', headers: signed }, status: 200, db: true },
    {
      request: { method: 'POST', path: '/api/v2/blog/_table/bookmarks', headers: { ...signed, 'content-type': 'application/json' }, body: JSON.stringify({ postId: 1, createdAt: '2024-01-01T00:00:00Z' }) },
      status: 201,
      db: true,
    },
    { request: { path: '/api/v2/blog/_table/posts', headers: { 'x-api-key': 'not-a-key-' + 'x'.repeat(30) } }, status: 401, db: false },
    { request: { method: 'DELETE', path: '/api/v2/blog/_table/posts/1', headers: signed }, status: 403, db: false },
  ];
}

async function check(url: string, mix: Mix[]): Promise<void> {
  for (const m of mix) {
    const r = await fetch(url + m.request.path, { method: m.request.method ?? 'GET', headers: m.request.headers ?? {}, ...(m.request.body ? { body: m.request.body } : {}) });
    expect(r.status, m.request.path).toBe(m.status);
  }
}

/** Only the mix's own statuses and 503; requests that do not need the database never changed. */
function expectOutage(r: LoadResult, mix: Mix[], connections: number) {
  expect(r.errors, 'connection errors').toBe(0);
  expect(r.timeouts, 'timeouts').toBe(0);
  const allowed = new Set(['503', ...mix.flatMap((m) => [m.status, ...(m.outage ?? [])].map(String))]);
  for (const s of Object.keys(r.statuses)) expect(allowed.has(s), `status ${s} in ${JSON.stringify(r.statuses)}`).toBe(true);
  expect(r.statuses['503'] ?? 0, 'some requests met the outage').toBeGreaterThan(0);
  // Requests refused before the database: their count is their exact share of the run,
  // plus whatever database requests answer with the same status during the outage.
  for (const m of mix.filter((x) => !x.db)) {
    const share = (r.requests * mix.filter((x) => x.status === m.status).length) / mix.length;
    const extra = mix.filter((x) => x.db && (x.outage ?? []).includes(m.status)).length;
    const got = r.statuses[m.status] ?? 0;
    expect(got, `status ${m.status} unaffected by the outage`).toBeGreaterThanOrEqual(share - connections * mix.length);
    expect(got, `status ${m.status} unaffected by the outage`).toBeLessThanOrEqual(share + (r.requests * extra) / mix.length + connections * mix.length);
  }
}

/** The first few answers may meet a connection that died with the outage; then all succeed. */
async function recovered(url: string, mix: Mix[]): Promise<void> {
  const probe = mix[0]!.request;
  let status = 0;
  for (let i = 0; i < 20 && status !== 200; i++) {
    status = (await fetch(url + probe.path, { headers: probe.headers ?? {} })).status;
    if (status !== 200) await new Promise((r) => setTimeout(r, 100));
  }
  expect(status).toBe(200);
  for (let i = 0; i < 3; i++) await check(url, mix);
}

const CONNECTIONS = 8;
const at = (fraction: number) => new Promise((r) => setTimeout(r, LOAD_SECONDS * 1000 * fraction));

describe('PostgreSQL stopped and restarted under load', () => {
  const proxy = new TcpProxy(5432);
  let blog: BlogFiles;
  let server: Child;
  let mix: Mix[];
  beforeAll(async () => {
    await proxy.start();
    blog = await prepareBlog('postgres');
    server = await startChildServer(
      { policy: blog.dist, baseDir: blog.work, adminToken: ENV.BLOG_ADMIN_TOKEN!, authFailures: false },
      { ...blog.env, BLOG_DB_URL: blog.db!.url.replace(':5432/', `:${proxy.port}/`) },
    );
    mix = await workload(blog);
    await check(server.url, mix);
  });
  afterAll(async () => {
    await server?.kill();
    await proxy.stop();
    await blog?.cleanup();
  });

  test('503 with Retry-After while it is down, the process stays up, and it recovers without a restart', async () => {
    const run = load(server.url, mix.map((m) => m.request), { connections: CONNECTIONS });
    await at(0.25);
    await proxy.stop();
    // while it is down: 503, Retry-After, nothing about the database in the body
    const down = await fetch(server.url + mix[0]!.request.path, { headers: mix[0]!.request.headers ?? {} });
    expect(down.status).toBe(503);
    expect(Number(down.headers.get('retry-after'))).toBeGreaterThan(0);
    const body = await down.text();
    expect(JSON.parse(body).error).toMatchObject({ code: 'DFC_ERR_DB_UNAVAILABLE', message: 'the database is unavailable' });
    expect(body).not.toMatch(/ECONN|5432|postgres|dfc_test_|127\.0\.0\.1|:\d{4,5}/i);
    const ready = await fetch(server.adminUrl + '/ready', { headers: { authorization: `Bearer ${ENV.BLOG_ADMIN_TOKEN}` } });
    expect(ready.status).toBe(503);
    await at(0.35);
    await proxy.start();
    const r = await run.done;
    console.log(`postgres outage: ${r.requests} responses ${JSON.stringify(r.statuses)}, ${r.errors} errors`);
    expectOutage(r, mix, CONNECTIONS);
    expect(server.alive()).toBe(true);
    await recovered(server.url, mix);
    expect((await fetch(server.adminUrl + '/ready', { headers: { authorization: `Bearer ${ENV.BLOG_ADMIN_TOKEN}` } })).status).toBe(200);
    expect(server.stderr()).not.toMatch(/unhandled|uncaught/i);
  });
});

describe('SQLite file locked by another process under load', () => {
  let blog: BlogFiles;
  let server: Child;
  let mix: Mix[];
  beforeAll(async () => {
    blog = await prepareBlog('sqlite');
    server = await startChildServer({ policy: blog.dist, baseDir: blog.work, adminToken: ENV.BLOG_ADMIN_TOKEN!, authFailures: false }, blog.env);
    mix = await workload(blog);
    await check(server.url, mix);
  });
  afterAll(async () => {
    await server?.kill();
    await blog?.cleanup();
  });

  test('writes answer 503 while the lock is held, reads go on, and writes succeed again once it is released', async () => {
    const run = load(server.url, mix.map((m) => m.request), { connections: CONNECTIONS });
    await at(0.25);
    // another process (this one) takes the write lock on the server's database file
    const holder = new Database(join(blog.work, 'blog.db'), { timeout: 100 });
    holder.exec('BEGIN IMMEDIATE');
    try {
      const write = mix.find((m) => m.request.method === 'POST')!.request;
      let settled = false;
      const pending = fetch(server.url + write.path, { method: 'POST', headers: write.headers ?? {}, body: write.body! }).finally(() => (settled = true));
      // While that write waits for the lock, the server goes on answering: a read and the admin port.
      await new Promise((r) => setTimeout(r, 300));
      expect((await fetch(server.url + mix[0]!.request.path, { headers: mix[0]!.request.headers ?? {} })).status).toBe(200);
      expect((await fetch(server.adminUrl + '/health', { headers: { authorization: `Bearer ${ENV.BLOG_ADMIN_TOKEN}` } })).status).toBe(200);
      expect(settled, 'the write was still waiting for the lock').toBe(false);
      // the lock outlives the busy timeout: 503
      const locked = await pending;
      expect(locked.status).toBe(503);
      expect(Number(locked.headers.get('retry-after'))).toBeGreaterThan(0);
      const body = await locked.text();
      expect(JSON.parse(body).error.code).toBe('DFC_ERR_DB_UNAVAILABLE');
      expect(body).not.toMatch(/SQLITE|locked|blog\.db|\/tmp|test\/\.tmp/i);
      await at(0.1);
    } finally {
      holder.exec('ROLLBACK');
      holder.close();
    }
    const r = await run.done;
    console.log(`sqlite lock: ${r.requests} responses ${JSON.stringify(r.statuses)}, ${r.errors} errors`);
    expectOutage(r, mix, CONNECTIONS);
    expect(server.alive()).toBe(true);
    await recovered(server.url, mix);
  });
});
