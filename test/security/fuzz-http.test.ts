/**
 * An HTTP fuzzer (checklist I10): fast-check generates whole requests (method; a path from
 * the route grammar, then mutated; credentials and other headers; query parameters from
 * the filter grammar, the SQL-injection corpus and random text; bodies from the table
 * schemas, random JSON and broken text) and sends them over keep-alive connections to
 * examples/blog listening on 127.0.0.1. Every answer must be below 500 and the server
 * must stay up. 5,000 requests per run; DFC_FUZZ_REQUESTS sets another count and
 * DFC_FUZZ_SEED replays a run (the seed is printed).
 */
import { SignJWT } from 'jose';
import fc from 'fast-check';
import { afterAll, beforeAll, expect, test } from 'vitest';
import type { CmpOp, Json, PolicyTable, Where } from '@dfc/schema';
import { printFilter } from '../../packages/runtime/src/data/index.js';
import { BLOG, serve, type Served } from './fixtures/harness.js';
import { httpClient, type Client } from './fixtures/http.js';
import { PAYLOADS } from './fixtures/sqli-suite.js';

const REQUESTS = Math.max(1, Number(process.env.DFC_FUZZ_REQUESTS ?? 5000) || 5000);
const SEED = process.env.DFC_FUZZ_SEED !== undefined ? Number(process.env.DFC_FUZZ_SEED) : Math.floor(Math.random() * 2 ** 31);

let s: Served;
let c: Client;
let tokens: string[] = [];
let statuses: Record<number, number> = {};
const codes: Record<string, number> = {};

beforeAll(async () => {
  s = await serve({ config: BLOG });
  c = httpClient(s.url, { maxSockets: 4 });
  const sign = (claims: Record<string, unknown>, exp = '1h') =>
    new SignJWT(claims)
      .setProtectedHeader({ alg: 'HS256' })
      .setIssuer('https://id.blog.example.com')
      .setAudience('blog')
      .setExpirationTime(exp)
      .sign(new TextEncoder().encode(s.env.BLOG_JWT_SECRET!));
  tokens = [await sign({ id: 'alice', role: 'editor' }), await sign({ id: 'carol', role: 'admin' }), await sign({ id: 'dave', role: 'moderator' }), await sign({ id: 'bob', role: '__proto__' })];
});
afterAll(async () => {
  c?.close();
  await s?.close();
});

// ---------------------------------------------------------------------------
// generators

const text = fc.string({ unit: 'binary', maxLength: 40 });
/** Percent-encoding of the UTF-8 bytes (a lone surrogate becomes U+FFFD, as any client sends it). */
const pct = (v: string) => [...Buffer.from(v, 'utf8')].map((b) => (/[A-Za-z0-9\-_.~]/.test(String.fromCharCode(b)) ? String.fromCharCode(b) : `%${b.toString(16).toUpperCase().padStart(2, '0')}`)).join('');
const smallText = fc.oneof(fc.constantFrom('', ' ', "'", '"', '\\', '%', '_', '(', ')', ',', '*', '`', '{user.id}', '__proto__', 'constructor', 'null', 'true', '-1', '1e309', 'ａ', '\u0000'), text);
const sqli = fc.constantFrom(...PAYLOADS);

function tablesOf(): [string, PolicyTable][] {
  return Object.entries(s.policy.services.blog!.tables);
}

/** A value of a column's type, sometimes of another type. */
function valueFor(type: string): fc.Arbitrary<Json> {
  const right: Record<string, fc.Arbitrary<Json>> = {
    integer: fc.oneof(fc.integer({ min: -5, max: 20 }), fc.constantFrom(2 ** 53, -(2 ** 31), 0)),
    number: fc.oneof(fc.double({ noNaN: true, noDefaultInfinity: true }), fc.integer()),
    bool: fc.boolean(),
    date: fc.oneof(fc.date({ noInvalidDate: true, min: new Date('0001-01-01'), max: new Date('9999-12-31') }).map((d) => d.toISOString()), fc.constantFrom('2024-02-30', '2024-01-01', 'not a date')),
    json: fc.jsonValue({ maxDepth: 3 }) as fc.Arbitrary<Json>,
    string: fc.oneof(smallText, sqli),
  };
  return fc.oneof({ arbitrary: right[type] ?? smallText, weight: 4 }, { arbitrary: fc.jsonValue({ maxDepth: 2 }) as fc.Arbitrary<Json>, weight: 1 });
}

/** Filter conditions over a table's columns (printed with the runtime's own printer), or over unknown columns. */
function whereFor(table: PolicyTable): fc.Arbitrary<Where> {
  const cols = Object.keys(table.columns);
  const leaf: fc.Arbitrary<Where> = fc.oneof(
    fc.constantFrom(...cols).chain((column) =>
      fc.record({ kind: fc.constant('cmp' as const), column: fc.constant(column), op: fc.constantFrom<CmpOp>('=', '!=', '<', '<=', '>', '>='), value: valueFor(table.columns[column]!.type).filter((v) => v === null || typeof v !== 'object') }),
    ),
    fc.constantFrom(...cols).chain((column) =>
      fc.record({ kind: fc.constant('in' as const), column: fc.constant(column), values: fc.array(valueFor(table.columns[column]!.type).filter((v) => v === null || typeof v !== 'object'), { maxLength: 4 }), negated: fc.boolean() }),
    ),
    fc.record({ kind: fc.constant('like' as const), column: fc.constantFrom(...cols), pattern: fc.oneof(smallText, sqli), negated: fc.boolean() }),
    fc.record({ kind: fc.constant('null' as const), column: fc.constantFrom(...cols, '__proto__', 'nosuch'), negated: fc.boolean() }),
    fc.record({ kind: fc.constant('const' as const), value: fc.boolean() }),
  ) as fc.Arbitrary<Where>;
  return fc.letrec<{ w: Where }>((tie) => ({
    w: fc.oneof(
      { depthSize: 'small', withCrossShrink: true },
      { arbitrary: leaf, weight: 4 },
      { arbitrary: fc.record({ kind: fc.constant('and' as const), items: fc.array(tie('w'), { minLength: 2, maxLength: 3 }) }), weight: 1 },
      { arbitrary: fc.record({ kind: fc.constant('or' as const), items: fc.array(tie('w'), { minLength: 2, maxLength: 3 }) }), weight: 1 },
      { arbitrary: fc.record({ kind: fc.constant('not' as const), item: tie('w') }), weight: 1 },
    ) as fc.Arbitrary<Where>,
  })).w;
}

function safePrint(w: Where): string {
  try {
    return printFilter(w);
  } catch {
    return 'id = 1';
  }
}

/** Text mutations of a filter: truncation, unbalanced parentheses, injected SQL. */
const mutateText = (t: string): fc.Arbitrary<string> =>
  fc.oneof(
    { arbitrary: fc.constant(t), weight: 12 },
    { arbitrary: fc.nat({ max: Math.max(0, t.length) }).map((n) => t.slice(0, n)), weight: 1 },
    { arbitrary: fc.constantFrom(`(${t}`, `${t})`, `${t}) or (1 = 1`, `${t} or`, `not ${t}`, `${t};`), weight: 1 },
    { arbitrary: sqli.map((p) => `${t} ${p}`), weight: 1 },
  );

interface Req {
  method: string;
  path: string;
  headers: Record<string, string | string[]>;
  body?: string;
}

function request(): fc.Arbitrary<Req> {
  const tables = tablesOf();
  const names = tables.map(([n]) => n);
  const segment = (values: string[]) =>
    fc.oneof(
      { arbitrary: fc.constantFrom(...values), weight: 60 },
      { arbitrary: fc.constantFrom(...values).map((v) => v.toUpperCase()), weight: 1 },
      { arbitrary: fc.oneof(smallText, sqli), weight: 2 },
    ).map(pct);
  const rawTricks = fc.oneof({ arbitrary: fc.constant(''), weight: 60 }, { arbitrary: fc.constantFrom('%2F', '/..', '//', '%00', '%C0%AF', ';x=1', '%', '%zz', '/', '?', '#x'), weight: 3 });
  const pathFor = (name: string) =>
    fc.record({
      service: segment(['blog']),
      kind: fc.oneof({ arbitrary: fc.constant('_table'), weight: 40 }, { arbitrary: fc.constantFrom('_schema', '_doc'), weight: 2 }, { arbitrary: fc.constantFrom('', '_TABLE', 'nope'), weight: 1 }),
      table: fc.option(fc.oneof({ arbitrary: segment([name]), weight: 10 }, { arbitrary: segment(names), weight: 1 }), { nil: undefined, freq: 15 }),
      id: fc.option(segment(['1', '2', '3', 'alice', 'bob', 'carol', '999', '-1', '0']), { nil: undefined, freq: 2 }),
      trick: rawTricks,
      trickAt: fc.nat({ max: 3 }),
      prefix: fc.oneof({ arbitrary: fc.constant('/api/v2'), weight: 60 }, { arbitrary: fc.constantFrom('/api/v1', '/api', '', '/api/v2/'), weight: 1 }),
    })
    .map(({ service, kind, table, id, trick, trickAt, prefix }) => {
      const parts = [prefix, service, kind, table, table !== undefined ? id : undefined].filter((p): p is string => p !== undefined && p !== '');
      const at = Math.min(trickAt, parts.length - 1);
      parts[at] = parts[at]! + trick;
      return ('/' + parts.join('/')).replace(/^\/\//, '/');
    });
  const queryFor = (def: PolicyTable) =>
    fc.oneof(
      { arbitrary: fc.uniqueArray(param(def), { maxLength: 3, selector: ([k]) => k }), weight: 12 },
      { arbitrary: fc.array(param(def), { maxLength: 3 }), weight: 1 },
    );
  const param = (def: PolicyTable) =>
      fc.oneof(
        { arbitrary: whereFor(def).chain((w) => mutateText(safePrint(w))).map((v) => ['filter', v] as [string, string]), weight: 12 },
        { arbitrary: fc.array(fc.constantFrom(...Object.keys(def.columns), '*', 'nosuch', '__proto__'), { maxLength: 4 }).map((cs) => ['fields', cs.join(',')] as [string, string]), weight: 6 },
        { arbitrary: fc.array(fc.tuple(fc.constantFrom(...Object.keys(def.columns), 'nosuch'), fc.constantFrom('', ' asc', ' desc', ' DESC', ' sideways')), { maxLength: 3 }).map((os) => ['order', os.map(([a, b]) => a + b).join(',')] as [string, string]), weight: 6 },
        { arbitrary: fc.tuple(fc.constantFrom('limit', 'offset'), fc.oneof(fc.integer({ min: -2, max: 2000 }).map(String), smallText)), weight: 6 },
        { arbitrary: fc.array(fc.oneof(fc.integer({ min: -1, max: 5 }).map(String), fc.constantFrom('alice', 'bob', "'", '')), { maxLength: 5 }).map((ids) => ['ids', ids.join(',')] as [string, string]), weight: 6 },
        { arbitrary: fc.tuple(fc.constantFrom('include_count'), fc.constantFrom('true', '1', 'false', 'yes')), weight: 3 },
        { arbitrary: fc.tuple(fc.constantFrom('api_key', 'session_token'), fc.oneof(fc.constantFrom(s.env.BLOG_WEB_KEY!, ...tokens), smallText)), weight: 1 },
        { arbitrary: fc.tuple(fc.oneof(smallText, fc.constantFrom('__proto__[x]', 'constructor[prototype][y]', 'filter[]', 'a.b')), fc.oneof(smallText, sqli)), weight: 3 },
      );
  const keys = [s.env.BLOG_WEB_KEY!, s.env.BLOG_ADMIN_KEY!, s.env.BLOG_DOCS_KEY!];
  const printable = smallText.filter((v) => /^[\x20-\x7e]*$/.test(v));
  // mostly working credentials (so requests reach the rules and the database), sometimes broken ones
  const working = fc.oneof(
    fc.constantFrom(...keys).map((k) => ({ 'x-api-key': k })),
    fc.tuple(fc.constantFrom(...keys), fc.constantFrom(...tokens)).map(([k, t]) => ({ 'x-api-key': k, authorization: `Bearer ${t}` })),
  );
  const broken = fc.record(
    {
      'x-api-key': fc.oneof(fc.constantFrom(...keys).map((k) => k.slice(0, -1)), printable, fc.constant(keys.slice(0, 2))),
      authorization: fc.oneof(fc.constantFrom(...tokens).map((t) => `Bearer ${t.slice(0, -2)}`), fc.constantFrom('Bearer', 'Basic YTpi', 'bearer x.y.z', 'Bearer a.b'), fc.constant(tokens.slice(0, 2).map((t) => `Bearer ${t}`))),
      'x-dreamfactory-session-token': fc.constantFrom(...tokens),
    },
    { requiredKeys: [] },
  );
  const extra = fc.record(
    {
      origin: fc.constantFrom('https://blog.example.com', 'https://evil.example', 'null', 'http://localhost:5173'),
      'access-control-request-method': fc.constantFrom('GET', 'DELETE', 'PATCH', 'TRACE'),
      'x-http-method-override': fc.constantFrom('DELETE', 'PUT'),
      'x-random': printable,
    },
    { requiredKeys: [] },
  );
  const credential = fc
    .tuple(fc.oneof({ arbitrary: working, weight: 6 }, { arbitrary: broken, weight: 1 }), fc.option(extra, { freq: 5 }))
    .map(([a, b]) => ({ ...a, ...(b ?? {}) }) as Record<string, string | string[]>);
  const contentType = fc.oneof({ arbitrary: fc.constant('application/json'), weight: 12 }, { arbitrary: fc.constantFrom('APPLICATION/JSON; charset=utf-8', 'text/plain', 'application/x-www-form-urlencoded', 'application/json-patch+json', ''), weight: 1 });
  const recordFor = (def: PolicyTable) =>
    fc.dictionary(fc.oneof({ arbitrary: fc.constantFrom(...Object.keys(def.columns)), weight: 20 }, { arbitrary: fc.constantFrom('__proto__', 'constructor', 'nosuch', ''), weight: 1 }), fc.constant(null), { maxKeys: 6 }).chain((shape) =>
      fc.record(Object.fromEntries(Object.keys(shape).map((k) => [k, def.columns[k] ? valueFor(def.columns[k]!.type) : (fc.jsonValue({ maxDepth: 2 }) as fc.Arbitrary<Json>)]))),
    );
  const bodyFor = (record: fc.Arbitrary<Record<string, Json>>) => fc.oneof(
    { arbitrary: record.map((r) => JSON.stringify(r)), weight: 15 },
    { arbitrary: fc.array(record, { maxLength: 3 }).map((rs) => JSON.stringify({ resource: rs })), weight: 5 },
    { arbitrary: fc.array(record, { maxLength: 3 }).map((rs) => JSON.stringify(rs)), weight: 1 },
    { arbitrary: fc.jsonValue({ maxDepth: 4 }).map((v) => JSON.stringify(v)), weight: 2 },
    { arbitrary: fc.nat({ max: 200 }).map((n) => '['.repeat(n) + ']'.repeat(n)), weight: 1 },
    { arbitrary: fc.constantFrom('{', '{"title":', 'null', '', '\ufeff{}', '{"__proto__":{"a":1}}', '{"constructor":{"prototype":{"a":1}}}', '{"title":"\\ud800"}'), weight: 1 },
    { arbitrary: fc.string({ unit: 'binary', maxLength: 100 }), weight: 1 },
  );
  return fc
    .constantFrom(...tables)
    .chain(([name, def]) =>
      fc.record({
        method: fc.oneof({ arbitrary: fc.constant('GET'), weight: 30 }, { arbitrary: fc.constantFrom('POST', 'PUT', 'PATCH', 'DELETE'), weight: 30 }, { arbitrary: fc.constantFrom('HEAD', 'OPTIONS', 'PROPFIND', 'TRACE'), weight: 2 }),
        path: pathFor(name),
        query: queryFor(def),
        headers: credential,
        contentType,
        body: fc.option(bodyFor(recordFor(def)), { nil: undefined, freq: 8 }),
      }),
    )
    .map(({ method, path, query, headers, contentType, body }) => {
      const qs = query.map(([k, v]) => `${pct(k)}=${pct(v)}`).join('&');
      const h: Record<string, string | string[]> = { ...headers };
      if (body !== undefined && contentType !== '') h['content-type'] = contentType;
      return { method, path: qs ? `${path}${path.includes('?') ? '&' : '?'}${qs}` : path, headers: h, ...(body !== undefined && method !== 'GET' && method !== 'HEAD' ? { body } : {}) };
    });
}

// ---------------------------------------------------------------------------

test(`${REQUESTS} generated requests: every answer below 500, the server stays up`, async () => {
  console.log(`HTTP fuzz: ${REQUESTS} requests, seed ${SEED} (replay with DFC_FUZZ_SEED=${SEED})`);
  let sent = 0;
  await fc.assert(
    fc.asyncProperty(request(), async (r) => {
      sent++;
      const res = await c.request(r.method, r.path, { headers: r.headers, ...(r.body !== undefined ? { body: r.body } : {}) });
      statuses[res.status] = (statuses[res.status] ?? 0) + 1;
      if (res.status >= 400 && res.text.startsWith('{')) {
        const code = String(JSON.parse(res.text)?.error?.code);
        codes[code] = (codes[code] ?? 0) + 1;
      }
      if (res.status >= 500 || res.status < 100) throw new Error(`${r.method} ${r.path} answered ${res.status}: ${res.text.slice(0, 300)}`);
    }),
    { numRuns: REQUESTS, seed: SEED, endOnFailure: true },
  );
  const alive = await c.get('/api/v2/blog/_table/posts', { headers: { 'x-api-key': s.env.BLOG_WEB_KEY! } });
  expect(alive.status).toBe(200);
  console.log(`HTTP fuzz: ${sent} requests sent, seed ${SEED}; statuses ${JSON.stringify(statuses)}; refusals ${JSON.stringify(codes)}`);
  expect(sent).toBe(REQUESTS);
}, Math.max(60_000, REQUESTS * 20));
