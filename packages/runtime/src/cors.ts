import type { PolicyCors } from '@dfc/schema';

/**
 * CORS as policy: DreamFactory's entry fields and matching, compiled once from the
 * artifact (not delegated to @fastify/cors, whose defaults reflect origins).
 *
 * - Entries: enabled ones only; `path` is a glob (`*` matches anything, `/` included)
 *   against the request path; the longest matching `path` wins. No match → no CORS headers.
 * - Origins: exact `scheme://host[:port]` strings compared after normalising case and
 *   default ports; `*` alone allows any origin (never together with credentials); a
 *   leftmost `*.` label (`https://*.example.com`) matches subdomains, label-wise. `null`
 *   and malformed origins never match.
 * - Allowed origins are echoed with `Vary: Origin`; headers and methods come from the
 *   entry, never from the request.
 */

export interface CorsEntry {
  readonly path: string;
  readonly entry: PolicyCors;
  readonly allowAll: boolean;
  readonly exact: ReadonlySet<string>;
  readonly patterns: readonly { scheme: string; suffix: string; port: string }[];
  readonly methods: ReadonlySet<string>;
  readonly allowMethods: string;
  readonly allowHeaders: string;
  readonly exposeHeaders: string;
  readonly maxAge: string;
  readonly credentials: boolean;
  readonly re: RegExp;
}

export interface CorsPolicy {
  /** The entry for a request path (without query string), or undefined. */
  match(path: string): CorsEntry | undefined;
  readonly entries: readonly CorsEntry[];
}

export type HeaderMap = Record<string, string>;

const MAX_ORIGIN = 2048;

export function compileCors(entries: readonly PolicyCors[]): CorsPolicy {
  const compiled: CorsEntry[] = entries
    .filter((e) => e.enabled)
    .map((e) => {
      const exact = new Set<string>();
      const patterns: { scheme: string; suffix: string; port: string }[] = [];
      let allowAll = false;
      for (const o of e.origins) {
        if (o === '*') allowAll = true;
        else if (/^[a-z][a-z0-9+.-]*:\/\/\*\./i.test(o)) {
          const m = /^([a-z][a-z0-9+.-]*):\/\/\*(\.[^/:]+)(?::(\d+))?$/i.exec(o);
          if (m) patterns.push({ scheme: m[1]!.toLowerCase(), suffix: m[2]!.toLowerCase(), port: m[3] ?? defaultPort(m[1]!) });
        } else {
          const n = normalizeOrigin(o);
          if (n) exact.add(n);
        }
      }
      const path = e.path.replace(/^\/+/, '');
      return {
        path,
        entry: e,
        allowAll,
        exact,
        patterns,
        methods: new Set(e.methods),
        allowMethods: e.methods.join(', '),
        allowHeaders: e.headers.join(', '),
        exposeHeaders: e.exposedHeaders.filter((h) => h.toLowerCase() !== 'set-cookie').join(', '),
        maxAge: String(Math.min(e.maxAge, 86_400)),
        credentials: e.supportsCredentials,
        re: globToRegExp(path),
      };
    })
    // longest path first; ties keep the artifact's (sorted) order
    .sort((a, b) => b.path.length - a.path.length);

  // Keyed by the path as given (leading slashes included): a hit costs one lookup.
  const cache = new Map<string, CorsEntry | null>();
  return {
    entries: compiled,
    match(rawPath) {
      const cached = cache.get(rawPath);
      if (cached !== undefined) return cached ?? undefined;
      const path = rawPath.replace(/^\/+/, '');
      const hit = compiled.find((c) => c.re.test(path));
      if (cache.size < 10_000) cache.set(rawPath, hit ?? null);
      return hit;
    },
  };
}

function globToRegExp(glob: string): RegExp {
  const body = glob
    .split('*')
    .map((s) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'))
    .join('.*');
  return new RegExp('^' + body + '$', 's');
}

function defaultPort(scheme: string): string {
  const s = scheme.toLowerCase();
  return s === 'https' ? '443' : s === 'http' ? '80' : '';
}

/**
 * `scheme://host[:port]` lower-cased with the default port dropped, or undefined when
 * the text is not exactly an origin (a path, a trailing slash, userinfo, `null`).
 */
export function normalizeOrigin(text: string): string | undefined {
  if (text.length > MAX_ORIGIN || text === 'null') return undefined;
  if (!/^[a-z][a-z0-9+.-]*:\/\/[^/?#@\s]+$/i.test(text)) return undefined;
  let u: URL;
  try {
    u = new URL(text);
  } catch {
    return undefined;
  }
  if (u.origin === 'null' || u.username || u.password) return undefined;
  // The serialisation must round-trip: `https://a.com.` or `https://a.com:443x` do not.
  const ascii = u.origin.toLowerCase();
  const lowered = text.toLowerCase().replace(/:(443|80)$/, (m, p: string) =>
    (p === '443' && u.protocol === 'https:') || (p === '80' && u.protocol === 'http:') ? '' : m,
  );
  return ascii === lowered ? ascii : undefined;
}

export function originAllowed(c: CorsEntry, origin: string): boolean {
  const n = normalizeOrigin(origin);
  if (!n) return false;
  if (c.allowAll) return true;
  if (c.exact.has(n)) return true;
  if (c.patterns.length > 0) {
    const u = new URL(n);
    const scheme = u.protocol.slice(0, -1);
    const port = u.port || defaultPort(scheme);
    for (const p of c.patterns) {
      // label-wise: `*.example.com` matches `a.example.com`, not `example.com` or `evilexample.com`
      if (p.scheme === scheme && p.port === port && u.hostname.endsWith(p.suffix) && u.hostname.length > p.suffix.length) return true;
    }
  }
  return false;
}

/** Headers for an actual (non-preflight) request; empty when there is no entry or no Origin. */
export function actualHeaders(c: CorsEntry | undefined, origin: string | undefined): HeaderMap {
  if (!c || origin === undefined) return {};
  return { ...sharedActualHeaders(c, origin) };
}

const NO_HEADERS: Readonly<HeaderMap> = Object.freeze({});
/** Most origins an entry keeps answers for; past it the cache starts over (many distinct origins cost what they did uncached). */
const MAX_CACHED_ORIGINS = 1000;
const actualCache = new WeakMap<CorsEntry, Map<string, Readonly<HeaderMap>>>();

/**
 * {@link actualHeaders} as a frozen object shared by every request from the same origin:
 * the origin is parsed and matched once per entry, not once per request.
 */
export function sharedActualHeaders(c: CorsEntry | undefined, origin: string | undefined): Readonly<HeaderMap> {
  if (!c || origin === undefined) return NO_HEADERS;
  // Never allowed, and not worth keeping in memory.
  if (origin.length > MAX_ORIGIN) return computeActualHeaders(c, origin);
  let byOrigin = actualCache.get(c);
  if (!byOrigin) actualCache.set(c, (byOrigin = new Map()));
  let h = byOrigin.get(origin);
  if (h === undefined) {
    h = Object.freeze(computeActualHeaders(c, origin));
    if (byOrigin.size >= MAX_CACHED_ORIGINS) byOrigin.clear();
    byOrigin.set(origin, h);
  }
  return h;
}

function computeActualHeaders(c: CorsEntry, origin: string): HeaderMap {
  const h: HeaderMap = { vary: 'Origin' };
  if (!originAllowed(c, origin)) return h;
  if (c.allowAll && !c.credentials) h['access-control-allow-origin'] = '*';
  else h['access-control-allow-origin'] = origin;
  // invariant: never `*` together with credentials.
  if (c.credentials && !(c.allowAll && h['access-control-allow-origin'] === '*')) h['access-control-allow-credentials'] = 'true';
  if (c.exposeHeaders) h['access-control-expose-headers'] = c.exposeHeaders;
  return h;
}

export interface PreflightAnswer {
  status: 204 | 403 | 405;
  headers: HeaderMap;
}

/** The answer to a preflight (OPTIONS with Origin and Access-Control-Request-Method). */
export function preflight(c: CorsEntry | undefined, origin: string, requestMethod: string): PreflightAnswer {
  if (!c) return { status: 405, headers: {} };
  const vary = 'Origin, Access-Control-Request-Method, Access-Control-Request-Headers';
  if (!originAllowed(c, origin)) return { status: 403, headers: { vary } };
  if (!c.methods.has(requestMethod)) return { status: 405, headers: { vary } };
  const h: HeaderMap = { vary, ...actualHeaders(c, origin) };
  h.vary = vary;
  delete h['access-control-expose-headers'];
  h['access-control-allow-methods'] = c.allowMethods;
  if (c.allowHeaders) h['access-control-allow-headers'] = c.allowHeaders;
  h['access-control-max-age'] = c.maxAge;
  return { status: 204, headers: h };
}
