/**
 * The standalone server on real sockets (127.0.0.1, port 0): the admin listener, reload,
 * metrics, log redaction, the auth-failure limiter, TLS, a database that goes away and
 * comes back, and graceful close.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request as httpsRequest } from 'node:https';
import { createServer as createTcpServer, connect, type Server, type Socket } from 'node:net';
import { join, resolve } from 'node:path';
import { policyHash, prettyCanonicalJson, type Policy } from '@dfc/schema';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { ENV, KEYS, startBlog, type Blog } from './blog-harness.js';

const admin = (blog: Blog, adminUrl: string, path: string, init: RequestInit = {}) =>
  fetch(adminUrl + path, { ...init, headers: { authorization: `Bearer ${ENV.BLOG_ADMIN_TOKEN}`, ...(init.headers ?? {}) } });

describe('admin listener, reload and metrics', () => {
  let blog: Blog;
  let url: string;
  let adminUrl: string;
  beforeAll(async () => {
    blog = await startBlog('sqlite');
    const a = await blog.server.listen();
    url = a.url;
    adminUrl = a.adminUrl!;
  });
  afterAll(async () => blog?.close());

  test('the admin listener is on loopback, apart from the API, and needs its token', async () => {
    expect(new URL(adminUrl).hostname).toBe('127.0.0.1');
    expect(new URL(adminUrl).port).not.toBe(new URL(url).port);
    expect((await fetch(adminUrl + '/health')).status).toBe(401);
    expect((await fetch(adminUrl + '/health', { headers: { authorization: 'Bearer wrong-token-0123456789' } })).status).toBe(401);
    expect(await (await admin(blog, adminUrl, '/health')).json()).toEqual({ status: 'ok' });
    expect((await admin(blog, adminUrl, '/ready')).status).toBe(200);
    // the API port does not serve admin endpoints
    expect((await fetch(url + '/health')).status).toBe(404);
    // the router's own refusals answer in dfc's format without echoing the path
    for (const [path, code] of [['/api/v2/blog/_table/posts/' + '9'.repeat(2000), 'DFC_ERR_URI_TOO_LONG'], ['/api/v2/blog/_table/%E0%A4%A', 'DFC_ERR_BAD_REQUEST']] as const) {
      const r = await fetch(url + path, { headers: { 'x-api-key': KEYS.web } });
      expect(r.status).toBeLessThan(500);
      const text = await r.text();
      expect(JSON.parse(text).error.code).toBe(code);
      expect(text).not.toContain('9999');
    }
  });

  test('a good reload swaps the policy; a bad one is refused and the old one keeps serving', async () => {
    const before = await (await admin(blog, adminUrl, '/policy')).json();
    expect(before.generation).toBe(1);
    const ok = await admin(blog, adminUrl, '/reload', { method: 'POST' });
    expect(ok.status).toBe(200);
    expect((await ok.json()).generation).toBe(2);

    const bad = mkdtempSync(join(blog.dist, '..', 'bad-'));
    const variants: [string, (json: string, mjs: string) => [string, string]][] = [
      ['truncated json', (j, m) => [j.slice(0, 100), m]],
      ['edited json', (j, m) => [j.replace('"maxRecords": 500', '"maxRecords": 501'), m]],
      ['module that throws', (j) => [j, 'throw new Error("boom");']],
      ['module for another policy', (j, m) => [j, m.replace(/sha256:[0-9a-f]{64}/g, 'sha256:' + '0'.repeat(64))]],
      ['wrong artifact version', (j, m) => [j.replace('"artifactVersion": 1', '"artifactVersion": 2'), m]],
      ['schema violation', (j, m) => [j.replace('"environment": "production"', '"environment": "staging"'), m]],
    ];
    const json = readFileSync(join(blog.dist, 'policy.json'), 'utf8');
    const mjs = readFileSync(join(blog.dist, 'policy.mjs'), 'utf8');
    for (const [name, make] of variants) {
      const [j, m] = make(json, mjs);
      writeFileSync(join(bad, 'policy.json'), j);
      writeFileSync(join(bad, 'policy.mjs'), m);
      const r = await admin(blog, adminUrl, '/reload', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ dir: bad }) });
      expect(r.status, name).toBe(422);
      const body = await r.json();
      expect(body.error.code, name).toMatch(/^DFC_ERR_ARTIFACT_/);
      expect(body.hash).toBe(before.hash);
      const still = await fetch(url + '/api/v2/blog/_table/posts', { headers: { 'x-api-key': KEYS.web } });
      expect(still.status, name).toBe(200);
    }
    const after = await (await admin(blog, adminUrl, '/policy')).json();
    expect(after.hash).toBe(before.hash);
    expect(after.generation).toBe(2);
    const metrics = await (await admin(blog, adminUrl, '/metrics')).text();
    expect(metrics).toContain(`dfc_policy_reload_failures_total ${variants.length}`);
    expect(metrics).toMatch(/dfc_requests_total\{kind="records",status="200"\} \d+/);
    expect(metrics).toContain(`dfc_policy_info{hash="${before.hash}"} 1`);
  });
});

describe('logs and the failure limiter', () => {
  const lines: string[] = [];
  let blog: Blog;
  let url: string;
  beforeAll(async () => {
    blog = await startBlog('sqlite', { logStream: { write: (l) => void lines.push(l) }, authFailures: { max: 3, windowMs: 60_000 } });
    url = (await blog.server.listen()).url;
  });
  afterAll(async () => blog?.close());

  test('credentials never reach a log line', async () => {
    const canaries = ['CANARY-key-1f9a', 'CANARY-token-77b2', 'CANARY-query-e01c'];
    await fetch(`${url}/api/v2/blog/_table/posts?api_key=${canaries[2]}`);
    await fetch(`${url}/api/v2/blog/_table/posts`, { headers: { 'x-api-key': canaries[0]!, authorization: `Bearer ${canaries[1]}` } });
    await fetch(`${url}/api/v2/blog/_table/posts?session_token=${canaries[1]}&api_key=${KEYS.web}`);
    await fetch(`${url}/api/v2/blog/nope?api_key=${canaries[2]}`);
    const all = lines.join('');
    expect(lines.length).toBeGreaterThan(4);
    expect(all).toContain('[redacted]');
    for (const c of [...canaries, KEYS.web]) expect(all).not.toContain(c);
  });

  test('repeated bad credentials from one client are answered 429 with Retry-After', async () => {
    let last: Response | undefined;
    for (let i = 0; i < 6; i++) last = await fetch(`${url}/api/v2/blog/_table/posts`, { headers: { 'x-api-key': `bad-${i}` } });
    expect(last!.status).toBe(429);
    expect(Number(last!.headers.get('retry-after'))).toBeGreaterThan(0);
    expect((await last!.json()).error.code).toBe('DFC_ERR_RATE_LIMITED');
  });
});

describe('TLS', () => {
  let blog: Blog;
  let dir: string;
  let url: string;
  beforeAll(async () => {
    dir = mkdtempSync(join(resolve(import.meta.dirname, '../.tmp'), 'tls-'));
    execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem'), '-days', '1', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1'], { stdio: 'ignore' });
    blog = await startBlog('sqlite', { tls: { cert: readFileSync(join(dir, 'cert.pem'), 'utf8'), key: readFileSync(join(dir, 'key.pem'), 'utf8') } });
    url = (await blog.server.listen()).url;
  });
  afterAll(async () => {
    await blog?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test('serves HTTPS with HSTS and the usual security headers', async () => {
    expect(url.startsWith('https://')).toBe(true);
    const res = await new Promise<{ status: number; headers: Record<string, unknown>; body: string }>((done, fail) => {
      const req = httpsRequest(`${url}/api/v2/blog/_table/posts`, { headers: { 'x-api-key': KEYS.web }, ca: readFileSync(join(dir, 'cert.pem')) }, (r) => {
        let body = '';
        r.on('data', (c) => (body += c));
        r.on('end', () => done({ status: r.statusCode!, headers: r.headers, body }));
      });
      req.on('error', fail);
      req.end();
    });
    expect(res.status).toBe(200);
    expect(res.headers['strict-transport-security']).toContain('max-age=');
    expect(res.headers['x-content-type-options']).toBe('nosniff');
    expect(res.headers['x-powered-by']).toBeUndefined();
    expect(JSON.parse(res.body).resource.length).toBeGreaterThan(0);
  });
});

/** A TCP proxy to PostgreSQL that the test can stop and start on the same port. */
class Proxy {
  server: Server | undefined;
  sockets = new Set<Socket>();
  port = 0;
  async start(): Promise<void> {
    this.server = createTcpServer((client) => {
      const upstream = connect(5432, '127.0.0.1');
      this.sockets.add(client).add(upstream);
      client.pipe(upstream).pipe(client);
      const end = () => {
        client.destroy();
        upstream.destroy();
      };
      client.on('error', end).on('close', end);
      upstream.on('error', end).on('close', end);
    });
    await new Promise<void>((done) => this.server!.listen(this.port, '127.0.0.1', done));
    this.port = (this.server!.address() as { port: number }).port;
  }
  async stop(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    this.sockets.clear();
    await new Promise<void>((done) => this.server!.close(() => done()));
  }
}

describe('a database that goes away and comes back', () => {
  const proxy = new Proxy();
  let blog: Blog;
  beforeAll(async () => {
    await proxy.start();
    blog = await startBlog('postgres', { serverUrl: (u) => u.replace(':5432/', `:${proxy.port}/`) });
  });
  afterAll(async () => {
    await blog?.close();
    await proxy.stop().catch(() => {});
  });

  const get = () => blog.server.app.inject({ url: '/api/v2/blog/_table/posts', headers: { 'x-api-key': KEYS.web } });

  test('503 with Retry-After while it is down, no details, and recovery without a restart', async () => {
    expect((await get()).statusCode).toBe(200);
    await proxy.stop();
    const down = await get();
    expect(down.statusCode).toBe(503);
    expect(down.headers['retry-after']).toBe('5');
    expect(down.json().error).toMatchObject({ code: 'DFC_ERR_DB_UNAVAILABLE', message: 'the database is unavailable' });
    expect(down.body).not.toMatch(/ECONN|5432|postgres/i);
    const adminPort = (await blog.server.listen()).adminUrl!;
    const ready = await admin(blog, adminPort, '/ready');
    expect(ready.status).toBe(503);
    await proxy.start();
    let back = await get();
    for (let i = 0; i < 5 && back.statusCode !== 200; i++) back = await get();
    expect(back.statusCode).toBe(200);
    expect((await admin(blog, adminPort, '/ready')).status).toBe(200);
  });
});

describe('graceful close', () => {
  test('a request in flight when close starts still completes; then the port is closed', async () => {
    const lines: string[] = [];
    const blog = await startBlog('sqlite', { logStream: { write: (l) => void lines.push(l) } });
    const { url } = await blog.server.listen();
    const { port } = new URL(url);
    const token = await blog.token('carol', 'admin');
    const body = JSON.stringify({ id: 50, title: 'in flight', body: 'b', isPublic: true, createdAt: '2024-01-01T00:00:00Z', userId: 'carol' });
    const socket = connect(Number(port), '127.0.0.1');
    let answer = '';
    socket.on('data', (c) => (answer += c));
    const ended = new Promise<void>((done) => socket.on('close', () => done()));
    // headers and half the body: the request is accepted and waits for the rest
    socket.write(
      `POST /api/v2/blog/_table/posts HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Api-Key: ${KEYS.admin}\r\nAuthorization: Bearer ${token}\r\n` +
        `Content-Type: application/json\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n` +
        body.slice(0, 10),
    );
    while (!lines.some((l) => l.includes('incoming request'))) await new Promise((r) => setImmediate(r));
    const closing = blog.server.close();
    socket.write(body.slice(10));
    await ended;
    await closing;
    expect(answer).toMatch(/^HTTP\/1\.1 201/);
    expect((await blog.ds.select('posts', { where: { kind: 'cmp', column: 'id', op: '=', value: 50 } })).length).toBe(1);
    await expect(fetch(`${url}/api/v2/blog/_table/posts`)).rejects.toThrow();
    await blog.close();
  });
});

describe('reload with requests in flight', () => {
  test('a request keeps the policy it started with; the next one gets the new policy', async () => {
    const lines: string[] = [];
    const blog = await startBlog('sqlite', { logStream: { write: (l) => void lines.push(l) } });
    const { url, adminUrl } = await blog.server.listen();
    // the new policy: the editor role loses POST on posts
    const next = structuredClone(blog.policy) as Policy;
    const entry = next.roles.editor!.access.find((a) => a.component === '_table/posts')!;
    entry.verbs = entry.verbs.filter((v) => v !== 'POST');
    next.hash = policyHash(next);
    const newDir = mkdtempSync(join(blog.dist, '..', 'next-'));
    writeFileSync(join(newDir, 'policy.json'), prettyCanonicalJson(next));
    writeFileSync(join(newDir, 'policy.mjs'), readFileSync(join(blog.dist, 'policy.mjs'), 'utf8').split(blog.policy.hash).join(next.hash));

    const token = await blog.token('alice', 'editor');
    const post = (id: number) => JSON.stringify({ id, title: 't', body: 'b', isPublic: true, createdAt: '2024-01-01T00:00:00Z', userId: 'alice' });
    const body = post(60);
    const socket = connect(Number(new URL(url).port), '127.0.0.1');
    let answer = '';
    socket.on('data', (c) => (answer += c));
    const ended = new Promise<void>((done) => socket.on('close', () => done()));
    socket.write(
      `POST /api/v2/blog/_table/posts HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Api-Key: ${KEYS.web}\r\nAuthorization: Bearer ${token}\r\n` +
        `Content-Type: application/json\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n` +
        body.slice(0, 10),
    );
    while (!lines.some((l) => l.includes('incoming request'))) await new Promise((r) => setImmediate(r));
    const reloaded = await admin(blog, adminUrl!, '/reload', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ dir: newDir }) });
    expect(reloaded.status).toBe(200);
    expect((await reloaded.json()).hash).toBe(next.hash);
    socket.write(body.slice(10));
    await ended;
    expect(answer).toMatch(/^HTTP\/1\.1 201/);
    const after = await fetch(`${url}/api/v2/blog/_table/posts`, {
      method: 'POST',
      headers: { 'x-api-key': KEYS.web, authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: post(61),
    });
    expect(after.status).toBe(403);
    expect((await after.json()).error.code).toBe('DFC_ERR_ACCESS_DENIED');
    await blog.close();
  });
});
