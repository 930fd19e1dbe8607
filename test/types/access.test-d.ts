import { describe, expectTypeOf, test } from 'vitest';
import { defineApp, defineCors, defineRole, encrypted, secret, type App, type Cors, type EncryptedValue, type Role, type SecretRef } from 'dfc';
import { shop } from './fixture.js';

describe('defineRole', () => {
  test('keeps the role name', () => {
    const r = defineRole({ name: 'editor', access: [{ service: shop, component: '_table/posts', verbs: ['GET'] }] });
    expectTypeOf(r).toEqualTypeOf<Role<'editor'>>();
    expectTypeOf(r.name).toEqualTypeOf<'editor'>();
  });

  test('components: *, _table/*, _table/<table>, _schema, _doc', () => {
    defineRole({
      name: 'r',
      description: 'every component',
      active: true,
      access: [
        { service: shop, component: '*', verbs: ['GET'] },
        { service: shop, component: '_table/*', verbs: ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'] },
        { service: shop, component: '_table/users', verbs: ['GET'], requestor: ['api', 'script'] },
        { service: shop, component: '_schema', verbs: ['GET'] },
        { service: shop, component: '_schema/posts', verbs: ['GET'] },
        { service: shop, component: '_doc', verbs: ['GET'] },
        { service: '*', component: '*', verbs: ['GET'] },
      ],
    });
    // @ts-expect-error no table `user`
    defineRole({ name: 'r', access: [{ service: shop, component: '_table/user', verbs: ['GET'] }] });
    // @ts-expect-error all services: only component `*`
    defineRole({ name: 'r', access: [{ service: '*', component: '_table/posts', verbs: ['GET'] }] });
    // @ts-expect-error not a DreamFactory component
    defineRole({ name: 'r', access: [{ service: shop, component: 'posts', verbs: ['GET'] }] });
  });

  test('verbs and requestors', () => {
    // @ts-expect-error unknown verb
    defineRole({ name: 'r', access: [{ service: shop, component: '*', verbs: ['READ'] }] });
    // @ts-expect-error unknown requestor
    defineRole({ name: 'r', access: [{ service: shop, component: '*', verbs: ['GET'], requestor: ['browser'] }] });
    // @ts-expect-error a service is a defined service or '*'
    defineRole({ name: 'r', access: [{ service: 'shop', component: '*', verbs: ['GET'] }] });
  });

  test('filters name columns of the entry’s table', () => {
    defineRole({
      name: 'r',
      access: [
        {
          service: shop,
          component: '_table/posts',
          verbs: ['GET', 'PATCH'],
          filters: [
            { name: 'userId', operator: '=', value: '{user.id}' },
            { name: 'score', operator: '>=', value: 3 },
            { name: 'tags', operator: 'is not null' },
          ],
          filterOp: 'OR',
        },
        { service: shop, component: '_table/users', verbs: ['GET'], filters: [{ name: 'role', operator: 'in', value: ['a', 'b'] }] },
        // `_table/*` applies to every table: any column of the service
        { service: shop, component: '_table/*', verbs: ['GET'], filters: [{ name: 'email', operator: 'like', value: '%@example.com' }] },
      ],
    });
    // @ts-expect-error `email` is a column of users, not of posts
    defineRole({ name: 'r', access: [{ service: shop, component: '_table/posts', verbs: ['GET'], filters: [{ name: 'email', operator: '=', value: 'x' }] }] });
    // @ts-expect-error unknown operator
    defineRole({ name: 'r', access: [{ service: shop, component: '_table/posts', verbs: ['GET'], filters: [{ name: 'userId', operator: '==', value: 'x' }] }] });
    // @ts-expect-error filterOp is AND or OR
    defineRole({ name: 'r', access: [{ service: shop, component: '_table/posts', verbs: ['GET'], filterOp: 'XOR' }] });
    // @ts-expect-error misspelled option of an access entry
    defineRole({ name: 'r', access: [{ service: shop, component: '_table/posts', verb: ['GET'] }] });
  });

  test('a role may grant nothing (the compiler warns)', () => {
    defineRole({ name: 'nobody', access: [] });
  });
});

describe('defineApp', () => {
  const reader = defineRole({ name: 'reader', access: [{ service: shop, component: '_table/*', verbs: ['GET'] }] });

  test('keys are secrets or hashes, never plain text', () => {
    const web = defineApp({ name: 'web', apiKey: secret('WEB_KEY'), role: reader, roles: [reader, 'editor'] });
    expectTypeOf(web).toEqualTypeOf<App<'web', 'editor'>>();
    defineApp({ name: 'tool', apiKey: encrypted('dfcenc:v1:abc'), role: 'reader', active: false, description: 'x' });
    defineApp({ name: 'feed', apiKey: { sha256: '4ef02a58e28326c5d161d77f1997a4e7c1a14a170e5176316657334ce70c05ba' } });
    // @ts-expect-error a key in plain text
    defineApp({ name: 'web', apiKey: 'abc123', role: reader });
    // @ts-expect-error encrypted values come from `dfc encrypt`
    defineApp({ name: 'web', apiKey: { $encrypted: 'abc' } });
    // @ts-expect-error misspelled option
    defineApp({ name: 'web', apiKey: secret('WEB_KEY'), rol: reader });
  });
});

describe('defineCors', () => {
  test("DreamFactory's fields", () => {
    const c = defineCors({
      path: '/api/v2/shop/*',
      description: 'the shop front end',
      origins: ['https://shop.example.com', 'http://localhost:5173'],
      methods: ['GET', 'POST'],
      headers: ['Content-Type', 'Authorization'],
      exposedHeaders: ['X-Request-Id'],
      maxAge: 600,
      supportsCredentials: true,
      enabled: true,
    });
    expectTypeOf(c).toEqualTypeOf<Cors>();
    defineCors({ path: '*', origins: ['*'], methods: ['GET'] });
  });

  test('origins, paths and methods are checked', () => {
    // @ts-expect-error an origin has a scheme
    defineCors({ path: '/api/v2/*', origins: ['shop.example.com'], methods: ['GET'] });
    // @ts-expect-error a path starts with `/` (or is `*`)
    defineCors({ path: 'api/v2/*', origins: ['*'], methods: ['GET'] });
    // @ts-expect-error unknown method
    defineCors({ path: '*', origins: ['*'], methods: ['GETS'] });
    // @ts-expect-error misspelled field
    defineCors({ path: '*', origins: ['*'], methods: ['GET'], maxage: 5 });
  });
});

describe('secret and encrypted', () => {
  test('return references, not values', () => {
    expectTypeOf(secret('DB_URL')).toEqualTypeOf<SecretRef<'DB_URL'>>();
    expectTypeOf(secret('DB_URL').$secret).toEqualTypeOf<'DB_URL'>();
    expectTypeOf(encrypted('dfcenc:v1:xyz')).toEqualTypeOf<EncryptedValue>();
    // @ts-expect-error not an envelope from `dfc encrypt`
    encrypted('xyz');
  });
});
