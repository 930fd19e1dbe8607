import { describe, expect, test } from 'vitest';
import { policyHash, type Policy } from '@dfc/schema';
import { diffPolicies, renderDiff } from './index.js';

function basePolicy(): Policy {
  const p: Policy = {
    $schema: './policy.schema.json',
    artifactVersion: 1,
    dfcVersion: '0.1.0',
    hash: '',
    environment: 'production',
    debug: false,
    services: {
      blog: {
        database: { type: 'sqlite', file: './blog.db' },
        maxRecords: 1000,
        security: [{ name: 'signedIn', type: 'authenticated' }],
        tables: {
          posts: {
            primaryKey: 'id',
            columns: { id: { type: 'integer', nullable: false }, userId: { type: 'string', nullable: false }, title: { type: 'string', nullable: true } },
            security: [{ name: 'anyone', type: 'allowAnonymous' }],
          },
          users: { primaryKey: 'id', columns: { id: { type: 'string', nullable: false }, password: { type: 'string', nullable: true } } },
        },
      },
    },
    rules: {
      blog: {
        posts: {
          read: { rule: 'allow' },
          update: { rule: 'match', eval: '==', type: 'string', f1: 'args.auth.id', f2: 'args.find.userId' },
          delete: { rule: 'match', eval: 'in', type: 'string', f1: 'args.auth.role', f2: ['admin', 'moderator'] },
        },
        users: {
          read: {
            rule: 'and',
            clauses: [
              { rule: 'authenticated' },
              { rule: 'remove', fields: ['res.password'], clause: { rule: 'match', eval: '!=', type: 'string', f1: 'args.auth.role', f2: 'admin' } },
            ],
          },
        },
        default: { create: { rule: 'deny' } },
      },
    },
    roles: {
      editor: {
        active: true,
        access: [
          { service: 'blog', component: '_table/posts', verbs: ['GET', 'POST', 'PATCH'], requestor: ['api'], filters: [{ name: 'userId', operator: '=', value: '{user.id}' }], filterOp: 'AND' },
        ],
      },
      reader: { active: true, access: [{ service: 'blog', component: '_table/*', verbs: ['GET'], requestor: ['api'], filters: [], filterOp: 'AND' }] },
    },
    apps: { web: { apiKey: { $secret: 'WEB_KEY' }, role: 'reader', roles: ['editor'], active: true } },
    cors: [
      { path: '/api/v2/*', origins: ['https://app.example.com'], methods: ['GET', 'POST'], headers: ['Content-Type'], exposedHeaders: [], maxAge: 600, supportsCredentials: true, enabled: true },
    ],
    auth: { jwt: { secret: { $secret: 'JWT' }, algorithms: ['HS256'], issuer: 'https://id.example.com', audience: ['blog'], roleClaim: 'role', clockTolerance: 30 }, queryCredentials: true },
    server: { defaultPageSize: 100, maxPageSize: 1000, bodyLimit: 1048576 },
    webhooks: { allowPrivateHosts: [], allowHttp: false },
  };
  p.hash = policyHash(p);
  return p;
}

const edit = (f: (p: Policy) => void): Policy => {
  const p = structuredClone(basePolicy());
  f(p);
  return p;
};
const messages = (before: Policy, after: Policy) => diffPolicies(before, after).changes.map((c) => `${c.class}: ${c.subject}: ${c.message}`);

describe('diffPolicies', () => {
  test('identical policies: no changes', () => {
    const d = diffPolicies(basePolicy(), basePolicy());
    expect(d.changes).toEqual([]);
    expect(renderDiff(d, 'text')).toBe('no changes\n');
  });

  test('reordering roles, CORS entries, access entries and pure clauses is no change', () => {
    const after = edit((p) => {
      p.roles = { reader: p.roles.reader!, editor: p.roles.editor! };
      p.rules.blog!.posts!.read = { rule: 'or', clauses: [{ rule: 'authenticated' }, { rule: 'allow' }] };
    });
    const before = edit((p) => {
      p.rules.blog!.posts!.read = { rule: 'or', clauses: [{ rule: 'allow' }, { rule: 'authenticated' }] };
    });
    expect(diffPolicies(before, after).changes).toEqual([]);
  });

  test('widening a role: gains DELETE on a table', () => {
    const after = edit((p) => p.roles.editor!.access[0]!.verbs.push('DELETE'));
    expect(messages(basePolicy(), after)).toEqual(['broadens: role `editor`: gains DELETE on `blog/_table/posts`']);
  });

  test('a more specific entry that grants less narrows, even under a broad one', () => {
    const after = edit((p) =>
      p.roles.reader!.access.push({ service: 'blog', component: '_table/users', verbs: [], requestor: ['api'], filters: [], filterOp: 'AND' }),
    );
    expect(messages(basePolicy(), after)).toEqual(['narrows: role `reader`: loses GET on `blog/_table/users`']);
  });

  test('row filters: dropping one broadens, adding one narrows', () => {
    const dropped = edit((p) => (p.roles.editor!.access[0]!.filters = []));
    expect(messages(basePolicy(), dropped)).toEqual([
      'broadens: role `editor`: row filter for GET, POST, PATCH on `blog/_table/posts` drops {"name":"userId","operator":"=","value":"{user.id}"}',
    ]);
    expect(messages(dropped, basePolicy())).toEqual([
      'narrows: role `editor`: row filter for GET, POST, PATCH on `blog/_table/posts` gains {"name":"userId","operator":"=","value":"{user.id}"}',
    ]);
  });

  test('a rule replaced by allow broadens, by deny narrows; the message shows both', () => {
    const allow = edit((p) => (p.rules.blog!.posts!.update = { rule: 'allow' }));
    expect(messages(basePolicy(), allow)).toEqual([
      'broadens: rule `blog.posts.update`: `match args.auth.id == args.find.userId` replaced by `allow`',
    ]);
    const deny = edit((p) => (p.rules.blog!.posts!.update = { rule: 'deny' }));
    expect(diffPolicies(basePolicy(), deny).changes[0]?.class).toBe('narrows');
  });

  test('narrowing a rule: an extra `and` condition, a shorter `in` list', () => {
    const anded = edit((p) => {
      p.rules.blog!.posts!.update = { rule: 'and', clauses: [p.rules.blog!.posts!.update!, { rule: 'match', eval: '==', type: 'bool', f1: 'args.find.isPublic', f2: false }] };
    });
    expect(diffPolicies(basePolicy(), anded).changes.map((c) => c.class)).toEqual(['narrows']);
    const shorter = edit((p) => (p.rules.blog!.posts!.delete = { rule: 'match', eval: 'in', type: 'string', f1: 'args.auth.role', f2: ['admin'] }));
    expect(diffPolicies(basePolicy(), shorter).changes.map((c) => c.class)).toEqual(['narrows']);
    expect(diffPolicies(shorter, basePolicy()).changes.map((c) => c.class)).toEqual(['broadens']);
  });

  test('dropping a `remove res.password` exposes a field', () => {
    const after = edit((p) => (p.rules.blog!.users!.read = { rule: 'authenticated' }));
    expect(messages(basePolicy(), after)).toContain('broadens: rule `blog.users.read`: no longer removes `res.password` from responses');
  });

  test('an edit that cannot be classified is reported as broadening, marked for review', () => {
    const after = edit((p) => (p.rules.blog!.posts!.update = { rule: 'match', eval: '==', type: 'string', f1: 'args.auth.id', f2: 'args.find.title' }));
    const [c] = diffPolicies(basePolicy(), after).changes;
    expect(c).toMatchObject({ class: 'broadens', uncertain: true });
  });

  test('the `default` table fallback is compared as the effective rule of each table', () => {
    const after = edit((p) => (p.rules.blog!.default!.create = { rule: 'authenticated' }));
    expect(messages(basePolicy(), after)).toEqual([
      'broadens: rule `blog.posts.create`: `deny` replaced by `authenticated`',
      'broadens: rule `blog.users.create`: `deny` replaced by `authenticated`',
    ]);
  });

  test('CORS: an added origin broadens, credentials switched on broaden, max age is neutral', () => {
    const after = edit((p) => {
      p.cors[0]!.origins.push('https://evil.example');
      p.cors[0]!.maxAge = 60;
    });
    expect(messages(basePolicy(), after)).toEqual([
      'broadens: CORS `/api/v2/*`: origin `https://evil.example` added',
      'neutral: CORS `/api/v2/*`: preflight max age 600 → 60 s',
    ]);
  });

  test('apps and sessions', () => {
    const after = edit((p) => {
      p.apps.web!.role = 'editor';
      p.apps.admin = { apiKey: { $secret: 'ADMIN_KEY' }, role: 'editor', roles: [], active: true };
      p.auth.jwt!.audience = ['blog', 'other'];
      p.auth.queryCredentials = false;
    });
    expect(messages(basePolicy(), after)).toEqual([
      'broadens: app `admin`: added with default role `editor`',
      expect.stringMatching(/^broadens: app `web`: default role changes from `reader` to `editor` \(gains POST blog\/_table\/posts, PATCH blog\/_table\/posts\)$/),
      'broadens: sessions: audience `other` accepted',
      'narrows: credentials: no longer accepted in the query string',
    ]);
  });

  test('requirement collections: an alternative added broadens, a table collection removed broadens', () => {
    const after = edit((p) => {
      p.services.blog!.security.push({ name: 'open', type: 'allowAnonymous' });
      delete p.services.blog!.tables.posts!.security;
    });
    expect(messages(basePolicy(), after)).toEqual([
      'broadens: requirements of service `blog`: alternative `open` (allowAnonymous) added',
      'broadens: requirements of table `blog.posts`: collection removed: `anyone`',
    ]);
  });

  test('markdown: summary, broadening table first, folded details', () => {
    const after = edit((p) => {
      p.roles.editor!.access[0]!.verbs.push('DELETE');
      p.cors[0]!.maxAge = 5;
      p.rules.blog!.posts!.update = { rule: 'deny' };
    });
    const md = renderDiff(diffPolicies(basePolicy(), after), 'markdown');
    expect(md).toContain('**3 changes: 1 broadens access, 1 narrows access, 1 neutral**');
    expect(md.indexOf('#### Broadens access')).toBeLessThan(md.indexOf('<details><summary>narrows access (1)</summary>'));
    expect(md).toContain('| 🔓 | role `editor` | gains DELETE on `blog/_table/posts` |');
    expect(JSON.parse(renderDiff(diffPolicies(basePolicy(), after), 'json')).summary).toEqual({ broadens: 1, narrows: 1, neutral: 1 });
  });
});
