/**
 * `dfc explain` in process, on examples/blog: a denied request names the deciding rule
 * and the values it compared; an allowed one shows what the rules changed; JSON is the
 * runtime's explanation; bad requests are usage errors.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { SignJWT } from 'jose';
import { REPO, tempDir } from '../../../../test/fixtures/helpers.js';
import type { CommandIO } from './command.js';
import explainCommand from './explain.js';

const BLOG = join(REPO, 'examples', 'blog');
const tmp = tempDir('dfc-explain-');
afterAll(() => tmp.cleanup());

async function explain(options: Record<string, unknown>, env: Record<string, string> = {}) {
  let out = '';
  let err = '';
  const io: CommandIO = {
    cwd: REPO,
    env,
    out: (t) => void (out += t),
    err: (t) => void (err += t),
    color: { out: false, err: false },
    signal: new AbortController().signal,
  };
  const code = await explainCommand.run({ operands: [BLOG], options: { format: 'text', ...options } }, io);
  return { code, out, err };
}

describe('dfc explain', () => {
  test('a denied request: the deciding rule, its source line and the values compared', async () => {
    const r = await explain({
      app: 'web',
      claims: '{"id":"alice","role":"editor"}',
      verb: 'PATCH',
      path: "/api/v2/blog/_table/posts?filter=userId%3D'bob'",
      body: '{"title":"mine now"}',
      origin: 'https://blog.example.com',
    });
    expect(r.err).toBe('');
    expect(r.code).toBe(1);
    const lines = r.out.split('\n');
    expect(lines[0]).toBe('PATCH /api/v2/blog/_table/posts  →  denied 403 DFC_ERR_RULE_DENIED');
    expect(r.out).toContain('cors         entry `/api/v2/blog/*` allows https://blog.example.com with credentials');
    expect(r.out).toContain("role         `editor` (chosen by the session's role claim)");
    expect(r.out).toContain('access       blog/_table/posts PATCH: granted (deciding tier: exact component)');
    expect(r.out).toMatch(/✓ roles\.editor\.access\[0\]: blog\/_table\/posts GET, POST, PATCH, filters userId = "\{user\.id\}"  examples\/blog\/dfc\.config\.ts:\d+/);
    expect(r.out).toMatch(/✗ match `owner`: args\.auth\.id == args\.find\.userId \(string\)  examples\/blog\/dfc\.config\.ts:\d+/);
    expect(r.out).toContain('args.auth.id = "alice", args.find.userId = "bob" → does not hold');
    expect(lines.at(-2)).toBe(
      'denied by rule rules.blog.posts.update (`owner`): `args.auth.id` == `args.find.userId` does not hold (args.auth.id = "alice", args.find.userId = "bob")',
    );
  });

  test('an allowed request: the role from the app, skipped transforms, the changes and the where', async () => {
    const r = await explain({ app: 'web', claims: '{"id":"alice","role":"editor"}', verb: 'POST', path: '/api/v2/blog/_table/bookmarks', body: '{"postId":1,"userId":"bob"}' });
    expect(r.code).toBe(0);
    expect(r.out).toContain('✓ force args.doc.userId = args.auth.id: applied');
    expect(r.out).toContain('changes\n  args.doc.userId: "bob" → "alice"\n');
    expect(r.out).toContain("where        userId = 'alice'\n");
    const users = await explain({ app: 'web', claims: '{"id":"bob","role":"user"}', path: '/api/v2/blog/_table/users' });
    expect(users.code).toBe(1);
    expect(users.out).toContain('access       blog/_table/users GET: not granted (no entry of the role matches)');
    expect(users.out).toContain('role         `reader` (the app\'s default: the session\'s role claim "user" is not one this app lets sessions choose)');
    const admin = await explain({ app: 'admin', claims: '{"id":"carol","role":"admin"}', path: '/api/v2/blog/_table/users/alice' });
    expect(admin.out).toContain('– remove res.password: skipped: its clause does not hold');
    expect(admin.out).toContain('args.auth.id = "carol", args.find.id = "alice" → does not hold');
    expect(admin.out).toContain('access       blog/_table/users GET: granted (deciding tier: all services)');
  });

  test('query rules read `--data`; without it the explanation says so', async () => {
    const data = join(tmp.dir, 'profiles.json');
    writeFileSync(data, JSON.stringify({ data: { profiles: [{ userId: 'bob', isPublic: false, followers: ['alice'] }] } }));
    const r = await explain({ app: 'web', claims: '{"id":"alice"}', path: '/api/v2/blog/_table/profiles/bob', data });
    expect(r.code).toBe(0);
    expect(r.out).toContain('✗ query `public`: blog.profiles where {"userId":"bob","isPublic":true} → 0 rows');
    expect(r.out).toContain('✓ query `follower`: blog.profiles where {"userId":"bob","followers":{"$in":"alice"}} → 1 row');
    expect(r.out.trimEnd().split('\n').at(-1)).toBe('allowed with role `reader` by rule rules.blog.profiles.read (`follower`)');
    const none = await explain({ app: 'web', claims: '{"id":"alice"}', path: '/api/v2/blog/_table/profiles/bob' });
    expect(none.code).toBe(1);
    expect(none.out).toContain('note: `query` rules read no data here');
  });

  test('--format json prints the runtime explanation', async () => {
    const r = await explain({ app: 'docs', path: '/api/v2/blog/_doc', format: 'json' });
    expect(r.code).toBe(1);
    const { explain: e } = JSON.parse(r.out);
    expect(e).toMatchObject({
      allow: false,
      status: 401,
      error: { code: 'DFC_ERR_AUTH_REQUIRED' },
      request: { app: 'docs', service: 'blog', component: '_doc', verb: 'GET', session: false },
      trace: { app: 'docs', role: 'docs', roleSource: 'app default', requirements: [{ path: 'services.blog.security', passed: false }] },
    });
  });

  test('an API key and a session token are checked with the secrets of the environment', async () => {
    const env = { BLOG_WEB_KEY: 'web-key-0123456789abcdef', BLOG_ADMIN_KEY: 'admin-key-0123456789abcdef', BLOG_DOCS_KEY: 'docs-key-0123456789abcdef', BLOG_JWT_SECRET: 'j'.repeat(40) };
    const token = await new SignJWT({ id: 'dave', role: 'moderator' })
      .setProtectedHeader({ alg: 'HS256' })
      .setIssuer('https://id.blog.example.com')
      .setAudience('blog')
      .setIssuedAt()
      .setExpirationTime('5m')
      .sign(new TextEncoder().encode(env.BLOG_JWT_SECRET));
    const r = await explain({ apiKey: env.BLOG_WEB_KEY, token, verb: 'DELETE', path: '/api/v2/blog/_table/posts/1' }, env);
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    expect(r.out).toContain("role         `moderator` (chosen by the session's role claim)");
    const bad = await explain({ apiKey: env.BLOG_WEB_KEY, token: token.slice(0, -2) + 'xx', path: '/api/v2/blog/_table/posts' }, env);
    expect(bad).toMatchObject({ code: 2, err: 'dfc explain: `--token` is not a valid session token for this policy\n' });
    const missing = await explain({ apiKey: 'k', path: '/api/v2/blog/_table/posts' });
    expect(missing.code).toBe(2);
    expect(missing.err).toContain('the environment variable `BLOG_');
  });

  test('requests it cannot read are usage errors that name the flag', async () => {
    expect(await explain({ app: 'web', verb: 'FETCH', path: '/api/v2/blog/_table/posts' })).toMatchObject({ code: 2, err: 'dfc explain: `--verb` must be one of `GET`, `POST`, `PUT`, `PATCH`, `DELETE`, not `FETCH`\n' });
    expect(await explain({ app: 'web', path: '/v1/blog' })).toMatchObject({ code: 2, err: 'dfc explain: `--path` must look like `/api/v2/<service>/_table/<table>`, not `/v1/blog`\n' });
    expect(await explain({ app: 'web', claims: '[1]', path: '/api/v2/blog/_table/posts' })).toMatchObject({ code: 2, err: 'dfc explain: `--claims` must be a JSON object\n' });
    expect((await explain({ app: 'web', path: "/api/v2/blog/_table/posts?filter=nope%3D1" })).err).toMatch(/^dfc explain: invalid `--filter`: /);
    expect(await explain({ app: 'web' })).toMatchObject({ code: 2, err: 'dfc explain: give the request with `--path`, or with `--service` (and `--table`)\n' });
    const file = join(tmp.dir, 'req.json');
    writeFileSync(file, JSON.stringify({ app: 'web', pathh: '/api/v2/blog/_table/posts' }));
    expect((await explain({ request: file })).err).toMatch(/^dfc explain: `--request` has an unknown key `pathh`/);
  });
});
