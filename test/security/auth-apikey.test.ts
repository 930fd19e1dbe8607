/**
 * API-key attacks through HTTP against a listening server (checklist A5–A9): wrong,
 * truncated, case-changed and whitespace-padded keys, repeated headers, keys in the
 * query string kept out of every log line, and repeated failures rate limited (429 with
 * Retry-After) per client address, counted in memory or in Redis (shared by several
 * servers), while a valid key from another address is unaffected.
 */
import { randomUUID } from 'node:crypto';
import { SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { RedisClient } from '../../packages/runtime/src/redis.js';
import { BLOG, dump, readEnvFile, serve, type Served } from './fixtures/harness.js';
import { httpClient, withoutRequestId, type Client } from './fixtures/http.js';

const ENV = readEnvFile(BLOG);
const WEB = ENV.BLOG_WEB_KEY!;
const ADMIN = ENV.BLOG_ADMIN_KEY!;
const PARTNER = 'dev-partner-YWSRn6Wndw27i6OlH5yQEO-_aHIrx5QY';
const INVALID_KEY = '{"error":{"code":"DFC_ERR_INVALID_API_KEY","status":401,"message":"the api key is not valid","requestId":"-"}}';

const token = (id: string, role: string) =>
  new SignJWT({ id, role })
    .setProtectedHeader({ alg: 'HS256' })
    .setIssuer('https://id.blog.example.com')
    .setAudience('blog')
    .setExpirationTime('1h')
    .sign(new TextEncoder().encode(ENV.BLOG_JWT_SECRET!));

const swapCase = (s: string) => [...s].map((ch) => (ch === ch.toUpperCase() ? ch.toLowerCase() : ch.toUpperCase())).join('');

describe('API keys (examples/blog)', () => {
  let s: Served;
  let c: Client;
  let alice: string;
  beforeAll(async () => {
    s = await serve({ config: BLOG });
    c = httpClient(s.url);
    alice = await token('alice', 'editor');
  });
  afterAll(async () => {
    c?.close();
    await s?.close();
  });

  test('each app key works (the refusals below are the mutation, not the route)', async () => {
    for (const key of [WEB, ADMIN, PARTNER]) expect((await c.get('/api/v2/blog/_table/posts', { headers: { 'x-api-key': key } })).status).toBe(200);
    expect((await c.get('/api/v2/blog/_table/posts', { headers: { 'x-dreamfactory-api-key': WEB } })).status).toBe(200);
    expect((await c.get(`/api/v2/blog/_table/posts?api_key=${WEB}`)).status).toBe(200);
    // HTTP strips optional whitespace (space, tab) around a header value: not part of the key
    expect((await c.get('/api/v2/blog/_table/posts', { headers: { 'x-api-key': ` ${WEB}\t ` } })).status).toBe(200);
  });

  test('wrong, truncated, extended, case-changed and whitespace-mangled keys: one 401 body, nothing read or written', async () => {
    const before = JSON.stringify(await dump(s));
    const mutations: [string, string][] = [
      ['another random key', `dev-web-${randomUUID()}`],
      ['last character dropped', WEB.slice(0, -1)],
      ['first half', WEB.slice(0, WEB.length / 2)],
      ['prefix only', 'dev-web-'],
      ['one character appended', `${WEB}x`],
      ['doubled', `${WEB}${WEB}`],
      ['upper case', WEB.toUpperCase()],
      ['lower case', WEB.toLowerCase()],
      ['case swapped', swapCase(WEB)],
      ['one character changed', `${WEB.slice(0, 10)}${WEB[10] === 'a' ? 'b' : 'a'}${WEB.slice(11)}`],
      ['a space inside', `${WEB.slice(0, 10)} ${WEB.slice(10)}`],
      ['a tab inside', `${WEB.slice(0, 10)}\t${WEB.slice(10)}`],
      ['no-break space after', `${WEB}\u00a0`],
      ['no-break space before', `\u00a0${WEB}`],
      ['two keys joined with a comma', `${WEB}, ${ADMIN}`],
      ['quoted', `"${WEB}"`],
      ['the partner key’s stored sha256', '4ef02a58e28326c5d161d77f1997a4e7c1a14a170e5176316657334ce70c05ba'],
      ['the admin token', ENV.BLOG_ADMIN_TOKEN!],
      ['the JWT secret', ENV.BLOG_JWT_SECRET!],
      ['a session token', alice],
      ['9 KB long', WEB + 'x'.repeat(9000)],
      ['a single character', 'x'],
      ['the environment variable name', 'BLOG_WEB_KEY'],
    ];
    let n = 0;
    for (const [name, key] of mutations) {
      const carriers: [string, { headers?: Record<string, string>; qs?: string }][] = [
        ['x-api-key', { headers: { 'x-api-key': key } }],
        ['x-dreamfactory-api-key', { headers: { 'x-dreamfactory-api-key': key } }],
        ['api_key', { qs: `api_key=${encodeURIComponent(key)}` }],
      ];
      for (const [carrier, o] of carriers) {
        if (o.qs && o.qs.length > 6000) continue;
        const read = await c.get(`/api/v2/blog/_table/posts${o.qs ? `?${o.qs}` : ''}`, { headers: o.headers ?? {} });
        expect(read.status, `${name} in ${carrier}`).toBe(401);
        expect(withoutRequestId(read.text), `${name} in ${carrier}`).toBe(INVALID_KEY);
        const write = await c.request('PATCH', `/api/v2/blog/_table/posts/1${o.qs ? `?${o.qs}` : ''}`, { headers: { ...(o.headers ?? {}), authorization: `Bearer ${alice}` }, body: { title: 'taken over' } });
        expect(withoutRequestId(write.text), `${name} in ${carrier}`).toBe(INVALID_KEY);
        n += 2;
      }
    }
    // an empty key is no key at all, or an invalid one; never access
    for (const h of [{ 'x-api-key': '' }, { 'x-api-key': ' ' }]) expect((await c.get('/api/v2/blog/_table/posts', { headers: h })).status).toBe(401);
    expect((await c.get('/api/v2/blog/_table/posts?api_key=')).status).toBe(401);
    console.log(`${mutations.length} key mutations, ${n} requests, each refused with one identical 401 body`);
    expect(JSON.stringify(await dump(s))).toBe(before);
  });

  test('a repeated key header, or keys in two places that differ, is a 400', async () => {
    const cases: [string, Record<string, string | string[]>, string][] = [
      ['X-Api-Key twice, same value', { 'x-api-key': [WEB, WEB] }, ''],
      ['X-Api-Key twice, wrong first', { 'x-api-key': ['wrong', ADMIN] }, ''],
      ['X-Api-Key twice, right first', { 'x-api-key': [ADMIN, 'wrong'] }, ''],
      ['X-Api-Key and X-DreamFactory-API-Key differ', { 'x-api-key': WEB, 'x-dreamfactory-api-key': ADMIN }, ''],
      ['header and query differ', { 'x-api-key': WEB }, `?api_key=${ADMIN}`],
      ['api_key twice', {}, `?api_key=${WEB}&api_key=${WEB}`],
      ['api_key twice, differing', {}, `?api_key=wrong&api_key=${ADMIN}`],
    ];
    for (const [name, headers, qs] of cases) {
      const r = await c.get(`/api/v2/blog/_table/users${qs}`, { headers: { ...headers, authorization: `Bearer ${alice}` } });
      expect(r.status, name).toBe(400);
      expect(r.json().error.code, name).toMatch(/^DFC_ERR_DUPLICATE_(CREDENTIALS|PARAMETER)$/);
      expect(r.json()).not.toHaveProperty('resource');
    }
  });
});

describe('credentials in the query string never reach a log line', () => {
  let s: Served;
  let c: Client;
  const lines: string[] = [];
  beforeAll(async () => {
    s = await serve({ config: BLOG, server: { logger: { level: 'trace' }, logStream: { write: (l: string) => void lines.push(l) } } });
    c = httpClient(s.url);
  });
  afterAll(async () => {
    c?.close();
    await s?.close();
  });

  test('valid and invalid keys and tokens, on found, refused and unknown routes, in any spelling of the parameter', async () => {
    const good = await token('alice', 'editor');
    const canaryKey = `canary-key-${randomUUID()}`;
    const canaryToken = `canary.token.${randomUUID()}`;
    const secrets = [WEB, ADMIN, good, canaryKey, canaryToken];
    const urls = [
      `/api/v2/blog/_table/posts?api_key=${WEB}`,
      `/api/v2/blog/_table/posts?api_key=${canaryKey}`,
      `/api/v2/blog/_table/users?api_key=${WEB}&session_token=${good}`,
      `/api/v2/blog/_table/users?api_key=${WEB}&session_token=${canaryToken}`,
      `/api/v2/blog/_table/nope?api_key=${ADMIN}`,
      `/api/v2/nope/_table/posts?api_key=${ADMIN}&filter=id%3D1`,
      `/nope?api_key=${ADMIN}&session_token=${good}`,
      `/api/v2/blog/_table/posts?filter=${encodeURIComponent("title = 'x'")}&api_key=${WEB}&order=id`,
      `/api/v2/blog/_table/posts?API_KEY=${WEB}`,
      `/api/v2/blog/_table/posts?api%5Fkey=${WEB}`,
      `/api/v2/blog/_table/posts?%61pi_key=${ADMIN}`,
      `/api/v2/blog/_table/posts?session%5Ftoken=${good}&api_key=${WEB}`,
      `/api/v2/blog/_table/posts?api_key=${encodeURIComponent(WEB).replace(/-/g, '%2D')}`,
      `/api/v2/blog/_table/posts?x=1&&api_key=${WEB}`,
      `/api/v2/blog/_table/posts?api_key=${WEB}&api_key=${ADMIN}`,
      `/api/v2/blog/_table/posts/999?api_key=${WEB}`,
      `/api/v2/blog/_table/posts?api_key=${WEB}&limit=bad`,
    ];
    const bodies: string[] = [];
    for (const u of urls) {
      const r = await c.get(u);
      expect(r.status, u).toBeLessThan(500);
      bodies.push(r.text);
    }
    const del = await c.request('DELETE', `/api/v2/blog/_table/posts/1?api_key=${WEB}&session_token=${good}`);
    bodies.push(del.text);
    await new Promise((r) => setTimeout(r, 50));
    expect(lines.length).toBeGreaterThan(urls.length);
    const text = lines.join('');
    const encodedWeb = encodeURIComponent(WEB).replace(/-/g, '%2D');
    for (const secret of [...secrets, encodedWeb]) {
      expect(text.includes(secret), `a log line holds ${secret.slice(0, 12)}…`).toBe(false);
      for (const b of bodies) expect(b.includes(secret), `a response holds ${secret.slice(0, 12)}…`).toBe(false);
    }
    // the request lines are still there, with the value redacted
    expect(text).toContain('[redacted]');
    console.log(`${urls.length + 1} requests with query credentials, ${lines.length} log lines at level trace, no credential in any`);
  });
});

describe('repeated authentication failures are rate limited per client address', () => {
  const redisPrefix = `dfc:test:${randomUUID()}:`;
  afterAll(async () => {
    const r = new RedisClient('redis://127.0.0.1:6379');
    const keys = (await r.command(['KEYS', `${redisPrefix}*`])) as string[];
    if (keys.length > 0) await r.command(['DEL', ...keys]);
    await r.close();
  });

  const MAX = 8;
  for (const store of ['memory', 'redis'] as const) {
    test(`${store}: ${MAX} failures, then 429 with Retry-After for that address only`, async () => {
      const limits = { max: MAX, windowMs: 60_000, ...(store === 'redis' ? { redis: 'redis://127.0.0.1:6379/0', redisPrefix } : { redis: false as const }) };
      // two servers: with Redis the counter is shared between them
      const a = await serve({ config: BLOG, server: { authFailures: limits } });
      const b = await serve({ config: BLOG, server: { authFailures: limits } });
      const fromA = httpClient(a.url);
      const fromB = httpClient(b.url);
      const otherAddress = httpClient(a.url, { localAddress: '127.0.0.2' });
      try {
        const good = await token('alice', 'editor');
        // failures of both kinds count: bad keys and bad tokens
        for (let i = 0; i < MAX; i++) {
          const r = i % 2 === 0
            ? await fromA.get('/api/v2/blog/_table/posts', { headers: { 'x-api-key': `wrong-${i}` } })
            : await fromA.get('/api/v2/blog/_table/users/alice', { headers: { 'x-api-key': WEB, authorization: `Bearer ${good}x` } });
          expect(r.status, `attempt ${i}`).toBe(401);
        }
        const blocked = await fromA.get('/api/v2/blog/_table/posts', { headers: { 'x-api-key': 'wrong-again' } });
        expect(blocked.status).toBe(429);
        expect(blocked.json().error.code).toBe('DFC_ERR_RATE_LIMITED');
        const retry = Number(blocked.headers['retry-after']);
        expect(retry).toBeGreaterThan(0);
        expect(retry).toBeLessThanOrEqual(60);
        // the blocked address gets no data even with valid credentials
        const valid = await fromA.get('/api/v2/blog/_table/users/alice', { headers: { 'x-api-key': WEB, authorization: `Bearer ${good}` } });
        expect(valid.status).toBe(429);
        expect(valid.text).not.toContain('alice@example.com');
        // another address is unaffected
        const other = await otherAddress.get('/api/v2/blog/_table/users/alice', { headers: { 'x-api-key': WEB, authorization: `Bearer ${good}` } });
        expect(other.status).toBe(200);
        expect(other.json().email).toBe('alice@example.com');
        // the second server: blocked too when the counter is shared, not when each counts alone
        const second = await fromB.get('/api/v2/blog/_table/posts', { headers: { 'x-api-key': WEB } });
        expect(second.status).toBe(store === 'redis' ? 429 : 200);
        console.log(`${store}: ${MAX} failures from 127.0.0.1 → 429 (Retry-After ${retry}); 127.0.0.2 unaffected; second server ${second.status}`);
      } finally {
        fromA.close();
        fromB.close();
        otherAddress.close();
        await a.close();
        await b.close();
      }
    });
  }

  test('DFC_RATE_LIMIT_REDIS_URL selects the shared store', async () => {
    const prefixEnv = `${redisPrefix}env:`;
    const a = await serve({ config: BLOG, env: { DFC_RATE_LIMIT_REDIS_URL: 'redis://127.0.0.1:6379/0' }, server: { authFailures: { max: 2, windowMs: 60_000, redisPrefix: prefixEnv } } });
    const c = httpClient(a.url);
    try {
      for (let i = 0; i < 2; i++) expect((await c.get('/api/v2/blog/_table/posts', { headers: { 'x-api-key': 'wrong' } })).status).toBe(401);
      expect((await c.get('/api/v2/blog/_table/posts', { headers: { 'x-api-key': 'wrong' } })).status).toBe(429);
      const r = new RedisClient('redis://127.0.0.1:6379');
      expect(await r.command(['GET', `${prefixEnv}127.0.0.1`])).toBe('2');
      await r.close();
    } finally {
      c.close();
      await a.close();
    }
  });
});
