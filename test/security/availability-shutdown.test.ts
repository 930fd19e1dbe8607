/**
 * SIGTERM under load (checklist §2.7 V6): the real `dfc serve` in a child process serving
 * examples/blog while autocannon runs. Requests the server accepted before the signal
 * (here: writes whose bodies are still arriving) complete and are stored; new
 * connections are refused once the signal is handled; the process exits with status 0,
 * also when a client never finishes its request.
 */
import { connect, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { prepareBlog, KEYS, type BlogFiles } from './helpers/blog.js';
import { startDfcServe, type Child } from './helpers/child.js';
import { load } from './helpers/load.js';

let blog: BlogFiles;
let server: Child;

beforeAll(async () => {
  blog = await prepareBlog('sqlite');
  server = await startDfcServe(blog.dist, blog.env, ['--log-level', 'info']);
});
afterAll(async () => {
  await server?.kill();
  await blog?.cleanup();
});

/** A raw HTTP request whose body is sent in two parts; resolves to everything the server sent back. */
function slowPost(port: number, path: string, headers: Record<string, string>, body: string): { socket: Socket; rest(): void; answer: Promise<string> } {
  const socket = connect(port, '127.0.0.1');
  let answer = '';
  socket.on('data', (c: Buffer) => (answer += c.toString('utf8')));
  socket.on('error', () => {});
  const head = Object.entries({ ...headers, host: `127.0.0.1:${port}`, 'content-type': 'application/json', 'content-length': String(body.length), connection: 'close' })
    .map(([k, v]) => `${k}: ${v}\r\n`)
    .join('');
  socket.write(`POST ${path} HTTP/1.1\r\n${head}\r\n${body.slice(0, 8)}`);
  return { socket, rest: () => socket.write(body.slice(8)), answer: new Promise((done) => socket.on('close', () => done(answer))) };
}

const canConnect = (port: number) =>
  new Promise<boolean>((done) => {
    const s = connect(port, '127.0.0.1');
    s.on('connect', () => (s.destroy(), done(true)));
    s.on('error', () => done(false));
  });

describe('SIGTERM under load', () => {
  test('accepted requests complete, new connections are refused, and the process exits 0', async () => {
    const port = Number(new URL(server.url).port);
    const alice = await blog.token('alice', 'editor');
    const web = { 'x-api-key': KEYS.web };
    const run = load(
      server.url,
      [
        { path: '/api/v2/blog/_table/posts', headers: web },
        // (no bad keys here: `dfc serve` rate-limits failed authentication per client, and every request comes from 127.0.0.1)
        { method: 'DELETE', path: '/api/v2/blog/_table/posts/1', headers: { ...web, authorization: `Bearer ${alice}` } },
        { path: '/api/v2/blog/_table/comments', headers: { ...web, authorization: `Bearer ${alice}` } },
      ],
      { seconds: 30, connections: 8 },
    );
    await new Promise((r) => setTimeout(r, 1000));

    // Writes in flight: headers and part of the body sent, the server is reading them.
    const ids = [901, 902, 903, 904, 905];
    const inFlight = ids.map((id) =>
      slowPost(port, '/api/v2/blog/_table/bookmarks', { ...web, authorization: `Bearer ${alice}` }, JSON.stringify({ id, postId: 1, createdAt: '2024-01-01T00:00:00Z' })),
    );
    // A client that never finishes its request.
    const stuck = slowPost(port, '/api/v2/blog/_table/bookmarks', { ...web, authorization: `Bearer ${alice}` }, JSON.stringify({ id: 999, postId: 1, createdAt: '2024-01-01T00:00:00Z' }));
    const seen = () => (server.stdout().match(/"method":"POST","url":"\/api\/v2\/blog\/_table\/bookmarks"/g) ?? []).length;
    for (let i = 0; i < 400 && seen() < ids.length + 1; i++) await new Promise((r) => setTimeout(r, 25));
    expect(seen()).toBe(ids.length + 1);

    server.child.kill('SIGTERM');
    for (let i = 0; i < 200 && !server.stderr().includes('stopping'); i++) await new Promise((r) => setTimeout(r, 25));
    expect(server.stderr()).toContain('stopping');
    // the listening socket closes: new connections are refused while the writes are still open
    let refused = false;
    for (let i = 0; i < 100 && !refused; i++) {
      refused = !(await canConnect(port));
      if (!refused) await new Promise((r) => setTimeout(r, 50));
    }
    expect(refused, 'new connections refused after SIGTERM').toBe(true);
    expect(server.alive()).toBe(true);

    for (const r of inFlight) r.rest();
    const answers = await Promise.all(inFlight.map((r) => r.answer));
    for (const a of answers) expect(a).toMatch(/^HTTP\/1\.1 201 /);
    // exits by the shutdown deadline (10 s) even though one client never finishes; bounded wait
    const exit = await Promise.race([server.exited, new Promise((r) => setTimeout(() => r('still running after 25 s'), 25_000))]);
    expect(exit).toEqual({ code: 0, signal: null });
    expect(await stuck.answer).not.toMatch(/^HTTP\/1\.1 2/);

    run.stop();
    const r = await run.done;
    console.log(`shutdown: ${r.requests} responses ${JSON.stringify(r.statuses)}; ${r.errors} connection errors (refused after the listener closed)`);
    // answers before and during shutdown: the load's own statuses, or 503 while closing; never another 5xx
    for (const s of Object.keys(r.statuses)) expect(['200', '403', '503'], s).toContain(s);
    expect(r.statuses['200']).toBeGreaterThan(0);
    const stored = await blog.ds.select('bookmarks', { where: { kind: 'in', column: 'id', values: [...ids, 999], negated: false }, columns: ['id'] });
    expect(stored.map((x) => x.id).sort()).toEqual(ids);
  });
});
