/**
 * Generators for the differential tests: rules of every type (mostly well-typed, as
 * Cedar's "type-directed" generators are, so that the interesting logic is reached),
 * inputs with missing paths, wrong types and arrays for `res`, and a deterministic
 * host context (database, webhook, crypto, clock, code functions) that records calls.
 */
import fc from 'fast-check';
import type { Json, PolicyRequirement, Rule } from '@dfc/schema';
import type { FieldCrypto, RuleContext, RuleInput } from '@dfc/rules';

// ---------------------------------------------------------------------------
// Values that appear both in rules and in inputs, so that comparisons sometimes hold.

export const STRINGS = ['admin', 'moderator', 'u1', 'u2', '', 'Admin', 'args.auth.id', '2020-01-01', '2021-05-17T13:14:15Z', '2021-05-17T13:14:15.5+05:30', '1h', 'month', 'x\u2028y'];
export const NUMBERS = [0, -0, 1, 2, 5, 2.5, -3, 1e21, Number.MAX_SAFE_INTEGER];
const DATES = ['2020-01-01', '2020-01-01T00:00:00Z', '2021-05-17T13:14:15Z', '2021-05-17T13:14:15.123456789+05:30', '2020-02-30', 'not a date', '1999-12-31T23:59:59.999Z'];

export const PATHS = [
  'args.auth.id',
  'args.auth.role',
  'args.auth.roles',
  'args.auth.age',
  'args.auth.verified',
  'args.find.userId',
  'args.find.isPublic',
  'args.find.createdAt',
  'args.find.nested.deep',
  'args.find.tags.0',
  'args.doc.age',
  'args.doc.tags',
  'args.doc.title',
  'args.doc.dur',
  'args.doc.unit',
  'args.update.$set.role',
  'args.op',
  'args.result',
  'args.result.0.id',
  'args.missing.x',
  'args.q',
  'res.x',
];
export const HELPERS = [
  'utils.exists(args.find.userId)',
  'utils.exists(args.auth)',
  'utils.exists(args.doc.tags.0)',
  'utils.length(args.doc.tags)',
  'utils.length(args.result)',
  'utils.length(args.find.userId)',
  'utils.length(args.auth.age)',
  'utils.now()',
  "utils.addDuration('2020-01-01T00:00:00Z', '1h30m')",
  "utils.addDuration(args.find.createdAt, '24h')",
  'utils.addDuration(args.find.createdAt, args.doc.dur)',
  "utils.addDuration('2021-05-17T13:14:15.123456789+05:30', '-1.5h')",
  "utils.roundUpDate(args.find.createdAt, 'month')",
  "utils.roundUpDate('2021-05-17T13:14:15.123456789+05:30', 'day')",
  'utils.roundUpDate(args.find.createdAt, args.doc.unit)',
  "utils.roundUpDate(args.find.createdAt, 'week')",
  "utils.addDuration('9999-12-31T23:00:00Z', '2h')",
  'utils.exist(args.find.userId)',
  'utils.exists(args.__proto__)',
  'utils.length(utils.now())',
  'utils.stringToObjectId(args.find.userId)',
  'utils.now',
];

const literal: fc.Arbitrary<Json> = fc.oneof(
  fc.constantFrom<Json>(...STRINGS, ...DATES),
  fc.constantFrom<Json>(...NUMBERS),
  fc.boolean(),
  fc.constant(null),
);

export const operand: fc.Arbitrary<Json> = fc.oneof(
  { weight: 5, arbitrary: fc.constantFrom<Json>(...PATHS) },
  { weight: 2, arbitrary: fc.constantFrom<Json>(...HELPERS) },
  { weight: 4, arbitrary: literal },
  {
    weight: 2,
    arbitrary: fc.array(fc.oneof(fc.constantFrom<Json>(...PATHS.slice(0, 12)), literal), { maxLength: 4 }),
  },
  { weight: 1, arbitrary: fc.constantFrom<Json>(['args.__proto__.x'], { a: 1 }, ['args.auth.role', 'admin']) },
);

/** Operands that mostly fit their match type (type-directed generation), with a little noise. */
const TYPED: Record<'string' | 'number' | 'bool' | 'date', { refs: Json[]; lits: Json[]; evals: string[] }> = {
  string: {
    refs: ['args.auth.id', 'args.auth.role', 'args.find.userId', 'args.doc.title', 'utils.now()', "utils.roundUpDate(args.find.createdAt, 'month')"],
    lits: ['admin', 'moderator', 'u1', 'u2', '', 'args'],
    evals: ['==', '!=', 'in', 'notIn', 'in', 'notIn'],
  },
  number: {
    refs: ['args.auth.age', 'args.doc.age', 'utils.length(args.doc.tags)', 'utils.length(args.result)', 'utils.length(args.find.userId)'],
    lits: [0, -0, 1, 2, 2.5, 5, -3, 1e21],
    evals: ['==', '!=', '>', '>=', '<', '<=', 'in', 'notIn'],
  },
  bool: {
    refs: ['args.auth.verified', 'args.find.isPublic', 'utils.exists(args.find.userId)', 'utils.exists(args.doc.tags.0)'],
    lits: [true, false],
    evals: ['==', '!='],
  },
  date: {
    refs: ['args.find.createdAt', 'utils.now()', "utils.addDuration(args.find.createdAt, '24h')", 'utils.addDuration(args.find.createdAt, args.doc.dur)', "utils.roundUpDate(args.find.createdAt, 'day')"],
    lits: ['2020-01-01', '2021-05-17T13:14:15Z', '2021-05-17T12:00:00.25Z', '2021-05-17T13:14:15.123456789+05:30'],
    evals: ['==', '!=', '>', '>=', '<', '<='],
  },
};

export const typedMatch: fc.Arbitrary<Rule> = fc.constantFrom('string' as const, 'number' as const, 'bool' as const, 'date' as const).chain((type) => {
  const t = TYPED[type];
  const scalar = fc.oneof({ weight: 3, arbitrary: fc.constantFrom(...t.refs) }, { weight: 2, arbitrary: fc.constantFrom(...t.lits) });
  const list = fc.oneof(
    fc.array(fc.oneof({ weight: 3, arbitrary: fc.constantFrom(...t.lits) }, { weight: 1, arbitrary: fc.constantFrom(...t.refs) }), { maxLength: 4 }),
    fc.constantFrom<Json>('args.auth.roles', 'args.doc.tags', 'args.find.tags'),
  );
  return fc.constantFrom(...t.evals).chain((op) =>
    fc.record({
      rule: fc.constant('match' as const),
      eval: fc.constant(op as '=='),
      type: fc.constant(type),
      f1: scalar,
      f2: op === 'in' || op === 'notIn' ? list : scalar,
    }),
  );
});

const FIELDS = [
  'args.doc.password',
  'args.doc.email',
  'args.doc.title',
  'args.doc.tags',
  'args.doc.tags.0',
  'args.doc.new.deep',
  'args.find.userId',
  'args.update.$set.role',
  'args.update.$set.email',
  'args.auth.id',
  'args.op.x',
  'args.missing.deep.x',
  'res.password',
  'res.email',
  'res.profile.secret',
  'res.tags.0',
  'res.missing.x',
];

const meta = fc
  .tuple(
    fc.oneof({ weight: 5, arbitrary: fc.constant(undefined) }, { weight: 1, arbitrary: fc.constantFrom('owner', 'admins', 'public', 'n\u2028"`') }),
    fc.oneof({ weight: 9, arbitrary: fc.constant(undefined) }, { weight: 1, arbitrary: fc.constantFrom('custom error', 'no `way`') }),
  )
  .map(([name, error]) => ({ ...(name !== undefined ? { name } : {}), ...(error !== undefined ? { error } : {}) }));

export const CODE_IDS = ['ctrue', 'cfalse', 'cthrow', 'cpromise', 'casync', 'casyncfalse', 'cstring', 'cmutate', 'cmissing'];
const ASYNC_IDS = new Set(['casync', 'casyncfalse']);

const URLS = ['https://ok.example/hook', 'https://no.example/hook', 'https://empty.example/hook', 'https://throw.example/hook', 'https://slow.example/hook', 'https://bad.example/hook'];
const STORES = [undefined, 'args.result', 'args.q', 'args.q.deep', 'res.x', 'args.op.x'];

function withMeta<T extends object>(arb: fc.Arbitrary<T>): fc.Arbitrary<T> {
  return fc.tuple(arb, meta).map(([r, m]) => ({ ...r, ...m }));
}

function withOptional<T extends object>(r: T, key: string, v: unknown): T {
  return v === undefined ? r : { ...r, [key]: v };
}

/** A random rule; `depth` bounds nesting. */
export function ruleArb(depth = 3): fc.Arbitrary<Rule> {
  const { rule } = fc.letrec<{ rule: Rule }>((tie) => {
    const sub = fc.option(tie('rule'), { nil: undefined, freq: 2 });
    const leaf: fc.Arbitrary<Rule> = fc.oneof(
      withMeta(fc.constant({ rule: 'allow' as const })),
      withMeta(fc.constant({ rule: 'deny' as const })),
      withMeta(fc.constant({ rule: 'authenticated' as const })),
      withMeta(typedMatch),
      withMeta(typedMatch),
      withMeta(
        fc.record({
          rule: fc.constant('match' as const),
          eval: fc.constantFrom('==', '!=', '>', '>=', '<', '<=', 'in', 'notIn'),
          type: fc.constantFrom('string', 'number', 'bool', 'date'),
          f1: operand,
          f2: operand,
        }),
      ),
      withMeta(
        fc.constantFrom(...CODE_IDS).map((id) => ({
          rule: 'code' as const,
          id,
          sourceHash: 'sha256:' + '0'.repeat(64),
          async: ASYNC_IDS.has(id),
        })),
      ),
    );
    const node: fc.Arbitrary<Rule> = fc.oneof(
      { weight: 3, arbitrary: leaf },
      {
        weight: 2,
        arbitrary: withMeta(
          fc.record({ rule: fc.constantFrom('and' as const, 'or' as const), clauses: fc.array(tie('rule'), { maxLength: 3 }) }),
        ),
      },
      {
        weight: 2,
        arbitrary: withMeta(
          fc
            .tuple(fc.constantFrom('remove' as const, 'encrypt' as const, 'decrypt' as const, 'hash' as const), fc.array(fc.constantFrom(...FIELDS), { minLength: 1, maxLength: 3 }), sub)
            .map(([kind, fields, clause]) => withOptional({ rule: kind, fields }, 'clause', clause) as Rule),
        ),
      },
      {
        weight: 1,
        arbitrary: withMeta(
          fc
            .tuple(fc.constantFrom(...FIELDS), fc.oneof(operand, fc.constant<Json>({ nested: { v: -0 } })), sub)
            .map(([field, value, clause]) => withOptional({ rule: 'force' as const, field, value }, 'clause', clause) as Rule),
        ),
      },
      {
        weight: 1,
        arbitrary: withMeta(
          fc
            .tuple(
              fc.constantFrom('profiles', 'posts', 'weird', 'broken'),
              fc.dictionary(fc.constantFrom('userId', 'isPublic', 'followers', '__proto__', 'n'), fc.oneof(operand, fc.constant<Json>({ $in: 'args.auth.id' })), { maxKeys: 3 }),
              fc.constantFrom(...STORES),
              sub,
            )
            .map(([col, find, store, clause]) =>
              withOptional(withOptional({ rule: 'query' as const, db: 'blog', col, find }, 'store', store), 'clause', clause) as Rule,
            ),
        ),
      },
      {
        weight: 1,
        arbitrary: withMeta(
          fc
            .tuple(fc.constantFrom(...URLS), fc.integer({ min: 1, max: 3 }), fc.constantFrom(...STORES), sub)
            .map(([url, timeout, store, clause]) =>
              withOptional(withOptional(withOptional({ rule: 'webhook' as const, url }, 'timeout', timeout), 'store', store), 'clause', clause) as Rule,
            ),
        ),
      },
    );
    return { rule: fc.oneof({ depthSize: 'medium', maxDepth: depth, withCrossShrink: true }, leaf, node) };
  });
  return rule;
}

// ---------------------------------------------------------------------------
// Inputs

const value: fc.Arbitrary<unknown> = fc.letrec<{ v: unknown }>((tie) => ({
  v: fc.oneof(
    { depthSize: 'small', maxDepth: 2 },
    fc.constantFrom<unknown>(...STRINGS, ...DATES, ...NUMBERS, NaN, true, false, null),
    fc.array(tie('v'), { maxLength: 3 }),
    fc.dictionary(fc.constantFrom('id', 'secret', 'deep', 'x', '0'), tie('v'), { maxKeys: 2 }),
  ),
})).v;

const strValue = fc.oneof({ weight: 4, arbitrary: fc.constantFrom(...STRINGS) }, { weight: 1, arbitrary: value });
const numValue = fc.oneof({ weight: 4, arbitrary: fc.constantFrom(...NUMBERS) }, { weight: 1, arbitrary: value });
const dateValue = fc.oneof({ weight: 4, arbitrary: fc.constantFrom<unknown>(...DATES, new Date(Date.UTC(2021, 4, 17))) }, { weight: 1, arbitrary: value });

const auth = fc.record(
  {
    id: strValue,
    role: strValue,
    roles: fc.oneof(fc.array(fc.constantFrom(...STRINGS), { maxLength: 3 }), value),
    age: numValue,
    verified: fc.oneof(fc.boolean(), value),
  },
  { requiredKeys: [] },
);

const find = fc.record(
  {
    userId: strValue,
    isPublic: fc.oneof(fc.boolean(), value),
    createdAt: dateValue,
    nested: fc.oneof(fc.record({ deep: value }, { requiredKeys: [] }), value),
    tags: fc.oneof(fc.array(fc.constantFrom(...STRINGS), { maxLength: 3 }), value),
  },
  { requiredKeys: [] },
);

const doc = fc.record(
  {
    age: numValue,
    tags: fc.oneof(fc.array(fc.oneof(fc.constantFrom(...STRINGS), fc.constantFrom(...NUMBERS)), { maxLength: 3 }), value),
    title: strValue,
    password: strValue,
    email: fc.oneof(strValue, fc.constant('enc:email:secret')),
    dur: fc.oneof(fc.constantFrom('1h', '90m', '-2s', '1.5h', 'bad', '0', '300ms', '1h1'), value),
    unit: fc.oneof(fc.constantFrom('year', 'month', 'day', 'hour', 'minute', 'second', 'week'), value),
    new: value,
  },
  { requiredKeys: [] },
);

const row: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 6, arbitrary: fc.record(
    {
      password: strValue,
      email: fc.oneof(fc.constant('enc:email:alice'), strValue),
      profile: fc.oneof(fc.record({ secret: value }, { requiredKeys: [] }), value),
      tags: fc.oneof(fc.array(fc.constantFrom(...STRINGS), { maxLength: 2 }), value),
      id: numValue,
    },
    { requiredKeys: [] },
  ) },
  { weight: 1, arbitrary: value },
);

export const resArb: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 3, arbitrary: fc.constant(undefined) },
  { weight: 2, arbitrary: row },
  { weight: 2, arbitrary: fc.array(row, { maxLength: 3 }) },
  { weight: 1, arbitrary: fc.constantFrom<unknown>(null, 5, 'text') },
);

export const inputArb: fc.Arbitrary<RuleInput> = fc
  .record(
    {
      auth: fc.oneof({ weight: 5, arbitrary: auth }, { weight: 1, arbitrary: value }),
      find,
      doc,
      update: fc.record({ $set: fc.oneof(fc.record({ role: strValue, email: strValue }, { requiredKeys: [] }), value) }, { requiredKeys: [] }),
      op: fc.oneof(fc.constantFrom('one', 'all'), value),
      result: value,
      token: fc.constant('raw.jwt.token'),
    },
    { requiredKeys: [] },
  )
  .chain((args) =>
    fc.record({ args: fc.constant(args), res: resArb, role: fc.option(fc.constantFrom('admin', 'editor', 'reader'), { nil: undefined }) }),
  )
  .map(({ args, res, role }) => {
    const input: RuleInput = { args: args as RuleInput['args'] };
    if (res !== undefined) input.res = res;
    if (role !== undefined) input.role = role;
    return input;
  });

// ---------------------------------------------------------------------------
// The host: deterministic, recording every call.

/** A reversible stand-in for AES-GCM: deterministic so both engines' outputs compare equal. */
export const fakeCrypto: FieldCrypto = {
  encrypt: (p, c) => `enc:${c}:${p}`,
  decrypt: (e, c) => {
    const prefix = `enc:${c}:`;
    if (!e.startsWith(prefix)) throw new Error('not ours');
    return e.slice(prefix.length);
  },
};

const CODE: Record<string, (args: Record<string, unknown>) => unknown> = {
  ctrue: () => true,
  cfalse: () => false,
  cthrow: () => {
    throw new Error('boom');
  },
  cpromise: () => Promise.resolve(true),
  casync: async () => true,
  casyncfalse: async (a) => (a as { auth?: { role?: unknown } }).auth?.role === 'admin',
  cstring: () => 'true',
  cmutate: (a) => {
    if (a && typeof a === 'object') (a as Record<string, unknown>).touched = 1;
    return true;
  },
};

export interface Host {
  ctx: RuleContext;
  calls: unknown[];
}

/** A fresh host; `variant` switches off parts of it (no crypto, no database…). */
export function makeHost(variant = 0): Host {
  const calls: unknown[] = [];
  const ctx: RuleContext = {
    now: () => new Date(Date.UTC(2021, 4, 17, 12, 0, 0, 250)),
    code: CODE as RuleContext['code'],
  };
  if (variant !== 1) ctx.crypto = fakeCrypto;
  if (variant !== 2) {
    ctx.query = async (service, table, find) => {
      calls.push(['query', service, table, structuredClone(find)]);
      if (table === 'broken') throw new Error('db down');
      if (table === 'weird') return { not: 'rows' } as never;
      const userId = (find as Record<string, unknown>).userId;
      return userId === 'u1' ? [{ userId: 'u1', isPublic: true }] : userId === 'admin' ? [{ a: 1 }, { a: 2 }] : [];
    };
  }
  if (variant !== 3) {
    ctx.fetch = (url, init) => {
      calls.push(['fetch', url, init.body, init.timeoutMs]);
      if (url.startsWith('https://ok.')) return Promise.resolve({ status: 200, body: { ok: true } });
      if (url.startsWith('https://no.')) return Promise.resolve({ status: 403, body: { ok: false } });
      if (url.startsWith('https://empty.')) return Promise.resolve({ status: 204, body: undefined });
      if (url.startsWith('https://throw.')) return Promise.reject(new Error('connect refused'));
      if (url.startsWith('https://bad.')) return Promise.resolve('nonsense' as never);
      return new Promise(() => undefined);
    };
  }
  return { ctx, calls };
}

export const requirementArb: fc.Arbitrary<PolicyRequirement> = fc.oneof(
  fc.constant<PolicyRequirement>({ name: 'anyone', type: 'allowAnonymous' }),
  fc.constant<PolicyRequirement>({ name: 'signedIn', type: 'authenticated' }),
  fc.constantFrom(['admin'], ['admin', 'editor'], []).map((roles): PolicyRequirement => ({ name: 'roles', type: 'role', roles })),
  ruleArb(2).map((rule): PolicyRequirement => ({ name: 'ruled', type: 'rule', rule })),
);

/** Seed and run count for this file: `DFC_FUZZ_SEED` replays a failure, `DFC_FUZZ_RUNS` scales the count. */
export function fuzzSettings(defaultRuns: number): { seed: number; numRuns: number } {
  const seed = process.env.DFC_FUZZ_SEED ? Number(process.env.DFC_FUZZ_SEED) : Math.floor(Math.random() * 2 ** 31);
  const scale = process.env.DFC_FUZZ_RUNS ? Number(process.env.DFC_FUZZ_RUNS) / 10_000 : 1;
  return { seed, numRuns: Math.max(1, Math.round(defaultRuns * scale)) };
}
