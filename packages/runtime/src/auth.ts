import { createPublicKey, type KeyObject } from 'node:crypto';
import { createRemoteJWKSet, jwtVerify, type JWTPayload, type JWTVerifyGetKey } from 'jose';
import { LRUCache } from 'lru-cache';
import type { PolicyJwt } from '@dfc/schema';
import { DfcError } from './errors.js';
import type { SecretResolver } from './secrets.js';

/**
 * Identity: where credentials are read from, JWT verification, and a limiter for
 * repeated authentication failures.
 */

// ---------------------------------------------------------------------------
// credentials

export interface Credentials {
  apiKey?: string;
  token?: string;
  /** Where the credentials came from, for logs (never the values). */
  sources: string[];
}

const KEY_HEADERS = ['x-api-key', 'x-dreamfactory-api-key'] as const;
/** Only HTTP's optional whitespace (space, tab) surrounds a header value; `String#trim` would also drop no-break and other Unicode spaces. */
function ows(v: string): string {
  let a = 0;
  let b = v.length;
  while (a < b && (v.charCodeAt(a) === 32 || v.charCodeAt(a) === 9)) a++;
  while (b > a && (v.charCodeAt(b - 1) === 32 || v.charCodeAt(b - 1) === 9)) b--;
  return a === 0 && b === v.length ? v : v.slice(a, b);
}
const TOKEN_HEADERS = ['x-dreamfactory-session-token'] as const;
const MAX_CREDENTIAL = 8192;

/** The credential headers, in the order their values are taken: index into a request's slots. */
const SLOT_OF: Readonly<Record<string, number>> = Object.freeze(
  Object.assign(Object.create(null) as Record<string, number>, { 'x-api-key': 0, 'x-dreamfactory-api-key': 1, authorization: 2, 'x-dreamfactory-session-token': 3 }),
);
const SLOT_NAMES = ['x-api-key', 'x-dreamfactory-api-key', 'authorization', 'x-dreamfactory-session-token'] as const;
/** Lengths of the credential header names: other headers are skipped without lower-casing them. */
const NAME_LENGTHS = new Set(SLOT_NAMES.map((n) => n.length));

/**
 * Read the API key and session token. A repeated credential header, a repeated query
 * credential, or two sources that disagree is a 400: never try each in turn.
 */
export function readCredentials(
  rawHeaders: readonly string[],
  query: Readonly<Record<string, unknown>>,
  opts: { queryCredentials: boolean },
): Credentials {
  // One pass over the raw headers; per credential header: its first value, how often it
  // came, and where it first came (a repeated header is reported in order of appearance).
  const values: (string | undefined)[] = [undefined, undefined, undefined, undefined];
  const counts = [0, 0, 0, 0];
  const first = [0, 0, 0, 0];
  let any = false;
  for (let i = 0; i + 1 < rawHeaders.length; i += 2) {
    const raw = rawHeaders[i]!;
    if (!NAME_LENGTHS.has(raw.length)) continue;
    const slot = SLOT_OF[raw.toLowerCase()];
    if (slot === undefined) continue;
    any = true;
    const n = counts[slot]!;
    counts[slot] = n + 1;
    if (n === 0) {
      values[slot] = rawHeaders[i + 1]!;
      first[slot] = i;
    }
  }
  const dup = (what: string) =>
    new DfcError('DFC_ERR_DUPLICATE_CREDENTIALS', `the request carries ${what} more than once`, {
      note: 'send each credential once, in one place',
    });
  if (any) {
    let repeated = -1;
    for (let s = 0; s < 4; s++) if (counts[s]! > 1 && (repeated < 0 || first[s]! < first[repeated]!)) repeated = s;
    if (repeated >= 0) throw dup(`\`${SLOT_NAMES[repeated]}\``);
  }

  const sources: string[] = [];
  const keys: string[] = [];
  const tokens: string[] = [];
  for (let s = 0; s < KEY_HEADERS.length; s++) {
    const v = values[s];
    if (v !== undefined) {
      keys.push(ows(v));
      sources.push(KEY_HEADERS[s]!);
    }
  }
  const auth = values[2];
  if (auth !== undefined) {
    // RFC 7235: the scheme is case-insensitive; exactly one space before the token.
    const m = /^bearer ([^\s]+)$/i.exec(ows(auth));
    if (!m) {
      throw new DfcError('DFC_ERR_INVALID_TOKEN', undefined, { note: 'send `Authorization: Bearer <token>`' });
    }
    tokens.push(m[1]!);
    sources.push('authorization');
  }
  const sessionHeader = values[3];
  if (sessionHeader !== undefined) {
    tokens.push(ows(sessionHeader));
    sources.push(TOKEN_HEADERS[0]);
  }
  const fromQuery = (param: 'api_key' | 'session_token', list: string[]): void => {
    if (!Object.hasOwn(query, param)) return;
    const v = query[param];
    if (Array.isArray(v)) throw dup(`\`${param}\``);
    if (!opts.queryCredentials) {
      throw new DfcError('DFC_ERR_BAD_PARAMETER', `credentials in the query string (\`${param}\`) are disabled`, {
        note: param === 'api_key' ? 'send the key in the `X-Api-Key` header' : 'send the token in the `Authorization: Bearer` header',
      });
    }
    list.push(String(v));
    sources.push(param);
  };
  fromQuery('api_key', keys);
  fromQuery('session_token', tokens);
  if (!allSame(keys)) throw new DfcError('DFC_ERR_DUPLICATE_CREDENTIALS', 'the request carries two different api keys');
  if (!allSame(tokens)) throw new DfcError('DFC_ERR_DUPLICATE_CREDENTIALS', 'the request carries two different session tokens');
  const out: Credentials = { sources };
  if (keys[0] !== undefined) {
    if (keys[0].length === 0 || keys[0].length > MAX_CREDENTIAL) throw new DfcError('DFC_ERR_INVALID_API_KEY');
    out.apiKey = keys[0];
  }
  if (tokens[0] !== undefined) out.token = tokens[0];
  return out;
}

function allSame(list: readonly string[]): boolean {
  for (let i = 1; i < list.length; i++) if (list[i] !== list[0]) return false;
  return true;
}

// ---------------------------------------------------------------------------
// JWT

export interface JwtVerifier {
  /** Verified claims; every failure is the same DfcError (no oracle). */
  verify(token: string): Promise<Readonly<Record<string, unknown>>>;
  /**
   * The claims of a token this verifier verified before and may still reuse (the same
   * cache `verify` reads), without a promise; undefined otherwise (then call `verify`).
   */
  cached(token: string): Readonly<Record<string, unknown>> | undefined;
  readonly cacheSize: () => number;
}

export const MIN_HMAC_SECRET_BYTES = 32;
const MAX_CLOCK_TOLERANCE = 60;
/** How long a fetched JWKS is used before it is fetched again, and verified tokens under it reused. */
const JWKS_CACHE_SECONDS = 600;

function invalidToken(): DfcError {
  return new DfcError('DFC_ERR_INVALID_TOKEN');
}

export interface JwtOptions {
  /**
   * Most verified tokens kept for reuse (entries expire with the token); the tokens' text
   * kept is at most this many KiB, so longer tokens leave fewer entries. @default 10000
   */
  cacheMax?: number;
  /**
   * Longest a verified token is reused without checking its signature again, in seconds.
   * With a JWKS, a key removed from the set stops working within this time.
   * @default 600 with `jwksUrl` (the key set's own cache age), else until the token expires
   */
  cacheMaxAge?: number;
  /** For tests: the time in seconds. */
  now?: () => number;
}

/** Build the verifier at startup; a configuration that cannot be used safely is refused. */
export function createJwtVerifier(cfg: PolicyJwt, resolveSecret: SecretResolver, opts: JwtOptions = {}): JwtVerifier {
  const refuse = (message: string, note?: string) => new DfcError('DFC_ERR_JWT_CONFIG', message, note ? { note } : {});
  const sources = [cfg.secret, cfg.publicKey, cfg.jwksUrl].filter((x) => x !== undefined).length;
  if (sources !== 1) throw refuse('the session configuration needs exactly one of `secret`, `publicKey` or `jwksUrl`');
  const hmac = cfg.algorithms.filter((a) => a.startsWith('HS'));
  if (hmac.length > 0 && hmac.length !== cfg.algorithms.length) {
    throw refuse('HMAC (`HS*`) and public-key algorithms cannot be mixed in one session configuration');
  }
  let key: Uint8Array | KeyObject | JWTVerifyGetKey;
  if (cfg.secret !== undefined) {
    if (hmac.length === 0) throw refuse('a session `secret` needs `HS256`, `HS384` or `HS512` algorithms');
    const bytes = new TextEncoder().encode(resolveSecret(cfg.secret, 'the session secret'));
    if (bytes.length < MIN_HMAC_SECRET_BYTES) {
      throw refuse(`the session secret is shorter than ${MIN_HMAC_SECRET_BYTES} bytes`, 'use at least 32 random bytes, e.g. `openssl rand -base64 48`');
    }
    key = bytes;
  } else if (cfg.publicKey !== undefined) {
    if (hmac.length > 0) throw refuse('a `publicKey` cannot verify `HS*` algorithms');
    const pem = resolveSecret(cfg.publicKey, 'the session public key');
    try {
      key = createPublicKey(pem);
    } catch {
      throw refuse('the session public key is not a PEM public key');
    }
  } else {
    if (hmac.length > 0) throw refuse('a `jwksUrl` cannot verify `HS*` algorithms');
    let url: URL;
    try {
      url = new URL(cfg.jwksUrl!);
    } catch {
      throw refuse('the session `jwksUrl` is not a URL');
    }
    if (url.protocol !== 'https:' && !(url.protocol === 'http:' && (url.hostname === '127.0.0.1' || url.hostname === 'localhost'))) {
      throw refuse('the session `jwksUrl` must use `https:`');
    }
    key = createRemoteJWKSet(url, { timeoutDuration: 5000, cooldownDuration: 30_000, cacheMaxAge: JWKS_CACHE_SECONDS * 1000 });
  }
  const verifyOptions = {
    algorithms: [...cfg.algorithms],
    requiredClaims: ['exp'],
    clockTolerance: Math.min(cfg.clockTolerance, MAX_CLOCK_TOLERANCE),
    ...(cfg.issuer !== undefined ? { issuer: cfg.issuer } : {}),
    ...(cfg.audience !== undefined ? { audience: cfg.audience } : {}),
  };
  const now = opts.now ?? (() => Date.now() / 1000);
  const maxAge = opts.cacheMaxAge ?? (cfg.jwksUrl !== undefined ? JWKS_CACHE_SECONDS : Infinity);
  // Keyed by the token itself: a hit costs one lookup, not a digest of the token. Bounded
  // by count and by the text kept (tokens average at most 1 KiB before entries go early).
  // Expiry is `until`, checked on every read (no per-entry TTL bookkeeping in the cache).
  const max = opts.cacheMax ?? 10_000;
  const cache = new LRUCache<string, { claims: Readonly<Record<string, unknown>>; until: number }>({ max, maxSize: max * 1024, sizeCalculation: (_v, token) => token.length });

  return {
    cacheSize: () => cache.size,
    cached(token) {
      const hit = cache.get(token);
      return hit !== undefined && hit.until > now() ? hit.claims : undefined;
    },
    async verify(token) {
      if (token.length === 0 || token.length > MAX_CREDENTIAL) throw invalidToken();
      const hit = cache.get(token);
      if (hit) {
        if (hit.until > now()) return hit.claims;
        cache.delete(token);
      }
      let payload: JWTPayload;
      try {
        const o = opts.now ? { ...verifyOptions, currentDate: new Date(opts.now() * 1000) } : verifyOptions;
        const r = typeof key === 'function' ? await jwtVerify(token, key, o) : await jwtVerify(token, key, o);
        payload = r.payload;
      } catch {
        // invariant: every failure (JOSEError, TypeError, network) answers the same 401.
        throw invalidToken();
      }
      if (typeof payload.exp !== 'number') throw invalidToken();
      // jose checks `iat` against the clock only with `maxTokenAge`: a token issued in the
      // future (a skewed or forged issuer clock) is refused here (checklist B.2 #7).
      if (payload.iat !== undefined && (typeof payload.iat !== 'number' || payload.iat > now() + verifyOptions.clockTolerance)) throw invalidToken();
      const claims = Object.freeze(copyClaims(payload));
      // cache until expiry (without the clock tolerance), or for at most `maxAge`
      const until = Math.min(payload.exp, now() + maxAge);
      cache.set(token, { claims, until });
      return claims;
    },
  };
}

/** Own enumerable claims copied into a null-prototype object (no `__proto__` setter). */
function copyClaims(p: JWTPayload): Record<string, unknown> {
  const out = Object.create(null) as Record<string, unknown>;
  for (const k of Object.keys(p)) Object.defineProperty(out, k, { value: p[k], enumerable: true, writable: false });
  return out;
}

// ---------------------------------------------------------------------------
// failure limiter

export interface FailureLimiter {
  /** Seconds until the client may try again, or 0. */
  blockedFor(client: string): number | Promise<number>;
  fail(client: string): void | Promise<void>;
  /** Release connections (a shared store). */
  close?(): Promise<void>;
}

/** Counts authentication failures per client in a fixed window (in-process). */
export function failureLimiter(opts: { max: number; windowMs: number; now?: () => number }): FailureLimiter & { blockedFor(client: string): number; fail(client: string): void } {
  const now = opts.now ?? Date.now;
  const counts = new LRUCache<string, { n: number; start: number }>({ max: 50_000 });
  return {
    blockedFor(client) {
      const c = counts.get(client);
      if (!c) return 0;
      const t = now();
      if (t - c.start >= opts.windowMs) {
        counts.delete(client);
        return 0;
      }
      return c.n >= opts.max ? Math.ceil((c.start + opts.windowMs - t) / 1000) : 0;
    },
    fail(client) {
      const t = now();
      const c = counts.get(client);
      if (!c || t - c.start >= opts.windowMs) counts.set(client, { n: 1, start: t });
      else c.n++;
    },
  };
}
