/**
 * What the linter can prove from a rule alone: rules and clauses that always allow or
 * always deny (beyond the literal `allow`/`deny`), clauses that can never decide, and
 * `match` operands whose column types cannot agree with the comparison. Each proof is
 * checked against the interpreter on inputs that cover the operands.
 */
import { describe, expect, test } from 'vitest';
import type { Rule } from '@dfc/schema';
import { evaluate } from './interpret.js';
import { lintRule, staticOutcome, type LintContext } from './lint.js';

const columns = { id: 'integer', userId: 'string', score: 'number', isPublic: 'bool', createdAt: 'date', tags: 'json' } as const;
const ctx: LintContext = { path: 'rules.blog.posts.update', columns, operation: 'update' };
const ids = (rule: Rule, c: LintContext = ctx) => lintRule(rule, c).map((i) => [i.id, i.severity, i.path.slice(ctx.path.length)]);

const m = (eval_: string, type: string, f1: unknown, f2: unknown) => ({ rule: 'match', eval: eval_, type, f1, f2 }) as Rule;
const owner = m('==', 'string', 'args.auth.id', 'args.find.userId');

describe('staticOutcome', () => {
  const cases: [Rule, 'allow' | 'deny' | undefined][] = [
    [{ rule: 'allow' }, 'allow'],
    [{ rule: 'deny' }, 'deny'],
    [{ rule: 'authenticated' }, undefined],
    [owner, undefined],
    [m('==', 'string', 'admin', 'admin'), 'allow'],
    [m('!=', 'string', 'admin', 'admin'), 'deny'],
    [m('<', 'number', 1, 2), 'allow'],
    [m('>=', 'number', 1, 2), 'deny'],
    [m('==', 'bool', true, false), 'deny'],
    [m('<', 'date', '2024-01-01', '2024-01-02T00:00:00Z'), 'allow'],
    [m('in', 'string', 'a', ['a', 'b']), 'allow'],
    [m('notIn', 'string', 'a', ['a', 'b']), 'deny'],
    [m('in', 'string', 'args.auth.role', ['a', 'b']), undefined],
    [m('!=', 'string', 'args.auth.id', 'args.auth.id'), 'deny'],
    [m('==', 'string', 'args.auth.id', 'args.auth.id'), undefined],
    [m('==', 'number', 'one', 1), undefined], // a literal of the wrong type is its own error
    [{ rule: 'or', clauses: [owner, { rule: 'allow' }] }, 'allow'],
    [{ rule: 'or', clauses: [owner, m('==', 'number', 1, 1)] }, 'allow'],
    [{ rule: 'or', clauses: [{ rule: 'deny' }, m('==', 'number', 1, 2)] }, 'deny'],
    [{ rule: 'and', clauses: [owner, { rule: 'deny' }] }, 'deny'],
    [{ rule: 'and', clauses: [{ rule: 'allow' }, m('==', 'number', 1, 1)] }, 'allow'],
    [{ rule: 'and', clauses: [owner, { rule: 'allow' }] }, undefined],
    [{ rule: 'and', clauses: [] }, undefined],
    [{ rule: 'remove', fields: ['res.userId'] }, undefined],
  ];

  test.each(cases.map(([rule, out], i) => [i, rule, out] as const))('case %i', async (_i, rule, out) => {
    expect(staticOutcome(rule)).toBe(out);
    // A proof holds for the interpreter: every input, with and without the operands' variables.
    if (out === undefined) return;
    for (const args of [
      { auth: { id: 'u1', role: 'a' }, find: { userId: 'u1' } },
      { auth: { id: 'u1', role: 'b' }, find: { userId: 'u2' } },
      { auth: { role: 'a' } },
    ]) {
      const d = await evaluate(rule, { args }, {}, 'rule');
      expect(d.allow, JSON.stringify(args)).toBe(out === 'allow');
    }
  });
});

describe('lint: rules that always decide', () => {
  test('a rule that always denies, though not written `deny`', () => {
    const issues = lintRule({ rule: 'and', clauses: [owner, m('==', 'string', 'on', 'off')] }, ctx);
    expect(issues.map((i) => [i.id, i.path.slice(ctx.path.length), i.message])).toEqual([
      ['constant-rule', '', 'this `and` never holds: it denies every request that reaches it (`clauses[1]` never holds)'],
    ]);
  });

  test('a table rule that always allows means "any caller with a session"; a nested condition that always holds checks nothing', () => {
    expect(lintRule({ rule: 'or', clauses: [owner, m('in', 'string', 'admin', ['admin'])] }, ctx).map((i) => [i.id, i.message])).toEqual([
      ['constant-rule', 'this `or` always holds: it allows every caller with a session (`clauses[1]` always holds)'],
    ]);
    expect(ids({ rule: 'and', clauses: [owner, m('==', 'number', 2, 2)] })).toEqual([['constant-rule', 'warning', '.clauses[1]']]);
    // a requirement's rule has no implied session check
    expect(lintRule(m('==', 'number', 2, 2), { ...ctx, topLevel: false })[0]!.message).toBe('this `match` always holds');
  });

  test('literal `allow` and `deny` say what they mean and are not reported', () => {
    expect(lintRule({ rule: 'deny' }, ctx)).toEqual([]);
    expect(lintRule({ rule: 'allow' }, ctx)).toEqual([]);
    expect(lintRule({ rule: 'and', clauses: [{ rule: 'authenticated' }, { rule: 'allow' }] }, ctx)).toEqual([]);
  });

  test('clauses after one that always decides never decide, whatever makes it decide', () => {
    expect(ids({ rule: 'or', clauses: [m('==', 'number', 1, 1), owner] })).toEqual([
      ['unreachable-clause', 'warning', '.clauses[1]'],
      ['constant-rule', 'warning', ''],
    ]);
    const literal = lintRule({ rule: 'and', clauses: [{ rule: 'deny' }, owner] }, ctx);
    expect(literal.map((i) => [i.id, i.message, i.note])).toEqual([
      ['unreachable-clause', 'the clauses after `deny` in this `and` never decide', '`deny` at `clauses[0]` always decides first'],
      ['constant-rule', 'this `and` never holds: it denies every request that reaches it (`clauses[0]` never holds)', expect.any(String)],
    ]);
  });

  test('a transform whose clause never holds never applies', () => {
    const issues = lintRule({ rule: 'and', clauses: [owner, { rule: 'remove', fields: ['args.update.$set.userId'], clause: m('!=', 'number', 1, 1) }] }, ctx);
    expect(issues.map((i) => [i.id, i.path.slice(ctx.path.length), i.message])).toEqual([
      ['unreachable-clause', '.clauses[1]', 'this `remove` never applies: its `clause` never holds'],
    ]);
  });
});

describe('lint: `match` operands whose types cannot agree', () => {
  test('a column of another type than the comparison', () => {
    const issues = lintRule(m('==', 'string', 'args.auth.id', 'args.find.id'), ctx);
    expect(issues.map((i) => [i.id, i.severity, i.path.slice(ctx.path.length), i.message, i.note])).toEqual([
      [
        'operand-column-type',
        'error',
        '.f2',
        '`args.find.id` is an `integer` column, which a `string` match cannot compare',
        "the comparison fails on every request that reaches it, and the rule denies; use `type: 'number'`",
      ],
    ]);
    expect(ids(m('==', 'number', 'args.update.$set.userId', 1))).toEqual([['operand-column-type', 'error', '.f1']]);
    expect(ids(m('==', 'bool', 'utils.length(args.find.tags)', true))).toEqual([['operand-column-type', 'error', '.f1']]);
    expect(ids(m('==', 'string', 'utils.exists(args.find.userId)', 'yes'))).toEqual([['operand-column-type', 'error', '.f1']]);
  });

  test('types that can agree are fine: dates as strings, json columns, claims, helpers of the right type', () => {
    for (const rule of [
      m('==', 'string', 'args.find.createdAt', '2024-01-01'),
      m('<', 'date', 'args.find.userId', 'utils.now()'),
      m('>', 'number', 'args.find.score', 'args.find.id'),
      m('==', 'bool', 'utils.exists(args.find.id)', true),
      m('==', 'string', 'args.find.tags', 'x'),
      m('==', 'number', 'args.auth.age', 'args.find.tags.0'),
      m('in', 'string', 'args.auth.id', 'args.find.tags'),
      m('in', 'string', 'args.find.userId', 'args.auth.teams'),
    ]) {
      expect(lintRule(rule, ctx), JSON.stringify(rule)).toEqual([]);
    }
  });

  test('`in` against a column that holds no list', () => {
    expect(lintRule(m('in', 'string', 'args.auth.id', 'args.find.userId'), ctx).map((i) => i.message)).toEqual(['`args.find.userId` is a `string` column, not a list']);
  });

  test('what the linter proves is what the interpreter does: the mismatched comparison denies', async () => {
    const d = await evaluate(m('==', 'string', 'args.auth.id', 'args.find.id'), { args: { auth: { id: '1' }, find: { id: 1 } } });
    expect(d).toMatchObject({ allow: false, code: 'error', reason: '`args.find.id` is not a string' });
  });
});

describe('what the authoring types reject, the linter rejects too (JavaScript configs, and `dfc build`)', () => {
  const tables = { blog: { posts: columns, users: { id: 'string', email: 'string', age: 'integer' } } } as const;
  const read: LintContext = { path: 'rules.blog.posts.read', columns, operation: 'read', tables };
  const create: LintContext = { path: 'rules.blog.posts.create', columns, operation: 'create', tables };
  const issues = (rule: Rule, c: LintContext) => lintRule(rule, c).map((i) => [i.id, i.severity, i.path.slice(c.path.length), i.message]);

  test("a query's find names the queried table's columns and uses its operators", () => {
    const q = (find: Record<string, unknown>) => ({ rule: 'query', db: 'blog', col: 'users', find }) as Rule;
    expect(issues(q({ id: 'args.auth.id', email: { $in: ['a'] } }), read)).toEqual([]);
    expect(issues(q({ userId: 'args.auth.id' }), read)).toEqual([['unknown-column', 'error', '.find.userId', 'unknown column `userId` in table `users`']]);
    expect(issues(q({ age: { $gte: 18 } }), read)).toEqual([['match-eval', 'error', '.find.age.$gte', '`$gte` is not an operator of `query` rules']]);
  });

  test('transforms change columns of the request or the response, and only strings are encrypted or hashed', () => {
    expect(issues({ rule: 'remove', fields: ['args.auth.role'] } as Rule, read)).toEqual([['field-target', 'error', '.fields[0]', '`args.auth.role` cannot be changed']]);
    expect(issues({ rule: 'hash', fields: ['args.doc.score'] } as Rule, create)).toEqual([['operand-type', 'error', '.fields[0]', 'column `score` is number: only string columns can be hashed']]);
    expect(issues({ rule: 'decrypt', fields: ['res.id'] } as Rule, read)).toEqual([['operand-type', 'error', '.fields[0]', 'column `id` is integer: only string columns can be decrypted']]);
    expect(issues({ rule: 'encrypt', fields: ['args.doc.userId'] } as Rule, create)).toEqual([]);
  });
});
