import { describe, expect, test } from 'vitest';
import { MAX_RULE_DEPTH, type Rule } from '@dfc/schema';
import { lintRule, type LintContext, type RuleIssue } from './lint.js';

const columns = { id: 'integer', userId: 'string', title: 'string', isPublic: 'bool', createdAt: 'date' } as const;
const ctx: LintContext = { path: 'rules.blog.posts.read', columns, operation: 'read', tables: { blog: { posts: columns, profiles: { userId: 'string' } } } };
const ids = (rule: Rule, c: LintContext = ctx) => lintRule(rule, c).map((i) => [i.id, i.severity, i.path]);
const one = (rule: Rule, c: LintContext = ctx): RuleIssue => {
  const issues = lintRule(rule, c);
  expect(issues).toHaveLength(1);
  return issues[0]!;
};

describe('lintRule', () => {
  test('a well-formed rule has no issues', () => {
    const rule: Rule = {
      rule: 'and',
      clauses: [
        { rule: 'authenticated' },
        { rule: 'match', eval: '==', type: 'string', f1: 'args.auth.id', f2: 'args.find.userId' },
        { rule: 'match', eval: '>', type: 'date', f1: 'args.find.createdAt', f2: "utils.addDuration('2024-01-01', '24h')" },
        { rule: 'query', db: 'blog', col: 'profiles', find: { userId: 'args.auth.id' }, store: 'args.profile', clause: { rule: 'match', eval: '==', type: 'number', f1: 'utils.length(args.profile)', f2: 1 } },
        { rule: 'remove', fields: ['res.title'] },
        { rule: 'force', field: 'args.find.userId', value: 'args.auth.id' },
      ],
    };
    expect(lintRule(rule, ctx)).toEqual([]);
  });

  test('an operand of type number or bool that is neither a literal of that type nor a variable', () => {
    const i = one({ rule: 'match', eval: '!=', type: 'bool', f1: 'args.auth.role', f2: 'admin' });
    expect(i).toMatchObject({ id: 'operand-type', severity: 'error', path: 'rules.blog.posts.read.f2', message: '`admin` is neither a boolean nor a variable' });
    expect(i.note).toContain("type: 'string'");
    expect(ids({ rule: 'match', eval: '==', type: 'number', f1: 'args.auth.age', f2: '5' })).toEqual([['operand-type', 'error', 'rules.blog.posts.read.f2']]);
    expect(ids({ rule: 'match', eval: '==', type: 'number', f1: true, f2: 5 })).toEqual([['operand-type', 'error', 'rules.blog.posts.read.f1']]);
    expect(ids({ rule: 'match', eval: '==', type: 'string', f1: 'args.auth.id', f2: 5 })).toEqual([['operand-type', 'error', 'rules.blog.posts.read.f2']]);
    expect(ids({ rule: 'match', eval: '==', type: 'date', f1: 'args.find.createdAt', f2: '2024-13-01' })).toEqual([['invalid-date', 'error', 'rules.blog.posts.read.f2']]);
  });

  test('comparisons a type does not have', () => {
    expect(ids({ rule: 'match', eval: '<', type: 'string', f1: 'args.auth.id', f2: 'x' })).toEqual([['match-eval', 'error', 'rules.blog.posts.read.eval']]);
    expect(ids({ rule: 'match', eval: 'in', type: 'date', f1: 'args.find.createdAt', f2: ['2024-01-01'] })).toEqual([['match-eval', 'error', 'rules.blog.posts.read.eval']]);
    expect(ids({ rule: 'match', eval: '>', type: 'bool', f1: true, f2: false })).toEqual([['match-eval', 'error', 'rules.blog.posts.read.eval']]);
  });

  test('`in`/`notIn` with a single value', () => {
    const i = one({ rule: 'match', eval: 'notIn', type: 'string', f1: 'args.auth.role', f2: 'admin' });
    expect(i).toMatchObject({ id: 'in-scalar', path: 'rules.blog.posts.read.f2' });
    expect(i.note).toContain('always pass');
    expect(lintRule({ rule: 'match', eval: 'in', type: 'string', f1: 'args.auth.role', f2: 'args.auth.roles' }, ctx)).toEqual([]);
    expect(ids({ rule: 'match', eval: 'in', type: 'number', f1: 'args.auth.age', f2: [1, 'two'] })).toEqual([['operand-type', 'error', 'rules.blog.posts.read.f2[1]']]);
  });

  test('variables and columns', () => {
    expect(ids({ rule: 'match', eval: '==', type: 'string', f1: 'args.auth.id', f2: 'args.find.userid' })).toEqual([['unknown-column', 'error', 'rules.blog.posts.read.f2']]);
    expect(ids({ rule: 'match', eval: '==', type: 'string', f1: 'args.auht.id', f2: 'x' })).toEqual([['unknown-variable', 'error', 'rules.blog.posts.read.f1']]);
    expect(one({ rule: 'match', eval: '==', type: 'string', f1: 'args.doc.title', f2: 'x' }).message).toBe('`args.doc` is not set for `read` rules');
    expect(ids({ rule: 'match', eval: '==', type: 'string', f1: 'res.title', f2: 'x' })).toEqual([['res-in-rule', 'error', 'rules.blog.posts.read.f1']]);
    expect(ids({ rule: 'remove', fields: ['res.passwrd'] })).toEqual([['unknown-column', 'error', 'rules.blog.posts.read.fields[0]']]);
    expect(ids({ rule: 'match', eval: '==', type: 'string', f1: 'args.find.items[args.auth.id]', f2: 'x' })).toEqual([['unsupported-path', 'error', 'rules.blog.posts.read.f1']]);
    expect(ids({ rule: 'match', eval: 'in', type: 'string', f1: 'args.auth.id', f2: ['args.__proto__.x'] })).toEqual([['forbidden-path', 'error', 'rules.blog.posts.read.f2[0]']]);
    // Variables a query stores into are known.
    expect(ids({ rule: 'match', eval: '==', type: 'number', f1: 'utils.length(args.things)', f2: 1 })).toEqual([['unknown-variable', 'error', 'rules.blog.posts.read.f1']]);
  });

  test('helpers', () => {
    expect(ids({ rule: 'match', eval: '==', type: 'bool', f1: 'utils.exist(args.find.userId)', f2: true })).toEqual([['unknown-helper', 'error', 'rules.blog.posts.read.f1']]);
    expect(ids({ rule: 'match', eval: '==', type: 'bool', f1: "utils.exists('x')", f2: true })).toEqual([['helper-arguments', 'error', 'rules.blog.posts.read.f1']]);
    expect(ids({ rule: 'match', eval: '==', type: 'string', f1: "utils.addDuration(utils.now(), '1h')", f2: 'x' })).toEqual([['unknown-helper', 'error', 'rules.blog.posts.read.f1']]);
    expect(ids({ rule: 'match', eval: '>', type: 'date', f1: "utils.addDuration('2024-01-01', '1d')", f2: '2024-01-01' })).toEqual([['invalid-date', 'error', 'rules.blog.posts.read.f1']]);
    expect(ids({ rule: 'match', eval: '>', type: 'date', f1: "utils.roundUpDate(args.find.createdAt, 'week')", f2: '2024-01-01' })).toEqual([['invalid-date', 'error', 'rules.blog.posts.read.f1']]);
  });

  test('empty and unreachable clauses', () => {
    expect(ids({ rule: 'or', clauses: [] })).toEqual([['empty-combinator', 'error', 'rules.blog.posts.read']]);
    // (each of these rules also always decides: `constant-rule`, lint-static.test.ts)
    expect(ids({ rule: 'and', clauses: [{ rule: 'authenticated' }, { rule: 'deny' }, { rule: 'allow' }] })).toEqual([
      ['unreachable-clause', 'warning', 'rules.blog.posts.read.clauses[2]'],
      ['constant-rule', 'warning', 'rules.blog.posts.read'],
    ]);
    expect(ids({ rule: 'or', clauses: [{ rule: 'allow' }, { rule: 'authenticated' }] })).toEqual([
      ['unreachable-clause', 'warning', 'rules.blog.posts.read.clauses[1]'],
      ['constant-rule', 'warning', 'rules.blog.posts.read'],
    ]);
    expect(ids({ rule: 'or', clauses: [{ rule: 'authenticated' }, { rule: 'allow' }] })).toEqual([['constant-rule', 'warning', 'rules.blog.posts.read']]);
  });

  test('query targets, stores and field targets', () => {
    expect(ids({ rule: 'query', db: 'blog', col: 'nope', find: {} })).toEqual([['unknown-query-target', 'error', 'rules.blog.posts.read.col']]);
    expect(ids({ rule: 'query', db: 'shop', col: 'posts', find: {} })).toEqual([['unknown-query-target', 'error', 'rules.blog.posts.read.db']]);
    expect(ids({ rule: 'query', db: 'blog', col: 'posts', find: { userId: { $in: 'res.x' } } })).toEqual([['res-in-rule', 'error', 'rules.blog.posts.read.find.userId.$in']]);
    expect(ids({ rule: 'webhook', url: 'https://hooks.example.com/x', store: 'res.out' })).toEqual([['store-target', 'error', 'rules.blog.posts.read.store']]);
    expect(ids({ rule: 'hash', fields: ['args.doc.password'] }, { path: 'p', operation: 'create' })).toEqual([['hash-password', 'warning', 'p.fields[0]']]);
    expect(ids({ rule: 'force', field: 'args.doc.userId', value: 'args.auth.id' })).toEqual([['unknown-variable', 'warning', 'rules.blog.posts.read.field']]);
  });

  test('webhook URLs', () => {
    expect(ids({ rule: 'webhook', url: 'http://localhost:8080/hook' })).toEqual([
      ['webhook-url-http', 'error', 'rules.blog.posts.read.url'],
      ['webhook-url-private', 'error', 'rules.blog.posts.read.url'],
    ]);
    expect(ids({ rule: 'webhook', url: 'file:///etc/passwd' })).toEqual([['webhook-url-scheme', 'error', 'rules.blog.posts.read.url']]);
    expect(lintRule({ rule: 'webhook', url: 'http://localhost:8080/hook' }, { ...ctx, webhooks: { allowHttp: true, allowPrivateHosts: ['localhost'] } })).toEqual([]);
  });

  test('nesting deeper than the cap', () => {
    let rule: Rule = { rule: 'allow' };
    for (let i = 0; i < MAX_RULE_DEPTH; i++) rule = { rule: 'and', clauses: [rule] };
    expect(ids(rule)).toEqual([['max-depth', 'error', 'rules.blog.posts.read']]);
  });

  test('messages follow the style: lowercase start, no final period', () => {
    const all = [
      ...lintRule({ rule: 'match', eval: '!=', type: 'bool', f1: 'args.auth.role', f2: 'admin' }, ctx),
      ...lintRule({ rule: 'webhook', url: 'http://10.0.0.1/' }, ctx),
      ...lintRule({ rule: 'or', clauses: [] }, ctx),
    ];
    for (const i of all) {
      expect(i.message).toMatch(/^[a-z`]/);
      expect(i.message).not.toMatch(/\.$/);
    }
  });
});
