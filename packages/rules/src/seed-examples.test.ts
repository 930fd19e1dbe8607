/**
 * Every example of the Space Cloud "Securing your APIs" seed document, run through the
 * interpreter, `compile` and a generated module (which must agree), with the meaning
 * the document gives it — and, where Space Cloud's implementation differs from its
 * documentation, the fail-closed meaning dfc gives it.
 */
import { describe, expect, test } from 'vitest';
import type { Rule } from '@dfc/schema';
import { decide } from './engines.test-util.js';
import { evaluate } from './interpret.js';
import { createFieldCrypto } from './crypto.js';
import { lintRule } from './lint.js';
import type { RuleContext } from './types.js';

const user = { id: 'u1', role: 'user' };
const admin = { id: 'a1', role: 'admin' };
const moderator = { id: 'm1', role: 'moderator' };

describe('crud rules on a collection', () => {
  const rules: Record<string, Rule> = {
    create: { rule: 'allow' },
    read: { rule: 'allow' },
    update: { rule: 'deny' },
    delete: { rule: 'deny' },
  };
  test('create and read are allowed, update and delete are blocked', async () => {
    expect((await decide(rules.create!, { args: { doc: { a: 1 } } })).decision.allow).toBe(true);
    expect((await decide(rules.read!, { args: { find: {} } })).decision.allow).toBe(true);
    const upd = await decide(rules.update!, { args: { auth: user, find: {} } }, undefined, 'rules.db.users.update');
    expect(upd.decision).toEqual({ allow: false, status: 403, code: 'denied', reason: 'the operation is denied', path: 'rules.db.users.update' });
    expect((await decide(rules.delete!, { args: { auth: user, find: {} } })).decision.allow).toBe(false);
  });
});

describe('allow anonymous access', () => {
  test('`allow` lets a caller without a session read', async () => {
    expect((await decide({ rule: 'allow' }, { args: { find: { id: 1 } } })).decision).toEqual({ allow: true });
  });
});

describe('deny access', () => {
  test('`deny` refuses everyone, signed in or not', async () => {
    expect((await decide({ rule: 'deny' }, { args: { auth: admin } })).decision.code).toBe('denied');
    // Anything but a top-level `allow` needs a session first (Space Cloud parses the token for every other rule).
    expect((await decide({ rule: 'deny' }, { args: {} })).decision.status).toBe(401);
  });
});

describe('allow only authenticated users', () => {
  test('a session passes; no session is a 401', async () => {
    expect((await decide({ rule: 'authenticated' }, { args: { auth: user, doc: {} } })).decision.allow).toBe(true);
    const d = (await decide({ rule: 'authenticated' }, { args: { doc: {} } }, undefined, 'rules.shop.bookmarks.create')).decision;
    expect(d).toEqual({ allow: false, status: 401, code: 'unauthenticated', reason: 'authentication is required', path: 'rules.shop.bookmarks.create' });
  });
});

describe('match incoming requests', () => {
  const ownTodos: Rule = { rule: 'match', eval: '==', type: 'string', f1: 'args.auth.id', f2: 'args.find.userId' };
  test('a user can query only their own todos', async () => {
    expect((await decide(ownTodos, { args: { auth: user, find: { userId: 'u1' } } })).decision.allow).toBe(true);
    const other = (await decide(ownTodos, { args: { auth: user, find: { userId: 'u2' } } }, undefined, 'rules.db.todos.read')).decision;
    expect(other).toEqual({
      allow: false,
      status: 403,
      code: 'denied',
      reason: '`args.auth.id` == `args.find.userId` does not hold',
      path: 'rules.db.todos.read',
    });
    // No `userId` in the where clause: the variable is missing, which denies (fail closed).
    const missing = (await decide(ownTodos, { args: { auth: user, find: {} } })).decision;
    expect(missing).toMatchObject({ allow: false, code: 'error', reason: '`args.find.userId` is missing' });
  });

  test('only an admin may delete a project', async () => {
    const rule: Rule = { rule: 'match', eval: '==', type: 'string', f1: 'args.auth.role', f2: 'admin' };
    expect((await decide(rule, { args: { auth: admin, find: {} } })).decision.allow).toBe(true);
    expect((await decide(rule, { args: { auth: user, find: {} } })).decision.allow).toBe(false);
  });

  test('admins and moderators may delete a project', async () => {
    const rule: Rule = { rule: 'match', eval: 'in', type: 'string', f1: 'args.auth.role', f2: ['admin', 'moderator'] };
    expect((await decide(rule, { args: { auth: admin } })).decision.allow).toBe(true);
    expect((await decide(rule, { args: { auth: moderator } })).decision.allow).toBe(true);
    expect((await decide(rule, { args: { auth: user } })).decision.reason).toBe('`args.auth.role` in `["admin","moderator"]` does not hold');
  });

  test('a field must be present in the request (`utils.exists`)', async () => {
    const rule: Rule = { rule: 'match', eval: '==', type: 'bool', f1: 'utils.exists(args.find.postId)', f2: true };
    expect((await decide(rule, { args: { auth: user, find: { postId: 'p1' } } })).decision.allow).toBe(true);
    expect((await decide(rule, { args: { auth: user, find: {} } })).decision.allow).toBe(false);
  });
});

describe('remove fields from request and response', () => {
  const rows = () => [
    { id: 1, name: 'ann', password: 'h1' },
    { id: 2, name: 'bob', password: 'h2' },
  ];

  test("the documented example (`type: 'bool'` against `admin`) is a build error and denies at run time", async () => {
    const documented: Rule = {
      rule: 'remove',
      fields: ['res.password'],
      clause: { rule: 'match', eval: '!=', type: 'bool', f1: 'args.auth.role', f2: 'admin' },
    };
    const issues = lintRule(documented, { path: 'rules.db.users.read' });
    expect(issues.map((i) => [i.id, i.path])).toEqual([['operand-type', 'rules.db.users.read.clause.f2']]);
    // Space Cloud's clause errors, the removal is skipped and the password is returned; dfc refuses.
    const d = (await decide(documented, { args: { auth: user, find: {} }, res: rows() })).decision;
    expect(d).toMatchObject({ allow: false, code: 'error', path: 'rules.svc.t.read.clause' });
  });

  test('with `type: string` the password is removed from every row unless the caller is an admin', async () => {
    const rule: Rule = {
      rule: 'remove',
      fields: ['res.password'],
      clause: { rule: 'match', eval: '!=', type: 'string', f1: 'args.auth.role', f2: 'admin' },
    };
    expect(lintRule(rule, { path: 'r' })).toEqual([]);
    const forUser = await decide(rule, { args: { auth: user, find: {} }, res: rows() });
    expect(forUser.decision).toEqual({ allow: true });
    expect(forUser.input.res).toEqual([
      { id: 1, name: 'ann' },
      { id: 2, name: 'bob' },
    ]);
    const forAdmin = await decide(rule, { args: { auth: admin, find: {} }, res: rows() });
    expect(forAdmin.input.res).toEqual(rows());
    // A single object works as a one-row response.
    const one = await decide(rule, { args: { auth: user, find: {} }, res: { id: 1, password: 'h1' } });
    expect(one.input.res).toEqual({ id: 1 });
  });

  test('without `res` at decision time the response work is handed to the host', async () => {
    const rule: Rule = { rule: 'remove', fields: ['res.password'] };
    const d = (await decide(rule, { args: { auth: user } }, undefined, 'rules.db.users.read')).decision;
    expect(d).toEqual({
      allow: true,
      response: [{ op: 'remove', field: 'res.password', segments: ['password'], path: 'rules.db.users.read' }],
    });
  });

  test('`role` is removed from an update', async () => {
    const rule: Rule = { rule: 'remove', fields: ['args.update.$set.role'] };
    const r = await decide(rule, { args: { auth: user, find: { id: 'u1' }, update: { $set: { role: 'admin', name: 'x' } } } });
    expect(r.decision.allow).toBe(true);
    expect(r.input.args.update).toEqual({ $set: { name: 'x' } });
    // An update without `$set` has nothing to remove (Space Cloud would deny it).
    const inc = await decide(rule, { args: { auth: user, update: { $inc: { n: 1 } } } });
    expect(inc.decision.allow).toBe(true);
  });

  test('inside `and`/`or` a remove always passes', async () => {
    const rule: Rule = { rule: 'and', clauses: [{ rule: 'remove', fields: ['res.password'] }, { rule: 'authenticated' }] };
    expect((await decide(rule, { args: { auth: user }, res: rows() })).input.res).toEqual([
      { id: 1, name: 'ann' },
      { id: 2, name: 'bob' },
    ]);
  });
});

describe('force certain fields', () => {
  test('the where clause is forced to the caller', async () => {
    const rule: Rule = { rule: 'force', field: 'args.find.userId', value: 'args.auth.id' };
    const r = await decide(rule, { args: { auth: user, find: { userId: 'someone-else', done: false } } });
    expect(r.decision.allow).toBe(true);
    expect(r.input.args.find).toEqual({ userId: 'u1', done: false });
    // A request without a where clause gets one.
    expect((await decide(rule, { args: { auth: user } })).input.args.find).toEqual({ userId: 'u1' });
  });

  test('a clause makes the force conditional', async () => {
    const rule: Rule = {
      rule: 'force',
      field: 'args.doc.role',
      value: 'user',
      clause: { rule: 'match', eval: '!=', type: 'string', f1: 'args.auth.role', f2: 'admin' },
    };
    expect((await decide(rule, { args: { auth: user, doc: { role: 'admin' } } })).input.args.doc).toEqual({ role: 'user' });
    expect((await decide(rule, { args: { auth: admin, doc: { role: 'admin' } } })).input.args.doc).toEqual({ role: 'admin' });
  });
});

describe('database query', () => {
  const profiles = [
    { userId: 'u1', isPublic: true, followers: [] },
    { userId: 'u2', isPublic: false, followers: ['u3'] },
  ];
  const ctx = (): RuleContext => ({
    query: async (_db, _col, find) =>
      profiles.filter((p) =>
        Object.entries(find).every(([k, v]) => {
          if (v !== null && typeof v === 'object' && '$in' in v) return (p[k as 'followers'] as string[]).includes((v as { $in: string }).$in);
          return p[k as keyof typeof p] === v;
        }),
      ),
  });

  test('a user can query only public profiles', async () => {
    const rule: Rule = {
      rule: 'query',
      db: 'mongo',
      col: 'profiles',
      find: { userId: 'args.find.userId', isPublic: true },
      clause: { rule: 'match', type: 'number', eval: '==', f1: 'utils.length(args.result)', f2: 1 },
    };
    expect((await decide(rule, { args: { auth: user, find: { userId: 'u1' } } }, ctx)).decision.allow).toBe(true);
    const priv = await decide(rule, { args: { auth: user, find: { userId: 'u2' } } }, ctx);
    expect(priv.decision.allow).toBe(false);
    expect(priv.input.args.result).toEqual([]);
  });

  test('the Instagram problem: a public profile or one the caller follows', async () => {
    const rule: Rule = {
      rule: 'or',
      clauses: [
        { rule: 'query', db: 'mongo', col: 'profiles', find: { userId: 'args.find.userId', isPublic: true } },
        { rule: 'query', db: 'mongo', col: 'profiles', find: { followers: { $in: 'args.auth.userId' } } },
      ],
    };
    const follower = { id: 'u3', userId: 'u3' };
    const stranger = { id: 'u4', userId: 'u4' };
    expect((await decide(rule, { args: { auth: stranger, find: { userId: 'u1' } } }, ctx)).decision.allow).toBe(true);
    expect((await decide(rule, { args: { auth: follower, find: { userId: 'u2' } } }, ctx)).decision.allow).toBe(true);
    const d = (await decide(rule, { args: { auth: stranger, find: { userId: 'u2' } } }, ctx, 'rules.mongo.profiles.read')).decision;
    expect(d).toEqual({
      allow: false,
      status: 403,
      code: 'denied',
      reason: 'the query on `mongo`.`profiles` found no rows',
      path: 'rules.mongo.profiles.read.clauses[1]',
    });
  });
});

describe('encrypt, decrypt and hash fields', () => {
  const crypto = createFieldCrypto(Buffer.alloc(32, 7));
  const ctx = (): RuleContext => ({ crypto });

  test('name and email are encrypted on insert and decrypted for their owner', async () => {
    const enc: Rule = { rule: 'encrypt', fields: ['args.doc.email', 'args.doc.name'] };
    const doc = { id: 'u1', email: 'ann@example.com', name: 'Ann' };
    // Encryption is randomised, so the engines' outputs differ: check the interpreter's.
    const input = { args: { auth: user, doc: structuredClone(doc) } };
    expect((await evaluate(enc, input, ctx())).allow).toBe(true);
    expect(input.args.doc.email).toMatch(/^dfcenc:v1:[0-9a-f]{8}:/);
    expect(input.args.doc.name).not.toBe('Ann');

    const dec: Rule = {
      rule: 'decrypt',
      fields: ['res.email', 'res.name'],
      clause: { rule: 'match', type: 'string', eval: '==', f1: 'args.auth.id', f2: 'args.auth.userId' },
    };
    const row = { ...input.args.doc };
    const mine = await decide(dec, { args: { auth: { id: 'u1', userId: 'u1' } }, res: [row] }, ctx);
    expect(mine.input.res).toEqual([doc]);
    const others = await decide(dec, { args: { auth: { id: 'u2', userId: 'u1' } }, res: [row] }, ctx);
    expect(others.input.res).toEqual([row]);
  });

  test('the password is hashed with SHA-256 before insert', async () => {
    const rule: Rule = { rule: 'hash', fields: ['args.doc.password'] };
    const r = await decide(rule, { args: { auth: user, doc: { password: 'password' } } });
    expect(r.input.args.doc).toEqual({ password: 'XohImNooBHFR0OVvjcYpJ3NgPQ1qq73WKhHvch0VQtg=' });
    // The same encoding on the response side (Space Cloud writes hex there).
    const res = await decide({ rule: 'hash', fields: ['res.password'] }, { args: { auth: user }, res: { password: 'password' } });
    expect(res.input.res).toEqual({ password: 'XohImNooBHFR0OVvjcYpJ3NgPQ1qq73WKhHvch0VQtg=' });
    expect(lintRule(rule, { path: 'r' }).map((i) => i.id)).toEqual(['hash-password']);
  });
});

describe('custom validations (webhook)', () => {
  test('a 2xx JSON answer allows; the documented localhost URL is a build error', async () => {
    const rule: Rule = { rule: 'webhook', url: 'http://localhost:8080/my-custom-logic' };
    expect(lintRule(rule, { path: 'r' }).map((i) => i.id)).toEqual(['webhook-url-http', 'webhook-url-private']);
    expect(lintRule(rule, { path: 'r', webhooks: { allowHttp: true, allowPrivateHosts: ['localhost'] } })).toEqual([]);
    const bodies: string[] = [];
    const ctx = (status: number): (() => RuleContext) => () => ({
      fetch: async (_url, init) => {
        bodies.push(init.body);
        return { status, body: {} };
      },
    });
    const args = { auth: user, doc: { title: 't' }, token: 'raw.jwt' };
    expect((await decide(rule, { args }, ctx(200))).decision.allow).toBe(true);
    expect((await decide(rule, { args }, ctx(401))).decision).toMatchObject({ allow: false, code: 'denied' });
    // The body is the request's args, without the caller's raw token.
    expect(JSON.parse(bodies[0]!)).toEqual({ auth: user, doc: { title: 't' } });
  });
});
