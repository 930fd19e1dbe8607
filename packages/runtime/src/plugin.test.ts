import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Fastify, { type FastifyInstance } from 'fastify';
import { SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { PolicyAccess, PolicyService } from '@dfc/schema';
import type { RuleFn } from './artifact.js';
import { DataError, createTables, openDataSource, seed, type DataSource } from './data/index.js';
import { dfcPlugin } from './plugin.js';
import { Runtime } from './runtime.js';
import { makeArtifact, makePolicy } from './testing.js';

const dir = mkdtempSync(join(tmpdir(), 'dfc-plugin-'));
const SECRET = 'plugin-test-secret-0123456789-abcdefghijkl';
const env = { WEB_KEY: 'web-key-plugin-test-000', ADMIN_KEY: 'admin-key-plugin-test-000', JWT: SECRET };

const access = (component: string, verbs: PolicyAccess['verbs'], extra: Partial<PolicyAccess> = {}): PolicyAccess => ({
  service: 'blog',
  component,
  verbs,
  requestor: ['api'],
  filters: [],
  filterOp: 'AND',
  ...extra,
});

const blog: PolicyService = {
  database: { type: 'sqlite', file: 'plugin.db' },
  maxRecords: 50,
  security: [{ name: 'public', type: 'allowAnonymous' }],
  tables: {
    posts: {
      primaryKey: 'id',
      columns: {
        id: { type: 'integer', nullable: false },
        userId: { type: 'string', nullable: false },
        title: { type: 'string', nullable: false },
        secret: { type: 'string', nullable: true },
      },
    },
  },
};

const policy = makePolicy({
  services: { blog },
  rules: { blog: { posts: { read: { rule: 'remove', fields: ['res.secret'] }, create: { rule: 'allow' }, update: { rule: 'allow' }, delete: { rule: 'allow' } } } },
  roles: {
    reader: { active: true, access: [access('_table/posts', ['GET'])] },
    editor: { active: true, access: [access('_table/*', ['GET', 'POST', 'PATCH', 'DELETE'], { filters: [{ name: 'userId', operator: '=', value: '{user.id}' }] })] },
    admin: { active: true, access: [access('*', ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'])] },
  },
  apps: {
    web: { apiKey: { $secret: 'WEB_KEY' }, role: 'reader', roles: ['editor'], active: true },
    admin: { apiKey: { $secret: 'ADMIN_KEY' }, role: 'admin', roles: [], active: true },
  },
  cors: [
    { path: '/api/v2/blog/*', origins: ['https://app.example.com'], methods: ['GET', 'POST'], headers: ['Content-Type', 'X-Api-Key'], exposedHeaders: [], maxAge: 60, supportsCredentials: true, enabled: true },
  ],
  auth: { jwt: { secret: { $secret: 'JWT' }, algorithms: ['HS256'], issuer: 'iss', audience: ['aud'], roleClaim: 'role', clockTolerance: 5 }, queryCredentials: true },
});

// Rules as policy.mjs would export them: remove res.secret for everyone but admins.
const rules: Record<string, RuleFn> = {
  'blog/posts/read': (i) =>
    i.args.auth?.role === 'admin'
      ? { allow: true }
      : { allow: true, response: [{ op: 'remove', field: 'res.secret', segments: ['secret'], path: 'rules.blog.posts.read' }] },
  'blog/posts/create': () => ({ allow: true }),
  'blog/posts/update': () => ({ allow: true }),
  'blog/posts/delete': () => ({ allow: true }),
};

let app: FastifyInstance;
let ds: DataSource;
const token = (claims: Record<string, unknown>) =>
  new SignJWT({ iss: 'iss', aud: 'aud', exp: Math.floor(Date.now() / 1000) + 600, ...claims })
    .setProtectedHeader({ alg: 'HS256' })
    .sign(new TextEncoder().encode(SECRET));

beforeAll(async () => {
  ds = openDataSource(blog, { baseDir: dir, resolveSecret: () => '' });
  await createTables(ds, blog);
  await seed(ds, blog, {
    posts: [
      { id: 1, userId: 'alice', title: 'a1', secret: 's1' },
      { id: 2, userId: 'alice', title: 'a2', secret: 's2' },
      { id: 3, userId: 'bob', title: 'b1', secret: 's3' },
    ],
  });
  app = Fastify();
  await app.register(dfcPlugin, { policy: makeArtifact(policy, { rules }, join(dir, 'dist')), env, baseDir: dir });
  await app.ready();
});
afterAll(async () => {
  await app?.close();
  await ds?.close();
  rmSync(dir, { recursive: true, force: true });
});

const web = { 'x-api-key': env.WEB_KEY };

describe('reads', () => {
  test('a list applies the response rule to every row and wraps in `resource`', async () => {
    const r = await app.inject({ url: '/api/v2/blog/_table/posts?order=id', headers: web });
    expect(r.statusCode).toBe(200);
    expect(r.json().resource).toEqual([
      { id: 1, userId: 'alice', title: 'a1' },
      { id: 2, userId: 'alice', title: 'a2' },
      { id: 3, userId: 'bob', title: 'b1' },
    ]);
    expect(r.headers['cache-control']).toBe('no-store');
    expect(r.headers['x-content-type-options']).toBe('nosniff');
  });
  test('filter, fields, limit, offset, include_count', async () => {
    const r = await app.inject({ url: "/api/v2/blog/_table/posts?filter=userId%20%3D%20'alice'&fields=id,title&limit=1&offset=1&order=id%20desc&include_count=true", headers: web });
    expect(r.json()).toEqual({ resource: [{ id: 1, title: 'a1' }], meta: { count: 2 } });
  });
  test('by id, and a missing id is 404', async () => {
    expect((await app.inject({ url: '/api/v2/blog/_table/posts/3', headers: web })).json()).toEqual({ id: 3, userId: 'bob', title: 'b1' });
    const missing = await app.inject({ url: '/api/v2/blog/_table/posts/99', headers: web });
    expect(missing.statusCode).toBe(404);
    expect(missing.json().error.code).toBe('DFC_ERR_RECORD_NOT_FOUND');
  });
  test('a removed field stays removed from rows a source returns with columns it was not asked for', async () => {
    // Rows as a source that ignores the column list returns them: every column, and what `shape` makes of each row.
    const source = (shape: (row: Record<string, unknown>) => Record<string, unknown>): DataSource => ({
      dialect: ds.dialect,
      select: async (table, q) => (await ds.select(table, { ...q, columns: undefined })).map(shape),
      count: (table, where) => ds.count(table, where),
      insert: (table, rows) => ds.insert(table, rows),
      update: (table, where, values) => ds.update(table, where, values),
      delete: (table, where) => ds.delete(table, where),
      transaction: (fn) => ds.transaction(fn),
      ping: () => ds.ping(),
      close: () => Promise.resolve(),
    });
    const shapes = {
      every: (row: Record<string, unknown>) => row,
      inherited: ({ secret, ...row }: Record<string, unknown>) => Object.assign(Object.create({ secret }) as Record<string, unknown>, row),
      frozen: (row: Record<string, unknown>) => Object.freeze(row),
      absent: ({ secret: _s, ...row }: Record<string, unknown>) => row,
    };
    for (const [name, shape] of Object.entries(shapes)) {
      for (const directAnswers of [false, true]) {
        const host = Fastify();
        await host.register(dfcPlugin, { directAnswers, policy: makeArtifact(policy, { rules }, join(dir, `dist-${name}`)), env, baseDir: dir, openDataSource: () => source(shape) });
        try {
          const r = await host.inject({ url: '/api/v2/blog/_table/posts?order=id&limit=1', headers: web });
          if (name === 'frozen') {
            // the field cannot be removed: the answer is refused, never sent with it
            expect(r.statusCode, name).toBe(500);
            expect(r.json().error.code, name).toBe('DFC_ERR_RESPONSE_REFUSED');
          } else {
            expect(r.statusCode, name).toBe(200);
            expect(r.body, name).toBe('{"resource":[{"id":1,"userId":"alice","title":"a1"}]}');
          }
        } finally {
          await host.close();
        }
      }
    }
  });

  test('the admin sees the field the rule removes for others', async () => {
    const r = await app.inject({ url: '/api/v2/blog/_table/posts/1', headers: { 'x-api-key': env.ADMIN_KEY, authorization: `Bearer ${await token({ role: 'admin' })}` } });
    expect(r.json().secret).toBe('s1');
  });
  test('bad filters, fields and orders are 400 naming the problem; no 5xx', async () => {
    for (const qs of ["filter=nope%20%3D%201", 'fields=nope', 'order=id;drop', "filter=id%20%3D%201)%20OR%20(1%3D1", 'limit=-1', 'limit=abc']) {
      const r = await app.inject({ url: `/api/v2/blog/_table/posts?${qs}`, headers: web });
      expect(r.statusCode, qs).toBe(400);
      expect(r.json().error.message, qs).toMatch(/`(filter|fields|order|limit)`/);
    }
  });
  test('repeated query parameters are 400', async () => {
    const r = await app.inject({ url: '/api/v2/blog/_table/posts?limit=1&limit=2', headers: web });
    expect(r.json().error.code).toBe('DFC_ERR_DUPLICATE_PARAMETER');
  });
  test('the table list shows what the role may read', async () => {
    expect((await app.inject({ url: '/api/v2/blog/_table', headers: web })).json()).toEqual({ resource: [{ name: 'posts' }] });
  });
});

describe('identity', () => {
  test('no key, a bad key and a bad token are 401 with generic bodies', async () => {
    const none = await app.inject({ url: '/api/v2/blog/_table/posts' });
    expect(none.statusCode).toBe(401);
    const bad = await app.inject({ url: '/api/v2/blog/_table/posts', headers: { 'x-api-key': 'nope' } });
    expect(bad.json().error.code).toBe('DFC_ERR_INVALID_API_KEY');
    const badTok = await app.inject({ url: '/api/v2/blog/_table/posts', headers: { ...web, authorization: 'Bearer x.y.z' } });
    expect(badTok.statusCode).toBe(401);
    expect(JSON.stringify(badTok.json())).not.toContain('x.y.z');
  });
  test('an unknown route is a 404 that does not echo the path', async () => {
    const r = await app.inject({ url: '/api/v2/blog/nope?api_key=secret-canary' });
    expect(r.statusCode).toBe(404);
    expect(r.body).not.toContain('secret-canary');
  });
});

describe('writes', () => {
  test('a role filter constrains by-id reads and writes: another owner\'s row is 404', async () => {
    const h = { ...web, authorization: `Bearer ${await token({ id: 'alice', role: 'editor' })}`, 'content-type': 'application/json' };
    expect((await app.inject({ url: '/api/v2/blog/_table/posts/3', headers: h })).statusCode).toBe(404);
    expect((await app.inject({ method: 'PATCH', url: '/api/v2/blog/_table/posts/3', headers: h, payload: { title: 'x' } })).statusCode).toBe(404);
    expect((await app.inject({ method: 'DELETE', url: '/api/v2/blog/_table/posts/3', headers: h })).statusCode).toBe(404);
    const own = await app.inject({ method: 'PATCH', url: '/api/v2/blog/_table/posts/2', headers: h, payload: { title: 'a2!' } });
    expect(own.statusCode).toBe(200);
    expect(own.json()).toEqual({ id: 2 });
  });
  test('changing the owner column to escape the role filter is refused and rolled back', async () => {
    const h = { ...web, authorization: `Bearer ${await token({ id: 'alice', role: 'editor' })}`, 'content-type': 'application/json' };
    const r = await app.inject({ method: 'PATCH', url: '/api/v2/blog/_table/posts/1', headers: h, payload: { userId: 'bob' } });
    expect(r.statusCode).toBe(403);
    expect(r.json().error.code).toBe('DFC_ERR_WRITE_CHECK_FAILED');
    const rows = await ds.select('posts', { where: { kind: 'cmp', column: 'id', op: '=', value: 1 } });
    expect(rows[0]!.userId).toBe('alice');
    const create = await app.inject({ method: 'POST', url: '/api/v2/blog/_table/posts', headers: h, payload: { resource: [{ userId: 'bob', title: 'sneaky' }] } });
    expect(create.statusCode).toBe(403);
    expect(await ds.count('posts', { kind: 'cmp', column: 'title', op: '=', value: 'sneaky' })).toBe(0);
  });
  test('a batch of records is all or nothing: one missing or refused record leaves every row as it was', async () => {
    const h = { ...web, authorization: `Bearer ${await token({ id: 'alice', role: 'editor' })}`, 'content-type': 'application/json' };
    const titles = async () => (await ds.select('posts', { where: { kind: 'const', value: true }, order: [{ column: 'id', direction: 'asc' }] })).map((r) => r.title);
    const before = await titles();
    // record 2 is alice's (allowed); record 3 is bob's: the role filter hides it, so it is missing
    const missing = await app.inject({ method: 'PATCH', url: '/api/v2/blog/_table/posts', headers: h, payload: { resource: [{ id: 2, title: 'changed' }, { id: 3, title: 'changed' }] } });
    expect(missing.statusCode).toBe(404);
    expect(await titles()).toEqual(before);
    // record 1 would escape the role filter: the write check refuses it, record 2 is rolled back
    const refused = await app.inject({ method: 'PATCH', url: '/api/v2/blog/_table/posts', headers: h, payload: { resource: [{ id: 2, title: 'changed' }, { id: 1, userId: 'bob' }] } });
    expect(refused.statusCode).toBe(403);
    expect(await titles()).toEqual(before);
    const ok = await app.inject({ method: 'PATCH', url: '/api/v2/blog/_table/posts', headers: h, payload: { resource: [{ id: 2, title: 'b' }, { id: 1, title: 'a' }] } });
    expect(ok.json()).toEqual({ resource: [{ id: 2 }, { id: 1 }] });
    const rows = await ds.select('posts', { where: { kind: 'in', column: 'id', values: [1, 2], negated: false }, order: [{ column: 'id', direction: 'asc' }] });
    expect(rows.map((r) => r.title)).toEqual(['a', 'b']);
    await app.inject({ method: 'PATCH', url: '/api/v2/blog/_table/posts', headers: h, payload: { resource: [{ id: 1, title: before[0] }, { id: 2, title: before[1] }] } });
  });
  test('create, then delete by ids', async () => {
    const h = { 'x-api-key': env.ADMIN_KEY, 'content-type': 'application/json', authorization: `Bearer ${await token({ id: 'carol' })}` };
    const c = await app.inject({ method: 'POST', url: '/api/v2/blog/_table/posts', headers: h, payload: [{ userId: 'carol', title: 'c1' }, { userId: 'carol', title: 'c2' }] });
    expect(c.statusCode).toBe(201);
    const ids = c.json().resource.map((r: { id: number }) => r.id);
    expect(ids).toHaveLength(2);
    const d = await app.inject({ method: 'DELETE', url: `/api/v2/blog/_table/posts?ids=${ids.join(',')}`, headers: h });
    expect(d.json().resource).toHaveLength(2);
    const none = await app.inject({ method: 'DELETE', url: '/api/v2/blog/_table/posts', headers: h });
    expect(none.json().error.code).toBe('DFC_ERR_NO_RECORDS');
    // an empty `filter` or `ids` names nothing: never the whole table
    for (const qs of ['filter=', 'ids=']) {
      for (const method of ['DELETE', 'PATCH'] as const) {
        const r = await app.inject({ method, url: `/api/v2/blog/_table/posts?${qs}`, headers: h, ...(method === 'PATCH' ? { payload: { title: 'everything' } } : {}) });
        expect(r.statusCode, `${method} ${qs}`).toBe(400);
      }
    }
    expect(await ds.count('posts', { kind: 'cmp', column: 'title', op: '=', value: 'everything' })).toBe(0);
  });
  test('bodies: wrong media type 415, malformed 400, deep 400, __proto__ 400, unknown field 400', async () => {
    const h = { 'x-api-key': env.ADMIN_KEY };
    const url = '/api/v2/blog/_table/posts';
    const cases: [Record<string, string>, string, number, string][] = [
      [{ 'content-type': 'text/plain' }, '{"title":"x"}', 415, 'DFC_ERR_UNSUPPORTED_MEDIA_TYPE'],
      [{ 'content-type': 'application/x-www-form-urlencoded' }, 'title=x', 415, 'DFC_ERR_UNSUPPORTED_MEDIA_TYPE'],
      [{ 'content-type': 'application/json' }, '{"title":', 400, 'DFC_ERR_INVALID_JSON'],
      [{ 'content-type': 'application/json' }, '['.repeat(10_000) + ']'.repeat(10_000), 400, 'DFC_ERR_JSON_TOO_DEEP'],
      [{ 'content-type': 'application/json' }, '{"__proto__":{"x":1},"title":"t"}', 400, 'DFC_ERR_FORBIDDEN_KEY'],
      [{ 'content-type': 'application/json' }, '{"userId":"u","title":"t","nope":1}', 400, 'DFC_ERR_BAD_RECORD'],
      [{ 'content-type': 'application/json' }, JSON.stringify({ title: 'x'.repeat(2 * 1024 * 1024) }), 413, 'DFC_ERR_BODY_TOO_LARGE'],
    ];
    for (const [hh, payload, status, code] of cases) {
      const r = await app.inject({ method: 'POST', url, headers: { ...h, ...hh }, payload });
      expect(r.statusCode, code).toBe(status);
      expect(r.json().error.code).toBe(code);
    }
    expect(await ds.count('posts', { kind: 'const', value: true })).toBe(3);
  });
});

describe('CORS', () => {
  test('a preflight is answered before authentication', async () => {
    const r = await app.inject({ method: 'OPTIONS', url: '/api/v2/blog/_table/posts', headers: { origin: 'https://app.example.com', 'access-control-request-method': 'POST' } });
    expect(r.statusCode).toBe(204);
    expect(r.headers['access-control-allow-origin']).toBe('https://app.example.com');
    const bad = await app.inject({ method: 'OPTIONS', url: '/api/v2/blog/_table/posts', headers: { origin: 'https://app.example.com', 'access-control-request-method': 'DELETE' } });
    expect(bad.statusCode).toBe(405);
  });
  test('errors carry the CORS headers too', async () => {
    const r = await app.inject({ url: '/api/v2/blog/_table/posts', headers: { origin: 'https://app.example.com' } });
    expect(r.statusCode).toBe(401);
    expect(r.headers['access-control-allow-origin']).toBe('https://app.example.com');
    expect(r.headers.vary).toContain('Origin');
    // every kind of answer: each route's refusals, a 404, a body refused before any route
    // code runs (on an unknown path too), a 414, a repeated parameter
    const o = { origin: 'https://app.example.com' };
    const json = { ...o, ...web, 'content-type': 'application/json' };
    const cases = [
      { url: '/api/v2/blog/_table', headers: o },
      { url: '/api/v2/blog/_schema', headers: o },
      { url: '/api/v2/blog/_table/posts/1', headers: o },
      { url: '/api/v2/blog/_table/nope', headers: { ...o, ...web } },
      { url: '/api/v2/blog/nowhere', headers: o },
      { method: 'POST' as const, url: '/api/v2/blog/_table/posts', headers: { ...o, ...web, 'content-type': 'text/plain' }, payload: 'x' },
      { method: 'POST' as const, url: '/api/v2/blog/nowhere', headers: { ...o, 'content-type': 'text/plain' }, payload: 'x' },
      { method: 'PATCH' as const, url: '/api/v2/blog/_table/posts/1', headers: json, payload: '{' },
      { url: '/api/v2/blog/_table/posts?filter=' + 'a'.repeat(9000), headers: { ...o, ...web } },
      { url: '/api/v2/blog/_table/posts?limit=1&limit=2', headers: { ...o, ...web } },
    ];
    for (const c of cases) {
      const res = await app.inject(c);
      expect(res.statusCode, `${c.method ?? 'GET'} ${c.url.slice(0, 60)}`).toBeGreaterThanOrEqual(400);
      expect(res.headers['access-control-allow-origin'], `${c.method ?? 'GET'} ${c.url.slice(0, 60)}`).toBe(res.statusCode === 414 ? undefined : 'https://app.example.com');
      expect(res.headers['cache-control']).toBe('no-store');
      expect(res.headers['x-request-id']).toMatch(/.+/);
    }
  });
});

describe('bulk paths keep the role filter', () => {
  test('PATCH and DELETE by filter or ids touch only rows the role filter allows', async () => {
    const h = { ...web, authorization: `Bearer ${await token({ id: 'bob', role: 'editor' })}`, 'content-type': 'application/json' };
    const all = encodeURIComponent("title != 'zzz'");
    const patched = await app.inject({ method: 'PATCH', url: `/api/v2/blog/_table/posts?filter=${all}`, headers: h, payload: { title: 'bob was here' } });
    expect(patched.statusCode).toBe(200);
    expect(patched.json().resource).toEqual([{ id: 3 }]);
    const byIds = await app.inject({ method: 'PATCH', url: '/api/v2/blog/_table/posts?ids=1,2,3', headers: h, payload: { title: 'again' } });
    expect(byIds.json().resource).toEqual([{ id: 3 }]);
    const rows = await ds.select('posts', { where: { kind: 'const', value: true }, order: [{ column: 'id', direction: 'asc' }] });
    expect(rows.filter((r) => r.userId === 'alice').every((r) => r.title !== 'again' && r.title !== 'bob was here')).toBe(true);
    const del = await app.inject({ method: 'DELETE', url: '/api/v2/blog/_table/posts?ids=1,2', headers: h });
    expect(del.json().resource).toEqual([]);
    expect(await ds.count('posts', { kind: 'const', value: true })).toBe(3);
    const count = await app.inject({ url: '/api/v2/blog/_table/posts?include_count=true&limit=1', headers: h });
    expect(count.json().meta.count).toBe(1);
  });
});

describe('inside an existing Fastify app', () => {
  test('registered under a prefix, encapsulated: the host keeps its own parsers and handlers', async () => {
    const host = Fastify();
    host.post('/echo', async (req) => ({ got: req.body }));
    host.setNotFoundHandler(async (_req, reply) => reply.code(404).send({ host: 'not found' }));
    await host.register(dfcPlugin, { prefix: '/data', policy: makeArtifact(policy, { rules }, join(dir, 'dist')), env, baseDir: dir });
    const r = await host.inject({ url: '/data/api/v2/blog/_table/posts/3', headers: { ...web, origin: 'https://app.example.com' } });
    expect(r.statusCode).toBe(200);
    expect(r.json().id).toBe(3);
    // CORS entries match the path below the prefix
    expect(r.headers['access-control-allow-origin']).toBe('https://app.example.com');
    // the host's text/plain parser, error handling and 404 are its own
    const echo = await host.inject({ method: 'POST', url: '/echo', headers: { 'content-type': 'text/plain' }, payload: 'hi' });
    expect(echo.json()).toEqual({ got: 'hi' });
    expect(echo.headers['cache-control']).toBeUndefined();
    expect((await host.inject({ url: '/nope' })).json()).toEqual({ host: 'not found' });
    await host.close();
  });
});

describe('direct answers (`directAnswers`, what `createServer` uses)', () => {
  test('a read written straight to the response carries what Fastify would have sent', async () => {
    const direct = Fastify();
    // Marks what Fastify sends: a direct answer never passes here.
    direct.addHook('onSend', (_req, reply, payload, done) => {
      reply.header('x-sent-by-fastify', 'yes');
      done(null, payload);
    });
    await direct.register(dfcPlugin, { directAnswers: true, policy: makeArtifact(policy, { rules }, join(dir, 'dist')), env, baseDir: dir });
    const bearer = { authorization: `Bearer ${await token({ sub: 'alice', role: 'editor', user: { id: 'alice' } })}` };
    const requests = [
      { url: '/api/v2/blog/_table/posts?order=id', headers: web },
      { url: '/api/v2/blog/_table/posts?fields=id,title&limit=1&order=id%20desc&include_count=true', headers: { ...web, origin: 'https://app.example.com' } },
      { url: '/api/v2/blog/_table/posts?order=id', headers: { ...web, origin: 'https://elsewhere.example.com' } },
      { url: '/api/v2/blog/_table/posts/3', headers: { ...web, origin: 'https://app.example.com' } },
      { url: '/api/v2/blog/_table/posts?order=id', headers: { ...web, ...bearer } },
      { url: '/api/v2/blog/_table/posts', headers: web, method: 'HEAD' as const },
      { url: '/api/v2/blog/_table/posts/99', headers: web },
      { url: '/api/v2/blog/_table/posts?filter=(', headers: web },
    ];
    const comparable = (x: { statusCode: number; headers: Record<string, unknown> }) => {
      // the request id (and so the length of an error body, which names it) differs
      const { 'x-request-id': id, date: _d, connection: _c, ...rest } = x.headers;
      if (x.statusCode !== 200) delete rest['content-length'];
      expect(id).toMatch(/.+/);
      return rest;
    };
    for (const r of requests) {
      const [a, b] = [await app.inject(r), await direct.inject(r)];
      // the reads that succeed are written directly; refusals go through Fastify
      expect(b.headers['x-sent-by-fastify'], r.url).toBe(b.statusCode === 200 ? undefined : 'yes');
      delete b.headers['x-sent-by-fastify'];
      expect(b.statusCode, r.url).toBe(a.statusCode);
      // error bodies name the request id, which differs
      const body = (x: typeof a) => x.body.replace(String(x.headers['x-request-id']), '<id>');
      expect(body(b), r.url).toBe(body(a));
      expect(comparable(b), r.url).toEqual(comparable(a));
    }
    await direct.close();
  });

  test('an answer another hook put a header on goes through Fastify and keeps it', async () => {
    const host = Fastify();
    host.addHook('onRequest', (req, reply, done) => {
      if (req.headers['x-mark'] !== undefined) reply.header('x-marked', 'yes');
      if (req.headers['x-raw-mark'] !== undefined) reply.raw.setHeader('x-raw-marked', 'yes');
      done();
    });
    await host.register(dfcPlugin, { directAnswers: true, policy: makeArtifact(policy, { rules }, join(dir, 'dist')), env, baseDir: dir });
    const r = await host.inject({ url: '/api/v2/blog/_table/posts/3', headers: { ...web, 'x-mark': '1', origin: 'https://app.example.com' } });
    expect(r.statusCode).toBe(200);
    expect(r.headers['x-marked']).toBe('yes');
    expect(r.headers['access-control-allow-origin']).toBe('https://app.example.com');
    expect(r.headers['cache-control']).toBe('no-store');
    expect(r.json()).toMatchObject({ id: 3, userId: 'bob' });
    const raw = await host.inject({ url: '/api/v2/blog/_table/posts', headers: { ...web, 'x-raw-mark': '1' } });
    expect(raw.statusCode).toBe(200);
    expect(raw.headers['x-raw-marked']).toBe('yes');
    expect(raw.headers['cache-control']).toBe('no-store');
    const plain = await host.inject({ url: '/api/v2/blog/_table/posts', headers: web });
    expect(plain.headers['x-marked']).toBeUndefined();
    await host.close();
  });

  test('direct answers are counted and timed like the others', async () => {
    const runtime = await Runtime.create({ policy: makeArtifact(policy, { rules }, join(dir, 'dist')), env, baseDir: dir });
    const direct = Fastify();
    await direct.register(dfcPlugin, { directAnswers: true, runtime });
    for (let i = 0; i < 3; i++) expect((await direct.inject({ url: '/api/v2/blog/_table/posts', headers: web })).statusCode).toBe(200);
    expect((await direct.inject({ url: '/api/v2/blog/_table/posts/3', headers: web })).statusCode).toBe(200);
    expect((await direct.inject({ url: '/api/v2/blog/_table/posts/99', headers: web })).statusCode).toBe(404);
    expect((await direct.inject({ url: '/api/v2/blog/_table/posts' })).statusCode).toBe(401);
    expect((await direct.inject({ method: 'OPTIONS', url: '/api/v2/blog/_table/posts', headers: { origin: 'https://app.example.com', 'access-control-request-method': 'GET' } })).statusCode).toBe(204);
    const text = runtime.metrics.render();
    expect(text).toContain('dfc_requests_total{kind="records",status="200"} 3\n');
    expect(text).toContain('dfc_requests_total{kind="records",status="401"} 1\n');
    expect(text).toContain('dfc_requests_total{kind="record",status="200"} 1\n');
    expect(text).toContain('dfc_requests_total{kind="record",status="404"} 1\n');
    expect(text).toContain('dfc_requests_total{kind="preflight",status="204"} 1\n');
    expect(text).toContain('dfc_request_duration_seconds_count 7\n');
    await direct.close();
    await runtime.close();
  });

  test('off by default inside an existing app: the host\'s onSend hooks see every answer', async () => {
    const host = Fastify();
    host.addHook('onSend', (_req, reply, payload, done) => {
      reply.header('x-seen', 'yes');
      done(null, payload);
    });
    await host.register(dfcPlugin, { policy: makeArtifact(policy, { rules }, join(dir, 'dist')), env, baseDir: dir });
    const r = await host.inject({ url: '/api/v2/blog/_table/posts?order=id', headers: web });
    expect(r.statusCode).toBe(200);
    expect(r.headers['x-seen']).toBe('yes');
    await host.close();
  });
});

describe('odd requests', () => {
  test('HEAD, long URLs, long ids, unknown services and tables: clear 4xx, never 5xx', async () => {
    const head = await app.inject({ method: 'HEAD', url: '/api/v2/blog/_table/posts', headers: web });
    expect(head.statusCode).toBe(200);
    const long = await app.inject({ url: '/api/v2/blog/_table/posts?filter=' + 'a'.repeat(9000), headers: web });
    expect(long.statusCode).toBe(414);
    // a plain Fastify host answers an over-long id itself (414); `createServer` maps it to dfc's format
    expect((await app.inject({ url: '/api/v2/blog/_table/posts/' + '9'.repeat(5000), headers: web })).statusCode).toBe(414);
    for (const url of ["/api/v2/blog'--/_table/posts", '/api/v2/blog/_table/posts%00', "/api/v2/blog/_table/posts'%20OR%201=1", '/api/v2/blog/_table/Posts', '/api/v2/blog/_table/users%2F..%2F_schema']) {
      const r = await app.inject({ url, headers: web });
      expect(r.statusCode, url).toBe(404);
      expect(r.json().error.code, url).toMatch(/^DFC_ERR_(SERVICE|TABLE)?_?NOT_FOUND$/);
    }
  });
});

describe('schema and docs', () => {
  test('_schema lists what the role may read; _schema/{table} falls back to read access', async () => {
    const list = await app.inject({ url: '/api/v2/blog/_schema', headers: web });
    expect(list.statusCode).toBe(200);
    expect(list.json().resource.map((t: { name: string }) => t.name)).toEqual(['posts']);
    const one = await app.inject({ url: '/api/v2/blog/_schema/posts', headers: web });
    expect(one.json()).toMatchObject({ name: 'posts', primary_key: 'id' });
    expect(one.json().field.map((f: { name: string }) => f.name)).toEqual(['id', 'userId', 'title', 'secret']);
  });
  test('_doc needs a grant; the description covers only what the role reaches', async () => {
    expect((await app.inject({ url: '/api/v2/blog/_doc', headers: web })).statusCode).toBe(401);
    const doc = await app.inject({ url: '/api/v2/blog/_doc', headers: { 'x-api-key': env.ADMIN_KEY } });
    expect(doc.statusCode).toBe(200);
    const paths = doc.json().paths as Record<string, Record<string, unknown>>;
    expect(Object.keys(paths)).toEqual(['/api/v2/blog/_table/posts', '/api/v2/blog/_table/posts/{id}']);
    expect(Object.keys(paths['/api/v2/blog/_table/posts']!).sort()).toEqual(['delete', 'get', 'patch', 'post', 'put']);
  });
});

describe('a `query` rule during a database outage', () => {
  test('denies (fails closed) but answers 503 with Retry-After, not 403', async () => {
    const outage = () => Promise.reject(new DataError('unavailable', 'the database is unavailable'));
    const down: DataSource = {
      dialect: ds.dialect,
      select: outage,
      count: outage,
      insert: outage,
      update: outage,
      delete: outage,
      transaction: outage,
      ping: outage,
      close: () => Promise.resolve(),
    };
    const queried: Record<string, RuleFn> = {
      ...rules,
      // as the rule engine compiles a `query` rule: a failed read denies with code `error`
      'blog/posts/read': async (input, ctx) => {
        try {
          await ctx!.query!('blog', 'posts', { userId: 'alice' });
          return { allow: true };
        } catch {
          return { allow: false, status: 403, code: 'error', reason: 'the query failed', path: 'rules.blog.posts.read' };
        }
      },
    };
    const host = Fastify();
    await host.register(dfcPlugin, { policy: makeArtifact(policy, { rules: queried }, join(dir, 'dist-outage')), env, baseDir: dir, openDataSource: () => down });
    await host.ready();
    try {
      const r = await host.inject({ url: '/api/v2/blog/_table/posts', headers: web });
      expect(r.statusCode).toBe(503);
      expect(r.headers['retry-after']).toBeDefined();
      expect(r.json().error.code).toBe('DFC_ERR_DB_UNAVAILABLE');
    } finally {
      await host.close();
    }
  });
});
