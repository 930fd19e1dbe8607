import { describe, expect, test } from 'vitest';
import type { PolicyAccess, PolicyService } from '@dfc/schema';
import { compilePolicy } from './compiled.js';
import { decide, decideNow, processResponse, type DecideRequest } from './decide.js';
import type { RuleFn } from './artifact.js';
import { makeArtifact, makePolicy } from './testing.js';

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
  database: { type: 'sqlite', file: 'blog.db' },
  maxRecords: 1000,
  security: [{ name: 'public', type: 'allowAnonymous' }],
  tables: {
    posts: {
      primaryKey: 'id',
      columns: {
        id: { type: 'integer', nullable: false },
        userId: { type: 'string', nullable: false },
        title: { type: 'string', nullable: false },
        secret: { type: 'string', nullable: true, security: [{ name: 'adminsOnly', type: 'role', roles: ['admin'] }] },
      },
    },
    users: {
      primaryKey: 'id',
      columns: { id: { type: 'string', nullable: false }, password: { type: 'string', nullable: true } },
      security: [{ name: 'signedIn', type: 'authenticated' }],
    },
  },
};

const policy = makePolicy({
  services: { blog },
  rules: {
    blog: {
      posts: { read: { rule: 'allow' }, update: { rule: 'allow' }, create: { rule: 'authenticated' } },
      users: { read: { rule: 'allow' } },
    },
  },
  roles: {
    reader: { active: true, access: [access('*', ['GET']), access('_table/posts', ['GET', 'POST'])] },
    editor: {
      active: true,
      access: [access('_table/*', ['GET', 'POST', 'PATCH'], { filters: [{ name: 'userId', operator: '=', value: '{user.id}' }] })],
    },
    admin: { active: true, access: [access('*', ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'])] },
    off: { active: false, access: [access('*', ['GET'])] },
  },
  apps: {
    web: { apiKey: { $secret: 'WEB_KEY' }, role: 'reader', roles: ['editor', 'admin'], active: true },
    other: { apiKey: { sha256: 'a'.repeat(64) }, role: null, roles: ['admin'], active: true },
    dead: { apiKey: { $secret: 'DEAD_KEY' }, role: 'reader', roles: [], active: false },
    offapp: { apiKey: { $secret: 'OFF_KEY' }, role: 'off', roles: [], active: true },
  },
  auth: { jwt: { secret: { $secret: 'JWT' }, algorithms: ['HS256'], roleClaim: 'role', clockTolerance: 5 }, queryCredentials: true },
});

const env = { WEB_KEY: 'web-key-0123456789', DEAD_KEY: 'dead-key-0123456789', OFF_KEY: 'off-key-0123456789' };

function compiled(rules: Record<string, RuleFn> = {}) {
  const defaults: Record<string, RuleFn> = {
    'blog/posts/read': () => ({ allow: true }),
    'blog/posts/update': () => ({ allow: true }),
    'blog/posts/create': (i) => (i.args.auth ? { allow: true } : { allow: false, reason: 'sign in to create' }),
    'blog/users/read': () => ({ allow: true }),
  };
  return compilePolicy(makeArtifact(policy, { rules: { ...defaults, ...rules } }), { env });
}

const req = (r: Partial<DecideRequest>): DecideRequest => ({ apiKey: env.WEB_KEY, service: 'blog', verb: 'GET', table: 'posts', ...r });

describe('app and role', () => {
  const c = compiled();
  test('no key, an unknown key and an inactive app are 401; the last two are indistinguishable', async () => {
    const none = await decide(c, req({ apiKey: undefined }));
    expect(none.allow || none.error.code).toBe('DFC_ERR_NO_API_KEY');
    const bad = await decide(c, req({ apiKey: 'nope' }));
    const dead = await decide(c, req({ apiKey: env.DEAD_KEY }));
    expect(bad.allow || bad.error.status).toBe(401);
    expect(dead.allow || [dead.error.code, dead.error.message]).toEqual(bad.allow || [bad.error.code, bad.error.message]);
  });
  test('the role claim selects a role only when the app lists it', async () => {
    const asAdmin = await decide(c, req({ claims: { id: 'u1', role: 'admin' }, trace: true }));
    expect(asAdmin.allow && asAdmin.role).toBe('admin');
    expect(asAdmin.trace?.roleSource).toBe('claim');
    // `off` exists but `web` does not list it: the default role applies
    const notListed = await decide(c, req({ claims: { id: 'u1', role: 'off' } }));
    expect(notListed.allow && notListed.role).toBe('reader');
    for (const role of ['__proto__', 'constructor', 'toString', 'ADMIN', 'admin ', ['admin'], { admin: 1 }]) {
      const d = await decide(c, req({ claims: { id: 'u1', role } }));
      expect(d.allow && d.role).toBe('reader');
    }
  });
  test('an app with no default role and no usable claim grants nothing', async () => {
    const d = await decide(c, { app: 'other', service: 'blog', table: 'posts', verb: 'GET' });
    expect(d.allow || d.error.code).toBe('DFC_ERR_NO_ROLE');
  });
  test('an inactive role is denied', async () => {
    const d = await decide(c, req({ apiKey: env.OFF_KEY }));
    expect(d.allow || d.error.code).toBe('DFC_ERR_ROLE_INACTIVE');
  });
  test('unknown service and table are 404', async () => {
    const s = await decide(c, req({ service: 'shop' }));
    expect(s.allow || s.error.status).toBe(404);
    const t = await decide(c, req({ table: 'nope' }));
    expect(t.allow || t.error.code).toBe('DFC_ERR_TABLE_NOT_FOUND');
  });
});

describe('role access', () => {
  const c = compiled();
  test('the exact entry overrides the service `*` entry and names the tier in its note', async () => {
    const d = await decide(c, req({ verb: 'DELETE', claims: { id: 'u1' }, trace: true }));
    expect(d.allow).toBe(false);
    if (d.allow) return;
    expect(d.error.code).toBe('DFC_ERR_ACCESS_DENIED');
    expect(d.error.message).toBe('role `reader` may not `DELETE` `blog/_table/posts`');
    expect(d.error.note).toContain('exact component');
    expect(d.trace?.access?.tier).toBe('exact');
  });
  test('without a session, a denial is a 401 when the app lets sessions select a role', async () => {
    const d = await decide(c, req({ verb: 'DELETE' }));
    expect(d.allow || d.error.code).toBe('DFC_ERR_AUTH_REQUIRED');
  });
  test('an exact entry covers by-id requests of its table', async () => {
    const d = await decide(c, req({ id: 5, verb: 'GET' }));
    expect(d.allow).toBe(true);
  });
  test('a role filter becomes a bound condition on the caller\'s claims', async () => {
    const d = await decide(c, req({ verb: 'PATCH', claims: { id: 'u1', role: 'editor' } }));
    expect(d.allow && d.where).toEqual({ kind: 'cmp', column: 'userId', op: '=', value: 'u1' });
    // a lookup holding filter syntax stays a value
    const evil = await decide(c, req({ verb: 'PATCH', claims: { id: "x') OR (1=1", role: 'editor' } }));
    expect(evil.allow && evil.where).toEqual({ kind: 'cmp', column: 'userId', op: '=', value: "x') OR (1=1" });
  });
  test('a role filter whose lookup is missing matches nothing', async () => {
    const d = await decide(c, req({ verb: 'PATCH', claims: { role: 'editor' } }));
    expect(d.allow && d.where).toEqual({ kind: 'const', value: false });
  });
});

describe('requirements and rules', () => {
  test('a table collection that needs a session is a 401 without one', async () => {
    const d = await decide(compiled(), req({ table: 'users' }));
    expect(d.allow || d.error.code).toBe('DFC_ERR_AUTH_REQUIRED');
    const ok = await decide(compiled(), req({ table: 'users', claims: { id: 'u1' } }));
    expect(ok.allow).toBe(true);
  });
  test('a field collection applies only when the field is written, and names the requirement', async () => {
    const c = compiled();
    const without = await decide(c, req({ verb: 'POST', claims: { id: 'u1' }, args: { doc: { title: 't' } } }));
    expect(without.allow).toBe(true);
    const withField = await decide(c, req({ verb: 'POST', claims: { id: 'u1' }, args: { doc: { title: 't', secret: 's' } } }));
    expect(withField.allow || withField.error.message).toBe('the requirements of field `blog/posts/secret` failed: `adminsOnly`');
    const admin = await decide(c, req({ verb: 'POST', claims: { id: 'u1', role: 'admin' }, args: { doc: { secret: 's' } } }));
    expect(admin.allow).toBe(true);
  });
  test('the service collection implies `authenticated` unless it allows anonymous', async () => {
    const p = makePolicy({ ...policy, services: { blog: { ...blog, security: [] } } });
    const c = compilePolicy(makeArtifact(p, { rules: { 'blog/posts/read': () => ({ allow: true }) } }), { env });
    const anon = await decide(c, req({}));
    expect(anon.allow || anon.error.code).toBe('DFC_ERR_AUTH_REQUIRED');
    expect((await decide(c, req({ claims: { id: 'x' } }))).allow).toBe(true);
  });
  test('a rule denial, a throwing rule and a missing rule all deny', async () => {
    const anonCreate = await decide(compiled(), req({ verb: 'POST', args: { doc: {} } }));
    expect(anonCreate.allow || [anonCreate.error.code, anonCreate.error.message]).toEqual(['DFC_ERR_RULE_DENIED', 'sign in to create']);
    const throwing = await decide(compiled({ 'blog/posts/read': () => { throw new Error('boom'); } }), req({}));
    expect(throwing.allow || throwing.error.message).toBe('rule `blog/posts/read` failed');
    const asyncThrow = await decide(compiled({ 'blog/posts/read': async () => Promise.reject(new Error('db down')) }), req({}));
    expect(asyncThrow.allow).toBe(false);
    const notDecision = await decide(compiled({ 'blog/posts/read': (() => undefined) as unknown as RuleFn }), req({}));
    expect(notDecision.allow).toBe(false);
    const missing = await decide(compiled(), req({ verb: 'DELETE', claims: { id: 'u1', role: 'admin' } }));
    expect(missing.allow || missing.error.message).toBe('no rule allows `delete` on `blog.posts`');
  });
  test('fields a rule forces on args.find become conditions of the query and the write check', async () => {
    const force: RuleFn = (i) => {
      i.args.find = { ...(i.args.find ?? {}), userId: i.args.auth?.id };
      return { allow: true };
    };
    const c = compiled({ 'blog/posts/update': force });
    const d = await decide(c, req({ verb: 'PATCH', id: 7, claims: { id: 'u9', role: 'admin' }, args: { find: { id: 7 }, update: { $set: { title: 'x' } } }, trace: true }));
    expect(d.allow).toBe(true);
    if (!d.allow) return;
    expect(d.forced).toEqual({ userId: 'u9' });
    expect(d.where).toEqual({ kind: 'cmp', column: 'userId', op: '=', value: 'u9' });
    expect(d.writeCheck).toEqual(d.where);
    expect(d.args.op).toBe('one');
  });
  test('equality conditions of the role filter join args.find, so owner rules hold on by-id requests', async () => {
    const owner: RuleFn = (i) => (i.args.auth?.id === i.args.find?.userId ? { allow: true } : { allow: false, reason: 'not the owner' });
    const c = compiled({ 'blog/posts/update': owner });
    const d = await decide(c, req({ verb: 'PATCH', id: 3, claims: { id: 'alice', role: 'editor' }, args: { find: { id: 3 }, update: { $set: { title: 'x' } } } }));
    expect(d.allow && d.args.find).toEqual({ id: 3, userId: 'alice' });
    expect(d.allow && d.where).toEqual({ kind: 'cmp', column: 'userId', op: '=', value: 'alice' });
    // a client's own value is kept, and the role filter still constrains the query
    const other = await decide(c, req({ verb: 'PATCH', claims: { id: 'alice', role: 'editor' }, args: { find: { userId: 'bob' } } }));
    expect(other.allow || other.error.message).toBe('not the owner');
  });
  test('rules see a copy: the caller\'s args are not changed', async () => {
    const mutate: RuleFn = (i) => {
      delete (i.args.update as { $set: Record<string, unknown> }).$set.role;
      return { allow: true };
    };
    const c = compiled({ 'blog/posts/update': mutate });
    const args = { find: { id: 1 }, update: { $set: { title: 't', role: 'admin' } } };
    const d = await decide(c, req({ verb: 'PATCH', claims: { id: 'u', role: 'admin' }, args }));
    expect(d.allow && d.args.update).toEqual({ $set: { title: 't' } });
    expect(args.update.$set.role).toBe('admin');
  });
});

describe('response rules', () => {
  const p = makePolicy({ ...policy, rules: { blog: { posts: { read: { rule: 'remove', fields: ['res.secret'] } } } } });
  const removeSecret: RuleFn = () => ({
    allow: true,
    response: [{ op: 'remove', field: 'res.secret', segments: ['secret'], path: 'rules.blog.posts.read' }],
  });
  test('work the rule leaves on `res.` is applied to every row by the engine', async () => {
    const c = compilePolicy(makeArtifact(p, { rules: { 'blog/posts/read': removeSecret } }), { env });
    const d = await decide(c, req({}));
    if (!d.allow) throw new Error('expected allow');
    expect(d.response).toHaveLength(1);
    expect(await processResponse(d, [{ id: 1, secret: 'x' }, { id: 2, secret: 'y' }])).toEqual([{ id: 1 }, { id: 2 }]);
    expect(await processResponse(d, { id: 3, secret: 'z' })).toEqual({ id: 3 });
  });
  test('a row that cannot be processed refuses the whole reply', async () => {
    const decrypt: RuleFn = () => ({
      allow: true,
      response: [{ op: 'decrypt', field: 'res.secret', segments: ['secret'], path: 'rules.blog.posts.read' }],
    });
    const c = compilePolicy(makeArtifact(p, { rules: { 'blog/posts/read': decrypt } }), { env });
    const d = await decide(c, req({}));
    if (!d.allow) throw new Error('expected allow');
    const crypto = { encrypt: (s: string) => 'enc:' + s, decrypt: (s: string) => { if (!s.startsWith('enc:')) throw new Error('tampered'); return s.slice(4); } };
    expect(await processResponse(d, [{ secret: 'enc:a' }], { crypto })).toEqual([{ secret: 'a' }]);
    await expect(processResponse(d, [{ secret: 'enc:a' }, { secret: 'plain' }], { crypto })).rejects.toMatchObject({ code: 'DFC_ERR_RESPONSE_REFUSED' });
  });
  test('a rule that needs a session answers 401, other denials 403 with the rule\'s reason', async () => {
    const c = compilePolicy(makeArtifact(p, { rules: { 'blog/posts/read': () => ({ allow: false, code: 'unauthenticated', reason: 'sign in first' }) } }), { env });
    const d = await decide(c, req({}));
    expect(d.allow || [d.error.code, d.error.message]).toEqual(['DFC_ERR_AUTH_REQUIRED', 'sign in first']);
  });
});

describe('args.auth', () => {
  test('each decision gets its own plain copy of frozen claims, own `__proto__` key included; changes never reach the claims or the next request', async () => {
    const raw = JSON.parse('{"sub":"u1","role":"admin","__proto__":{"polluted":true},"nested":{"a":1}}') as Record<string, unknown>;
    // As the JWT verifier makes them: own properties on a null prototype, frozen.
    const claims = Object.create(null) as Record<string, unknown>;
    for (const k of Object.keys(raw)) Object.defineProperty(claims, k, { value: raw[k], enumerable: true });
    Object.freeze(claims);
    const seen: unknown[] = [];
    const rule: RuleFn = (i) => {
      const auth = i.args.auth as Record<string, unknown>;
      seen.push([auth.role, auth.extra]);
      auth.role = 'changed';
      auth.extra = 1;
      return { allow: true };
    };
    const c = compilePolicy(makeArtifact(policy, { rules: { 'blog/posts/read': rule } }), { env });
    for (let k = 0; k < 2; k++) {
      const d = await decide(c, req({ claims }));
      if (!d.allow) throw new Error('expected allow');
      expect(Object.getPrototypeOf(d.args.auth)).toBe(Object.prototype);
      expect(Object.keys(d.args.auth!)).toEqual(['sub', 'role', '__proto__', 'nested', 'extra']);
      expect(d.args.auth!.role).toBe('changed');
      expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    }
    expect(seen).toEqual([['admin', undefined], ['admin', undefined]]);
    expect(claims.role).toBe('admin');
    expect(Object.keys(claims)).toEqual(['sub', 'role', '__proto__', 'nested']);
  });
});

describe('requirement closures from the module', () => {
  test('the module\'s closure decides the collection; it sees the role and a copy of the args', async () => {
    const seen: unknown[] = [];
    const svc: RuleFn = (i) => {
      seen.push(i.role);
      (i.args as Record<string, unknown>).find = { poisoned: true };
      return i.role === 'admin' ? { allow: true } : { allow: false, code: 'denied', failed: ['staffOnly'] };
    };
    const c = compilePolicy(makeArtifact(policy, { rules: { 'blog/posts/read': () => ({ allow: true }) }, requirements: { blog: svc } }), { env });
    const reader = await decide(c, req({ args: { find: { id: 1 } } }));
    expect(reader.allow || reader.error.message).toBe('the requirements of service `blog` failed: `staffOnly`');
    const admin = await decide(c, req({ claims: { role: 'admin' }, args: { find: { id: 1 } } }));
    expect(admin.allow && admin.args.find).toEqual({ id: 1 });
    expect(seen).toEqual(['reader', 'admin']);
  });
  test('a collection whose rules may write (here a `force`) gets a deep copy: nested changes never reach the request', async () => {
    const writing = makePolicy({
      ...policy,
      services: { blog: { ...blog, security: [{ name: 'stamp', type: 'rule', rule: { rule: 'force', field: 'args.find.id', value: 99 } }] } },
    });
    const svc: RuleFn = (i) => {
      ((i.args as { find: Record<string, unknown> }).find).id = 99;
      return { allow: true };
    };
    const c = compilePolicy(makeArtifact(writing, { rules: { 'blog/posts/read': () => ({ allow: true }) }, requirements: { blog: svc } }), { env });
    expect(c.services.get('blog')!.security.readOnly).toBe(false);
    const d = await decide(c, req({ claims: { role: 'admin' }, args: { find: { id: 1 } } }));
    expect(d.allow && d.args.find).toEqual({ id: 1 });
  });
});

describe('decideNow', () => {
  test('answers without a promise while every closure does, with the same result as decide', async () => {
    const c = compiled();
    const cases = [req({}), req({ verb: 'POST', args: { doc: {} } }), req({ apiKey: 'nope' }), req({ claims: { id: 'u1', role: 'editor' }, verb: 'PATCH' })];
    for (const r of cases) {
      const now = decideNow(c, r);
      expect(now).not.toBeInstanceOf(Promise);
      expect(now).toEqual(await decide(c, r));
    }
  });
  test('continues asynchronously from the first closure that returns a promise (a collection or the rule)', async () => {
    const slowRule = compiled({ 'blog/posts/read': async () => ({ allow: true }) });
    const pending = decideNow(slowRule, req({}));
    expect(pending).toBeInstanceOf(Promise);
    expect((await pending).allow).toBe(true);
    const slowCollection = compilePolicy(
      makeArtifact(policy, { rules: { 'blog/posts/read': () => ({ allow: true }) }, requirements: { blog: async () => ({ allow: false, code: 'denied', failed: ['later'] }) } }),
      { env },
    );
    const denied = decideNow(slowCollection, req({}));
    expect(denied).toBeInstanceOf(Promise);
    const d = await denied;
    expect(d.allow || d.error.message).toBe('the requirements of service `blog` failed: `later`');
  });
});
