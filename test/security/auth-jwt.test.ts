/**
 * Session-token attacks through HTTP against a listening server (checklist A1–A4, A8,
 * A10, Appendix B.2): examples/blog with its HS256 secret, the same policy switched to
 * an RS256 public key, and to a JWKS URL served on 127.0.0.1 that rotates its keys.
 *
 * Every mutated token answers 401 with one body, byte-identical apart from the request
 * id, on every route and in every place a token may be sent; none of them reads a row or
 * changes one (the database is compared with a snapshot afterwards).
 */
import { createHmac, generateKeyPairSync, randomUUID, type KeyObject } from 'node:crypto';
import { createServer as createHttpServer, type Server } from 'node:http';
import { SignJWT, base64url, exportJWK, type JWK } from 'jose';
import { afterAll, afterEach, beforeAll, describe, expect, test, vi } from 'vitest';
import { DfcError } from '@dfc/runtime';
import { BLOG, dump, readEnvFile, serve, type Served } from './fixtures/harness.js';
import { httpClient, withoutRequestId, type Client, type Response } from './fixtures/http.js';

const ENV = readEnvFile(BLOG);
const SECRET = new TextEncoder().encode(ENV.BLOG_JWT_SECRET!);
const ISS = 'https://id.blog.example.com';
const now = () => Math.floor(Date.now() / 1000);
const enc = (v: unknown) => base64url.encode(JSON.stringify(v));
const INVALID = '{"error":{"code":"DFC_ERR_INVALID_TOKEN","status":401,"message":"the session token is not valid","requestId":"-"}}';

const claims = (extra: Record<string, unknown> = {}) => ({ id: 'alice', role: 'editor', sub: 'alice', iss: ISS, aud: 'blog', iat: now(), exp: now() + 600, jti: randomUUID(), ...extra });

/** HS256 over any header and payload text with any key (no signer-side checks). */
function hmac(header: unknown, payload: unknown, key: Uint8Array | string = SECRET, hash = 'sha256'): string {
  const input = `${enc(header)}.${typeof payload === 'string' && payload.startsWith('raw:') ? payload.slice(4) : enc(payload)}`;
  return `${input}.${createHmac(hash, key).update(input).digest('base64url')}`;
}

function sign(payload: Record<string, unknown>, alg: string, key: KeyObject | Uint8Array, header: Record<string, unknown> = {}): Promise<string> {
  return new SignJWT(payload).setProtectedHeader({ alg, ...header }).sign(key);
}

const flip = (s: string, at = 5) => s.slice(0, at) + (s[at] === 'A' ? 'B' : 'A') + s.slice(at + 1);

/** The requests each token is tried on: a session-only read, an owner-only write, a forced-owner read. */
async function attempts(c: Client, token: string, carriers: ('authorization' | 'x-dreamfactory-session-token' | 'query')[]): Promise<[string, Response][]> {
  const out: [string, Response][] = [];
  const key = { 'x-api-key': ENV.BLOG_WEB_KEY! };
  for (const carrier of carriers) {
    const h: Record<string, string> = { ...key };
    let qs = '';
    if (carrier === 'authorization') h.authorization = `Bearer ${token}`;
    else if (carrier === 'x-dreamfactory-session-token') h['x-dreamfactory-session-token'] = token;
    else qs = `?session_token=${encodeURIComponent(token)}`;
    const sep = qs ? '&' : '?';
    out.push([`GET users/alice via ${carrier}`, await c.get(`/api/v2/blog/_table/users/alice${qs}`, { headers: h })]);
    out.push([`GET bookmarks via ${carrier}`, await c.get(`/api/v2/blog/_table/bookmarks${qs}${sep}order=id`, { headers: h })]);
    out.push([`PATCH posts/1 via ${carrier}`, await c.request('PATCH', `/api/v2/blog/_table/posts/1${qs}`, { headers: h, body: { title: 'taken over' } })]);
  }
  return out;
}

function expectAllRefused(results: [string, [string, Response][]][]): void {
  let n = 0;
  for (const [name, rs] of results) {
    for (const [what, r] of rs) {
      expect(r.status, `${name}: ${what}`).toBe(401);
      expect(withoutRequestId(r.text), `${name}: ${what}`).toBe(INVALID);
      n++;
    }
  }
  console.log(`${results.length} token mutations, ${n} requests, each refused with one identical 401 body`);
}

describe('HS256 session tokens (examples/blog)', () => {
  let s: Served;
  let c: Client;
  beforeAll(async () => {
    s = await serve({ config: BLOG });
    c = httpClient(s.url);
  });
  afterAll(async () => {
    c?.close();
    await s?.close();
  });

  test('a valid token reaches every target (the attacks below aim at something real)', async () => {
    const token = await sign(claims(), 'HS256', SECRET);
    const r = await c.get('/api/v2/blog/_table/users/alice', { headers: { 'x-api-key': ENV.BLOG_WEB_KEY!, authorization: `Bearer ${token}` } });
    expect(r.status).toBe(200);
    expect(r.json().id).toBe('alice');
    const b = await c.get('/api/v2/blog/_table/bookmarks', { headers: { 'x-api-key': ENV.BLOG_WEB_KEY!, 'x-dreamfactory-session-token': token } });
    expect(b.json().resource.map((x: { id: number }) => x.id)).toEqual([1]);
    // without a session the same routes refuse with another code (so a 401 below is the token's)
    const anon = await c.get('/api/v2/blog/_table/users/alice', { headers: { 'x-api-key': ENV.BLOG_WEB_KEY! } });
    expect(anon.json().error.code).toBe('DFC_ERR_AUTH_REQUIRED');
  });

  test('≥ 30 token mutations: each one 401 with the same body, in every carrier, nothing read or written', async () => {
    const before = JSON.stringify(await dump(s));
    const good = await sign(claims(), 'HS256', SECRET);
    const [h, p, sig] = good.split('.') as [string, string, string];
    const other = await sign(claims({ id: 'bob' }), 'HS256', SECRET);
    const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const pem = rsa.publicKey.export({ type: 'spki', format: 'pem' }).toString();
    const attackerJwk = await exportJWK(ec.publicKey);
    const base = claims();
    const noClaim = (name: string) => {
      const c2: Record<string, unknown> = claims();
      delete c2[name];
      return c2;
    };
    const mutations: [string, string][] = [
      ['alg none, no signature', `${enc({ alg: 'none', typ: 'JWT' })}.${p}.`],
      ['alg none with the original signature', `${enc({ alg: 'none' })}.${p}.${sig}`],
      ['alg None', `${enc({ alg: 'None' })}.${p}.`],
      ['alg NONE', `${enc({ alg: 'NONE' })}.${p}.`],
      ['alg nOnE', `${enc({ alg: 'nOnE' })}.${p}.`],
      ['empty signature', `${h}.${p}.`],
      ['truncated signature', `${h}.${p}.${sig.slice(0, -6)}`],
      ['one signature character altered', `${h}.${p}.${flip(sig)}`],
      ['signature of another token', `${h}.${p}.${other.split('.')[2]}`],
      ['payload edited after signing (role admin)', `${h}.${enc({ ...base, role: 'admin' })}.${sig}`],
      ['payload edited after signing (another user)', `${h}.${enc({ ...base, id: 'bob', sub: 'bob' })}.${sig}`],
      ['header edited after signing (kid added)', `${enc({ alg: 'HS256', kid: 'k1' })}.${p}.${sig}`],
      ['signed with another secret', await sign(claims(), 'HS256', new TextEncoder().encode('another-secret-that-is-long-enough-0123456789'))],
      ['signed with an empty secret', hmac({ alg: 'HS256' }, claims(), '')],
      ['HS384 with the right secret', await sign(claims(), 'HS384', SECRET)],
      ['HS512 with the right secret', await sign(claims(), 'HS512', SECRET)],
      ['RS256 with a fresh key', await sign(claims(), 'RS256', rsa.privateKey)],
      ['PS256 with a fresh key', await sign(claims(), 'PS256', rsa.privateKey)],
      ['ES256 with a fresh key', await sign(claims(), 'ES256', ec.privateKey)],
      ['HS256 keyed with an RSA public key PEM', hmac({ alg: 'HS256' }, claims(), pem)],
      ['no exp', hmac({ alg: 'HS256' }, noClaim('exp'))],
      ['expired an hour ago', await sign(claims({ exp: now() - 3600 }), 'HS256', SECRET)],
      ['expired just past the tolerance', await sign(claims({ exp: now() - 45 }), 'HS256', SECRET)],
      ['exp as a string', hmac({ alg: 'HS256' }, claims({ exp: String(now() + 600) }))],
      ['exp negative', hmac({ alg: 'HS256' }, claims({ exp: -1 }))],
      ['exp null', hmac({ alg: 'HS256' }, claims({ exp: null }))],
      ['nbf an hour ahead', await sign(claims({ nbf: now() + 3600 }), 'HS256', SECRET)],
      ['iat an hour in the future', await sign(claims({ iat: now() + 3600 }), 'HS256', SECRET)],
      ['iat a day in the future', await sign(claims({ iat: now() + 86_400 }), 'HS256', SECRET)],
      ['iat as a string', hmac({ alg: 'HS256' }, claims({ iat: String(now()) }))],
      ['wrong iss', await sign(claims({ iss: 'https://evil.example' }), 'HS256', SECRET)],
      ['no iss', hmac({ alg: 'HS256' }, noClaim('iss'))],
      ['iss as an array', hmac({ alg: 'HS256' }, claims({ iss: [ISS] }))],
      ['wrong aud', await sign(claims({ aud: 'other-app' }), 'HS256', SECRET)],
      ['no aud', hmac({ alg: 'HS256' }, noClaim('aud'))],
      ['aud array without ours', await sign(claims({ aud: ['a', 'b'] }), 'HS256', SECRET)],
      ['unknown crit extension', hmac({ alg: 'HS256', crit: ['x-unknown'], 'x-unknown': true }, claims())],
      ['crit not an array', hmac({ alg: 'HS256', crit: 'exp' }, claims())],
      ['b64 false', hmac({ alg: 'HS256', b64: false, crit: ['b64'] }, claims())],
      ['embedded jwk of an attacker key', await sign(claims(), 'ES256', ec.privateKey, { jwk: attackerJwk })],
      ['jku pointing at an attacker', await sign(claims(), 'ES256', ec.privateKey, { jku: 'http://127.0.0.1:1/jwks.json', kid: 'a' })],
      ['x5u pointing at an attacker', await sign(claims(), 'ES256', ec.privateKey, { x5u: 'http://127.0.0.1:1/cert.pem' })],
      ['JWE-shaped (five segments)', `${enc({ alg: 'dir', enc: 'A256GCM' })}..${base64url.encode('iv-iv-iv-iv')}.${p}.${base64url.encode('tag-tag-tag-tag!')}`],
      ['two segments', `${h}.${p}`],
      ['four segments', `${h}.${p}.${sig}.${sig}`],
      ['one segment', h],
      ['oversized (9 KB claim, correctly signed)', await sign(claims({ pad: 'x'.repeat(9000) }), 'HS256', SECRET)],
      ['base64 padding added', `${h}.${p}=.${sig}`],
      ['non-base64url characters', `${h}.${p.slice(0, 10)}+/${p.slice(12)}.${sig}`],
      ['standard base64 signature', `${h}.${p}.${Buffer.from(sig, 'base64url').toString('base64')}`.replace(/=+$/, '') + '+/'],
      ['payload is an array', hmac({ alg: 'HS256' }, [claims()])],
      ['payload is a string', hmac({ alg: 'HS256' }, 'a string')],
      ['payload is null', hmac({ alg: 'HS256' }, null)],
      ['payload is not JSON', hmac({ alg: 'HS256' }, `raw:${base64url.encode('{"id":"alice",')}`)],
      ['header is not JSON', `${base64url.encode('{"alg":"HS256"')}.${p}.${sig}`],
      ['JSON serialization', JSON.stringify({ payload: p, protected: h, signature: sig })],
      ['a random word', 'not-a-token'],
    ];
    expect(new Set(mutations.map(([n]) => n)).size).toBe(mutations.length);
    expect(new Set(mutations.map(([, t]) => t)).size).toBe(mutations.length);
    expect(mutations.length).toBeGreaterThanOrEqual(30);
    const results: [string, [string, Response][]][] = [];
    for (const [name, token] of mutations) {
      // the query string carries what fits in a URL
      const carriers = token.length < 6000 ? (['authorization', 'x-dreamfactory-session-token', 'query'] as const) : (['authorization', 'x-dreamfactory-session-token'] as const);
      results.push([name, await attempts(c, token, [...carriers])]);
    }
    expectAllRefused(results);
    expect(JSON.stringify(await dump(s))).toBe(before);
  });

  test('a role claim that is not exactly a role of the app grants nothing beyond the app default', async () => {
    const before = JSON.stringify(await dump(s));
    const key = { 'x-api-key': ENV.BLOG_WEB_KEY! };
    for (const role of ['__proto__', 'constructor', 'toString', 'hasOwnProperty', 'admin', 'ADMIN', 'Editor', 'editor ', ' editor', 'еditor', 'editor\u200b', ['editor'], { name: 'editor' }, null, 1]) {
      const token = await sign(claims({ role }), 'HS256', SECRET);
      const h = { ...key, authorization: `Bearer ${token}` };
      const patch = await c.request('PATCH', '/api/v2/blog/_table/posts/1', { headers: h, body: { title: 'taken over' } });
      expect(patch.status, JSON.stringify(role)).toBe(403);
      expect(patch.json().error.code).toBe('DFC_ERR_ACCESS_DENIED');
      const del = await c.request('DELETE', '/api/v2/blog/_table/posts/3', { headers: h });
      expect(del.status, JSON.stringify(role)).toBe(403);
      // the web app's default role (reader) has no bookmarks at all
      expect((await c.get('/api/v2/blog/_table/bookmarks', { headers: h })).status).toBe(403);
    }
    expect(({} as Record<string, unknown>).role).toBeUndefined();
    expect(JSON.stringify(await dump(s))).toBe(before);
  });

  test('duplicate or conflicting session credentials are a 400, never tried in turn', async () => {
    const before = JSON.stringify(await dump(s));
    const good = await sign(claims(), 'HS256', SECRET);
    const bad = `${good.slice(0, -3)}AAA`;
    const key = { 'x-api-key': ENV.BLOG_WEB_KEY! };
    const cases: [string, string, RequestInit_][] = [
      ['two Authorization headers (both valid)', '', { authorization: [`Bearer ${good}`, `Bearer ${good}`] }],
      ['two Authorization headers (bad first)', '', { authorization: [`Bearer ${bad}`, `Bearer ${good}`] }],
      ['two Authorization headers (good first)', '', { authorization: [`Bearer ${good}`, `Bearer ${bad}`] }],
      ['Authorization and the DreamFactory header disagree', '', { authorization: `Bearer ${good}`, 'x-dreamfactory-session-token': bad }],
      ['Authorization and session_token disagree', `?session_token=${bad}`, { authorization: `Bearer ${good}` }],
      ['the DreamFactory header twice', '', { 'x-dreamfactory-session-token': [good, bad] }],
      ['session_token twice', `?session_token=${good}&session_token=${good}`, {}],
      ['two X-Api-Key headers', '', { 'x-api-key': [ENV.BLOG_WEB_KEY!, ENV.BLOG_ADMIN_KEY!], authorization: `Bearer ${good}` }],
      ['X-Api-Key and X-DreamFactory-API-Key disagree', '', { 'x-dreamfactory-api-key': ENV.BLOG_ADMIN_KEY!, authorization: `Bearer ${good}` }],
      ['X-Api-Key and api_key disagree', `?api_key=${ENV.BLOG_ADMIN_KEY}`, { authorization: `Bearer ${good}` }],
    ];
    for (const [name, qs, headers] of cases) {
      const h = { ...key, ...headers };
      const r = await c.get(`/api/v2/blog/_table/users/alice${qs}`, { headers: h });
      expect(r.status, name).toBe(400);
      expect(r.json().error.code, name).toMatch(/^DFC_ERR_DUPLICATE_(CREDENTIALS|PARAMETER)$/);
      expect(r.text, name).not.toContain('alice@example.com');
      const w = await c.request('PATCH', `/api/v2/blog/_table/posts/1${qs}`, { headers: h, body: { title: 'taken over' } });
      expect(w.status, name).toBe(400);
    }
    expect(JSON.stringify(await dump(s))).toBe(before);
  });

  test('malformed Authorization headers are a 401 that reads nothing', async () => {
    const good = await sign(claims(), 'HS256', SECRET);
    for (const v of ['Basic YWxpY2U6cGFzcw==', `Bearer  ${good}`, 'Bearer', 'Bearer ', `Token ${good}`, `Bearer ${good} extra`, `Bearer\t${good}`, `${good}`]) {
      const r = await c.get('/api/v2/blog/_table/users/alice', { headers: { 'x-api-key': ENV.BLOG_WEB_KEY!, authorization: v } });
      expect(r.status, v).toBe(401);
      expect(r.json().error.code, v).toBe('DFC_ERR_INVALID_TOKEN');
    }
    // the scheme is case-insensitive (RFC 7235)
    const lower = await c.get('/api/v2/blog/_table/users/alice', { headers: { 'x-api-key': ENV.BLOG_WEB_KEY!, authorization: `bearer ${good}` } });
    expect(lower.status).toBe(200);
  });

  test('a session secret shorter than 32 bytes is refused at startup, without echoing it', async () => {
    for (const secret of ['short-canary-secret', 'x'.repeat(31)]) {
      const err = await serve({ config: BLOG, env: { BLOG_JWT_SECRET: secret } }).then(
        async (x) => {
          await x.close();
          return undefined;
        },
        (e: unknown) => e,
      );
      expect(err, secret).toBeInstanceOf(DfcError);
      expect((err as DfcError).code).toBe('DFC_ERR_JWT_CONFIG');
      expect(JSON.stringify({ m: (err as DfcError).message, n: (err as DfcError).note })).not.toContain(secret);
    }
    // exactly 32 bytes starts
    const ok = await serve({ config: BLOG, env: { BLOG_JWT_SECRET: 'y'.repeat(32) } });
    await ok.close();
  });
});

type RequestInit_ = Record<string, string | string[]>;

// ---------------------------------------------------------------------------

/** The blog policy verifying sessions with RS256 (a public key) or a JWKS URL instead of its secret. */
function jwtPolicy(jwt: Record<string, unknown>) {
  return (p: { auth: { jwt?: unknown } }) => {
    p.auth.jwt = { algorithms: ['RS256'], issuer: ISS, audience: ['blog'], roleClaim: 'role', clockTolerance: 30, ...jwt };
  };
}

describe('RS256 public key: algorithm confusion', () => {
  let s: Served;
  let c: Client;
  let before: string;
  const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const pem = rsa.publicKey.export({ type: 'spki', format: 'pem' }).toString();
  beforeAll(async () => {
    s = await serve({ config: BLOG, env: { SEC_JWT_PUBLIC_KEY: pem }, editPolicy: jwtPolicy({ publicKey: { $secret: 'SEC_JWT_PUBLIC_KEY' } }) as never });
    c = httpClient(s.url);
    before = JSON.stringify(await dump(s));
  });
  afterAll(async () => {
    c?.close();
    await s?.close();
  });

  test('RS256 signed with the private key is accepted', async () => {
    const token = await sign(claims(), 'RS256', rsa.privateKey);
    const r = await c.get('/api/v2/blog/_table/users/alice', { headers: { 'x-api-key': ENV.BLOG_WEB_KEY!, authorization: `Bearer ${token}` } });
    expect(r.status).toBe(200);
  });

  test('HS/RS confusion with the public key as HMAC secret, and other forgeries: one 401 body', async () => {
    const good = await sign(claims(), 'RS256', rsa.privateKey);
    const [h, p, sig] = good.split('.') as [string, string, string];
    const another = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const der = rsa.publicKey.export({ type: 'spki', format: 'der' });
    const pkcs1 = rsa.publicKey.export({ type: 'pkcs1', format: 'pem' }).toString();
    const jwk = JSON.stringify(await exportJWK(rsa.publicKey));
    const attackerJwk = await exportJWK(another.publicKey);
    const mutations: [string, string][] = [
      ['HS256 keyed with the public key PEM', hmac({ alg: 'HS256' }, claims(), pem)],
      ['HS256 keyed with the PEM without its final newline', hmac({ alg: 'HS256' }, claims(), pem.trimEnd())],
      ['HS256 keyed with the PKCS#1 PEM', hmac({ alg: 'HS256' }, claims(), pkcs1)],
      ['HS256 keyed with the DER bytes', hmac({ alg: 'HS256' }, claims(), der)],
      ['HS256 keyed with the public JWK', hmac({ alg: 'HS256' }, claims(), jwk)],
      ['HS384 keyed with the public key PEM', hmac({ alg: 'HS384' }, claims(), pem, 'sha384')],
      ['HS512 keyed with the public key PEM', hmac({ alg: 'HS512' }, claims(), pem, 'sha512')],
      ['alg none', `${enc({ alg: 'none' })}.${p}.`],
      ['RS256 from another key pair', await sign(claims(), 'RS256', another.privateKey)],
      ['RS256 from another key pair, embedding its jwk', await sign(claims(), 'RS256', another.privateKey, { jwk: attackerJwk })],
      ['RS512 with the right key (not pinned)', await sign(claims(), 'RS512', rsa.privateKey)],
      ['PS256 with the right key (not pinned)', await sign(claims(), 'PS256', rsa.privateKey)],
      ['ES256 psychic signature (r = s = 0)', `${enc({ alg: 'ES256' })}.${p}.${base64url.encode(new Uint8Array(64))}`],
      ['ES256 from an attacker key', await sign(claims(), 'ES256', ec.privateKey)],
      ['payload edited after signing', `${h}.${enc({ ...claims(), role: 'moderator' })}.${sig}`],
      ['truncated signature', `${h}.${p}.${sig.slice(0, 100)}`],
      ['expired', await sign(claims({ exp: now() - 3600 }), 'RS256', rsa.privateKey)],
      ['iat in the future', await sign(claims({ iat: now() + 3600 }), 'RS256', rsa.privateKey)],
      ['no exp', await new SignJWT({ id: 'alice', role: 'editor', iss: ISS, aud: 'blog' }).setProtectedHeader({ alg: 'RS256' }).sign(rsa.privateKey)],
      ['wrong aud', await sign(claims({ aud: 'x' }), 'RS256', rsa.privateKey)],
    ];
    const results: [string, [string, Response][]][] = [];
    for (const [name, token] of mutations) results.push([name, await attempts(c, token, ['authorization', 'x-dreamfactory-session-token'])]);
    expectAllRefused(results);
    expect(JSON.stringify(await dump(s))).toBe(before);
  });
});

describe('JWKS on 127.0.0.1: rotation and bounded refetch', () => {
  let s: Served;
  let c: Client;
  let jwks: Server;
  let hits = 0;
  let published: JWK[] = [];
  const k1 = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const k2 = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const attacker = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const jwkOf = async (k: { publicKey: KeyObject }, kid: string): Promise<JWK> => ({ ...(await exportJWK(k.publicKey)), kid, alg: 'RS256', use: 'sig' });

  beforeAll(async () => {
    jwks = createHttpServer((req, res) => {
      hits++;
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ keys: published }));
    });
    await new Promise<void>((done) => jwks.listen(0, '127.0.0.1', done));
    const { port } = jwks.address() as { port: number };
    published = [await jwkOf(k1, 'k1')];
    s = await serve({ config: BLOG, editPolicy: jwtPolicy({ jwksUrl: `http://127.0.0.1:${port}/jwks.json` }) as never });
    c = httpClient(s.url);
  });
  afterAll(async () => {
    c?.close();
    await s?.close();
    await new Promise((done) => jwks?.close(done));
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  const asAlice = async (key: KeyObject, kid: string) => {
    const token = await sign(claims(), 'RS256', key, { kid });
    return c.get('/api/v2/blog/_table/users/alice', { headers: { 'x-api-key': ENV.BLOG_WEB_KEY!, authorization: `Bearer ${token}` } });
  };

  test('old kid works until removed, a new kid is picked up, unknown kids refetch at most once per cooldown', async () => {
    // The JWKS client's clock (cooldown 30 s, cache 10 min) is the wall clock: move it by hand.
    vi.useFakeTimers({ toFake: ['Date'], now: Date.now() });
    expect((await asAlice(k1.privateKey, 'k1')).status).toBe(200);
    expect(hits).toBe(1);

    // 100 tokens naming unknown kids (signed by an attacker) within the cooldown: no refetch
    const kids = ['k2', 'unknown', '../../etc/passwd', "' OR 1=1 --", '__proto__', 'constructor', 'x'.repeat(2000), ...Array.from({ length: 93 }, (_, i) => `random-${i}-${randomUUID()}`)];
    for (const kid of kids) {
      const r = await asAlice(attacker.privateKey, kid);
      expect(r.status, kid.slice(0, 40)).toBe(401);
      expect(withoutRequestId(r.text)).toBe(INVALID);
    }
    expect(hits).toBe(1);
    // an attacker's token naming the real kid
    expect((await asAlice(attacker.privateKey, 'k1')).status).toBe(401);

    // rotation: k2 published next to k1; after the cooldown an unknown kid refetches once
    published = [await jwkOf(k1, 'k1'), await jwkOf(k2, 'k2')];
    vi.setSystemTime(Date.now() + 31_000);
    expect((await asAlice(k2.privateKey, 'k2')).status).toBe(200);
    expect(hits).toBe(2);
    expect((await asAlice(k1.privateKey, 'k1')).status).toBe(200);

    // k1 removed: it keeps working while the key set is cached...
    published = [await jwkOf(k2, 'k2')];
    expect((await asAlice(k1.privateKey, 'k1')).status).toBe(200);
    expect(hits).toBe(2);
    // ...and stops once the runtime refetches (cache age 10 min)
    vi.setSystemTime(Date.now() + 11 * 60_000);
    const removed = await asAlice(k1.privateKey, 'k1');
    expect(removed.status).toBe(401);
    expect(withoutRequestId(removed.text)).toBe(INVALID);
    expect(hits).toBe(3);
    expect((await asAlice(k2.privateKey, 'k2')).status).toBe(200);

    // a burst of unknown kids right after a fetch: still no refetch; after the cooldown, one
    for (let i = 0; i < 50; i++) expect((await asAlice(attacker.privateKey, `burst-${i}`)).status).toBe(401);
    expect(hits).toBe(3);
    vi.setSystemTime(Date.now() + 31_000);
    for (let i = 0; i < 50; i++) expect((await asAlice(attacker.privateKey, `burst2-${i}`)).status).toBe(401);
    expect(hits).toBe(4);
    console.log(`JWKS: ${kids.length + 101} tokens with unknown kids; ${hits} key-set fetches in all (initial, 2 after cooldowns, 1 after cache expiry)`);
  });
});
