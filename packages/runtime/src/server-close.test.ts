/**
 * `close()` of the standalone server: requests in flight finish, but only up to the
 * shutdown deadline, so a client that never finishes its request cannot keep the
 * process from stopping.
 */
import { connect } from 'node:net';
import { expect, test } from 'vitest';
import { createServer } from './server.js';
import { makeArtifact, makePolicy } from './testing.js';

test('a request that never completes is cut at the shutdown deadline and close() resolves', async () => {
  const server = await createServer({ policy: makeArtifact(makePolicy({})), env: {}, logger: false, admin: false, port: 0, timeouts: { shutdown: 300 } });
  const { url } = await server.listen();
  const socket = connect(Number(new URL(url).port), '127.0.0.1');
  const closed = new Promise<void>((done) => socket.on('close', () => done()));
  socket.on('error', () => {});
  // headers and part of a body: a request in flight that will never finish
  await new Promise<void>((done) => socket.write('POST /api/v2/x/_table/t HTTP/1.1\r\nHost: a\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"a"', () => done()));
  await new Promise((r) => setTimeout(r, 50));
  await server.close();
  await closed;
  expect(socket.destroyed).toBe(true);
});

test('a client that trickles its headers is closed soon after the headers deadline, not at Node\'s 30 s check', async () => {
  const server = await createServer({ policy: makeArtifact(makePolicy({})), env: {}, logger: false, admin: false, port: 0, timeouts: { headers: 300, request: 600 } });
  const { url } = await server.listen();
  const socket = connect(Number(new URL(url).port), '127.0.0.1');
  let answer = '';
  socket.on('data', (c: Buffer) => (answer += c.toString('latin1')));
  socket.on('error', () => {});
  let closed = false;
  const done = new Promise<void>((resolve) => socket.on('close', () => ((closed = true), resolve())));
  socket.write('GET /api/v2/x/_table/t HTTP/1.1\r\nHost: a\r\n');
  const drip = setInterval(() => socket.writable && socket.write('x'), 100);
  // bounded wait: well past the 300 ms deadline plus the 1 s check, far below Node's default 30 s
  await Promise.race([done, new Promise((r) => setTimeout(r, 5_000))]);
  clearInterval(drip);
  expect(closed).toBe(true);
  expect(answer).toMatch(/^HTTP\/1\.1 408/);
  socket.destroy();
  await server.close();
});
