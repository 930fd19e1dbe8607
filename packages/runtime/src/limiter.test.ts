/**
 * The Redis client and the shared failure limiter, against the real Redis on
 * 127.0.0.1:6379 (and small local TCP servers for a silent or closing peer).
 */
import { randomUUID } from 'node:crypto';
import net from 'node:net';
import { afterAll, describe, expect, test } from 'vitest';
import { redisFailureLimiter } from './limiter.js';
import { RedisClient, RedisReplyError } from './redis.js';
import { DfcError } from './errors.js';

const URL_ = 'redis://127.0.0.1:6379/0';
const prefix = `dfc:test:${randomUUID()}:`;
const clients: RedisClient[] = [];
const client = (url = URL_, opts = {}) => {
  const c = new RedisClient(url, opts);
  clients.push(c);
  return c;
};
afterAll(async () => {
  const c = client();
  const keys = (await c.command(['KEYS', `${prefix}*`])) as string[];
  if (keys.length > 0) await c.command(['DEL', ...keys]);
  for (const x of clients) await x.close();
});

async function tcpServer(onSocket: (s: net.Socket) => void): Promise<{ url: string; close(): Promise<void>; connections: () => number }> {
  let n = 0;
  const sockets = new Set<net.Socket>();
  const server = net.createServer((s) => {
    n++;
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
    onSocket(s);
  });
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  const { port } = server.address() as net.AddressInfo;
  return {
    url: `redis://127.0.0.1:${port}`,
    connections: () => n,
    close: () =>
      new Promise<void>((done) => {
        for (const s of sockets) s.destroy();
        server.close(() => done());
      }),
  };
}

describe('RedisClient', () => {
  test('strings, integers, nulls, arrays and errors', async () => {
    const c = client();
    const k = `${prefix}s`;
    const v = 'line one\r\nline two: é 😀 $3\r\n*1';
    expect(await c.command(['SET', k, v])).toBe('OK');
    expect(await c.command(['GET', k])).toBe(v);
    expect(await c.command(['GET', `${prefix}missing`])).toBeNull();
    expect(await c.command(['INCR', `${prefix}n`])).toBe(1);
    expect(await c.command(['MGET', k, `${prefix}missing`, `${prefix}n`])).toEqual([v, null, '1']);
    await expect(c.command(['INCR', k])).rejects.toBeInstanceOf(RedisReplyError);
    // the connection is still in step after an error reply
    expect(await c.command(['GET', `${prefix}n`])).toBe('1');
  });

  test('pipelined commands are answered in order', async () => {
    const c = client();
    const k = `${prefix}p`;
    const results = await Promise.all(Array.from({ length: 500 }, () => c.command(['INCR', k])));
    expect(results).toEqual(Array.from({ length: 500 }, (_, i) => i + 1));
  });

  test('a refused connection fails the command; the next command connects again', async () => {
    const down = await tcpServer(() => {});
    const url = down.url;
    await down.close();
    const c = client(url, { connectTimeoutMs: 500 });
    await expect(c.command(['PING'])).rejects.toThrow();
    // a server that answers PING on the same port now
    const port = Number(new URL(url).port);
    const up = net.createServer((s) => s.on('data', () => s.write('+PONG\r\n')));
    await new Promise<void>((done) => up.listen(port, '127.0.0.1', done));
    try {
      expect(await c.command(['PING'])).toBe('PONG');
    } finally {
      await c.close();
      await new Promise<void>((done) => up.close(() => done()));
    }
  });

  test('a peer that never answers fails the command in time and drops the connection', async () => {
    const silent = await tcpServer(() => {});
    try {
      const c = client(silent.url, { commandTimeoutMs: 200 });
      await expect(c.command(['PING'])).rejects.toThrow(/did not answer/);
      await expect(c.command(['PING'])).rejects.toThrow(/did not answer/);
      expect(silent.connections()).toBe(2);
    } finally {
      await silent.close();
    }
  });

  test('a peer that closes the connection fails what is pending', async () => {
    const closing = await tcpServer((s) => s.on('data', () => s.destroy()));
    try {
      const c = client(closing.url);
      await expect(Promise.all([c.command(['PING']), c.command(['PING'])])).rejects.toThrow();
    } finally {
      await closing.close();
    }
  });

  test('bad urls are refused with a clear error', () => {
    for (const u of ['not a url', 'http://127.0.0.1:6379', 'redis://127.0.0.1/x']) {
      expect(() => new RedisClient(u), u).toThrow(DfcError);
    }
  });
});

describe('redisFailureLimiter', () => {
  test('blocks a client after max failures in the window, with the seconds left; others are unaffected', async () => {
    const l = redisFailureLimiter({ url: URL_, max: 3, windowMs: 60_000, prefix });
    try {
      for (let i = 0; i < 3; i++) {
        expect(await l.blockedFor('10.0.0.1')).toBe(0);
        await l.fail('10.0.0.1');
      }
      const wait = await l.blockedFor('10.0.0.1');
      expect(wait).toBeGreaterThan(55);
      expect(wait).toBeLessThanOrEqual(60);
      expect(await l.blockedFor('10.0.0.2')).toBe(0);
      expect(l.fallbacks).toBe(0);
    } finally {
      await l.close();
    }
  });

  test('counters are shared by every limiter on the same Redis (several processes)', async () => {
    const a = redisFailureLimiter({ url: URL_, max: 4, windowMs: 60_000, prefix });
    const b = redisFailureLimiter({ url: URL_, max: 4, windowMs: 60_000, prefix });
    try {
      await Promise.all([a.fail('shared'), b.fail('shared'), a.fail('shared')]);
      expect(await b.blockedFor('shared')).toBe(0);
      await b.fail('shared');
      expect(await a.blockedFor('shared')).toBeGreaterThan(0);
      expect(await b.blockedFor('shared')).toBeGreaterThan(0);
    } finally {
      await a.close();
      await b.close();
    }
  });

  test('the window ends: the counter expires in Redis', async () => {
    const l = redisFailureLimiter({ url: URL_, max: 1, windowMs: 150, prefix });
    try {
      await l.fail('short');
      expect(await l.blockedFor('short')).toBe(1);
      await new Promise((r) => setTimeout(r, 300));
      expect(await l.blockedFor('short')).toBe(0);
      expect(await client().command(['EXISTS', `${prefix}short`])).toBe(0);
    } finally {
      await l.close();
    }
  });

  test('without Redis the process keeps limiting on its own', async () => {
    const down = await tcpServer(() => {});
    const url = down.url;
    await down.close();
    const l = redisFailureLimiter({ url, max: 2, windowMs: 60_000, connectTimeoutMs: 200 });
    try {
      await l.fail('x');
      await l.fail('x');
      expect(await l.blockedFor('x')).toBeGreaterThan(0);
      expect(await l.blockedFor('y')).toBe(0);
      expect(l.fallbacks).toBe(4);
    } finally {
      await l.close();
    }
  });
});
