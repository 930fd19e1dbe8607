import { afterEach, describe, expect, test } from 'vitest';
import {
  AppSchema,
  ConfigSchema,
  CorsSchema,
  RequirementSchema,
  RoleSchema,
  RuleSetSchema,
  ServiceSchema,
  SourceRuleSchema,
} from '@dfc/schema';
import blogConfig from '../../../examples/blog/dfc.config.js';
import {
  defineApp,
  defineConfig,
  defineCors,
  defineRole,
  defineRule,
  defineService,
  encrypted,
  secret,
  TRACE_HOOK,
  type DefinitionKind,
} from './index.js';

const svc = defineService({
  name: 'svc',
  database: { type: 'sqlite', file: './svc.db', seed: './seed.json' },
  tables: {
    posts: {
      columns: {
        id: 'integer',
        userId: 'string',
        title: { type: 'string', security: { staff: { type: 'role', roles: ['admin'] } } },
        isPublic: 'bool',
        createdAt: 'date',
        tags: { type: 'json', nullable: true, description: 'labels' },
      },
      primaryKey: 'id',
      security: {
        anyone: { type: 'allowAnonymous' },
        owner: { type: 'rule', rule: { rule: 'code', fn: ({ auth, doc }) => auth?.id === doc?.userId } },
      },
    },
  },
  security: { signedIn: { type: 'authenticated' } },
  maxRecords: 100,
});

const everyRule = defineRule(svc, 'posts', {
  read: {
    rule: 'or',
    clauses: [
      { rule: 'allow', name: 'a' },
      { rule: 'deny', error: 'no' },
      { rule: 'authenticated' },
      { rule: 'match', eval: '==', type: 'string', f1: 'args.auth.id', f2: 'args.find.userId' },
      { rule: 'match', eval: 'in', type: 'number', f1: 'args.find.id', f2: [1, 2] },
      { rule: 'match', eval: '==', type: 'bool', f1: 'utils.exists(args.find.title)', f2: true },
      { rule: 'match', eval: '<', type: 'date', f1: 'args.find.createdAt', f2: 'utils.now()' },
      {
        rule: 'and',
        clauses: [
          {
            rule: 'query',
            db: 'svc',
            col: 'posts',
            find: { userId: 'args.auth.id', id: { $in: [1, 2] } },
            store: 'args.result',
            clause: { rule: 'match', eval: '>=', type: 'number', f1: 'utils.length(args.result)', f2: 1 },
          },
          { rule: 'remove', fields: ['res.tags'], clause: { rule: 'authenticated' } },
          { rule: 'force', field: 'args.find.userId', value: 'args.auth.id' },
          { rule: 'decrypt', fields: ['res.title'] },
          { rule: 'hash', fields: ['res.userId'] },
          { rule: 'webhook', url: 'https://hooks.example.com/check', timeout: 1000 },
          { rule: 'code', fn: async ({ find }) => find?.isPublic === true },
        ],
      },
    ],
  },
  create: { rule: 'encrypt', fields: ['args.doc.title'] },
});

const role = defineRole({
  name: 'editor',
  description: 'writes posts',
  active: true,
  access: [
    {
      service: svc,
      component: '_table/posts',
      verbs: ['GET', 'PATCH'],
      requestor: ['api'],
      filters: [{ name: 'userId', operator: '=', value: '{user.id}' }],
      filterOp: 'AND',
    },
    { service: '*', component: '*', verbs: ['GET'] },
  ],
});

const app = defineApp({ name: 'web', apiKey: secret('WEB_KEY'), role, roles: [role, 'editor'], active: true });
const hashed = defineApp({ name: 'feed', apiKey: { sha256: 'a'.repeat(64) }, description: 'x' });
const sealed = defineApp({ name: 'tool', apiKey: encrypted('dfcenc:v1:abc') });
const cors = defineCors({
  path: '/api/v2/svc/*',
  description: 'front end',
  origins: ['https://app.example.com'],
  methods: ['GET'],
  headers: ['Content-Type'],
  exposedHeaders: ['X-Request-Id'],
  maxAge: 60,
  supportsCredentials: true,
  enabled: true,
});

describe('define* return what the zod schemas accept', () => {
  test('service', () => {
    expect(ServiceSchema.safeParse(svc).error).toBeUndefined();
  });

  test('rule set with every rule type', () => {
    expect(everyRule).toEqual({ service: 'svc', table: 'posts', rules: expect.any(Object) });
    expect(RuleSetSchema.safeParse(everyRule).error).toBeUndefined();
    expect(SourceRuleSchema.safeParse(everyRule.rules.read).error).toBeUndefined();
  });

  test('role, apps, CORS', () => {
    expect(RoleSchema.safeParse(role).error).toBeUndefined();
    for (const a of [app, hashed, sealed]) expect(AppSchema.safeParse(a).error).toBeUndefined();
    expect(CorsSchema.safeParse(cors).error).toBeUndefined();
  });

  test('requirements', () => {
    for (const r of Object.values(svc.tables.posts.security ?? {})) {
      expect(RequirementSchema.safeParse(r).error).toBeUndefined();
    }
  });

  test('a whole config', () => {
    const config = defineConfig({
      services: [svc],
      rules: [everyRule],
      roles: [role],
      apps: [app, hashed, sealed],
      cors: [cors],
      auth: { jwt: { secret: secret('JWT_SECRET'), algorithms: ['HS256'], issuer: 'iss', audience: ['a', 'b'], roleClaim: 'role' } },
      crypto: { key: secret('FIELD_KEY') },
      admin: { token: secret('ADMIN_TOKEN'), port: 9000 },
      environment: 'development',
      debug: false,
      server: { maxPageSize: 100 },
      webhooks: { allowPrivateHosts: ['localhost'], allowHttp: true },
    });
    expect(ConfigSchema.safeParse(config).error).toBeUndefined();
  });

  test('examples/blog', () => {
    expect(ConfigSchema.safeParse(blogConfig).error).toBeUndefined();
  });
});

describe('define* are identities', () => {
  test('they return their argument', () => {
    const input = { path: '*' as const, origins: ['*' as const], methods: ['GET' as const] };
    expect(defineCors(input)).toBe(input);
    const roleInput = { name: 'r', access: [] } as const;
    expect(defineRole(roleInput)).toBe(roleInput);
  });

  test('defineRule wraps the rules with the service name and table', () => {
    const rules = { read: { rule: 'allow' } } as const;
    const set = defineRule(svc, 'default', rules);
    expect(set).toEqual({ service: 'svc', table: 'default', rules });
    expect(set.rules).toBe(rules);
  });

  test('secret and encrypted build references', () => {
    expect(secret('DB_URL')).toEqual({ $secret: 'DB_URL' });
    expect(encrypted('dfcenc:v1:xyz')).toEqual({ $encrypted: 'dfcenc:v1:xyz' });
  });
});

describe('the trace hook', () => {
  const slot = globalThis as { [TRACE_HOOK]?: unknown };
  afterEach(() => {
    delete slot[TRACE_HOOK];
  });

  test('is the global symbol dfc.trace', () => {
    expect(TRACE_HOOK).toBe(Symbol.for('dfc.trace'));
  });

  test('each define* reports its kind and the value it returns', () => {
    const calls: [DefinitionKind, unknown][] = [];
    slot[TRACE_HOOK] = (kind: DefinitionKind, value: unknown) => calls.push([kind, value]);
    const s = defineService({ name: 's', database: { type: 'sqlite', file: 'x' }, tables: {} });
    const r = defineRule(svc, 'posts', { read: { rule: 'allow' } });
    const ro = defineRole({ name: 'r', access: [] });
    const a = defineApp({ name: 'a', apiKey: secret('K') });
    const c = defineCors({ path: '*', origins: ['*'], methods: ['GET'] });
    const cfg = defineConfig({ services: [s] });
    expect(calls).toEqual([
      ['service', s],
      ['rule', r],
      ['role', ro],
      ['app', a],
      ['cors', c],
      ['config', cfg],
    ]);
    for (const [i, v] of [s, r, ro, a, c, cfg].entries()) expect(calls[i]![1]).toBe(v);
  });

  test('a value that is not a function is ignored', () => {
    slot[TRACE_HOOK] = 'not a function';
    expect(() => defineCors({ path: '*', origins: ['*'], methods: ['GET'] })).not.toThrow();
  });
});
