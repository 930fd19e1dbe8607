import { createHmac, generateKeyPairSync } from 'node:crypto';
import { createServer } from 'node:http';
import { SignJWT, base64url, exportJWK } from 'jose';
import { describe, expect, test } from 'vitest';
import type { PolicyJwt } from '@dfc/schema';
import { createJwtVerifier, failureLimiter, readCredentials } from './auth.js';
import { redactUrl } from './server.js';
import { DfcError } from './errors.js';
import { secretResolver } from './secrets.js';

const SECRET = 'a-test-secret-that-is-long-enough-0123456789';
const env = { JWT: SECRET, SHORT: 'tiny-canary' };
const cfg: PolicyJwt = { secret: { $secret: 'JWT' }, algorithms: ['HS256'], issuer: 'https://id.test', audience: ['blog'], roleClaim: 'role', clockTolerance: 5 };
const verifier = createJwtVerifier(cfg, secretResolver(env));
const key = new TextEncoder().encode(SECRET);
const now = () => Math.floor(Date.now() / 1000);

function sign(claims: Record<string, unknown>, opts: { alg?: string; key?: Uint8Array; header?: Record<string, unknown> } = {}) {
  return new SignJWT({ iss: 'https://id.test', aud: 'blog', exp: now() + 600, ...claims })
    .setProtectedHeader({ alg: opts.alg ?? 'HS256', ...opts.header })
    .sign(opts.key ?? key);
}

/** A token signed with our key over any header, bypassing the signer's own checks. */
function raw(header: unknown, payload: unknown): string {
  const input = base64url.encode(JSON.stringify(header)) + '.' + base64url.encode(JSON.stringify(payload));
  return input + '.' + createHmac('sha256', SECRET).update(input).digest('base64url');
}

async function failure(token: string): Promise<unknown> {
  try {
    await verifier.verify(token);
  } catch (e) {
    expect(e).toBeInstanceOf(DfcError);
    return { code: (e as DfcError).code, message: (e as DfcError).message, status: (e as DfcError).status };
  }
  return 'accepted';
}

describe('JWT verification', () => {
  test('a valid token gives frozen null-prototype claims, and is cached', async () => {
    const t = await sign({ id: 'u1', role: 'editor' });
    const c = await verifier.verify(t);
    expect(c.id).toBe('u1');
    expect(Object.isFrozen(c)).toBe(true);
    expect(Object.getPrototypeOf(c)).toBeNull();
    expect(await verifier.verify(t)).toBe(c);
  });
  test('every mutation is refused with one identical 401 body', async () => {
    const good = await sign({ id: 'u1' });
    const [h, p, s] = good.split('.') as [string, string, string];
    const enc = (o: unknown) => base64url.encode(JSON.stringify(o));
    const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const pubPem = rsa.publicKey.export({ type: 'spki', format: 'pem' }).toString();
    const flip = (x: string) => (x[0] === 'A' ? 'B' : 'A') + x.slice(1);
    const tokens: [string, string][] = [
      ['alg none', `${enc({ alg: 'none' })}.${p}.`],
      ['alg None with signature', `${enc({ alg: 'None' })}.${p}.${s}`],
      ['empty signature', `${h}.${p}.`],
      ['tampered signature', `${h}.${p}.${flip(s)}`],
      ['payload edited after signing', `${h}.${enc({ iss: 'https://id.test', aud: 'blog', exp: now() + 600, id: 'admin' })}.${s}`],
      ['another key', await sign({ id: 'u1' }, { key: new TextEncoder().encode('x'.repeat(40)) })],
      ['HS512 when HS256 is pinned', await sign({ id: 'u1' }, { alg: 'HS512' })],
      ['HS256 signed with the RSA public key', await sign({ id: 'u1' }, { key: new TextEncoder().encode(pubPem) })],
      ['RS256 token', await new SignJWT({ iss: 'https://id.test', aud: 'blog', exp: now() + 600 }).setProtectedHeader({ alg: 'RS256' }).sign(rsa.privateKey)],
      ['no exp', await new SignJWT({ iss: 'https://id.test', aud: 'blog' }).setProtectedHeader({ alg: 'HS256' }).sign(key)],
      ['expired', await sign({ exp: now() - 60 })],
      ['exp as string', await sign({ exp: String(now() + 600) })],
      ['exp negative', await sign({ exp: -1 })],
      ['nbf in the future', await sign({ nbf: now() + 3600 })],
      ['iat in the future', await sign({ iat: now() + 3600 })],
      ['iat past the tolerance', await sign({ iat: now() + 30 })],
      ['wrong iss', await sign({ iss: 'https://evil.test' })],
      ['no iss', await new SignJWT({ aud: 'blog', exp: now() + 600 }).setProtectedHeader({ alg: 'HS256' }).sign(key)],
      ['iss array', await sign({ iss: ['https://id.test'] })],
      ['wrong aud', await sign({ aud: 'other' })],
      ['no aud', await new SignJWT({ iss: 'https://id.test', exp: now() + 600 }).setProtectedHeader({ alg: 'HS256' }).sign(key)],
      ['aud array without ours', await sign({ aud: ['a', 'b'] })],
      ['unknown crit', raw({ alg: 'HS256', crit: ['x-unknown'], 'x-unknown': 1 }, { iss: 'https://id.test', aud: 'blog', exp: now() + 600 })],
      ['crit not an array', raw({ alg: 'HS256', crit: 'x' }, { iss: 'https://id.test', aud: 'blog', exp: now() + 600 })],
      ['b64 false', raw({ alg: 'HS256', b64: false, crit: ['b64'] }, { iss: 'https://id.test', aud: 'blog', exp: now() + 600 })],
      ['two segments', `${h}.${p}`],
      ['four segments', `${h}.${p}.${s}.x`],
      ['JWE-like five segments', `${h}.${p}.${s}.x.y`],
      ['non-base64url characters', `${h}.${p}+/.${s}`],
      ['payload is an array', `${h}.${enc([1])}.${s}`],
      ['payload is a string', `${h}.${enc('s')}.${s}`],
      ['oversized token', 'a'.repeat(9000)],
      ['empty', ''],
      ['garbage', 'not-a-jwt'],
      ['jwk header pointing at an attacker key', await sign({}, { header: { jwk: { kty: 'oct', k: 'AAAA' } } })].map(String) as [string, string],
    ];
    // the embedded jwk header is ignored: the token is still signed with our key, so it verifies;
    // what matters is that the header never selects the key.
    const jwk = tokens.pop()!;
    expect(await failure(jwk[1])).toBe('accepted');
    const results = await Promise.all(tokens.map(async ([, t]) => failure(t)));
    const first = results[0];
    expect(first).toEqual({ code: 'DFC_ERR_INVALID_TOKEN', message: 'the session token is not valid', status: 401 });
    results.forEach((r, i) => expect(r, tokens[i]![0]).toEqual(first));
    expect(tokens.length).toBeGreaterThanOrEqual(30);
  });
  test('a token just inside the clock tolerance is accepted, one past it is not', async () => {
    expect(await failure(await sign({ exp: now() - 2 }))).toBe('accepted');
    expect(await failure(await sign({ exp: now() - 30 }))).not.toBe('accepted');
    expect(await failure(await sign({ iat: now() + 2 }))).toBe('accepted');
    expect(await failure(await sign({ iat: now() - 3600 }))).toBe('accepted');
  });
  test('a cached token stops verifying when it expires', async () => {
    let t = 1_000_000;
    const v = createJwtVerifier(cfg, secretResolver(env), { now: () => t });
    const token = await new SignJWT({ iss: 'https://id.test', aud: 'blog', exp: t + 10 }).setProtectedHeader({ alg: 'HS256' }).sign(key);
    await v.verify(token);
    t += 20;
    await expect(v.verify(token)).rejects.toMatchObject({ code: 'DFC_ERR_INVALID_TOKEN' });
  });
  test('a cached token is found by its exact text: one character changed is verified anew and refused', async () => {
    const v = createJwtVerifier(cfg, secretResolver(env));
    const token = await sign({ sub: 'u1' });
    const claims = await v.verify(token);
    expect(v.cached(token)).toBe(claims);
    const at = token.length - 10; // inside the signature
    const tampered = token.slice(0, at) + (token[at] === 'A' ? 'B' : 'A') + token.slice(at + 1);
    expect(v.cached(tampered)).toBeUndefined();
    await expect(v.verify(tampered)).rejects.toMatchObject({ code: 'DFC_ERR_INVALID_TOKEN' });
    expect(v.cached(token)).toBe(claims);
    // The cache is keyed by the token's end: the same signature under another payload (a
    // forged role) meets the cached entry, which it does not match in full.
    const [, payload, signature] = token.split('.') as [string, string, string];
    const forgedPayload = Buffer.from(JSON.stringify({ ...JSON.parse(Buffer.from(payload, 'base64url').toString()), role: 'admin' })).toString('base64url');
    const forged = `${token.split('.')[0]}.${forgedPayload}.${signature}`;
    expect(forged.slice(-32)).toBe(token.slice(-32));
    expect(v.cached(forged)).toBeUndefined();
    await expect(v.verify(forged)).rejects.toMatchObject({ code: 'DFC_ERR_INVALID_TOKEN' });
    expect(v.cached(token)).toBe(claims);
  });
  test('the cache keeps at most `cacheMax` tokens and `cacheMax` KiB of their text', async () => {
    const short = createJwtVerifier(cfg, secretResolver(env), { cacheMax: 2 });
    for (const sub of ['a', 'b', 'c']) await short.verify(await sign({ sub }));
    expect(short.cacheSize()).toBe(2);
    const long = createJwtVerifier(cfg, secretResolver(env), { cacheMax: 2 });
    const padding = 'x'.repeat(1200); // each token > 1 KiB: two would exceed 2 KiB
    const first = await sign({ sub: 'a', padding });
    await long.verify(first);
    await long.verify(await sign({ sub: 'b', padding }));
    expect(long.cacheSize()).toBe(1);
    expect(long.cached(first)).toBeUndefined();
  });
  test('a verified token is reused for at most `cacheMaxAge` seconds, then its signature is checked again', async () => {
    let t = 1_000_000;
    const v = createJwtVerifier(cfg, secretResolver(env), { now: () => t, cacheMaxAge: 60 });
    const token = await new SignJWT({ iss: 'https://id.test', aud: 'blog', exp: t + 3600 }).setProtectedHeader({ alg: 'HS256' }).sign(key);
    const first = await v.verify(token);
    t += 30;
    expect(await v.verify(token)).toBe(first); // from the cache
    t += 31;
    const again = await v.verify(token);
    expect(again).not.toBe(first); // verified anew
    expect(again).toEqual(first);
  });
  test('unusable configurations are refused at startup', () => {
    const bad: PolicyJwt[] = [
      { ...cfg, secret: { $secret: 'SHORT' } },
      { ...cfg, algorithms: ['RS256'] },
      { ...cfg, algorithms: ['HS256', 'RS256'] },
      { ...cfg, jwksUrl: 'https://x.test/jwks' },
      { algorithms: ['RS256'], jwksUrl: 'http://evil.test/jwks', clockTolerance: 0 },
      { algorithms: ['RS256'], publicKey: 'not a pem', clockTolerance: 0 },
    ];
    for (const b of bad) expect(() => createJwtVerifier(b, secretResolver(env))).toThrow(DfcError);
    try {
      createJwtVerifier(bad[0]!, secretResolver(env));
    } catch (e) {
      expect((e as DfcError).code).toBe('DFC_ERR_JWT_CONFIG');
      expect((e as DfcError).message).not.toContain('tiny-canary');
    }
  });
  test('a public key verifies RS256 and refuses an HS256 token forged with it', async () => {
    const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const pem = rsa.publicKey.export({ type: 'spki', format: 'pem' }).toString();
    const v = createJwtVerifier({ publicKey: pem, algorithms: ['RS256'], issuer: 'https://id.test', audience: ['blog'], clockTolerance: 0 }, secretResolver({}));
    const ok = await new SignJWT({ iss: 'https://id.test', aud: 'blog', exp: now() + 60, id: 'x' }).setProtectedHeader({ alg: 'RS256' }).sign(rsa.privateKey);
    expect((await v.verify(ok)).id).toBe('x');
    const forged = await sign({ id: 'x' }, { key: new TextEncoder().encode(pem) });
    await expect(v.verify(forged)).rejects.toMatchObject({ code: 'DFC_ERR_INVALID_TOKEN' });
  });
});

describe('readCredentials', () => {
  const raw = (...pairs: string[]) => pairs;
  test('reads each alias, with a case-insensitive Bearer scheme', () => {
    expect(readCredentials(raw('X-Api-Key', 'k'), {}, { queryCredentials: true }).apiKey).toBe('k');
    expect(readCredentials(raw('X-DreamFactory-API-Key', 'k'), {}, { queryCredentials: true }).apiKey).toBe('k');
    expect(readCredentials([], { api_key: 'k' }, { queryCredentials: true }).apiKey).toBe('k');
    expect(readCredentials(raw('authorization', 'bearer t'), {}, { queryCredentials: true }).token).toBe('t');
    expect(readCredentials(raw('X-DreamFactory-Session-Token', 't'), {}, { queryCredentials: true }).token).toBe('t');
    expect(readCredentials([], { session_token: 't' }, { queryCredentials: true }).token).toBe('t');
    // only HTTP's optional whitespace is stripped, not no-break or other Unicode spaces
    expect(readCredentials(raw('X-Api-Key', ' k\t'), {}, { queryCredentials: true }).apiKey).toBe('k');
    expect(readCredentials(raw('X-Api-Key', 'k\u00a0'), {}, { queryCredentials: true }).apiKey).toBe('k\u00a0');
    expect(readCredentials(raw('X-DreamFactory-Session-Token', '\u2003t'), {}, { queryCredentials: true }).token).toBe('\u2003t');
    // each name in any case; other names of the same lengths are not credentials
    const names = ['x-api-key', 'x-dreamfactory-api-key', 'authorization', 'x-dreamfactory-session-token'];
    for (const name of names) {
      for (const sent of [name, name.toUpperCase()]) {
        const c = readCredentials(raw(sent, name === 'authorization' ? 'Bearer v' : 'v'), {}, { queryCredentials: true });
        expect(c.apiKey ?? c.token, sent).toBe('v');
      }
      const other = name.slice(0, -1) + '_';
      expect(readCredentials(raw(other, 'v'), {}, { queryCredentials: true }), other).toEqual({ sources: [] });
    }
    // the same value in two places is not a conflict
    expect(readCredentials(raw('X-Api-Key', 'k'), { api_key: 'k' }, { queryCredentials: true }).apiKey).toBe('k');
  });
  const code = (f: () => unknown) => {
    try {
      f();
      return 'ok';
    } catch (e) {
      return (e as DfcError).code;
    }
  };
  test('repeated or conflicting credentials are a 400', () => {
    const q = { queryCredentials: true };
    expect(code(() => readCredentials(raw('Authorization', 'Bearer a', 'Authorization', 'Bearer a'), {}, q))).toBe('DFC_ERR_DUPLICATE_CREDENTIALS');
    expect(code(() => readCredentials(raw('X-Api-Key', 'a', 'x-api-key', 'b'), {}, q))).toBe('DFC_ERR_DUPLICATE_CREDENTIALS');
    expect(code(() => readCredentials(raw('X-Api-Key', 'a', 'X-DreamFactory-API-Key', 'b'), {}, q))).toBe('DFC_ERR_DUPLICATE_CREDENTIALS');
    expect(code(() => readCredentials(raw('X-Api-Key', 'a'), { api_key: 'b' }, q))).toBe('DFC_ERR_DUPLICATE_CREDENTIALS');
    expect(code(() => readCredentials([], { api_key: ['a', 'b'] }, q))).toBe('DFC_ERR_DUPLICATE_CREDENTIALS');
    expect(code(() => readCredentials(raw('Authorization', 'Bearer a', 'X-DreamFactory-Session-Token', 'b'), {}, q))).toBe('DFC_ERR_DUPLICATE_CREDENTIALS');
  });
  test('other schemes and malformed Bearer values are a 401; disabled query credentials a 400', () => {
    const q = { queryCredentials: true };
    for (const v of ['Basic dXNlcjpwYXNz', 'Bearer  two-spaces', 'Bearer', 'Bearer a b', 'Token x']) {
      expect(code(() => readCredentials(raw('Authorization', v), {}, q)), v).toBe('DFC_ERR_INVALID_TOKEN');
    }
    expect(code(() => readCredentials([], { api_key: 'k' }, { queryCredentials: false }))).toBe('DFC_ERR_BAD_PARAMETER');
  });
  test('an Authorization value that passed before is taken again; any other is checked', () => {
    const first = readCredentials(raw('Authorization', ' Bearer abc '), {}, { queryCredentials: false });
    expect(first).toMatchObject({ token: 'abc', bearer: 'Bearer abc' });
    const again = readCredentials(raw('Authorization', 'Bearer abc'), {}, { queryCredentials: false, checkedBearer: first.bearer });
    expect(again).toMatchObject({ token: 'abc', bearer: 'Bearer abc' });
    for (const v of ['Bearer abc d', 'Bearer  abc', 'Basic abc', 'Bearer abc\u3000']) {
      expect(code(() => readCredentials(raw('Authorization', v), {}, { queryCredentials: false, checkedBearer: first.bearer })), v).toBe('DFC_ERR_INVALID_TOKEN');
    }
    expect(readCredentials(raw('X-DreamFactory-Session-Token', 'abc'), {}, { queryCredentials: false }).bearer).toBeUndefined();
  });
});

describe('failureLimiter', () => {
  test('blocks a client after max failures in the window, then lets it try again', () => {
    let t = 0;
    const l = failureLimiter({ max: 3, windowMs: 10_000, now: () => t });
    for (let i = 0; i < 3; i++) {
      expect(l.blockedFor('a')).toBe(0);
      l.fail('a');
    }
    expect(l.blockedFor('a')).toBe(10);
    expect(l.blockedFor('b')).toBe(0);
    t = 10_001;
    expect(l.blockedFor('a')).toBe(0);
  });
});

describe('JWKS', () => {
  test('keys come from the JWKS by kid; an unknown kid refetches at most once per cooldown; header keys are ignored', async () => {
    const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const other = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const jwk = { ...(await exportJWK(rsa.publicKey)), kid: 'k1', alg: 'RS256', use: 'sig' };
    let hits = 0;
    const server = createServer((_req, res) => {
      hits++;
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ keys: [jwk] }));
    });
    await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
    const { port } = server.address() as { port: number };
    try {
      const v = createJwtVerifier({ jwksUrl: `http://127.0.0.1:${port}/jwks`, algorithms: ['RS256'], issuer: 'https://id.test', audience: ['blog'], clockTolerance: 0 }, secretResolver({}));
      const mk = (kid: string, key = rsa.privateKey, extra: Record<string, unknown> = {}) =>
        new SignJWT({ iss: 'https://id.test', aud: 'blog', exp: now() + 60, id: kid }).setProtectedHeader({ alg: 'RS256', kid, ...extra }).sign(key);
      expect((await v.verify(await mk('k1'))).id).toBe('k1');
      for (const kid of ['unknown', '../../etc/passwd', "' OR 1=1", '__proto__', 'x'.repeat(2000)]) {
        await expect(v.verify(await mk(kid))).rejects.toMatchObject({ code: 'DFC_ERR_INVALID_TOKEN' });
      }
      // a token signed by another key that names our kid, or carries its own jwk / jku
      await expect(v.verify(await mk('k1', other.privateKey))).rejects.toMatchObject({ code: 'DFC_ERR_INVALID_TOKEN' });
      const attackerJwk = await exportJWK(other.publicKey);
      await expect(v.verify(await mk('k1', other.privateKey, { jwk: attackerJwk }))).rejects.toMatchObject({ code: 'DFC_ERR_INVALID_TOKEN' });
      await expect(v.verify(await mk('zz', other.privateKey, { jku: `http://127.0.0.1:${port}/evil` }))).rejects.toMatchObject({ code: 'DFC_ERR_INVALID_TOKEN' });
      // first fetch plus at most one refetch for the unknown kids (30 s cooldown)
      expect(hits).toBeLessThanOrEqual(2);
    } finally {
      server.close();
    }
  });
});

describe('redactUrl', () => {
  test('credential parameters are redacted however their names are spelled', () => {
    expect(redactUrl('/a?api_key=k1&x=1&session_token=t1')).toBe('/a?api_key=[redacted]&x=1&session_token=[redacted]');
    expect(redactUrl('/a?api%5Fkey=k1')).toBe('/a?api%5Fkey=[redacted]');
    expect(redactUrl('/a?%61pi_key=k1&session%5ftoken=t')).toBe('/a?%61pi_key=[redacted]&session%5ftoken=[redacted]');
    expect(redactUrl('/a?API_KEY=k1&&filter=id%3D1')).toBe('/a?API_KEY=[redacted]&&filter=id%3D1');
    expect(redactUrl('/a/b')).toBe('/a/b');
    expect(redactUrl('/a?filter=title%20%3D%20%27api_key%3Dk%27')).toBe('/a?filter=title%20%3D%20%27api_key%3Dk%27');
  });
});
