/**
 * Traced evaluation (`evaluate(…, { trace })`): what `dfc explain` shows and what
 * `dfc test` counts as covered. The decision itself is unchanged by tracing; that is a
 * property in test/differential/trace.test.ts.
 */
import { describe, expect, test } from 'vitest';
import type { Rule } from '@dfc/schema';
import { evaluate, evaluateRequirements } from './interpret.js';
import type { TraceEvent } from './types.js';

const P = 'rules.blog.posts.update';
const alice = { id: 'alice', role: 'user' };

async function traced(rule: Rule, args: Record<string, unknown>, ctx = {}) {
  const trace: TraceEvent[] = [];
  const decision = await evaluate(rule, { args }, ctx, P, { trace });
  return { decision, trace };
}

describe('traced evaluation', () => {
  test('a `match` records both operands as written and the values they had', async () => {
    const rule: Rule = { rule: 'match', eval: '==', type: 'string', f1: 'args.auth.id', f2: 'args.find.userId', name: 'owner' };
    const { decision, trace } = await traced(rule, { auth: alice, find: { userId: 'bob' } });
    expect(decision).toMatchObject({ allow: false, code: 'denied', path: P, name: 'owner' });
    expect(trace).toEqual([
      {
        path: P,
        depth: 0,
        kind: 'match',
        name: 'owner',
        outcome: 'denied',
        reason: '`args.auth.id` == `args.find.userId` does not hold',
        match: { eval: '==', type: 'string', f1: { expr: 'args.auth.id', value: 'alice' }, f2: { expr: 'args.find.userId', value: 'bob' } },
      },
    ]);
  });

  test('an operand that cannot be read has no value, and the node records the error', async () => {
    const rule: Rule = { rule: 'match', eval: '==', type: 'string', f1: 'args.auth.id', f2: 'args.find.id' };
    const { trace } = await traced(rule, { auth: alice });
    expect(trace[0]).toMatchObject({ outcome: 'error', reason: '`args.find.id` is missing' });
    expect(trace[0]!.match).toEqual({ eval: '==', type: 'string', f1: { expr: 'args.auth.id', value: 'alice' }, f2: { expr: 'args.find.id' } });
  });

  test('nodes come in evaluation order with their depth; clauses that never ran are absent', async () => {
    const rule: Rule = {
      rule: 'or',
      clauses: [
        { rule: 'and', clauses: [{ rule: 'authenticated' }, { rule: 'match', eval: 'in', type: 'string', f1: 'args.auth.role', f2: ['admin'] }] },
        { rule: 'match', eval: '==', type: 'string', f1: 'args.auth.id', f2: 'alice' },
        { rule: 'deny' },
      ],
    };
    const { decision, trace } = await traced(rule, { auth: alice });
    expect(decision.allow).toBe(true);
    expect(trace.map((e) => [e.path.slice(P.length), e.depth, e.kind, e.outcome])).toEqual([
      ['', 0, 'or', 'pass'],
      ['.clauses[0]', 1, 'and', 'denied'],
      ['.clauses[0].clauses[0]', 2, 'authenticated', 'pass'],
      ['.clauses[0].clauses[1]', 2, 'match', 'denied'],
      ['.clauses[1]', 1, 'match', 'pass'],
    ]);
    // `in` lists are recorded as lists
    expect(trace[3]!.match!.f2).toEqual({ expr: ['admin'], value: ['admin'] });
  });

  test('a transform whose clause does not hold is recorded as skipped; one that runs as applied', async () => {
    const rule: Rule = {
      rule: 'and',
      clauses: [
        { rule: 'force', field: 'args.doc.role', value: 'user', clause: { rule: 'match', eval: '!=', type: 'string', f1: 'args.auth.role', f2: 'admin' } },
        { rule: 'remove', fields: ['args.doc.secret'], clause: { rule: 'match', eval: '==', type: 'string', f1: 'args.auth.role', f2: 'admin' } },
      ],
    };
    const args = { auth: alice, doc: { role: 'admin', secret: 's' } };
    const { trace } = await traced(rule, args);
    expect(args.doc).toEqual({ role: 'user', secret: 's' });
    const byPath = new Map(trace.map((e) => [e.path.slice(P.length), e]));
    expect(byPath.get('.clauses[0]')).toMatchObject({ kind: 'force', outcome: 'pass', applied: true });
    expect(byPath.get('.clauses[0].clause')).toMatchObject({ kind: 'match', outcome: 'pass', depth: 2 });
    expect(byPath.get('.clauses[1]')).toMatchObject({ kind: 'remove', outcome: 'pass', applied: false });
    expect(byPath.get('.clauses[1].clause')).toMatchObject({ outcome: 'denied' });
  });

  test('`query` records the resolved find and the row count; `webhook` the status', async () => {
    const rule: Rule = {
      rule: 'and',
      clauses: [
        { rule: 'query', db: 'blog', col: 'profiles', find: { userId: 'args.find.userId' }, clause: { rule: 'match', eval: '==', type: 'number', f1: 'utils.length(args.result)', f2: 1 } },
        { rule: 'webhook', url: 'https://hooks.example.com/check' },
      ],
    };
    const ctx = {
      query: async () => [{ userId: 'bob' }],
      fetch: async () => ({ status: 204, body: undefined }),
    };
    const { trace } = await traced(rule, { auth: alice, find: { userId: 'bob' } }, ctx);
    expect(trace[1]).toMatchObject({ kind: 'query', query: { db: 'blog', col: 'profiles', find: { userId: 'bob' }, rows: 1 }, outcome: 'pass' });
    expect(trace[2]!.match).toMatchObject({ f1: { expr: 'utils.length(args.result)', value: 1 } });
    expect(trace[3]).toMatchObject({ kind: 'webhook', webhook: { url: 'https://hooks.example.com/check', status: 204 }, outcome: 'error' });
  });

  test('the top-level session requirement is recorded on the root', async () => {
    const { trace } = await traced({ rule: 'match', eval: '==', type: 'string', f1: 'args.auth.id', f2: 'x' }, {});
    expect(trace).toEqual([{ path: P, depth: 0, kind: 'match', outcome: 'unauthenticated', reason: 'authentication is required' }]);
  });

  test('dates are recorded as read, not as internal instants', async () => {
    const rule: Rule = { rule: 'match', eval: '<', type: 'date', f1: 'args.doc.at', f2: 'utils.now()' };
    const { trace } = await traced(rule, { auth: alice, doc: { at: '2020-01-01' } }, { now: () => new Date('2024-05-01T00:00:00Z') });
    expect(trace[0]!.match).toEqual({ eval: '<', type: 'date', f1: { expr: 'args.doc.at', value: '2020-01-01' }, f2: { expr: 'utils.now()', value: '2024-05-01T00:00:00Z' } });
  });

  test('requirement collections record each requirement tried, the implied one at the collection', async () => {
    const trace: TraceEvent[] = [];
    const collections = [
      { collection: [], path: 'services.blog.security', implicitAuthenticated: true },
      {
        collection: [
          { name: 'staff', type: 'role' as const, roles: ['admin'] },
          { name: 'owner', type: 'rule' as const, rule: { rule: 'match', eval: '==', type: 'string', f1: 'args.auth.id', f2: 'args.doc.userId' } as Rule },
        ],
        path: 'services.blog.tables.posts.security',
        implicitAuthenticated: false,
      },
    ];
    const d = await evaluateRequirements(collections, { args: { auth: alice, doc: { userId: 'alice' } }, role: 'editor' }, {}, { trace });
    expect(d.allow).toBe(true);
    expect(trace.map((e) => [e.path, e.depth, e.kind, e.outcome, e.requirement])).toEqual([
      ['services.blog.security', 0, 'collection', 'pass', undefined],
      ['services.blog.security', 1, 'requirement', 'pass', { type: 'authenticated', implied: true }],
      ['services.blog.tables.posts.security', 0, 'collection', 'pass', undefined],
      ['services.blog.tables.posts.security.staff', 1, 'requirement', 'denied', { type: 'role', roles: ['admin'] }],
      ['services.blog.tables.posts.security.owner', 1, 'requirement', 'pass', { type: 'rule' }],
      ['services.blog.tables.posts.security.owner.rule', 2, 'match', 'pass', undefined],
    ]);
    expect(trace[3]!.reason).toBe('role `editor` is not one of the roles listed');
  });
});
