/**
 * Every case the seed documents describe, as examples/blog expresses them, checked over
 * HTTP against one database dialect. The same suite runs on SQLite, PostgreSQL and MariaDB.
 */
import type { InjectOptions, LightMyRequestResponse } from 'fastify';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { DialectName } from './data-databases.js';
import { KEYS, startBlog, type Blog } from './blog-harness.js';

export function blogScenarios(dialect: DialectName): void {
  let blog: Blog;
  let tokens: Record<'alice' | 'bob' | 'carol' | 'dave', string>;

  beforeAll(async () => {
    blog = await startBlog(dialect);
    tokens = {
      alice: await blog.token('alice', 'editor'),
      bob: await blog.token('bob', 'editor'),
      carol: await blog.token('carol', 'admin'),
      dave: await blog.token('dave', 'moderator'),
    };
  });
  afterAll(async () => blog?.close());

  type Who = keyof typeof tokens | null;
  const call = (method: InjectOptions['method'], url: string, opts: { key?: keyof typeof KEYS; as?: Who; body?: unknown; headers?: Record<string, string> } = {}): Promise<LightMyRequestResponse> => {
    const headers: Record<string, string> = { ...(opts.headers ?? {}) };
    headers['x-api-key'] = KEYS[opts.key ?? 'web'];
    if (opts.as) headers.authorization = `Bearer ${tokens[opts.as]}`;
    if (opts.body !== undefined) headers['content-type'] = 'application/json';
    return blog.server.app.inject({ method, url: `/api/v2/blog${url}`, headers, ...(opts.body !== undefined ? { payload: JSON.stringify(opts.body) } : {}) });
  };
  const row = async (table: string, column: string, value: string | number) =>
    (await blog.ds.select(table, { where: { kind: 'cmp', column, op: '=', value } }))[0];

  describe(`examples/blog on ${dialect}`, () => {
    test('public read: posts without a session', async () => {
      const r = await call('GET', '/_table/posts?order=id');
      expect(r.statusCode).toBe(200);
      expect(r.json().resource.map((p: { id: number }) => p.id)).toEqual([1, 2, 3]);
      // comments are not open to anonymous callers: the service requires a session
      expect((await call('GET', '/_table/comments')).statusCode).toBe(401);
      expect((await call('GET', '/_table/comments', { as: 'bob' })).statusCode).toBe(200);
    });

    test('sign in to create; the author is forced to the caller', async () => {
      // without a session the web app's default role (reader) applies: signing in is what helps
      const anon = await call('POST', '/_table/posts', { body: { title: 't', body: 'b', isPublic: true, createdAt: '2024-03-01T00:00:00Z', userId: 'x' } });
      expect(anon.statusCode).toBe(401);
      expect(anon.json().error.code).toBe('DFC_ERR_AUTH_REQUIRED');
      const r = await call('POST', '/_table/posts', { as: 'alice', body: { id: 10, title: 'New', body: 'b', isPublic: true, createdAt: '2024-03-01T00:00:00Z', userId: 'alice' } });
      expect(r.statusCode).toBe(201);
      expect((await row('posts', 'id', 10))?.userId).toBe('alice');
      // claiming another author is overridden by the forced one
      const spoof = await call('POST', '/_table/posts', { as: 'alice', body: { id: 11, title: 'Spoof', body: 'b', isPublic: true, createdAt: '2024-03-01T00:00:00Z', userId: 'bob' } });
      expect(spoof.statusCode).toBe(201);
      expect((await row('posts', 'id', 11))?.userId).toBe('alice');
    });

    test('owner-only update: alice changes her post, not bob\'s (another owner\'s row is 404)', async () => {
      const mine = await call('PATCH', '/_table/posts/1', { as: 'alice', body: { title: 'Hello again' } });
      expect(mine.statusCode).toBe(200);
      expect((await row('posts', 'id', 1))?.title).toBe('Hello again');
      const theirs = await call('PATCH', '/_table/posts/3', { as: 'alice', body: { title: 'mine now' } });
      expect(theirs.statusCode).toBe(404);
      expect(theirs.json().error.code).toBe('DFC_ERR_RECORD_NOT_FOUND');
      // the editor role grants no PUT at all
      expect((await call('PUT', '/_table/posts/3', { as: 'alice', body: { title: 'mine now' } })).json().error.code).toBe('DFC_ERR_ACCESS_DENIED');
      expect((await row('posts', 'id', 3))?.title).toBe('Policies as code');
      // moving a post to another owner is refused and nothing changes
      const steal = await call('PATCH', '/_table/posts/1', { as: 'alice', body: { userId: 'bob' } });
      expect(steal.statusCode).toBe(403);
      expect((await row('posts', 'id', 1))?.userId).toBe('alice');
    });

    test('a webhook rule that cannot be reached denies (fail closed) and nothing is stored', async () => {
      const before = await blog.ds.count('comments', { kind: 'const', value: true });
      const r = await call('POST', '/_table/comments', { as: 'bob', body: { id: 9, postId: 1, body: 'hi', createdAt: '2024-03-01T00:00:00Z', userId: 'bob' } });
      expect(r.statusCode).toBe(403);
      expect(r.json().error.code).toBe('DFC_ERR_RULE_DENIED');
      expect(await blog.ds.count('comments', { kind: 'const', value: true })).toBe(before);
    });

    test('admin and moderator delete; an editor may not', async () => {
      const editor = await call('DELETE', '/_table/posts/2', { as: 'alice' });
      expect(editor.statusCode).toBe(403);
      expect(editor.json().error.code).toBe('DFC_ERR_ACCESS_DENIED');
      expect((await call('DELETE', '/_table/posts/11', { as: 'dave' })).statusCode).toBe(200);
      expect(await row('posts', 'id', 11)).toBeUndefined();
      expect((await call('DELETE', '/_table/posts/10', { key: 'admin', as: 'carol' })).statusCode).toBe(200);
      expect(await row('posts', 'id', 10)).toBeUndefined();
    });

    test('passwords are never returned to non-admins; admins see them', async () => {
      const own = await call('GET', '/_table/users/alice', { as: 'alice' });
      expect(own.statusCode).toBe(200);
      expect(own.json()).not.toHaveProperty('password');
      const other = await call('GET', '/_table/users/bob', { as: 'alice' });
      expect(other.json()).not.toHaveProperty('password');
      const admin = await call('GET', '/_table/users/alice', { key: 'admin', as: 'carol' });
      expect(admin.statusCode).toBe(200);
      expect(admin.json().password).toBe((await row('users', 'id', 'alice'))?.password);
    });

    test('a removed field cannot be probed through filter or order', async () => {
      const hash = String((await row('users', 'id', 'alice'))?.password);
      const probe = await call('GET', `/_table/users/alice?filter=${encodeURIComponent(`password = '${hash}'`)}`, { as: 'alice' });
      expect(probe.statusCode).toBe(200); // by id: the filter parameter does not apply
      const list = await call('GET', `/_table/users?filter=${encodeURIComponent(`(id = 'alice') and (password = '${hash}')`)}`, { as: 'alice' });
      expect(list.statusCode).toBe(400);
      expect(list.json().error.message).toContain('`password`');
      expect((await call('GET', `/_table/users?filter=${encodeURIComponent("id = 'alice'")}&order=password`, { as: 'alice' })).statusCode).toBe(400);
      // an admin, whose rows keep the field, may
      expect((await call('GET', `/_table/users?filter=${encodeURIComponent(`(id = 'alice') and (password = '${hash}')`)}`, { key: 'admin', as: 'carol' })).json().resource).toHaveLength(1);
    });

    test('email is stored encrypted and returned decrypted only to its owner', async () => {
      const stored = await row('users', 'id', 'alice');
      expect(String(stored?.email)).toMatch(/^dfcenc:v1:/);
      expect(String(stored?.email)).not.toContain('alice@example.com');
      const own = (await call('GET', '/_table/users/alice', { as: 'alice' })).json();
      expect(own.email).toBe('alice@example.com');
      expect(own.name).toBe('Alice Archer');
      const other = (await call('GET', '/_table/users/alice', { as: 'bob' })).json();
      expect(other.email).toBe(stored?.email);
    });

    test('the role is not updatable: a field requirement for users, removed for admins', async () => {
      const self = await call('PATCH', '/_table/users/alice', { as: 'alice', body: { role: 'admin' } });
      expect(self.statusCode).toBe(403);
      expect(self.json().error.message).toContain('`adminsOnly`');
      const byAdmin = await call('PATCH', '/_table/users/alice', { key: 'admin', as: 'carol', body: { role: 'moderator' } });
      expect(byAdmin.statusCode).toBe(200);
      expect((await row('users', 'id', 'alice'))?.role).toBe('user');
    });

    test('forced owner filter: bookmarks show only the caller\'s rows, whatever the filter says', async () => {
      const mine = await call('GET', '/_table/bookmarks', { as: 'alice' });
      expect(mine.json().resource.map((b: { userId: string }) => b.userId)).toEqual(['alice']);
      const asked = await call('GET', `/_table/bookmarks?filter=${encodeURIComponent("userId = 'bob'")}`, { as: 'alice' });
      expect(asked.statusCode === 403 || asked.json().resource.length === 0).toBe(true);
      const count = await call('GET', '/_table/bookmarks?include_count=true', { as: 'bob' });
      expect(count.json().meta.count).toBe(1);
    });

    test('the Instagram problem: a private profile for followers only', async () => {
      expect((await call('GET', '/_table/profiles/alice', { as: 'dave' })).statusCode).toBe(200); // public
      const follower = await call('GET', '/_table/profiles/bob', { as: 'alice' }); // alice follows bob
      expect(follower.statusCode).toBe(200);
      expect(follower.json().bio).toContain('Private');
      const stranger = await call('GET', '/_table/profiles/bob', { as: 'dave' });
      expect(stranger.statusCode).toBe(403);
      expect(stranger.body).not.toContain('Private');
    });

    test('a docs-only role sees the OpenAPI description and nothing else', async () => {
      const doc = await call('GET', '/_doc', { key: 'docs', as: 'bob' });
      expect(doc.statusCode).toBe(200);
      expect(doc.json().openapi).toBe('3.1.0');
      expect(Object.keys(doc.json().paths)).toContain('/api/v2/blog/_table/posts');
      for (const url of ['/_table/posts', '/_table', '/_schema']) {
        expect((await call('GET', url, { key: 'docs', as: 'bob' })).statusCode, url).toBe(403);
      }
      // and a data role does not get the docs
      expect((await call('GET', '/_doc', { as: 'bob' })).statusCode).toBe(403);
    });

    test('per-role API keys: each app has its own role', async () => {
      expect((await call('GET', '/_table/posts', { key: 'partner' })).statusCode).toBe(200);
      // the partner app's role is fixed: a denial is a 403, not an invitation to sign in
      expect((await call('DELETE', '/_table/posts/3', { key: 'partner' })).json().error.code).toBe('DFC_ERR_ACCESS_DENIED');
      const names = async (key: 'admin' | 'web' | 'partner', as: 'carol' | 'bob') =>
        (await call('GET', '/_table', { key, as })).json().resource.map((t: { name: string }) => t.name);
      expect(await names('admin', 'carol')).toEqual(['bookmarks', 'comments', 'posts', 'profiles', 'users']);
      expect(await names('partner', 'bob')).toEqual(['comments', 'posts', 'profiles']);
      expect(await names('web', 'bob')).toEqual(['bookmarks', 'comments', 'posts', 'profiles', 'users']);
    });

    test('CORS: preflight before auth, actual responses echo allowed origins only', async () => {
      const pre = await blog.server.app.inject({
        method: 'OPTIONS',
        url: '/api/v2/blog/_table/posts',
        headers: { origin: 'http://localhost:5173', 'access-control-request-method': 'PATCH', 'access-control-request-headers': 'authorization, x-api-key' },
      });
      expect(pre.statusCode).toBe(204);
      expect(pre.headers['access-control-allow-origin']).toBe('http://localhost:5173');
      expect(pre.headers['access-control-allow-credentials']).toBe('true');
      expect(pre.headers['access-control-allow-headers']?.split(', ').sort()).toEqual(['Authorization', 'Content-Type', 'X-Api-Key']);
      expect(pre.headers['access-control-max-age']).toBe('600');
      const put = await blog.server.app.inject({ method: 'OPTIONS', url: '/api/v2/blog/_table/posts', headers: { origin: 'http://localhost:5173', 'access-control-request-method': 'PUT' } });
      expect(put.statusCode).toBe(405);
      const ok = await call('GET', '/_table/posts', { headers: { origin: 'https://blog.example.com' } });
      expect(ok.headers['access-control-allow-origin']).toBe('https://blog.example.com');
      expect(ok.headers['access-control-expose-headers']).toBe('X-Request-Id');
      const evil = await call('GET', '/_table/posts', { headers: { origin: 'https://evil.example' } });
      expect(evil.headers['access-control-allow-origin']).toBeUndefined();
      expect(evil.headers.vary).toContain('Origin');
      const docs = await call('GET', '/_doc', { key: 'docs', as: 'bob', headers: { origin: 'https://docs.example.com' } });
      expect(docs.headers['access-control-allow-origin']).toBe('https://docs.example.com');
      expect(docs.headers['access-control-allow-credentials']).toBeUndefined();
    });

    test('bad input is a 4xx with a clear message, never a 5xx, and changes nothing', async () => {
      const before = await blog.ds.count('posts', { kind: 'const', value: true });
      const raw = (method: InjectOptions['method'], url: string, payload: string, contentType = 'application/json') =>
        blog.server.app.inject({ method, url: `/api/v2/blog${url}`, payload, headers: { 'x-api-key': KEYS.admin, authorization: `Bearer ${tokens.carol}`, 'content-type': contentType } });
      const cases: [LightMyRequestResponse, number, string][] = [
        [await raw('POST', '/_table/posts', '{"title": '), 400, 'DFC_ERR_INVALID_JSON'],
        [await raw('POST', '/_table/posts', '{"title":"x"}', 'text/plain'), 415, 'DFC_ERR_UNSUPPORTED_MEDIA_TYPE'],
        [await raw('POST', '/_table/posts', '{"title":"x"}', 'multipart/form-data; boundary=x'), 415, 'DFC_ERR_UNSUPPORTED_MEDIA_TYPE'],
        [await raw('POST', '/_table/posts', JSON.stringify({ title: 'x'.repeat(1_100_000) })), 413, 'DFC_ERR_BODY_TOO_LARGE'],
        [await raw('POST', '/_table/posts', '{"a":'.repeat(5000) + '1' + '}'.repeat(5000)), 400, 'DFC_ERR_JSON_TOO_DEEP'],
        [await raw('POST', '/_table/posts', '{"__proto__":{"admin":true}}'), 400, 'DFC_ERR_FORBIDDEN_KEY'],
        [await raw('POST', '/_table/posts', '{"nope":1}'), 400, 'DFC_ERR_BAD_RECORD'],
        [await call('GET', `/_table/posts?filter=${encodeURIComponent('nope = 1')}`, { key: 'admin', as: 'carol' }), 400, 'DFC_ERR_BAD_FILTER'],
        [await call('GET', '/_table/posts?fields=id,nope', { key: 'admin', as: 'carol' }), 400, 'DFC_ERR_BAD_PARAMETER'],
        [await call('GET', '/_table/posts?order=nope', { key: 'admin', as: 'carol' }), 400, 'DFC_ERR_BAD_PARAMETER'],
      ];
      for (const [r, status, code] of cases) {
        expect(r.statusCode, code).toBe(status);
        expect(r.json().error.code).toBe(code);
        expect(r.json().error.message).toMatch(/^[a-z`]/);
      }
      const payloads = ["' OR '1'='1", "1; DROP TABLE posts", "1) OR (1=1", "id = 1 UNION SELECT * FROM users", "pg_sleep(5)", "(SELECT 1)", 'id; --', '`id`', '"id"'];
      for (const p of payloads) {
        for (const param of ['filter', 'fields', 'order', 'ids', 'limit', 'offset']) {
          const r = await call('GET', `/_table/posts?${param}=${encodeURIComponent(p)}`, { key: 'admin', as: 'carol' });
          expect(r.statusCode, `${param}=${p}`).toBeLessThan(500);
          if (param === 'filter' || param === 'ids' || param === 'limit' || param === 'offset') expect(r.statusCode, `${param}=${p}`).toBe(400);
        }
        const byId = await call('GET', `/_table/posts/${encodeURIComponent(p)}`, { key: 'admin', as: 'carol' });
        expect(byId.statusCode, p).toBeLessThan(500);
        const body = await call('POST', '/_table/posts', { key: 'admin', as: 'carol', body: { id: 99, title: p, body: p, isPublic: true, createdAt: '2024-01-01T00:00:00Z', userId: p } });
        expect(body.statusCode, p).toBeLessThan(500);
        if (body.statusCode === 201) {
          expect((await row('posts', 'id', 99))?.title).toBe(p);
          await blog.ds.delete('posts', { kind: 'cmp', column: 'id', op: '=', value: 99 });
        }
      }
      expect(await blog.ds.count('posts', { kind: 'const', value: true })).toBe(before);
      expect(await blog.ds.count('users', { kind: 'const', value: true })).toBe(4);
    });
  });
}
