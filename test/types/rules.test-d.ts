import { describe, expectTypeOf, test } from 'vitest';
import { defineRule, type CheckPath, type ContextOf, type KnownPath, type RuleSet, type SuggestedPath } from 'dfc';
import { shop, type Shop } from './fixture.js';

type Read = ContextOf<Shop, 'posts', 'read'>;
type Create = ContextOf<Shop, 'posts', 'create'>;
type Update = ContextOf<Shop, 'posts', 'update'>;
type Default = ContextOf<Shop, 'default', 'read'>;

describe('paths', () => {
  test('completion offers the columns of the table for each variable of the operation', () => {
    expectTypeOf<'args.find.userId'>().toExtend<SuggestedPath<Read>>();
    expectTypeOf<'res.title'>().toExtend<SuggestedPath<Read>>();
    expectTypeOf<'args.opts.limit'>().toExtend<SuggestedPath<Read>>();
    expectTypeOf<'args.auth.id'>().toExtend<SuggestedPath<Read>>();
    expectTypeOf<'utils.exists(args.find.title)'>().toExtend<SuggestedPath<Read>>();
    expectTypeOf<'utils.length(args.result)'>().toExtend<SuggestedPath<Read>>();
    expectTypeOf<'utils.now()'>().toExtend<SuggestedPath<Read>>();
    expectTypeOf<'args.doc.title'>().toExtend<SuggestedPath<Create>>();
    expectTypeOf<'args.update.$set.title'>().toExtend<SuggestedPath<Update>>();
    expectTypeOf<'args.update.$inc.score'>().toExtend<SuggestedPath<Update>>();
    expectTypeOf<'args.update.$unset.tags'>().toExtend<SuggestedPath<Update>>();
  });

  test('completion does not offer what the operation does not have', () => {
    expectTypeOf<'args.doc.title'>().not.toExtend<SuggestedPath<Read>>();
    expectTypeOf<'args.find.title'>().not.toExtend<SuggestedPath<Create>>();
    expectTypeOf<'args.update.$set.title'>().not.toExtend<SuggestedPath<Read>>();
    expectTypeOf<'args.find.email'>().not.toExtend<SuggestedPath<Read>>();
  });

  test('open-ended variables: any claim, query results, fields below json columns', () => {
    expectTypeOf<'args.auth.tenant'>().toExtend<KnownPath<Read>>();
    expectTypeOf<'args.result.0.isPublic'>().toExtend<KnownPath<Read>>();
    expectTypeOf<'args.find.tags.0'>().toExtend<KnownPath<Read>>();
    expectTypeOf<'res.tags.name'>().toExtend<KnownPath<Read>>();
    expectTypeOf<'res.title.length'>().not.toExtend<KnownPath<Read>>();
    expectTypeOf<CheckPath<Read, "utils.addDuration(args.find.createdAt, '1h')">>().toEqualTypeOf<"utils.addDuration(args.find.createdAt, '1h')">();
    expectTypeOf<CheckPath<Read, 'utils.exists(args.find.tags.0)'>>().toEqualTypeOf<'utils.exists(args.find.tags.0)'>();
    expectTypeOf<CheckPath<Read, 'utils.length(args.auth.roles)'>>().toEqualTypeOf<'utils.length(args.auth.roles)'>();
    expectTypeOf<CheckPath<Read, 'utils.length(admin)'>>().toEqualTypeOf<'`admin` is not a variable path'>();
  });

  test('the default table knows every column of the service', () => {
    expectTypeOf<'args.find.email'>().toExtend<SuggestedPath<Default>>();
    expectTypeOf<'args.find.title'>().toExtend<SuggestedPath<Default>>();
    expectTypeOf<CheckPath<Default, 'args.find.nope'>>().toEqualTypeOf<'unknown column `nope` in any table of service `shop`'>();
  });

  test('a wrong path becomes a readable message', () => {
    expectTypeOf<CheckPath<Read, 'args.find.userId'>>().toEqualTypeOf<'args.find.userId'>();
    expectTypeOf<CheckPath<Read, 'args.find.usrId'>>().toEqualTypeOf<'unknown column `usrId` in table `posts`'>();
    expectTypeOf<CheckPath<Read, 'res.pasword'>>().toEqualTypeOf<'unknown column `pasword` in table `posts`'>();
    expectTypeOf<CheckPath<Read, 'args.doc.title'>>().toEqualTypeOf<'`args.doc` is not set in `read` rules'>();
    expectTypeOf<CheckPath<Create, 'args.find.title'>>().toEqualTypeOf<'`args.find` is not set in `create` rules'>();
    expectTypeOf<CheckPath<Read, 'args.title'>>().toEqualTypeOf<'unknown variable `args.title`: rules see `args.auth`, `args.find`, `args.doc`, `args.update`, `args.op`, `args.opts`, `args.result`, `args.token` and `res`'>();
    expectTypeOf<CheckPath<Update, 'args.update.$sett.title'>>().toEqualTypeOf<'unknown update operator `$sett`: use `$set`, `$inc`, `$unset`, `$push` and the like'>();
    expectTypeOf<CheckPath<Update, 'args.update.$set.titel'>>().toEqualTypeOf<'unknown column `titel` in table `posts`'>();
    expectTypeOf<CheckPath<Read, 'res.title.length'>>().toEqualTypeOf<'column `title` is not json: `res.title.length` has no fields'>();
    expectTypeOf<CheckPath<Read, 'args.opts.page'>>().toEqualTypeOf<'unknown option `args.opts.page`: use `args.opts.limit` or `args.opts.skip`'>();
    expectTypeOf<CheckPath<Read, 'args.op.x'>>().toEqualTypeOf<'`args.op` has no fields'>();
  });

  test('a half-typed path lists the paths it starts', () => {
    expectTypeOf<CheckPath<Read, 'args.find.user'>>().toEqualTypeOf<'args.find.userId'>();
    expectTypeOf<CheckPath<Read, 'res.'>>().toEqualTypeOf<
      'res.id' | 'res.userId' | 'res.title' | 'res.isPublic' | 'res.createdAt' | 'res.score' | 'res.tags'
    >();
  });

  test('helpers: names, arguments, dates and units', () => {
    expectTypeOf<CheckPath<Read, 'utils.exists(args.find.postId)'>>().toEqualTypeOf<'unknown column `postId` in table `posts`'>();
    expectTypeOf<CheckPath<Read, 'utils.exist(args.find.id)'>>().toEqualTypeOf<'unknown helper `utils.exist`: use `utils.exists`, `utils.length`, `utils.now`, `utils.addDuration` or `utils.roundUpDate`'>();
    expectTypeOf<CheckPath<Read, 'utils.now'>>().toEqualTypeOf<'utils.now()'>();
    expectTypeOf<CheckPath<Read, 'utils.exists[args.find.id]'>>().toEqualTypeOf<'call helpers with parentheses, such as `utils.exists(args.find.id)`'>();
    expectTypeOf<CheckPath<Read, 'utils.now(1)'>>().toEqualTypeOf<'`utils.now()` takes no arguments'>();
    expectTypeOf<CheckPath<Read, "utils.addDuration('args.find.createdAt', '10h')">>().toEqualTypeOf<"utils.addDuration('args.find.createdAt', '10h')">();
    expectTypeOf<CheckPath<Read, "utils.addDuration('2024-01-01', '10h')">>().toEqualTypeOf<"utils.addDuration('2024-01-01', '10h')">();
    expectTypeOf<CheckPath<Read, "utils.addDuration('args.find.createdOn', '10h')">>().toEqualTypeOf<'unknown column `createdOn` in table `posts`'>();
    expectTypeOf<CheckPath<Read, "utils.addDuration('yesterday', '10h')">>().toEqualTypeOf<'`yesterday` is not a date or a known path'>();
    expectTypeOf<CheckPath<Read, "utils.roundUpDate(utils.now(), 'day')">>().toEqualTypeOf<"utils.roundUpDate(utils.now(), 'day')">();
    expectTypeOf<CheckPath<Read, "utils.roundUpDate(utils.now(), 'week')">>().toEqualTypeOf<'unknown unit `week`: use year, month, day, hour, minute or second'>();
  });
});

describe('defineRule', () => {
  test('returns the plain rule set of a service table', () => {
    const r = defineRule(shop, 'posts', { read: { rule: 'allow' } });
    expectTypeOf(r).toEqualTypeOf<RuleSet<'shop', 'posts'>>();
    expectTypeOf(r.service).toEqualTypeOf<'shop'>();
  });

  test('table names are checked and the default table is accepted', () => {
    defineRule(shop, 'default', { read: { rule: 'deny' } });
    // @ts-expect-error unknown table
    defineRule(shop, 'post', { read: { rule: 'allow' } });
  });

  test('operations are create, read, update and delete', () => {
    defineRule(shop, 'posts', { create: { rule: 'allow' }, read: { rule: 'allow' }, update: { rule: 'deny' }, delete: { rule: 'deny' } });
    // @ts-expect-error misspelled operation
    defineRule(shop, 'posts', { raed: { rule: 'allow' } });
  });

  test('allow, deny, authenticated, with name and error', () => {
    defineRule(shop, 'posts', { read: { rule: 'allow', name: 'public' }, delete: { rule: 'deny', error: 'no deleting' } });
    defineRule(shop, 'posts', { create: { rule: 'authenticated' } });
    // @ts-expect-error unknown rule kind
    defineRule(shop, 'posts', { read: { rule: 'alow' } });
    // @ts-expect-error allow takes no other options
    defineRule(shop, 'posts', { read: { rule: 'allow', f1: 'args.auth.id' } });
  });

  test('match on strings: paths and literals', () => {
    defineRule(shop, 'posts', {
      update: { rule: 'match', eval: '==', type: 'string', f1: 'args.auth.id', f2: 'args.find.userId' },
      delete: { rule: 'match', eval: '!=', type: 'string', f1: 'args.auth.role', f2: 'guest' },
      read: { rule: 'match', eval: 'in', type: 'string', f1: 'args.auth.role', f2: ['admin', 'args.find.userId'] },
    });
    defineRule(shop, 'posts', { read: { rule: 'match', eval: 'notIn', type: 'string', f1: 'args.find.userId', f2: 'args.auth.blocked' } });
    // @ts-expect-error unknown column in f2
    defineRule(shop, 'posts', { update: { rule: 'match', eval: '==', type: 'string', f1: 'args.auth.id', f2: 'args.find.usrId' } });
    // @ts-expect-error unknown column in f1
    defineRule(shop, 'posts', { update: { rule: 'match', eval: '==', type: 'string', f1: 'args.find.usrId', f2: 'args.auth.id' } });
    // @ts-expect-error args.doc is not set for reads
    defineRule(shop, 'posts', { read: { rule: 'match', eval: '==', type: 'string', f1: 'args.doc.userId', f2: 'args.auth.id' } });
    // @ts-expect-error a number is not a string operand
    defineRule(shop, 'posts', { read: { rule: 'match', eval: '==', type: 'string', f1: 'args.auth.id', f2: 3 } });
    // @ts-expect-error strings are not ordered (use type date)
    defineRule(shop, 'posts', { read: { rule: 'match', eval: '<', type: 'string', f1: 'args.auth.id', f2: 'x' } });
    // @ts-expect-error in needs a list or a path, not a literal
    defineRule(shop, 'posts', { read: { rule: 'match', eval: 'in', type: 'string', f1: 'args.auth.role', f2: 'admin' } });
    // @ts-expect-error an unknown path inside an in list
    defineRule(shop, 'posts', { read: { rule: 'match', eval: 'in', type: 'string', f1: 'args.auth.role', f2: ['admin', 'args.find.usrId'] } });
  });

  test('match on numbers: numbers or paths, never quoted numbers', () => {
    defineRule(shop, 'posts', {
      read: { rule: 'match', eval: '>=', type: 'number', f1: 'args.find.score', f2: 10 },
      update: { rule: 'match', eval: 'in', type: 'number', f1: 'args.find.id', f2: [1, 2, 'args.auth.postId'] },
    });
    defineRule(shop, 'posts', { read: { rule: 'match', eval: '==', type: 'number', f1: 'utils.length(args.result)', f2: 1 } });
    // @ts-expect-error a quoted number is not a number
    defineRule(shop, 'posts', { read: { rule: 'match', eval: '==', type: 'number', f1: 'args.find.score', f2: '10' } });
    // @ts-expect-error a boolean is not a number
    defineRule(shop, 'posts', { read: { rule: 'match', eval: '==', type: 'number', f1: 'args.find.score', f2: true } });
    // @ts-expect-error unknown column
    defineRule(shop, 'posts', { read: { rule: 'match', eval: '<', type: 'number', f1: 'args.find.scor', f2: 1 } });
    // @ts-expect-error a string inside a number list
    defineRule(shop, 'posts', { read: { rule: 'match', eval: 'in', type: 'number', f1: 'args.find.id', f2: [1, 'two'] } });
  });

  test('match on booleans: true, false or paths', () => {
    defineRule(shop, 'posts', {
      read: { rule: 'match', eval: '==', type: 'bool', f1: 'utils.exists(args.find.userId)', f2: true },
      update: { rule: 'match', eval: '!=', type: 'bool', f1: 'args.find.isPublic', f2: false },
    });
    // @ts-expect-error a string literal is not a boolean (Space Cloud reads it as a missing path)
    defineRule(shop, 'posts', { read: { rule: 'match', eval: '!=', type: 'bool', f1: 'args.auth.role', f2: 'admin' } });
    // @ts-expect-error booleans have no order
    defineRule(shop, 'posts', { read: { rule: 'match', eval: '<', type: 'bool', f1: 'args.find.isPublic', f2: true } });
    // @ts-expect-error in is not for booleans
    defineRule(shop, 'posts', { read: { rule: 'match', eval: 'in', type: 'bool', f1: 'args.find.isPublic', f2: [true] } });
  });

  test('match on dates: date literals, paths and helpers', () => {
    defineRule(shop, 'posts', {
      read: { rule: 'match', eval: '<', type: 'date', f1: 'args.find.createdAt', f2: 'utils.now()' },
      update: { rule: 'match', eval: '>=', type: 'date', f1: 'args.find.createdAt', f2: '2024-01-31T12:00:00Z' },
      delete: { rule: 'match', eval: '>', type: 'date', f1: "utils.roundUpDate(utils.now(), 'day')", f2: '2024-01-31' },
    });
    // @ts-expect-error not a date
    defineRule(shop, 'posts', { read: { rule: 'match', eval: '<', type: 'date', f1: 'args.find.createdAt', f2: 'last week' } });
    // @ts-expect-error in is not for dates
    defineRule(shop, 'posts', { read: { rule: 'match', eval: 'in', type: 'date', f1: 'args.find.createdAt', f2: ['2024-01-01'] } });
  });

  test('match needs a type that Space Cloud knows', () => {
    // @ts-expect-error unknown type
    defineRule(shop, 'posts', { read: { rule: 'match', eval: '==', type: 'text', f1: 'args.auth.id', f2: 'x' } });
  });

  test('and / or nest, and their clauses are checked', () => {
    defineRule(shop, 'posts', {
      read: {
        rule: 'or',
        clauses: [
          { rule: 'match', eval: '==', type: 'bool', f1: 'args.find.isPublic', f2: true },
          { rule: 'and', clauses: [{ rule: 'authenticated' }, { rule: 'match', eval: '==', type: 'string', f1: 'args.auth.id', f2: 'args.find.userId' }] },
        ],
      },
    });
    // @ts-expect-error a typo two levels down
    defineRule(shop, 'posts', { read: { rule: 'or', clauses: [{ rule: 'and', clauses: [{ rule: 'match', eval: '==', type: 'string', f1: 'args.auth.id', f2: 'args.find.usrId' }] }] } });
    // @ts-expect-error clauses is a list
    defineRule(shop, 'posts', { read: { rule: 'and', clauses: { rule: 'allow' } } });
  });

  test('query: db, col and find are checked against the service', () => {
    defineRule(shop, 'posts', {
      read: {
        rule: 'query',
        db: 'shop',
        col: 'users',
        find: { id: 'args.auth.id', role: { $in: ['admin', 'editor'] }, email: { $ne: null } },
        clause: { rule: 'match', eval: '==', type: 'number', f1: 'utils.length(args.result)', f2: 1 },
      },
    });
    // another service's tables are not known: col and find keys stay open, find paths are still checked
    defineRule(shop, 'posts', { read: { rule: 'query', db: 'other', col: 'anything', find: { whatever: 'args.find.userId' } } });
    // @ts-expect-error unknown table of this service
    defineRule(shop, 'posts', { read: { rule: 'query', db: 'shop', col: 'user', find: { id: 'args.auth.id' } } });
    // @ts-expect-error unknown column of the queried table
    defineRule(shop, 'posts', { read: { rule: 'query', db: 'shop', col: 'users', find: { userId: 'args.auth.id' } } });
    // @ts-expect-error a find value naming an unknown column of the rule's own table
    defineRule(shop, 'posts', { read: { rule: 'query', db: 'shop', col: 'users', find: { id: 'args.find.usrId' } } });
    // @ts-expect-error range operators are not supported by query rules
    defineRule(shop, 'posts', { read: { rule: 'query', db: 'shop', col: 'users', find: { age: { $gte: 18 } } } });
    // @ts-expect-error a path inside an operator object
    defineRule(shop, 'posts', { read: { rule: 'query', db: 'shop', col: 'users', find: { id: { $in: ['args.find.usrId'] } } } });
  });

  test('remove: request and response fields', () => {
    defineRule(shop, 'users', {
      read: { rule: 'remove', fields: ['res.password'], clause: { rule: 'match', eval: '!=', type: 'string', f1: 'args.auth.role', f2: 'admin' } },
      update: { rule: 'remove', fields: ['args.update.$set.role', 'args.update.$unset.role'] },
    });
    // @ts-expect-error unknown column
    defineRule(shop, 'users', { read: { rule: 'remove', fields: ['res.pasword'] } });
    // @ts-expect-error claims cannot be removed
    defineRule(shop, 'users', { read: { rule: 'remove', fields: ['args.auth.role'] } });
    // @ts-expect-error a field is a path
    defineRule(shop, 'users', { read: { rule: 'remove', fields: ['password'] } });
    // @ts-expect-error a typo in the clause
    defineRule(shop, 'users', { read: { rule: 'remove', fields: ['res.password'], clause: { rule: 'match', eval: '!=', type: 'string', f1: 'args.auth.role', f2: 'args.find.rol' } } });
  });

  test('force: field and value', () => {
    defineRule(shop, 'posts', {
      read: { rule: 'force', field: 'args.find.userId', value: 'args.auth.id' },
      create: { rule: 'force', field: 'args.doc.isPublic', value: false, clause: { rule: 'authenticated' } },
      update: { rule: 'force', field: 'args.update.$set.title', value: 'untitled' },
    });
    // @ts-expect-error unknown column in field
    defineRule(shop, 'posts', { read: { rule: 'force', field: 'args.find.usrId', value: 'args.auth.id' } });
    // @ts-expect-error unknown variable in value
    defineRule(shop, 'posts', { read: { rule: 'force', field: 'args.find.userId', value: 'args.doc.userId' } });
  });

  test('encrypt, decrypt and hash take string columns', () => {
    defineRule(shop, 'users', {
      create: { rule: 'encrypt', fields: ['args.doc.email'] },
      read: { rule: 'decrypt', fields: ['res.email'], clause: { rule: 'match', eval: '==', type: 'string', f1: 'args.auth.id', f2: 'args.find.id' } },
      update: { rule: 'hash', fields: ['args.update.$set.password'] },
    });
    // @ts-expect-error age is an integer column
    defineRule(shop, 'users', { create: { rule: 'hash', fields: ['args.doc.age'] } });
    // @ts-expect-error unknown column
    defineRule(shop, 'users', { create: { rule: 'encrypt', fields: ['args.doc.mail'] } });
    // @ts-expect-error res fields of a decrypt are checked too
    defineRule(shop, 'users', { read: { rule: 'decrypt', fields: ['res.emial'] } });
  });

  test('webhook: a full URL written in the config', () => {
    defineRule(shop, 'posts', { create: { rule: 'webhook', url: 'https://hooks.example.com/check', timeout: 2000 } });
    // @ts-expect-error not a URL
    defineRule(shop, 'posts', { create: { rule: 'webhook', url: 'hooks.example.com/check' } });
  });

  test('code: the function sees the request typed by the table', () => {
    defineRule(shop, 'posts', {
      update: {
        rule: 'code',
        fn: (args) => {
          expectTypeOf(args.find?.userId).toEqualTypeOf<string | null | undefined>();
          expectTypeOf(args.find?.score).toEqualTypeOf<number | null | undefined>();
          expectTypeOf(args.update?.$set?.isPublic).toEqualTypeOf<boolean | null | undefined>();
          expectTypeOf(args.auth?.role).toEqualTypeOf<unknown>();
          expectTypeOf(args.op).toEqualTypeOf<'one' | 'all' | undefined>();
          return args.auth?.id === args.find?.userId;
        },
      },
      read: { rule: 'code', fn: async ({ auth }) => auth !== undefined },
    });
    // @ts-expect-error no such column
    defineRule(shop, 'posts', { read: { rule: 'code', fn: ({ find }) => find?.usrId === 'x' } });
    // @ts-expect-error must return a boolean
    defineRule(shop, 'posts', { read: { rule: 'code', fn: () => 'yes' } });
  });

  test('a clause sits next to a code rule without losing its checks', () => {
    // @ts-expect-error the typo is found even though a context-sensitive function is present
    defineRule(shop, 'posts', { read: { rule: 'and', clauses: [{ rule: 'code', fn: ({ auth }) => !!auth }, { rule: 'match', eval: '==', type: 'string', f1: 'args.auth.id', f2: 'args.find.usrId' }] } });
  });

  test('rules written apart keep their literal types', () => {
    const isAdmin = { rule: 'match', eval: '==', type: 'string', f1: 'args.auth.role', f2: 'admin' } as const;
    defineRule(shop, 'posts', { delete: isAdmin, update: { rule: 'or', clauses: [isAdmin] } });
    const typo = { rule: 'match', eval: '==', type: 'string', f1: 'args.auth.role', f2: 'args.find.rol' } as const;
    // @ts-expect-error checked where it is used
    defineRule(shop, 'posts', { delete: typo });
  });
});
