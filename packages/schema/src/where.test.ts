import { describe, expect, test } from 'vitest';
import { FALSE, TRUE, andWhere, escapeLike, type Where } from './where.js';

const eq = (column: string, value: number): Where => ({ kind: 'cmp', column, op: '=', value });

describe('andWhere', () => {
  test('drops true, flattens nested ands, keeps order', () => {
    expect(andWhere([TRUE, eq('a', 1), { kind: 'and', items: [eq('b', 2), eq('c', 3)] }, undefined])).toEqual({
      kind: 'and',
      items: [eq('a', 1), eq('b', 2), eq('c', 3)],
    });
  });
  test('a condition repeated (a role filter and a forced owner column) is kept once', () => {
    expect(andWhere([eq('userId', 1), { kind: 'and', items: [eq('userId', 1), eq('b', 2)] }, eq('userId', 1)])).toEqual({
      kind: 'and',
      items: [eq('userId', 1), eq('b', 2)],
    });
  });
  test('one condition stands alone; none is true; any false is false', () => {
    expect(andWhere([eq('a', 1)])).toEqual(eq('a', 1));
    expect(andWhere([])).toEqual(TRUE);
    expect(andWhere([eq('a', 1), FALSE])).toEqual(FALSE);
  });
});

test('escapeLike escapes wildcards and the escape character', () => {
  expect(escapeLike('50%_off\\')).toBe('50\\%\\_off\\\\');
});
