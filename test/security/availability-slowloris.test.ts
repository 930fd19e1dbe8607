/**
 * Slow clients (checklist §2.7 V1): many sockets that trickle header bytes, and sockets
 * that send a body one byte at a time, against a server in its own process with short
 * timeouts. Normal requests keep succeeding while they hang on, and the server itself
 * closes every slow socket once its headers or request deadline passes (the client
 * never gives up on its own).
 *
 * DFC_SLOWLORIS_SOCKETS (default 200) sets how many sockets trickle headers; a fifth as
 * many send slow bodies.
 */
import { connect, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { prepareBlog, ENV, KEYS, type BlogFiles } from './helpers/blog.js';
import { startChildServer, type Child } from './helpers/child.js';

const SLOW_HEADERS = Number(process.env.DFC_SLOWLORIS_SOCKETS ?? 200);
const SLOW_BODIES = Math.ceil(SLOW_HEADERS / 5);
const TIMEOUTS = { headers: 2_000, request: 4_000, connection: 30_000 };

let blog: BlogFiles;
let server: Child;

beforeAll(async () => {
  blog = await prepareBlog('sqlite');
  server = await startChildServer({ policy: blog.dist, baseDir: blog.work, adminToken: ENV.BLOG_ADMIN_TOKEN!, timeouts: TIMEOUTS }, blog.env);
});
afterAll(async () => {
  await server?.kill();
  await blog?.cleanup();
});

interface Slow {
  socket: Socket;
  /** Bytes the client sent. */
  sent: number;
  /** What the server answered before closing, if anything. */
  answer: string;
  /** Set when the server closed the socket (the client never closes it). */
  closedByServer: boolean;
  closed: Promise<void>;
}

/** Opens a socket that sends `first`, then one byte of `drip` every `everyMs` until the server closes it. */
function slowSocket(port: number, first: string, drip: string, everyMs: number): Promise<Slow> {
  return new Promise((ready, fail) => {
    const socket = connect(port, '127.0.0.1');
    const s: Slow = { socket, sent: 0, answer: '', closedByServer: false, closed: Promise.resolve() };
    let timer: ReturnType<typeof setInterval> | undefined;
    s.closed = new Promise((done) => {
      socket.on('close', () => {
        clearInterval(timer);
        s.closedByServer = true;
        done();
      });
    });
    socket.on('data', (c: Buffer) => (s.answer += c.toString('latin1')));
    socket.on('error', () => {});
    socket.once('connect', () => {
      socket.write(first);
      s.sent += first.length;
      let i = 0;
      timer = setInterval(() => {
        if (socket.destroyed || !socket.writable) return;
        socket.write(drip[i++ % drip.length]!);
        s.sent++;
      }, everyMs);
      ready(s);
    });
    socket.once('error', fail);
  });
}

describe('slowloris', () => {
  test('trickling headers and slow bodies do not exhaust the server, and the server closes them at its deadlines', async () => {
    const port = Number(new URL(server.url).port);
    const bookmarksBefore = await blog.ds.count('bookmarks', { kind: 'const', value: true });
    const slow: Slow[] = [];
    // Headers that never end: a request line, then one header byte every 500 ms.
    for (let i = 0; i < SLOW_HEADERS; i++) {
      slow.push(await slowSocket(port, `GET /api/v2/blog/_table/posts HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Api-Key: ${KEYS.web}\r\n`, 'X-Slow-Header-Value-abcdefghijklmnopqrstuvwxyz', 500));
    }
    // Complete headers announcing a 10 kB body that arrives one byte every 500 ms.
    const alice = await blog.token('alice', 'editor');
    const bodies: Slow[] = [];
    for (let i = 0; i < SLOW_BODIES; i++) {
      bodies.push(
        await slowSocket(
          port,
          `POST /api/v2/blog/_table/bookmarks HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Api-Key: ${KEYS.web}\r\nAuthorization: Bearer ${alice}\r\nContent-Type: application/json\r\nContent-Length: 10000\r\n\r\n{"postId": 1, "x": "`,
          'a',
          500,
        ),
      );
    }
    slow.push(...bodies);

    // Normal requests keep succeeding while the slow sockets hang on.
    let normal = 0;
    const statuses = new Set<number>();
    while (slow.some((s) => !s.closedByServer) && normal < 2_000) {
      const r = await fetch(server.url + '/api/v2/blog/_table/posts', { headers: { 'x-api-key': KEYS.web } });
      statuses.add(r.status);
      await r.arrayBuffer();
      normal++;
      await new Promise((r) => setTimeout(r, 20));
    }
    // bounded: the deadlines are seconds; the loop above ends when the server has closed them all
    await Promise.race([Promise.all(slow.map((s) => s.closed)), new Promise((r) => setTimeout(r, 20_000))]);
    const open = slow.filter((s) => !s.closedByServer).length;
    const answered = slow.filter((s) => /^HTTP\/1\.1 408/.test(s.answer)).length;
    console.log(`slowloris: ${SLOW_HEADERS} trickling headers + ${SLOW_BODIES} slow bodies; ${normal} normal requests ${JSON.stringify([...statuses])}; ${slow.length - open} closed by the server (${answered} with 408), ${open} still open`);
    expect([...statuses]).toEqual([200]);
    expect(normal).toBeGreaterThan(10);
    expect(open, 'slow sockets the server did not close').toBe(0);
    // each slow socket was still sending when the server cut it: the deadline closed it, not the client
    for (const s of slow) expect(s.sent).toBeGreaterThan(0);
    expect(server.alive()).toBe(true);
    // nothing from the cut-off bodies reached the database
    expect(await blog.ds.count('bookmarks', { kind: 'const', value: true })).toBe(bookmarksBefore);
  });
});
