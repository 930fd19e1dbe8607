import { ConfigSchema, policyHash, type Config } from '@dfc/schema';
import { generateKeyPairSync } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { Locator } from '../source/locate.js';
import { normalize } from './normalize.js';

const base = {
  services: [
    {
      name: 'blog',
      database: { type: 'postgres', url: { $secret: 'BLOG_DB' } },
      tables: {
        posts: { columns: { id: 'integer', userId: 'string', title: { type: 'string', nullable: true } }, primaryKey: 'id' },
        users: { columns: { id: 'string', role: { type: 'string', security: { admins: { type: 'role', roles: ['admin', 'editor'] }, anyone: { type: 'allowAnonymous' } } } }, primaryKey: 'id' },
      },
      security: { signedIn: { type: 'authenticated' } },
    },
    { name: 'shop', database: { type: 'sqlite', file: './shop.db' }, tables: { orders: { columns: { id: 'integer' }, primaryKey: 'id' } } },
  ],
  rules: [
    { service: 'blog', table: 'posts', rules: { read: { rule: 'allow' }, update: { rule: 'match', eval: '==', type: 'string', f1: 'args.auth.id', f2: 'args.find.userId' } } },
    { service: 'blog', table: 'default', rules: { delete: { rule: 'deny' } } },
    { service: 'shop', table: 'orders', rules: { read: { rule: 'authenticated' } } },
  ],
  roles: [
    { name: 'admin', access: [{ service: '*', component: '*', verbs: ['DELETE', 'GET', 'POST'] }] },
    {
      name: 'editor',
      access: [
        {
          service: 'blog',
          component: '_table/posts',
          verbs: ['PATCH', 'GET'],
          filterOp: 'OR',
          filters: [
            { name: 'userId', operator: '=', value: '{user.id}' },
            { name: 'title', operator: 'is null' },
          ],
        },
        { service: 'shop', component: '_table/*', verbs: ['GET'], requestor: ['script', 'api'] },
        { service: 'blog', component: '_doc', verbs: ['GET'] },
      ],
    },
    { name: 'reader', active: false, access: [{ service: 'blog', component: '_table/posts', verbs: ['GET'] }] },
  ],
  apps: [
    { name: 'web', apiKey: { $secret: 'WEB_KEY' }, role: 'reader', roles: ['editor', 'admin'] },
    { name: 'partner', apiKey: { sha256: 'a'.repeat(64) } },
  ],
  cors: [
    { path: '/api/v2/shop/*', origins: ['https://b.example', 'https://a.example'], methods: ['POST', 'GET'], headers: ['X-B', 'X-A'] },
    { path: '/api/v2/*', origins: ['https://a.example'], methods: ['GET'], supportsCredentials: true, maxAge: 60 },
  ],
  auth: { jwt: { secret: { $secret: 'JWT' }, issuer: 'https://id.example', audience: ['b', 'a'] } },
  webhooks: { allowPrivateHosts: ['z.local', 'a.local'] },
};

function policyOf(value: unknown) {
  const config = ConfigSchema.parse(value) as Config;
  const locator = new Locator({ root: value, sites: new WeakMap(), entry: '/nowhere/dfc.config.ts' });
  const out = normalize({ config, root: value, locator });
  expect(out.diagnostics).toEqual([]);
  return out.policy!;
}

describe('normalize', () => {
  test('fills defaults and resolves references to names', () => {
    const p = policyOf(base);
    expect(p.hash).toBe(policyHash(p));
    expect(p.environment).toBe('production');
    expect(p.debug).toBe(false);
    expect(p.services.blog!.database).toEqual({ type: 'postgres', url: { $secret: 'BLOG_DB' }, poolMax: 10 });
    expect(p.services.blog!.maxRecords).toBe(1000);
    expect(p.services.blog!.tables.posts!.columns.title).toEqual({ type: 'string', nullable: true });
    expect(p.services.blog!.tables.users!.columns.role!.security).toEqual([
      { name: 'admins', type: 'role', roles: ['admin', 'editor'] },
      { name: 'anyone', type: 'allowAnonymous' },
    ]);
    expect(p.services.shop!.security).toEqual([]);
    expect(p.roles.editor!.access[0]).toEqual({ service: 'blog', component: '_doc', verbs: ['GET'], requestor: ['api'], filters: [], filterOp: 'AND' });
    expect(p.roles.admin!.access[0]!.verbs).toEqual(['GET', 'POST', 'DELETE']);
    expect(p.roles.reader!.active).toBe(false);
    expect(p.apps.web).toEqual({ apiKey: { $secret: 'WEB_KEY' }, role: 'reader', roles: ['admin', 'editor'], active: true });
    expect(p.apps.partner!.role).toBeNull();
    expect(p.cors.map((c) => c.path)).toEqual(['/api/v2/*', '/api/v2/shop/*']);
    expect(p.cors[1]).toMatchObject({ origins: ['https://a.example', 'https://b.example'], methods: ['GET', 'POST'], headers: ['X-A', 'X-B'], maxAge: 0, supportsCredentials: false, enabled: true });
    expect(p.auth).toEqual({
      queryCredentials: true,
      jwt: { secret: { $secret: 'JWT' }, algorithms: ['HS256'], issuer: 'https://id.example', audience: ['a', 'b'], clockTolerance: 30 },
    });
    expect(p.server).toEqual({ defaultPageSize: 100, maxPageSize: 1000, bodyLimit: 1_048_576 });
    expect(p.webhooks).toEqual({ allowPrivateHosts: ['a.local', 'z.local'], allowHttp: false });
    expect(p.rules.blog!.default).toEqual({ delete: { rule: 'deny' } });
  });

  /** Reorders what has no meaning in order: object keys everywhere; roles, apps, CORS, access entries and set-like lists. */
  function shuffled(value: unknown, rand: () => number, key?: string): unknown {
    const shuffle = <T>(list: T[]) => {
      const out = [...list];
      for (let i = out.length - 1; i > 0; i--) {
        const j = Math.floor(rand() * (i + 1));
        [out[i], out[j]] = [out[j]!, out[i]!];
      }
      return out;
    };
    if (Array.isArray(value)) {
      const items = value.map((v) => shuffled(v, rand));
      const unordered = ['services', 'rules', 'roles', 'apps', 'cors', 'access', 'filters', 'verbs', 'origins', 'methods', 'headers', 'requestor', 'audience', 'allowPrivateHosts'];
      return key !== undefined && unordered.includes(key) ? shuffle(items) : items;
    }
    if (value !== null && typeof value === 'object') {
      const entries = Object.entries(value).map(([k, v]) => [k, shuffled(v, rand, k)] as const);
      return Object.fromEntries(shuffle(entries));
    }
    return value;
  }

  test('PostgreSQL prepared statements: the policy says so only when they are turned off', () => {
    const withDatabase = (database: Record<string, unknown>) => ({ ...base, services: [{ ...base.services[0], database }, base.services[1]] });
    const off = policyOf(withDatabase({ type: 'postgres', url: { $secret: 'BLOG_DB' }, preparedStatements: false }));
    expect(off.services.blog!.database).toEqual({ type: 'postgres', url: { $secret: 'BLOG_DB' }, poolMax: 10, preparedStatements: false });
    const on = policyOf(withDatabase({ type: 'postgres', url: { $secret: 'BLOG_DB' }, preparedStatements: true }));
    expect(on.services.blog!.database).toEqual({ type: 'postgres', url: { $secret: 'BLOG_DB' }, poolMax: 10 });
    expect(on.hash).toBe(policyOf(base).hash);
  });

  test('the hash does not depend on the order of unordered things (security checklist C7)', () => {
    const expected = policyOf(base).hash;
    fc.assert(
      fc.property(fc.integer(), (seed) => {
        let state = seed >>> 0 || 1;
        const rand = () => {
          state ^= state << 13;
          state ^= state >>> 17;
          state ^= state << 5;
          return (state >>> 0) / 2 ** 32;
        };
        expect(policyOf(shuffled(base, rand)).hash).toBe(expected);
      }),
      { numRuns: 100 },
    );
  });

  test('JWT algorithms default from the key: HMAC for a secret, the key type of a PEM public key', () => {
    const pem = (type: 'ec' | 'ed25519' | 'rsa') => {
      const { publicKey } =
        type === 'ec'
          ? generateKeyPairSync('ec', { namedCurve: 'P-384' })
          : type === 'rsa'
            ? generateKeyPairSync('rsa', { modulusLength: 2048 })
            : generateKeyPairSync('ed25519');
      return publicKey.export({ type: 'spki', format: 'pem' }).toString();
    };
    const algorithms = (jwt: object) => policyOf({ ...base, auth: { jwt: { issuer: 'i', audience: 'a', ...jwt } } }).auth.jwt!.algorithms;
    expect(algorithms({ secret: { $secret: 'J' } })).toEqual(['HS256']);
    expect(algorithms({ publicKey: pem('ec') })).toEqual(['ES384']);
    expect(algorithms({ publicKey: pem('ed25519') })).toEqual(['EdDSA']);
    expect(algorithms({ publicKey: pem('rsa') })).toEqual(['RS256']);
    expect(algorithms({ jwksUrl: 'https://id.example/jwks.json' })).toEqual(['RS256']);
    expect(algorithms({ secret: { $secret: 'J' }, algorithms: ['HS512', 'HS256', 'HS512'] })).toEqual(['HS256', 'HS512']);
  });
});
