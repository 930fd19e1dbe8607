import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { rowsJson } from './rows-json.js';

const columns = Object.freeze(['id', 'title', 'isPublic', 'meta']);

describe('rowsJson', () => {
  test('writes what JSON.stringify writes for rows holding the columns in order', () => {
    const f = rowsJson(columns)!;
    const rows = [
      { id: 1, title: 'plain', isPublic: true, meta: null },
      { id: -0, title: 'quote " backslash \\ tab \t nul \u0000 del \u007f', isPublic: false, meta: { a: [1, 'x'] } },
      { id: 1e21, title: 'é ü 漢字 😀', isPublic: true, meta: new Date(0) },
      { id: NaN, title: 'lone \ud800 surrogate, \u2028 separator', isPublic: false, meta: [] },
      { id: Infinity, title: '', isPublic: true, meta: 'text' },
    ];
    expect(f(rows)).toBe(JSON.stringify(rows));
    expect(f([])).toBe('[]');
  });

  test('escapes short strings (scanned) and long ones (matched) as JSON.stringify does', () => {
    const f = rowsJson(columns)!;
    const escaped = ['"', '\\', '\u0000', '\u001f', '\ud800', '\udfff', '\ud83d\ude00'];
    const titles = ['', 'x', '\u0020', '\u007f', '\ud7ff', '\ue000', '\uffff'];
    for (const e of escaped) titles.push(e, 'ab' + e, e + 'cd', 'a'.repeat(31) + e, 'a'.repeat(32) + e, e + 'a'.repeat(40));
    titles.push('a'.repeat(32), 'a'.repeat(33));
    const rows = titles.map((title, i) => ({ id: i, title, isPublic: i % 2 === 0, meta: null }));
    expect(f(rows)).toBe(JSON.stringify(rows));
  });

  test('agrees with JSON.stringify on any rows of JSON values', () => {
    const f = rowsJson(columns)!;
    const row = fc.record({ id: fc.oneof(fc.integer(), fc.double()), title: fc.string({ unit: 'binary' }), isPublic: fc.boolean(), meta: fc.option(fc.jsonValue()) });
    fc.assert(fc.property(fc.array(row, { maxLength: 5 }), (rows) => f(rows) === JSON.stringify(rows)));
  });

  test('gives up where JSON.stringify would leave a key out or throw, and on a row that is not an object', () => {
    const f = rowsJson(columns)!;
    const base = { id: 1, title: 't', isPublic: true, meta: null };
    for (const bad of [undefined, () => 1, Symbol('s'), 1n]) expect(f([base, { ...base, title: bad }])).toBeUndefined();
    expect(f([{ id: 1, title: 't', isPublic: true }])).toBeUndefined(); // a column missing
    expect(f([null])).toBeUndefined();
    expect(f(['row'])).toBeUndefined();
  });

  test('writes only the columns of its list, in that order', () => {
    const f = rowsJson(Object.freeze(['b', 'a']))!;
    expect(f([{ a: 1, b: 2, extra: 3 }])).toBe('[{"b":2,"a":1}]');
  });

  test('compiles only frozen lists of plain column names', () => {
    expect(rowsJson(['id'])).toBeUndefined();
    expect(rowsJson(Object.freeze(['__proto__']))).toBeUndefined();
    expect(rowsJson(Object.freeze(['a"b']))).toBeUndefined();
    expect(rowsJson(Object.freeze([]))).toBeUndefined();
    const list = Object.freeze(['id']);
    expect(rowsJson(list)).toBe(rowsJson(list));
  });
});
