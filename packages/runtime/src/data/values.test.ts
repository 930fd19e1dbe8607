import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import type { PolicyTable } from '@dfc/schema';
import { arrayRowDecoder, decodeRow, rowDecoder, tableColumns } from './values.js';

const table = {
  primaryKey: 'id',
  columns: {
    id: { type: 'integer', nullable: false },
    price: { type: 'number', nullable: true },
    title: { type: 'string', nullable: true },
    isPublic: { type: 'bool', nullable: true },
    at: { type: 'date', nullable: true },
    meta: { type: 'json', nullable: true },
  },
} as unknown as PolicyTable;

/** Values drivers hand back for each column type (and a few they should not). */
const driverValue = fc.oneof(
  fc.constant(null),
  fc.constant(undefined),
  fc.integer(),
  fc.double(),
  fc.bigInt({ min: -(2n ** 60n), max: 2n ** 60n }),
  fc.boolean(),
  fc.constantFrom(0, 1, '0', '1', 't', 'f', 'true', 'false', ''),
  fc.string(),
  fc.constantFrom('2024-05-01 12:00:00', '2024-05-01T12:00:00Z', 'not a date', '{"a":1}', '[1,2'),
  fc.date({ noInvalidDate: false }),
  fc.string().map((s) => Buffer.from(s)),
);

/** A value or the error thrown: both decoders must agree on either. */
function outcome(f: () => unknown): { value: unknown } | { error: string } {
  try {
    return { value: f() };
  } catch (e) {
    return { error: String(e) };
  }
}

describe('rowDecoder', () => {
  test('decodes as decodeRow does, for any values a driver returns', () => {
    const columns = tableColumns(table);
    const decode = rowDecoder(table, columns);
    const raw = fc.record(Object.fromEntries(columns.map((c) => [c, driverValue])));
    fc.assert(
      fc.property(raw, (r) => {
        expect(outcome(() => decode(r))).toStrictEqual(outcome(() => decodeRow(table, columns, r)));
      }),
      { numRuns: 2000 },
    );
  });

  test('decodes rows that come as arrays (in the order of the list) as decodeRow decodes objects', () => {
    const columns = Object.freeze(['meta', 'id', 'isPublic', 'at', 'title', 'price']);
    const decode = arrayRowDecoder(table, columns);
    fc.assert(
      fc.property(fc.tuple(...columns.map(() => driverValue)), (values) => {
        const asObject = Object.fromEntries(columns.map((c, i) => [c, values[i]]));
        expect(outcome(() => decode(values))).toStrictEqual(outcome(() => decodeRow(table, columns, asObject)));
      }),
      { numRuns: 2000 },
    );
    expect(Object.keys(decode([null, 1, 1, null, 'x', 2]))).toEqual([...columns]);
  });

  test('keeps the order of the list it was made for, and reads only those columns', () => {
    expect(rowDecoder(table, tableColumns(table))({ id: 1, title: new Date(NaN), at: new Date(NaN) })).toMatchObject({ title: null, at: null });
    const decode = rowDecoder(table, Object.freeze(['title', 'id']));
    const row = decode({ id: 7, title: 'x', price: 1 });
    expect(Object.keys(row)).toEqual(['title', 'id']);
    expect(row).toEqual({ title: 'x', id: 7 });
  });

  test('finds a frozen list by identity and any other list by its names', () => {
    const list = tableColumns(table);
    expect(tableColumns(table)).toBe(list);
    expect(Object.isFrozen(list)).toBe(true);
    expect(rowDecoder(table, list)).toBe(rowDecoder(table, list));
    expect(rowDecoder(table, ['id', 'title'])).toBe(rowDecoder(table, ['id', 'title']));
  });

  test('a column named __proto__ (which the compiler refuses) is read as an own field, never as the prototype of the row', () => {
    const odd = { primaryKey: 'id', columns: { id: { type: 'integer', nullable: false } } } as unknown as PolicyTable;
    Object.defineProperty(odd.columns, '__proto__', { value: { type: 'json', nullable: true }, enumerable: true });
    const columns = Object.freeze(['id', '__proto__']);
    const raw = JSON.parse('{"id":1,"__proto__":"{\\"polluted\\":true}"}') as Record<string, unknown>;
    for (const row of [decodeRow(odd, columns, raw), rowDecoder(odd, columns)(raw), arrayRowDecoder(odd, columns)([1, '{"polluted":true}'])]) {
      expect(Object.getPrototypeOf(row)).toBe(Object.prototype);
      expect(Object.hasOwn(row, '__proto__')).toBe(true);
      expect((row as Record<string, unknown>).polluted).toBeUndefined();
      expect(JSON.stringify(row)).toBe('{"id":1,"__proto__":{"polluted":true}}');
    }
    expect(rowDecoder(odd, columns)(raw)).toStrictEqual(decodeRow(odd, columns, raw));
  });
});
