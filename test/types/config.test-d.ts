import { describe, expectTypeOf, test } from 'vitest';
import { defineApp, defineConfig, defineCors, defineRole, defineRule, defineService, secret, type Config } from 'dfc';
import { shop } from './fixture.js';

const other = defineService({
  name: 'other',
  database: { type: 'sqlite', file: 'o.db' },
  tables: { t: { columns: { id: 'integer' }, primaryKey: 'id' } },
});
const shopRules = defineRule(shop, 'posts', { read: { rule: 'allow' } });
const otherRules = defineRule(other, 't', { read: { rule: 'allow' } });
const reader = defineRole({ name: 'reader', access: [{ service: shop, component: '_table/*', verbs: ['GET'] }] });

describe('defineConfig', () => {
  test('the whole config', () => {
    const config = defineConfig({
      services: [shop],
      rules: [shopRules],
      roles: [reader],
      apps: [defineApp({ name: 'web', apiKey: secret('WEB_KEY'), role: reader }), defineApp({ name: 'b', apiKey: secret('B_KEY'), role: 'reader' })],
      cors: [defineCors({ path: '/api/v2/shop/*', origins: ['https://shop.example.com'], methods: ['GET'] })],
      auth: {
        jwt: { secret: secret('JWT_SECRET'), algorithms: ['HS256'], issuer: 'https://id.example.com', audience: ['shop', 'admin'], roleClaim: 'role', clockTolerance: 5 },
        queryCredentials: false,
      },
      environment: 'development',
      debug: true,
      crypto: { key: secret('FIELD_KEY') },
      server: { defaultPageSize: 50, maxPageSize: 500, bodyLimit: 1_000_000 },
      admin: { token: secret('ADMIN_TOKEN'), host: '127.0.0.1', port: 9090 },
      webhooks: { allowPrivateHosts: ['localhost'], allowHttp: true },
    });
    expectTypeOf(config).toEqualTypeOf<Config>();
  });

  test('at least one service', () => {
    // @ts-expect-error no services
    defineConfig({ services: [] });
  });

  test('rule sets belong to a listed service', () => {
    defineConfig({ services: [shop, other], rules: [shopRules, otherRules] });
    // @ts-expect-error rules for `other`, which is not listed
    defineConfig({ services: [shop], rules: [shopRules, otherRules] });
  });

  test('apps name listed roles', () => {
    // @ts-expect-error no role `editor` in `roles`
    defineConfig({ services: [shop], roles: [reader], apps: [defineApp({ name: 'web', apiKey: secret('K'), role: 'editor' })] });
    // @ts-expect-error no role `editor` in `roles`
    defineConfig({ services: [shop], roles: [reader], apps: [defineApp({ name: 'web', apiKey: secret('K'), roles: ['reader', 'editor'] })] });
  });

  test('JWT: exactly one key source, never a plaintext secret', () => {
    defineConfig({ services: [shop], auth: { jwt: { publicKey: '-----BEGIN PUBLIC KEY-----\nabc\n-----END PUBLIC KEY-----', algorithms: ['RS256'] } } });
    defineConfig({ services: [shop], auth: { jwt: { jwksUrl: 'https://id.example.com/.well-known/jwks.json', audience: 'shop' } } });
    // @ts-expect-error a plaintext secret
    defineConfig({ services: [shop], auth: { jwt: { secret: 'hunter2hunter2hunter2hunter2hunter2' } } });
    // @ts-expect-error two key sources
    defineConfig({ services: [shop], auth: { jwt: { secret: secret('S'), jwksUrl: 'https://id.example.com/jwks' } } });
    // @ts-expect-error `none` is never accepted
    defineConfig({ services: [shop], auth: { jwt: { secret: secret('S'), algorithms: ['none'] } } });
  });

  test('crypto key and admin token are secrets', () => {
    // @ts-expect-error a plaintext key
    defineConfig({ services: [shop], crypto: { key: 'c2VjcmV0' } });
    // @ts-expect-error a plaintext token
    defineConfig({ services: [shop], admin: { token: 'letmein' } });
  });

  test('unknown options are refused', () => {
    // @ts-expect-error environment is production or development
    defineConfig({ services: [shop], environment: 'staging' });
    // @ts-expect-error misspelled option
    defineConfig({ services: [shop], role: [reader] });
  });
});
