import { describe, expect, test } from 'vitest';
import type { PolicyTable } from '@dfc/schema';
import { findRows, ruleFind } from './rule-query.js';

const profiles: PolicyTable = {
  primaryKey: 'userId',
  columns: {
    userId: { type: 'string', nullable: false },
    isPublic: { type: 'bool', nullable: false },
    followers: { type: 'json', nullable: false },
    bio: { type: 'string', nullable: true },
  },
};
const rows = [
  { userId: 'alice', isPublic: true, followers: ['bob'], bio: null },
  { userId: 'bob', isPublic: false, followers: ['alice', 'carol'], bio: 'hi' },
  { userId: 'carol', isPublic: false, followers: [], bio: 'yo' },
];
const ids = (find: Parameters<typeof findRows>[1]) => findRows(rows, find, profiles).map((r) => r.userId);

describe("a `query` rule's find over rows (what `dfc test` fixtures answer)", () => {
  test('equality, null, and lists as `in`', () => {
    expect(ids({ userId: 'bob' })).toEqual(['bob']);
    expect(ids({ userId: 'bob', isPublic: true })).toEqual([]);
    expect(ids({ isPublic: false })).toEqual(['bob', 'carol']);
    expect(ids({ bio: null })).toEqual(['alice']);
    expect(ids({ userId: ['alice', 'carol'] })).toEqual(['alice', 'carol']);
    expect(ids({})).toEqual(['alice', 'bob', 'carol']);
  });

  test('operators: `$in` on a json list means "holds one of"; `$nin`, `$eq`, `$ne`; unknown ones match nothing', () => {
    expect(ids({ followers: { $in: 'alice' } })).toEqual(['bob']);
    expect(ids({ followers: { $in: ['bob', 'carol'] } })).toEqual(['alice', 'bob']);
    expect(ids({ followers: { $nin: ['alice'] } })).toEqual(['alice', 'carol']);
    expect(ids({ userId: { $eq: 'carol' } })).toEqual(['carol']);
    expect(ids({ userId: { $ne: 'carol' } })).toEqual(['alice', 'bob']);
    expect(ids({ userId: { $regex: '.*' } })).toEqual([]);
  });

  test('a column the table does not have is refused (as the server refuses it)', () => {
    expect(() => ruleFind({ nope: 1 }, profiles)).toThrow(/unknown column `nope`/);
  });
});
