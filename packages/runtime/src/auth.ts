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
  /** The `Authorization` value that gave `token` (it passed the `Bearer` format check): what a caller may pass back as `checkedBearer`. */
  bearer?: string;
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
const SLOT_NAMES = ['x-api-key', 'x-dreamfactory-api-key', 'authorization', 'x-dreamfactory-session-token'] as const;

/** Whether a raw header name is `name` (lower case) in any case; a name sent in lower case is not lower-cased again. */
const is = (raw: string, name: string): boolean => raw === name || raw.toLowerCase() === name;

/** Each credential name's slot, by the name's length. invariant: no two of SLOT_NAMES have the same length. */
const SLOT_BY_LENGTH: (number | undefined)[] = [];
SLOT_NAMES.forEach((name, slot) => (SLOT_BY_LENGTH[name.length] = slot));

/**
 * The slot a raw header name fills, or -1: by the name's length first, so other headers
 * are skipped without lower-casing them, then by comparing with the one name of that
 * length (a lower-cased name looked up among an object's keys was hashed on every request).
 */
function slotOf(raw: string): number {
  const slot = SLOT_BY_LENGTH[raw.length];
  return slot !== undefined && is(raw, SLOT_NAMES[slot]!) ? slot : -1;
}

const BEARER = /^bearer [^\s]+$/i;

/**
 * Read the API key and session token. A repeated credential header, a repeated query
 * credential, or two sources that disagree is a 400: never try each in turn.
 */
export function readCredentials(
  rawHeaders: readonly string[],
  query: Readonly<Record<string, unknown>>,
  opts: {
    queryCredentials: boolean;
    /**
     * An `Authorization` value that passed the format check before (a connection's last
     * one, from {@link Credentials.bearer}): the same value is not checked again, which
     * spares a keep-alive client's every request a scan of its token.
     */
    checkedBearer?: string | undefined;
  },
): Credentials {
  // One pass over the raw headers, keeping each credential header's first value and where
  // it came; a repeated one is reported in order of first appearance. Plain locals, not
  // arrays: this runs on every request.
  let key: string | undefined;
  let dfKey: string | undefined;
  let auth: string | undefined;
  let session: string | undefined;
  let keyAt = 0;
  let dfKeyAt = 0;
  let authAt = 0;
  let sessionAt = 0;
  let repeatedAt = -1;
  let repeated = '';
  for (let i = 0; i + 1 < rawHeaders.length; i += 2) {
    const slot = slotOf(rawHeaders[i]!);
    if (slot < 0) continue;
    const value = rawHeaders[i + 1]!;
    let firstAt: number;
    if (slot === 0) {
      if (key === undefined) {
        key = value;
        keyAt = i;
      }
      firstAt = keyAt;
    } else if (slot === 1) {
      if (dfKey === undefined) {
        dfKey = value;
        dfKeyAt = i;
      }
      firstAt = dfKeyAt;
    } else if (slot === 2) {
      if (auth === undefined) {
        auth = value;
        authAt = i;
      }
      firstAt = authAt;
    } else {
      if (session === undefined) {
        session = value;
        sessionAt = i;
      }
      firstAt = sessionAt;
    }
    if (firstAt !== i && (repeatedAt < 0 || firstAt < repeatedAt)) {
      repeatedAt = firstAt;
      repeated = SLOT_NAMES[slot]!;
    }
  }
  const dup = (what: string) =>
    new DfcError('DFC_ERR_DUPLICATE_CREDENTIALS', `the request carries ${what} more than once`, {
      note: 'send each credential once, in one place',
    });
  if (repeatedAt >= 0) throw dup(`\`${repeated}\``);

  // Each conflict is reported after the format and query checks, keys before tokens.
  let apiKey: string | undefined;
  let token: string | undefined;
  let bearer: string | undefined;
  let keysDiffer = false;
  let tokensDiffer = false;
  const sources: string[] = [];
  if (key !== undefined) {
    apiKey = ows(key);
    sources.push(KEY_HEADERS[0]);
  }
  if (dfKey !== undefined) {
    const v = ows(dfKey);
    if (apiKey !== undefined && v !== apiKey) keysDiffer = true;
    apiKey ??= v;
    sources.push(KEY_HEADERS[1]);
  }
  if (auth !== undefined) {
    // RFC 7235: the scheme is case-insensitive; exactly one space before the token.
    const v = ows(auth);
    if (v !== opts.checkedBearer && !BEARER.test(v)) {
      throw new DfcError('DFC_ERR_INVALID_TOKEN', undefined, { note: 'send `Authorization: Bearer <token>`' });
    }
    token = v.slice(7);
    bearer = v;
    sources.push('authorization');
  }
  if (session !== undefined) {
    const v = ows(session);
    if (token !== undefined && v !== token) tokensDiffer = true;
    token ??= v;
    sources.push(TOKEN_HEADERS[0]);
  }
  const fromQuery = (param: 'api_key' | 'session_token'): string => {
    const v = query[param];
    if (Array.isArray(v)) throw dup(`\`${param}\``);
    if (!opts.queryCredentials) {
      throw new DfcError('DFC_ERR_BAD_PARAMETER', `credentials in the query string (\`${param}\`) are disabled`, {
        note: param === 'api_key' ? 'send the key in the `X-Api-Key` header' : 'send the token in the `Authorization: Bearer` header',
      });
    }
    sources.push(param);
    return String(v);
  };
  if (Object.hasOwn(query, 'api_key')) {
    const v = fromQuery('api_key');
    if (apiKey !== undefined && v !== apiKey) keysDiffer = true;
    apiKey ??= v;
  }
  if (Object.hasOwn(query, 'session_token')) {
    const v = fromQuery('session_token');
    if (token !== undefined && v !== token) tokensDiffer = true;
    token ??= v;
  }
  if (keysDiffer) throw new DfcError('DFC_ERR_DUPLICATE_CREDENTIALS', 'the request carries two different api keys');
  if (tokensDiffer) throw new DfcError('DFC_ERR_DUPLICATE_CREDENTIALS', 'the request carries two different session tokens');
  const out: Credentials = { sources };
  if (apiKey !== undefined) {
    if (apiKey.length === 0 || apiKey.length > MAX_CREDENTIAL) throw new DfcError('DFC_ERR_INVALID_API_KEY');
    out.apiKey = apiKey;
  }
  if (token !== undefined) out.token = token;
  if (bearer !== undefined) out.bearer = bearer;
  return out;
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
  /** What {@link cached} reads: the token's cache entry while it may be reused, else undefined. */
  entry(token: string): VerifiedToken | undefined;
  /** Whether an entry this verifier gave out may still be reused (the token has not expired, nor outlived the cache's age limit). */
  live(entry: VerifiedToken): boolean;
  readonly cacheSize: () => number;
}

/** A verified token, kept for reuse until `until` (seconds). */
export interface VerifiedToken {
  readonly token: string;
  readonly claims: Readonly<Record<string, unknown>>;
  readonly until: number;
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
  // Keyed by the token's last characters (its signature), and the whole token compared on
  // a hit: a lookup hashes 32 characters instead of the whole token (hashing a fresh
  // 250-character string was most of a hit's cost), and the comparison is a memcmp.
  // Bounded by count and by the text kept (tokens average at most 1 KiB before entries go
  // early). Expiry is `until`, checked on every read (no per-entry TTL bookkeeping).
  const max = opts.cacheMax ?? 10_000;
  const cache = new LRUCache<string, VerifiedToken>({
    max,
    maxSize: max * 1024,
    sizeCalculation: (v) => v.token.length,
  });
  const lookup = (token: string) => {
    const hit = cache.get(cacheKey(token));
    return hit !== undefined && hit.token === token ? hit : undefined;
  };
  const entry = (token: string): VerifiedToken | undefined => {
    const hit = lookup(token);
    return hit !== undefined && hit.until > now() ? hit : undefined;
  };

  return {
    cacheSize: () => cache.size,
    cached: (token) => entry(token)?.claims,
    entry,
    live: (kept) => kept.until > now(),
    async verify(token) {
      if (token.length === 0 || token.length > MAX_CREDENTIAL) throw invalidToken();
      const hit = lookup(token);
      if (hit) {
        if (hit.until > now()) return hit.claims;
        cache.delete(cacheKey(token));
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
      cache.set(cacheKey(token), Object.freeze({ token, claims, until }));
      return claims;
    },
  };
}

/** The verified-token cache's key: a signature's worth of the token's end (the whole token is compared on a hit). */
function cacheKey(token: string): string {
  return token.length <= 32 ? token : token.slice(token.length - 32);
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
