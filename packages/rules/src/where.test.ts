import { FALSE, TRUE, type PolicyRoleFilter, type Where } from '@dfc/schema';
import { describe, expect, test } from 'vitest';
import { findToWhere, matchesWhere, resolveLookup, roleFilterWhere, whereToFind } from './where.js';

const scope = { claims: { id: 'u1', sub: 's1', email: 'ann@example.com', tenant: { id: 7 }, name: ') OR (1 = 1' }, role: 'editor', app: 'web' };

describe('role filters', () => {
  test('lookups become bound values, never filter text', () => {
    const filters: PolicyRoleFilter[] = [
      { name: 'userId', operator: '=', value: '{user.id}' },
      { name: 'tenant', operator: '=', value: '{auth.tenant.id}' },
      { name: 'title', operator: 'contains', value: '{user.name}' },
    ];
    expect(roleFilterWhere(filters, 'AND', scope)).toEqual({
      where: {
        kind: 'and',
        items: [
          { kind: 'cmp', column: 'userId', op: '=', value: 'u1' },
          { kind: 'cmp', column: 'tenant', op: '=', value: 7 },
          { kind: 'like', column: 'title', pattern: '%) OR (1 = 1%', negated: false },
        ],
      },
      problems: [],
    });
  });

  test('lookups inside text, role and app names, `{user.id}` falling back to `sub`', () => {
    expect(resolveLookup('role.name', scope)).toBe('editor');
    expect(resolveLookup('app.name', scope)).toBe('web');
    expect(resolveLookup('user.id', { claims: { sub: 's1' } })).toBe('s1');
    expect(resolveLookup('user.constructor', scope)).toBeUndefined();
    expect(roleFilterWhere([{ name: 'path', operator: 'starts with', value: 'tenants/{auth.tenant.id}/' }], 'AND', scope).where).toEqual({
      kind: 'like',
      column: 'path',
      pattern: 'tenants/7/%',
      negated: false,
    });
  });

  test('an unknown lookup, or one with no value, makes the whole filter false (fail closed)', () => {
    for (const value of ['{user.nope}', '{session.token}', '{strtolower(user.email)}', 'x-{role.id}']) {
      const r = roleFilterWhere([{ name: 'a', operator: '=', value: 'ok' }, { name: 'b', operator: '=', value }], 'OR', scope);
      expect(r.where).toEqual(FALSE);
      expect(r.problems).toHaveLength(1);
    }
    expect(roleFilterWhere([{ name: 'a', operator: '=', value: '{user.id}' }], 'AND', { claims: null }).where).toEqual(FALSE);
  });

  test('operators', () => {
    const w = (operator: PolicyRoleFilter['operator'], value?: PolicyRoleFilter['value']) => roleFilterWhere([{ name: 'c', operator, value }], 'AND', scope).where;
    expect(w('<>', 3)).toEqual({ kind: 'cmp', column: 'c', op: '!=', value: 3 });
    expect(w('in', 'a, b,{user.id}')).toEqual({ kind: 'in', column: 'c', values: ['a', 'b', 'u1'], negated: false });
    expect(w('not in', ['x', '{role.name}'])).toEqual({ kind: 'in', column: 'c', values: ['x', 'editor'], negated: true });
    expect(w('ends with', '50%_')).toEqual({ kind: 'like', column: 'c', pattern: '%50\\%\\_', negated: false });
    expect(w('is not null')).toEqual({ kind: 'null', column: 'c', negated: true });
    expect(w('=', null)).toEqual({ kind: 'null', column: 'c', negated: false });
    expect(w('>', { a: 1 })).toEqual(FALSE);
    expect(roleFilterWhere([], 'OR', scope).where).toEqual(TRUE);
  });

  test('in OR mode a written row must still satisfy the filter (DreamFactory lets any write through)', () => {
    const { where } = roleFilterWhere(
      [
        { name: 'userId', operator: '=', value: '{user.id}' },
        { name: 'isPublic', operator: '=', value: true },
      ],
      'OR',
      scope,
    );
    expect(matchesWhere(where, { userId: 'u1', isPublic: 0 })).toBe(true);
    expect(matchesWhere(where, { userId: 'u2', isPublic: 1 })).toBe(true);
    expect(matchesWhere(where, { userId: 'u2', isPublic: false })).toBe(false);
  });
});

describe('matchesWhere', () => {
  const row = { id: 5, name: 'Ann', score: null, flag: true, at: new Date('2024-01-01T00:00:00Z'), n: '12' };
  const cmp = (column: string, op: '=' | '!=' | '<' | '>=', value: string | number | boolean | null): Where => ({ kind: 'cmp', column, op, value });
  test('comparisons, with NULL unknown (and unknown is not a match, even under NOT)', () => {
    expect(matchesWhere(cmp('id', '=', 5), row)).toBe(true);
    expect(matchesWhere(cmp('id', '<', 10), row)).toBe(true);
    expect(matchesWhere(cmp('score', '=', 1), row)).toBe(false);
    expect(matchesWhere({ kind: 'not', item: cmp('score', '=', 1) }, row)).toBe(false);
    expect(matchesWhere({ kind: 'not', item: cmp('missing', '!=', 1) }, row)).toBe(false);
    expect(matchesWhere({ kind: 'or', items: [cmp('score', '=', 1), cmp('id', '=', 5)] }, row)).toBe(true);
    expect(matchesWhere({ kind: 'null', column: 'score', negated: false }, row)).toBe(true);
    expect(matchesWhere(cmp('flag', '=', true), row)).toBe(true);
    expect(matchesWhere(cmp('n', '>=', 12), row)).toBe(true);
    expect(matchesWhere(cmp('name', '=', 5), row)).toBe(false);
    expect(matchesWhere(cmp('at', '<', '2024-06-01'), row)).toBe(true);
  });
  test('IN with NULLs, and LIKE with escapes and case', () => {
    expect(matchesWhere({ kind: 'in', column: 'id', values: [1, 5], negated: false }, row)).toBe(true);
    expect(matchesWhere({ kind: 'in', column: 'id', values: [1, null], negated: true }, row)).toBe(false);
    expect(matchesWhere({ kind: 'like', column: 'name', pattern: 'A_n', negated: false }, row)).toBe(true);
    expect(matchesWhere({ kind: 'like', column: 'name', pattern: 'a%', negated: false }, row)).toBe(false);
    expect(matchesWhere({ kind: 'like', column: 'name', pattern: 'a%', negated: false }, row, { caseInsensitiveLike: true })).toBe(true);
    expect(matchesWhere({ kind: 'like', column: 'name', pattern: 'An\\%', negated: false }, { name: 'An%' })).toBe(true);
    expect(matchesWhere({ kind: 'like', column: 'name', pattern: 'An\\%', negated: false }, { name: 'Ann' })).toBe(false);
    expect(matchesWhere({ kind: 'like', column: 'name', pattern: '(.*)+[', negated: false }, { name: '(.*)+[' })).toBe(true);
  });
  test('own properties only', () => {
    expect(matchesWhere({ kind: 'null', column: 'toString', negated: true }, {})).toBe(false);
  });
});

describe('args.find and Where', () => {
  test('equality, null, operators, $and/$or', () => {
    expect(findToWhere({ userId: 'u1', deleted: null, age: { $gte: 18, $lt: 65 }, tag: { $in: ['a', 'b'] } })).toEqual({
      ok: true,
      where: {
        kind: 'and',
        items: [
          { kind: 'cmp', column: 'userId', op: '=', value: 'u1' },
          { kind: 'null', column: 'deleted', negated: false },
          { kind: 'cmp', column: 'age', op: '>=', value: 18 },
          { kind: 'cmp', column: 'age', op: '<', value: 65 },
          { kind: 'in', column: 'tag', values: ['a', 'b'], negated: false },
        ],
      },
    });
    expect(findToWhere({ $or: [{ a: 1 }, { b: 2 }] })).toEqual({
      ok: true,
      where: { kind: 'or', items: [{ kind: 'cmp', column: 'a', op: '=', value: 1 }, { kind: 'cmp', column: 'b', op: '=', value: 2 }] },
    });
    expect(findToWhere({})).toEqual({ ok: true, where: TRUE });
  });

  test('what it cannot express, or a column the table lacks, is refused', () => {
    expect(findToWhere({ a: { $regex: 'x' } })).toMatchObject({ ok: false });
    expect(findToWhere({ a: [1, 2] })).toMatchObject({ ok: false });
    expect(findToWhere({ a: { b: 1 } })).toMatchObject({ ok: false });
    expect(findToWhere({ $where: 'sleep(1)' })).toMatchObject({ ok: false });
    expect(findToWhere({ nope: 1 }, ['id'])).toEqual({ ok: false, reason: '`nope` is not a column' });
    expect(findToWhere(JSON.parse('{"__proto__": 1}'))).toMatchObject({ ok: false });
  });

  test('after `force args.find.userId`, the forced equality ends up in the where', () => {
    const find = whereToFind({ kind: 'and', items: [{ kind: 'cmp', column: 'userId', op: '=', value: 'u2' }, { kind: 'cmp', column: 'x', op: '>', value: 1 }] });
    expect(find).toEqual({ userId: 'u2' });
    find.userId = 'u1';
    const r = findToWhere(find);
    expect(r.ok && matchesWhere(r.where, { userId: 'u2' })).toBe(false);
    expect(r.ok && matchesWhere(r.where, { userId: 'u1' })).toBe(true);
  });
});
