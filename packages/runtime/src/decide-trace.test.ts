/**
 * Traced decisions: the closures decide, the reference interpreter replays them with the
 * same I/O and records values. What `dfc explain`, `dfc test` and `?explain` show.
 */
import { describe, expect, test } from 'vitest';
import { compile, compileRequirements, type RuleContext } from '@dfc/rules';
import type { PolicyAccess, PolicyService, Rule } from '@dfc/schema';
import { compilePolicy } from './compiled.js';
import { decide, mutations, type DecideRequest } from './decide.js';
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
  security: [],
  tables: {
    posts: {
      primaryKey: 'id',
      columns: { id: { type: 'integer', nullable: false }, userId: { type: 'string', nullable: false }, title: { type: 'string', nullable: false } },
      security: [{ name: 'anyone', type: 'allowAnonymous' }],
    },
    profiles: {
      primaryKey: 'userId',
      columns: { userId: { type: 'string', nullable: false }, followers: { type: 'json', nullable: false } },
    },
  },
};

const rules: Record<string, Record<string, Partial<Record<'create' | 'read' | 'update' | 'delete', Rule>>>> = {
  blog: {
    posts: {
      read: { rule: 'allow' },
      create: { rule: 'force', field: 'args.doc.userId', value: 'args.auth.id' },
      update: { rule: 'match', eval: '==', type: 'string', f1: 'args.auth.id', f2: 'args.find.userId', name: 'owner' },
    },
    profiles: {
      read: { rule: 'query', db: 'blog', col: 'profiles', find: { userId: 'args.find.userId', followers: { $in: 'args.auth.id' } }, name: 'follower' },
      create: { rule: 'webhook', url: 'https://hooks.example.com/check' },
    },
  },
};

const policy = makePolicy({
  services: { blog },
  rules,
  roles: {
    reader: { active: true, access: [access('*', ['GET']), access('_table/posts', ['GET', 'POST', 'PATCH'])] },
  },
  apps: { web: { apiKey: { $secret: 'WEB_KEY' }, role: 'reader', roles: [], active: true } },
  auth: { jwt: { secret: { $secret: 'JWT' }, algorithms: ['HS256'], roleClaim: 'role', clockTolerance: 5 }, queryCredentials: true },
});

function compiled() {
  const closures: Record<string, ReturnType<typeof compile>> = {};
  for (const [table, ops] of Object.entries(rules.blog!)) {
    for (const [op, rule] of Object.entries(ops)) closures[`blog/${table}/${op}`] = compile(rule!, `rules.blog.${table}.${op}`);
  }
  const requirements = {
    blog: compileRequirements([{ collection: [], path: 'services.blog.security', implicitAuthenticated: true }]),
    'blog/posts': compileRequirements([{ collection: blog.tables.posts!.security!, path: 'services.blog.tables.posts.security', implicitAuthenticated: false }]),
  };
  return compilePolicy(makeArtifact(policy, { rules: closures, requirements }), { resolveApiKeys: false });
}

const alice = { id: 'alice', role: 'editor' };
const req = (r: Partial<DecideRequest>): DecideRequest => ({ app: 'web', service: 'blog', verb: 'GET', table: 'posts', trace: true, ...r });

describe('traced decisions', () => {
  test('a denial names the deciding rule and the values it compared; the replay agrees', async () => {
    const d = await decide(compiled(), req({ verb: 'PATCH', claims: alice, args: { find: { userId: 'bob' } } }));
    expect(d.allow).toBe(false);
    const rule = d.trace!.rule!;
    expect(rule).toMatchObject({ key: 'blog/posts/update', path: 'rules.blog.posts.update', agrees: true, decision: { allow: false, name: 'owner' } });
    expect('events' in rule && rule.events).toEqual([
      {
        path: 'rules.blog.posts.update',
        depth: 0,
        kind: 'match',
        name: 'owner',
        outcome: 'denied',
        reason: '`args.auth.id` == `args.find.userId` does not hold',
        match: { eval: '==', type: 'string', f1: { expr: 'args.auth.id', value: 'alice' }, f2: { expr: 'args.find.userId', value: 'bob' } },
      },
    ]);
    // the role claim names a role the app does not let sessions select
    expect(d.trace!.ignoredRoleClaim).toBe('editor');
    expect(d.trace!.roleSource).toBe('app default');
  });

  test('requirement collections are traced requirement by requirement', async () => {
    const d = await decide(compiled(), req({ table: 'profiles', claims: null, args: { find: { userId: 'bob' } } }));
    expect(d.allow).toBe(false);
    expect(d.trace!.requirements).toEqual([
      {
        level: 'service',
        key: 'blog',
        path: 'services.blog.security',
        passed: false,
        failed: ['authenticated'],
        agrees: true,
        events: [
          { path: 'services.blog.security', depth: 0, kind: 'collection', outcome: 'unauthenticated', reason: 'requirement `authenticated` failed' },
          {
            path: 'services.blog.security',
            depth: 1,
            kind: 'requirement',
            name: 'authenticated',
            outcome: 'unauthenticated',
            reason: 'authentication is required',
            requirement: { type: 'authenticated', implied: true },
          },
        ],
      },
    ]);
  });

  test('query rules read once: the replay gets the rows the closure got', async () => {
    const calls: unknown[] = [];
    const ctx: RuleContext = {
      query: async (service, table, find) => {
        calls.push([service, table, find]);
        return [{ userId: 'bob', followers: ['alice'] }];
      },
    };
    const d = await decide(compiled(), req({ table: 'profiles', claims: alice, args: { find: { userId: 'bob' } } }), ctx);
    expect(d.allow).toBe(true);
    expect(calls).toEqual([['blog', 'profiles', { userId: 'bob', followers: { $in: 'alice' } }]]);
    const rule = d.trace!.rule!;
    expect('agrees' in rule && rule.agrees).toBe(true);
    expect('events' in rule && rule.events![0]).toMatchObject({ kind: 'query', outcome: 'pass', query: { rows: 1, find: { userId: 'bob', followers: { $in: 'alice' } } } });
  });

  test('webhooks are called once, and a webhook that refuses is explained', async () => {
    let calls = 0;
    const ctx: RuleContext = {
      fetch: async () => {
        calls++;
        return { status: 403, body: {} };
      },
    };
    const reader = { ...alice, role: 'reader' };
    const c = compilePolicy(
      makeArtifact(
        makePolicy({ ...policy, roles: { reader: { active: true, access: [access('*', ['GET', 'POST'])] } } } as never),
        { rules: { 'blog/profiles/create': compile(rules.blog!.profiles!.create!, 'rules.blog.profiles.create') }, requirements: {} },
      ),
      { resolveApiKeys: false },
    );
    const d = await decide(c, req({ table: 'profiles', verb: 'POST', claims: reader, args: { doc: { userId: 'alice' } } }), ctx);
    expect(d.allow).toBe(false);
    expect(calls).toBe(1);
    const rule = d.trace!.rule!;
    expect('events' in rule && rule.events![0]).toMatchObject({ kind: 'webhook', outcome: 'denied', webhook: { url: 'https://hooks.example.com/check', status: 403 } });
  });

  test('the changes a rule makes to the request are listed', async () => {
    const d = await decide(compiled(), req({ verb: 'POST', claims: alice, args: { doc: { title: 't', userId: 'mallory' } } }));
    expect(d.allow).toBe(true);
    expect(d.trace!.mutations).toEqual([{ path: 'args.doc.userId', before: 'mallory', after: 'alice' }]);
    expect(mutations({ doc: { a: 1, b: 2 } }, { doc: { a: 1, c: 3 } })).toEqual([
      { path: 'args.doc.b', before: 2 },
      { path: 'args.doc.c', after: 3 },
    ]);
  });

  test('a traced decision is the untraced one, plus the trace', async () => {
    const c = compiled();
    for (const r of [
      req({ verb: 'PATCH', claims: alice, args: { find: { userId: 'alice' } } }),
      req({ verb: 'PATCH', claims: alice, args: { find: { userId: 'bob' } } }),
      req({ verb: 'POST', claims: alice, args: { doc: { userId: 'x' } } }),
      req({ verb: 'DELETE', claims: alice }),
    ]) {
      const traced = await decide(c, r);
      const plain = await decide(c, { ...r, trace: false });
      expect(plain.trace).toBeUndefined();
      const { trace: _t, ...rest } = traced;
      expect(rest).toEqual(plain);
    }
  });
});
