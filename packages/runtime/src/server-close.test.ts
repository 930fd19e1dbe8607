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
