import { describe, expectTypeOf, test } from 'vitest';
import { defineRule, defineService, encrypted, secret, type Service } from 'dfc';

describe('defineService', () => {
  test('keeps the names of the service, tables and columns', () => {
    const svc = defineService({
      name: 'inventory',
      database: { type: 'sqlite', file: './inventory.db', seed: './seed.json' },
      tables: {
        items: { columns: { sku: 'string', qty: 'integer', meta: { type: 'json', nullable: true } }, primaryKey: 'sku' },
      },
    });
    expectTypeOf(svc.name).toEqualTypeOf<'inventory'>();
    expectTypeOf<keyof typeof svc.tables>().toEqualTypeOf<'items'>();
    expectTypeOf<keyof typeof svc.tables.items.columns>().toEqualTypeOf<'sku' | 'qty' | 'meta'>();
    expectTypeOf(svc.tables.items.primaryKey).toEqualTypeOf<'sku'>();
    expectTypeOf(svc).toExtend<Service>();
  });

  test('column types and options', () => {
    defineService({
      name: 's',
      database: { type: 'sqlite', file: 'x.db' },
      tables: {
        t: {
          columns: {
            a: 'string',
            b: 'integer',
            c: 'number',
            d: 'bool',
            e: 'date',
            f: 'json',
            g: { type: 'string', nullable: true, description: 'a note' },
          },
          primaryKey: 'a',
          description: 'a table',
        },
      },
    });
    defineService({
      name: 's',
      database: { type: 'sqlite', file: 'x.db' },
      // @ts-expect-error unknown column type
      tables: { t: { columns: { a: 'text' }, primaryKey: 'a' } },
    });
  });

  test('the primary key is a column', () => {
    defineService({
      name: 's',
      database: { type: 'sqlite', file: 'x.db' },
      // @ts-expect-error `idd` is not a column
      tables: { t: { columns: { id: 'integer' }, primaryKey: 'idd' } },
    });
  });

  test('unknown options are refused', () => {
    defineService({
      name: 's',
      database: { type: 'sqlite', file: 'x.db' },
      // @ts-expect-error misspelled option of a table
      tables: { t: { columns: { id: 'integer' }, primaryKey: 'id', descripton: 'x' } },
    });
    defineService({
      name: 's',
      database: { type: 'sqlite', file: 'x.db' },
      tables: { t: { columns: { id: 'integer' }, primaryKey: 'id' } },
      // @ts-expect-error misspelled option of a service
      maxRecord: 5,
    });
  });

  test('databases are discriminated on type; credentials are secrets', () => {
    defineService({ name: 'p', database: { type: 'postgres', url: secret('PG_URL'), schema: 'app', pool: { max: 5 } }, tables: {} });
    defineService({ name: 'm', database: { type: 'mysql', url: encrypted('dfcenc:v1:abc') }, tables: {} });
    // @ts-expect-error a plaintext URL holds a password
    defineService({ name: 'p', database: { type: 'postgres', url: 'postgres://u:p@h/db' }, tables: {} });
    // @ts-expect-error sqlite has a file, not a url
    defineService({ name: 'p', database: { type: 'sqlite', url: secret('X') }, tables: {} });
    // @ts-expect-error unknown database
    defineService({ name: 'p', database: { type: 'oracle', url: secret('X') }, tables: {} });
  });

  test('requirement blocks at service, table and column level', () => {
    const svc = defineService({
      name: 'svc',
      database: { type: 'sqlite', file: 'x.db' },
      security: { signedIn: { type: 'authenticated' }, anyone: { type: 'allowAnonymous' } },
      tables: {
        posts: {
          columns: {
            id: 'integer',
            userId: 'string',
            status: { type: 'string', security: { staff: { type: 'role', roles: ['admin', 'moderator'] } } },
          },
          primaryKey: 'id',
          security: {
            owner: { type: 'rule', rule: { rule: 'match', eval: '==', type: 'string', f1: 'args.auth.id', f2: 'args.doc.userId' } },
            admin: { type: 'role', roles: ['admin'] },
          },
        },
      },
    });
    expectTypeOf(svc.name).toEqualTypeOf<'svc'>();
  });

  test('requirement rules are typed against their table', () => {
    defineService({
      name: 'svc',
      database: { type: 'sqlite', file: 'x.db' },
      tables: {
        posts: {
          columns: { id: 'integer', userId: 'string' },
          primaryKey: 'id',
          security: {
            // @ts-expect-error no column `usrId` in `posts`
            owner: { type: 'rule', rule: { rule: 'match', eval: '==', type: 'string', f1: 'args.auth.id', f2: 'args.doc.usrId' } },
          },
        },
      },
    });
    defineService({
      name: 'svc',
      database: { type: 'sqlite', file: 'x.db' },
      tables: {
        posts: {
          columns: {
            id: 'integer',
            // @ts-expect-error a column's rule sees its table's columns
            userId: { type: 'string', security: { me: { type: 'rule', rule: { rule: 'match', eval: '==', type: 'string', f1: 'args.auth.id', f2: 'args.doc.owner' } } } },
          },
          primaryKey: 'id',
        },
      },
    });
    defineService({
      name: 'svc',
      database: { type: 'sqlite', file: 'x.db' },
      tables: { posts: { columns: { id: 'integer' }, primaryKey: 'id' } },
      // @ts-expect-error a service-level rule sees the columns of all its tables
      security: { r: { type: 'rule', rule: { rule: 'match', eval: '==', type: 'number', f1: 'args.find.idx', f2: 1 } } },
    });
  });

  test('a code requirement keeps the rest of the service literal', () => {
    const svc = defineService({
      name: 'svc',
      database: { type: 'sqlite', file: 'x.db' },
      tables: {
        posts: {
          columns: { id: 'integer', userId: 'string' },
          primaryKey: 'id',
          security: { owner: { type: 'rule', rule: { rule: 'code', fn: ({ auth, doc }) => auth?.id === doc?.userId } } },
        },
      },
    });
    expectTypeOf(svc.name).toEqualTypeOf<'svc'>();
    expectTypeOf(svc.tables.posts.primaryKey).toEqualTypeOf<'id'>();
    defineRule(svc, 'posts', { read: { rule: 'match', eval: '==', type: 'string', f1: 'args.auth.id', f2: 'args.find.userId' } });
  });

  test('requirement types', () => {
    defineService({
      name: 'svc',
      database: { type: 'sqlite', file: 'x.db' },
      tables: {},
      // @ts-expect-error unknown requirement type
      security: { x: { type: 'signedIn' } },
    });
    defineService({
      name: 'svc',
      database: { type: 'sqlite', file: 'x.db' },
      tables: {},
      // @ts-expect-error a role requirement names at least one role
      security: { x: { type: 'role', roles: [] } },
    });
  });
});
