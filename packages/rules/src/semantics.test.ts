/**
 * The semantics docs/rules.md specifies, one behaviour per test, through all three
 * engines (interpreter, `compile`, generated module).
 */
import { describe, expect, test } from 'vitest';
import type { Rule } from '@dfc/schema';
import { compile, compileRequirements } from './compile.js';
import { decide, moduleRule } from './engines.test-util.js';
import { evaluate, evaluateRequirements } from './interpret.js';
import { allOf, applyResponse, lookupRule } from './runtime/index.js';
import type { RequirementCollection } from './generate.js';
import type { RuleContext } from './types.js';
import { InvalidRuleError } from './validate.js';

const user = { id: 'u1', role: 'user', age: 30, verified: true, tags: ['a', 'b'] };
const P = 'rules.svc.t.read';

describe('fail closed', () => {
  test('an empty `and` or `or` denies, naming the rule', async () => {
    for (const kind of ['and', 'or'] as const) {
      const d = (await decide({ rule: kind, clauses: [] }, { args: { auth: user } })).decision;
      expect(d).toEqual({ allow: false, status: 403, code: 'error', reason: `\`${kind}\` has no clauses`, path: P });
    }
  });

  test('a missing variable, a wrong type and a `res.` operand deny', async () => {
    const m = (f1: string, type: 'string' | 'number' = 'string'): Rule => ({ rule: 'match', eval: '==', type, f1, f2: type === 'number' ? 1 : 'x' });
    expect((await decide(m('args.auth.nope'), { args: { auth: user } })).decision.reason).toBe('`args.auth.nope` is missing');
    expect((await decide(m('args.auth.age'), { args: { auth: user } })).decision.reason).toBe('`args.auth.age` is not a string');
    expect((await decide(m('args.auth.id', 'number'), { args: { auth: user } })).decision.reason).toBe('`args.auth.id` is not a number');
    expect((await decide(m('res.id'), { args: { auth: user } })).decision.reason).toBe('`res.id` cannot be read when rules run');
  });

  test("a number operand that is neither a number nor a variable denies (Space Cloud reads `'5'` as 0)", async () => {
    const d = (await decide({ rule: 'match', eval: '==', type: 'number', f1: 0, f2: '5' }, { args: { auth: user } })).decision;
    expect(d).toMatchObject({ allow: false, code: 'error', reason: '`5` is neither a number nor a variable' });
  });

  test('`in`/`notIn` with a single value denies (Space Cloud: `in` always fails, `notIn` always passes)', async () => {
    for (const op of ['in', 'notIn'] as const) {
      const d = (await decide({ rule: 'match', eval: op, type: 'string', f1: 'args.auth.role', f2: 'admin' }, { args: { auth: user } })).decision;
      expect(d).toMatchObject({ allow: false, code: 'error', reason: `\`${op}\` needs a list, but \`admin\` is not one` });
    }
    // A variable holding a string is not a list either.
    const d = (await decide({ rule: 'match', eval: 'notIn', type: 'string', f1: 'args.auth.role', f2: 'args.auth.id' }, { args: { auth: user } })).decision;
    expect(d.reason).toBe('`args.auth.id` is not a list of strings');
  });

  test('data in a list is never read as a path', async () => {
    const rule: Rule = { rule: 'match', eval: 'in', type: 'string', f1: 'args.auth.id', f2: 'args.doc.owners' };
    const d = (await decide(rule, { args: { auth: user, doc: { owners: ['args.auth.id'] } } })).decision;
    expect(d.allow).toBe(false);
    expect((await decide(rule, { args: { auth: user, doc: { owners: ['x', 'u1'] } } })).decision.allow).toBe(true);
  });

  test('no rule input can reach a prototype: own properties only', async () => {
    const rule: Rule = { rule: 'match', eval: '==', type: 'string', f1: 'args.auth.toString', f2: 'x' };
    expect((await decide(rule, { args: { auth: user } })).decision.reason).toBe('`args.auth.toString` is missing');
    const len: Rule = { rule: 'match', eval: '==', type: 'number', f1: 'args.auth.tags.length', f2: 2 };
    expect((await decide(len, { args: { auth: user } })).decision.reason).toBe('`args.auth.tags.length` is missing');
    const idx: Rule = { rule: 'match', eval: '==', type: 'string', f1: 'args.auth.tags.1', f2: 'b' };
    expect((await decide(idx, { args: { auth: user } })).decision.allow).toBe(true);
  });

  test('prototype segments are refused when a rule is validated', async () => {
    const bad: Rule = { rule: 'force', field: 'args.doc.__proto__.isAdmin', value: true };
    expect(() => compile(bad)).toThrow(InvalidRuleError);
    await expect(evaluate(bad, { args: { auth: user } })).rejects.toThrow(InvalidRuleError);
    // Inside a list, where the schema does not look, they deny at run time.
    const inList: Rule = { rule: 'match', eval: 'in', type: 'string', f1: 'args.auth.id', f2: ['args.constructor.name'] };
    expect((await decide(inList, { args: { auth: user } })).decision.reason).toBe('`args.constructor.name` reaches a forbidden property');
    expect(({} as Record<string, unknown>).isAdmin).toBeUndefined();
  });

  test('an own `__proto__` key in the request is data, not a prototype', async () => {
    const doc = JSON.parse('{"__proto__": {"isAdmin": true}, "title": "t"}') as Record<string, unknown>;
    const rule: Rule = { rule: 'force', field: 'args.doc.owner', value: 'args.auth.id' };
    const r = await decide(rule, { args: { auth: user, doc } });
    expect(Object.keys(r.input.args.doc!)).toEqual(['__proto__', 'title', 'owner']);
    expect(({} as Record<string, unknown>).isAdmin).toBeUndefined();
  });
});

describe('anonymous callers', () => {
  test('anything but a top-level `allow` needs a session (401), as in Space Cloud', async () => {
    const rule: Rule = { rule: 'or', clauses: [{ rule: 'allow' }], name: 'open' };
    expect((await decide(rule, { args: {} })).decision).toEqual({
      allow: false,
      status: 401,
      code: 'unauthenticated',
      reason: 'authentication is required',
      path: P,
      name: 'open',
    });
    expect((await decide({ rule: 'allow' }, { args: {} })).decision.allow).toBe(true);
  });
});

describe('name and error', () => {
  test('a denial names the deciding rule, its nearest name and the outermost error', async () => {
    const rule: Rule = {
      rule: 'and',
      name: 'owner or admin',
      error: 'only the owner may do this',
      clauses: [{ rule: 'authenticated' }, { rule: 'match', eval: '==', type: 'string', f1: 'args.auth.id', f2: 'args.find.userId', name: 'owner' }],
    };
    const d = (await decide(rule, { args: { auth: user, find: { userId: 'u2' } } })).decision;
    expect(d).toEqual({ allow: false, status: 403, code: 'denied', reason: 'only the owner may do this', path: `${P}.clauses[1]`, name: 'owner' });
    const inner: Rule = { rule: 'and', name: 'outer', clauses: [{ rule: 'deny', error: 'inner says no' }] };
    expect((await decide(inner, { args: { auth: user } })).decision).toMatchObject({ reason: 'inner says no', name: 'outer', path: `${P}.clauses[0]` });
  });
});

describe('or', () => {
  test('the first passing clause wins and only its response work is kept', async () => {
    const rule: Rule = {
      rule: 'or',
      clauses: [
        { rule: 'and', clauses: [{ rule: 'remove', fields: ['res.a'] }, { rule: 'deny' }] },
        { rule: 'remove', fields: ['res.b'] },
        { rule: 'remove', fields: ['res.c'] },
      ],
    };
    const r = await decide(rule, { args: { auth: user }, res: { a: 1, b: 2, c: 3 } });
    expect(r.input.res).toEqual({ a: 1, c: 3 });
  });

  test('when every clause fails, the last error (if any) is reported, else the last failure', async () => {
    const miss: Rule = { rule: 'match', eval: '==', type: 'string', f1: 'args.nope', f2: 'x' };
    const d1 = (await decide({ rule: 'or', clauses: [miss, { rule: 'deny' }] }, { args: { auth: user } })).decision;
    expect(d1).toMatchObject({ code: 'error', path: `${P}.clauses[0]` });
    const d2 = (await decide({ rule: 'or', clauses: [{ rule: 'deny', name: 'a' }, { rule: 'deny', name: 'b' }] }, { args: { auth: user } })).decision;
    expect(d2).toMatchObject({ code: 'denied', name: 'b', path: `${P}.clauses[1]` });
  });

  test('a clause that errors does not stop a later clause from allowing', async () => {
    const miss: Rule = { rule: 'match', eval: '==', type: 'string', f1: 'args.nope', f2: 'x' };
    expect((await decide({ rule: 'or', clauses: [miss, { rule: 'authenticated' }] }, { args: { auth: user } })).decision.allow).toBe(true);
  });
});

describe('response work of `remove` rules', () => {
  const rule: Rule = {
    rule: 'and',
    clauses: [
      { rule: 'remove', fields: ['res.a', 'res.deep.x'] },
      {
        rule: 'or',
        clauses: [
          { rule: 'and', clauses: [{ rule: 'remove', fields: ['res.b'] }, { rule: 'deny' }] },
          { rule: 'remove', fields: ['res.c'], name: 'c' },
        ],
      },
    ],
  };
  const input = (res: unknown) => ({ args: { auth: user }, ...(res === undefined ? {} : { res }) });

  test('without rows, the work that ran is handed over in order', async () => {
    const d = (await decide(rule, input(undefined))).decision;
    expect(d.response?.map((a) => a.field)).toEqual(['res.a', 'res.deep.x', 'res.c']);
    expect(d.response?.[2]).toMatchObject({ path: `${P}.clauses[1].clauses[1]`, name: 'c' });
  });

  test('a row and every row of an array lose the fields; null is left alone', async () => {
    const row = () => ({ a: 1, b: 2, c: 3, d: 4, deep: { x: 5, y: 6 } });
    expect((await decide(rule, input(row()))).input.res).toEqual({ b: 2, d: 4, deep: { y: 6 } });
    expect((await decide(rule, input([row(), row()]))).input.res).toEqual([{ b: 2, d: 4, deep: { y: 6 } }, { b: 2, d: 4, deep: { y: 6 } }]);
    expect((await decide(rule, input(null))).decision).toEqual({ allow: true });
  });

  test('a `res` that is not rows, a row that is not an object and a field that cannot go deny', async () => {
    expect((await decide(rule, input('text'))).decision).toMatchObject({ allow: false, code: 'response', path: `${P}.clauses[0]` });
    expect((await decide(rule, input([{ a: 1 }, 7]))).decision).toMatchObject({ allow: false, code: 'response', path: `${P}.clauses[0]` });
    expect((await decide(rule, input({ deep: [1] }))).decision).toMatchObject({ allow: false, code: 'response', reason: '`res.deep.x` cannot be removed' });
    // A frozen row (decide's copies would not be frozen): every engine denies.
    const one: Rule = { rule: 'remove', fields: ['res.a'], name: 'r' };
    const expected = { allow: false, status: 500, code: 'response', name: 'r', reason: '`res.a` cannot be removed', path: P };
    expect(await evaluate(one, input(Object.freeze({ a: 1 })), {}, P)).toEqual(expected);
    expect(await compile(one, P)(input(Object.freeze({ a: 1 })))).toEqual(expected);
    expect(await (await moduleRule(one, P))(input(Object.freeze({ a: 1 })))).toEqual(expected);
  });
});

describe('clause of a transform', () => {
  const notAdmin: Rule = { rule: 'match', eval: '!=', type: 'string', f1: 'args.auth.role', f2: 'admin' };
  test('a clause that does not hold skips the transform; one that errors denies', async () => {
    const rule: Rule = { rule: 'remove', fields: ['args.doc.role'], clause: notAdmin };
    expect((await decide(rule, { args: { auth: { id: 'a', role: 'admin' }, doc: { role: 'x' } } })).input.args.doc).toEqual({ role: 'x' });
    expect((await decide(rule, { args: { auth: user, doc: { role: 'x' } } })).input.args.doc).toEqual({});
    const broken: Rule = { rule: 'remove', fields: ['args.doc.role'], clause: { ...notAdmin, f1: 'args.auth.missing' } as Rule };
    const d = (await decide(broken, { args: { auth: user, doc: { role: 'x' } } })).decision;
    expect(d).toMatchObject({ allow: false, code: 'error', path: `${P}.clause` });
  });

  test('an `or` clause whose branches error and fail counts as an error', async () => {
    const clause: Rule = { rule: 'or', clauses: [{ rule: 'match', eval: '==', type: 'string', f1: 'args.x', f2: 'y' }, { rule: 'deny' }] };
    const d = (await decide({ rule: 'remove', fields: ['res.secret'], clause }, { args: { auth: user }, res: { secret: 1 } })).decision;
    expect(d).toMatchObject({ allow: false, code: 'error' });
  });
});

describe('transforms', () => {
  test('force creates missing intermediate objects and refuses to write through a scalar', async () => {
    const rule: Rule = { rule: 'force', field: 'args.update.$set.owner', value: 'args.auth.id' };
    expect((await decide(rule, { args: { auth: user } })).input.args.update).toEqual({ $set: { owner: 'u1' } });
    const d = (await decide(rule, { args: { auth: user, update: { $set: 'oops' } } })).decision;
    expect(d).toMatchObject({ allow: false, code: 'error', reason: '`args.update.$set.owner` cannot be set' });
  });

  test('force of a variable that does not exist denies (Space Cloud forces the literal text)', async () => {
    const d = (await decide({ rule: 'force', field: 'args.doc.owner', value: 'args.auth.nope' }, { args: { auth: user, doc: {} } })).decision;
    expect(d.reason).toBe('`args.auth.nope` is missing');
  });

  test('force copies objects, so a later change does not alias', async () => {
    const rule: Rule = { rule: 'and', clauses: [{ rule: 'force', field: 'args.doc.meta', value: { tags: ['x'] } }, { rule: 'force', field: 'args.doc.meta.tags.0', value: 'y' }] };
    const r = await decide(rule, { args: { auth: user, doc: {} } });
    expect(r.input.args.doc).toEqual({ meta: { tags: ['y'] } });
    expect((await decide(rule, { args: { auth: user, doc: {} } })).input.args.doc).toEqual({ meta: { tags: ['y'] } });
  });

  test('encrypt, decrypt and hash leave missing and null fields alone and refuse other non-strings', async () => {
    const hash: Rule = { rule: 'hash', fields: ['args.doc.password'] };
    expect((await decide(hash, { args: { auth: user, doc: {} } })).decision.allow).toBe(true);
    expect((await decide(hash, { args: { auth: user, doc: { password: null } } })).input.args.doc).toEqual({ password: null });
    expect((await decide(hash, { args: { auth: user, doc: { password: 42 } } })).decision.reason).toBe('`args.doc.password` is not a string');
  });

  test('encrypt without a configured key denies', async () => {
    const d = (await decide({ rule: 'encrypt', fields: ['args.doc.email'] }, { args: { auth: user, doc: { email: 'e' } } })).decision;
    expect(d.reason).toBe('no encryption key is configured');
  });
});

describe('response work is all or nothing', () => {
  test('one row that cannot be processed refuses the whole reply (500)', async () => {
    const rule: Rule = { rule: 'decrypt', fields: ['res.email'] };
    const ctx = (): RuleContext => ({
      crypto: {
        encrypt: (p) => p,
        decrypt: (e) => {
          if (e !== 'ok') throw new Error('tampered');
          return 'plain';
        },
      },
    });
    const d = (await decide(rule, { args: { auth: user }, res: [{ email: 'ok' }, { email: 'tampered' }, { email: 'ok' }] }, ctx)).decision;
    expect(d).toEqual({ allow: false, status: 500, code: 'response', reason: '`res.email` could not be decrypted', path: P });
    // The same through the host path.
    const deferred = (await decide(rule, { args: { auth: user } }, ctx)).decision;
    expect(applyResponse(deferred.response, [{ email: 'ok' }, { email: 'bad' }], ctx())).toMatchObject({ allow: false, status: 500 });
    expect(applyResponse(deferred.response, 'text', ctx())).toMatchObject({ reason: 'the response is not a row or a list of rows' });
    const rows = [{ email: 'ok' }];
    expect(applyResponse(deferred.response, rows, ctx())).toEqual({ allow: true });
    expect(rows).toEqual([{ email: 'plain' }]);
  });
});

describe('utils', () => {
  const ctx = (): RuleContext => ({ now: () => new Date(Date.UTC(2024, 0, 31, 10, 30, 0, 500)) });
  const eq = (f1: string, f2: string): Rule => ({ rule: 'match', eval: '==', type: 'string', f1, f2 });
  test('now, addDuration and roundUpDate follow Go: RFC 3339 with nanoseconds, truncating rounds', async () => {
    const ok = async (rule: Rule, input = { args: { auth: user } }) => expect((await decide(rule, input, ctx)).decision).toEqual({ allow: true });
    await ok(eq('utils.now()', '2024-01-31T10:30:00.5Z'));
    await ok(eq("utils.addDuration('2024-01-31T10:30:00Z', '1h30m')", '2024-01-31T12:00:00Z'));
    await ok(eq("utils.addDuration('2024-01-31T10:30:00+05:30', '-1.5h')", '2024-01-31T09:00:00+05:30'));
    await ok(eq("utils.roundUpDate('2024-05-17T13:14:15.123456789Z', 'month')", '2024-05-01T00:00:00Z'));
    await ok(eq("utils.roundUpDate('2024-05-17T01:14:15+05:30', 'day')", '2024-05-17T00:00:00+05:30'));
    await ok(eq('utils.addDuration(args.doc.at, args.doc.ttl)', '2000-01-02T00:00:00.000000001Z'), {
      args: { auth: user, doc: { at: '2000-01-01', ttl: '24h1ns' } },
    } as never);
  });

  test('bad dates, durations and units deny', async () => {
    const r = async (f1: string) => (await decide(eq(f1, 'x'), { args: { auth: user } }, ctx)).decision.reason;
    expect(await r("utils.addDuration('2024-02-30', '1h')")).toBe('`2024-02-30` is not a valid date');
    expect(await r("utils.addDuration('2024-02-03', '1d')")).toBe('`1d` is not a valid duration');
    expect(await r("utils.roundUpDate('2024-02-03', 'week')")).toBe('`week` is not a date unit');
    expect(await r('utils.exist(args.auth)')).toBe('`utils.exist(args.auth)` is not a known helper');
  });

  test('dates compare as instants, to the nanosecond', async () => {
    const cmp = (eval_: '<' | '==', f1: string, f2: string): Rule => ({ rule: 'match', eval: eval_, type: 'date', f1, f2 });
    expect((await decide(cmp('==', '2024-01-01T05:30:00+05:30', '2024-01-01'), { args: { auth: user } })).decision.allow).toBe(true);
    expect((await decide(cmp('<', '2024-01-01T00:00:00.000000001Z', '2024-01-01T00:00:00.000000002Z'), { args: { auth: user } })).decision.allow).toBe(true);
    expect((await decide(cmp('<', 'args.doc.at', 'utils.now()'), { args: { auth: user, doc: { at: new Date(0) } } }, ctx)).decision.allow).toBe(true);
  });

  test('length counts array items, object keys and UTF-8 bytes', async () => {
    const len = (path: string, n: number): Rule => ({ rule: 'match', eval: '==', type: 'number', f1: `utils.length(${path})`, f2: n });
    const args = { auth: user, doc: { list: [1, 2, 3], obj: { a: 1, b: 2 }, text: 'é€' } };
    for (const [p, n] of [['args.doc.list', 3], ['args.doc.obj', 2], ['args.doc.text', 5]] as const) {
      expect((await decide(len(p, n), { args })).decision.allow).toBe(true);
    }
    expect((await decide(len('args.auth.age', 1), { args })).decision.reason).toBe('`args.auth.age` has no length');
  });
});

describe('query, webhook and code', () => {
  test('query resolves `args.` values in find, stores rows and, without a clause, passes on a row', async () => {
    const seen: unknown[] = [];
    const ctx = (): RuleContext => ({
      query: async (db, col, find) => {
        seen.push([db, col, find]);
        return find.owner === 'u1' ? [{ id: 1 }] : [];
      },
    });
    const rule: Rule = { rule: 'query', db: 'blog', col: 'posts', find: { owner: 'args.auth.id', tags: { $in: ['args.doc.tag', 'x'] } }, store: 'args.posts' };
    const r = await decide(rule, { args: { auth: user, doc: { tag: 't' } } }, ctx);
    expect(r.decision.allow).toBe(true);
    expect(r.input.args.posts).toEqual([{ id: 1 }]);
    expect(seen[0]).toEqual(['blog', 'posts', { owner: 'u1', tags: { $in: ['t', 'x'] } }]);
  });

  test('a failing database, a missing one and a non-list answer deny', async () => {
    const rule: Rule = { rule: 'query', db: 'blog', col: 'posts', find: {} };
    const fail = (query: RuleContext['query']) => () => ({ query }) as RuleContext;
    expect((await decide(rule, { args: { auth: user } }, fail(async () => Promise.reject(new Error('down'))))).decision.reason).toBe('the query on `blog`.`posts` failed');
    expect((await decide(rule, { args: { auth: user } })).decision.reason).toBe('no database is available to `query` rules');
    expect((await decide(rule, { args: { auth: user } }, fail(async () => ({}) as never))).decision.code).toBe('error');
  });

  test('webhook: non-2xx denies, a timeout, an error or a non-JSON answer is an error', async () => {
    const rule: Rule = { rule: 'webhook', url: 'https://hooks.example/x', timeout: 5 };
    const fetch = (f: RuleContext['fetch']) => () => ({ fetch: f }) as RuleContext;
    const reason = async (f: RuleContext['fetch']) => (await decide(rule, { args: { auth: user } }, fetch(f))).decision.reason;
    expect(await reason(async () => ({ status: 302, body: {} }))).toBe('the webhook `https://hooks.example/x` refused the request');
    expect(await reason(() => new Promise(() => undefined))).toBe('the webhook `https://hooks.example/x` timed out');
    expect(await reason(async () => Promise.reject(new Error('x')))).toBe('the webhook `https://hooks.example/x` failed');
    expect(await reason(async () => ({ status: 204, body: undefined }))).toBe('the webhook `https://hooks.example/x` did not answer with JSON');
    const stored = await decide({ ...rule, clause: { rule: 'match', eval: '==', type: 'bool', f1: 'args.result.ok', f2: true } }, { args: { auth: user } }, fetch(async () => ({ status: 200, body: { ok: true } })));
    expect(stored.decision.allow).toBe(true);
    expect(stored.input.args.result).toEqual({ ok: true });
  });

  test('code: only `true` allows; a throw is an error; sync rules stay synchronous', async () => {
    const code = { yes: () => true, no: () => 'yes', boom: () => { throw new Error('x'); }, later: async () => true };
    const ctx = () => ({ code }) as RuleContext;
    const rule = (id: string, async = false): Rule => ({ rule: 'code', id, sourceHash: 'sha256:' + '0'.repeat(64), async });
    expect((await decide(rule('yes'), { args: { auth: user } }, ctx)).decision.allow).toBe(true);
    expect((await decide(rule('no'), { args: { auth: user } }, ctx)).decision.reason).toBe('the code rule denied the request');
    expect((await decide(rule('boom'), { args: { auth: user } }, ctx)).decision.reason).toBe('the code rule failed');
    expect((await decide(rule('later'), { args: { auth: user } }, ctx)).decision.reason).toBe('the code rule denied the request');
    expect((await decide(rule('later', true), { args: { auth: user } }, ctx)).decision.allow).toBe(true);
    const sync = compile(rule('yes'));
    expect(sync.async).toBe(false);
    expect(sync({ args: { auth: user } }, ctx())).toEqual({ allow: true });
    expect(compile({ rule: 'and', clauses: [rule('later', true)] }).async).toBe(true);
  });
});

describe('requirement collections', () => {
  const col = (collection: RequirementCollection['collection'], implicitAuthenticated = false, path = 'services.blog.security'): RequirementCollection => ({
    collection,
    path,
    implicitAuthenticated,
  });
  const both = async (cs: RequirementCollection[], input: Parameters<typeof evaluateRequirements>[1]) => {
    const a = await evaluateRequirements(cs, structuredClone(input));
    const b = await compileRequirements(cs)(structuredClone(input));
    expect(b).toEqual(a);
    return a;
  };

  test('the service level implies `authenticated` unless it allows anonymous callers', async () => {
    expect(await both([col([], true)], { args: {} })).toEqual({
      allow: false,
      status: 401,
      code: 'unauthenticated',
      reason: 'requirement `authenticated` failed',
      path: 'services.blog.security',
      failed: ['authenticated'],
    });
    expect((await both([col([], true)], { args: { auth: user } })).allow).toBe(true);
    expect((await both([col([{ name: 'anyone', type: 'allowAnonymous' }], true)], { args: {} })).allow).toBe(true);
  });

  test('any requirement passes a collection; all collections must pass; the first failing one decides', async () => {
    const admins = col([{ name: 'admins', type: 'role', roles: ['admin'] }, { name: 'owner', type: 'rule', rule: { rule: 'match', eval: '==', type: 'string', f1: 'args.auth.id', f2: 'args.doc.owner' } }], false, 'services.blog.tables.posts.security');
    const svc = col([], true);
    expect((await both([svc, admins], { args: { auth: user, doc: { owner: 'u1' } } })).allow).toBe(true);
    expect((await both([svc, admins], { args: { auth: user, doc: { owner: 'x' } }, role: 'admin' })).allow).toBe(true);
    const d = await both([svc, admins], { args: { auth: user, doc: { owner: 'x' } }, role: 'editor' });
    expect(d).toEqual({
      allow: false,
      status: 403,
      code: 'denied',
      reason: 'none of the requirements `admins`, `owner` passed',
      path: 'services.blog.tables.posts.security',
      failed: ['admins', 'owner'],
    });
    // Stops at the first failing collection: the service one.
    expect((await both([svc, admins], { args: {} })).path).toBe('services.blog.security');
  });

  test('composing per-collection closures with allOf gives the same answer', async () => {
    const a = col([{ name: 'signedIn', type: 'authenticated' }]);
    const b = col([{ name: 'editors', type: 'role', roles: ['editor'] }], false, 'p2');
    const composed = allOf([compileRequirements([a]), compileRequirements([b])]);
    for (const input of [{ args: {} }, { args: { auth: user }, role: 'editor' }, { args: { auth: user }, role: 'x' }]) {
      expect(await composed(structuredClone(input))).toEqual(await evaluateRequirements([a, b], structuredClone(input)));
    }
  });
});

describe('host helpers', () => {
  test("lookupRule falls back to the service's `default` table", () => {
    const rules = { 'blog/posts/read': 1, 'blog/default/read': 2, 'blog/default/delete': 3 };
    expect(lookupRule(rules, 'blog', 'posts', 'read')).toBe(1);
    expect(lookupRule(rules, 'blog', 'posts', 'delete')).toBe(3);
    expect(lookupRule(rules, 'blog', 'posts', 'update')).toBeUndefined();
    expect(lookupRule(rules, 'blog', 'toString', 'x')).toBeUndefined();
  });

  test('compile keeps the top-level rule synchronous when it needs no I/O', () => {
    const f = compile({ rule: 'match', eval: '==', type: 'string', f1: 'args.auth.id', f2: 'u1' });
    expect(f.async).toBe(false);
    expect(f({ args: { auth: user } })).toEqual({ allow: true });
    expect(Object.isFrozen(f)).toBe(true);
  });
});
