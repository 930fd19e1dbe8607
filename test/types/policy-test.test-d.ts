import { describe, expectTypeOf, test } from 'vitest';
import { defineApp, definePolicyTest, definePolicyTests, secret, type PolicyTest, type TestRow } from 'dfc';
import { shop, type Shop } from './fixture.js';

const web = defineApp({ name: 'web', apiKey: secret('WEB_KEY') });

describe('definePolicyTest', () => {
  test('is typed against the table: columns and their value types', () => {
    definePolicyTest(shop, 'posts', {
      name: 'an owner updates',
      request: {
        app: web,
        claims: { id: 'alice', role: 'editor' },
        verb: 'PATCH',
        find: { userId: 'alice', id: 1 },
        update: { $set: { title: 'new', isPublic: false }, $inc: { score: 1 } },
        rows: [{ id: 1, userId: 'alice', title: 't', isPublic: true, tags: ['a'] }],
        data: { users: [{ id: 'alice', email: { $encrypt: 'a@example.com' }, password: { $hash: 'pw' } }] },
        webhooks: { 'https://hooks.example.com/x': { status: 200, body: { ok: true } } },
      },
      expect: { decision: 'allow', args: { update: { $set: { title: 'new' } } }, where: "userId = 'alice'", response: [{ title: 't' }] },
    });
    expectTypeOf<TestRow<Shop, 'users'>>().toEqualTypeOf<{
      id?: string | null;
      email?: string | null;
      password?: string | null;
      role?: string | null;
      age?: number | null;
    }>();
  });

  test('refuses unknown tables, unknown columns and values of the wrong type', () => {
    // @ts-expect-error `comments` is not a table of `shop`
    definePolicyTest(shop, 'comments', { name: 'x', request: { app: 'web' }, expect: { decision: 'allow' } });
    definePolicyTest(shop, 'posts', {
      name: 'x',
      // @ts-expect-error `usrId` is not a column of `posts`
      request: { app: 'web', find: { usrId: 'alice' } },
      expect: { decision: 'allow' },
    });
    definePolicyTest(shop, 'posts', {
      name: 'x',
      // @ts-expect-error `id` is an integer column
      request: { app: 'web', find: { id: 'one' } },
      expect: { decision: 'allow' },
    });
    definePolicyTest(shop, 'posts', {
      name: 'x',
      request: { app: 'web' },
      // @ts-expect-error a decision is `allow` or `deny`
      expect: { decision: 'maybe' },
    });
    definePolicyTest(shop, 'posts', {
      name: 'x',
      request: { app: 'web' },
      // @ts-expect-error error codes start with `DFC_ERR_`
      expect: { decision: 'deny', error: 'RULE_DENIED' },
    });
    definePolicyTest(shop, 'posts', {
      name: 'x',
      // @ts-expect-error only string columns may be stored `{ $encrypt }`
      request: { app: 'web', rows: [{ id: { $encrypt: '1' } }] },
      expect: { decision: 'allow' },
    });
  });

  test('a file exports its tests with definePolicyTests', () => {
    const tests = definePolicyTests([
      definePolicyTest(shop, 'posts', { name: 'a', request: { app: 'web' }, expect: { decision: 'allow' } }),
      definePolicyTest(shop, 'users', { name: 'b', request: { app: 'web', verb: 'DELETE', id: 'alice' }, expect: { decision: 'deny', status: 403 } }),
    ]);
    expectTypeOf(tests).toEqualTypeOf<PolicyTest[]>();
  });
});
