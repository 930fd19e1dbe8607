/**
 * fast-check generators for the data-layer property tests: a table with one column of
 * each type, rows for it, and `Where` conditions over it whose values are already in
 * canonical form (what parseFilter produces), so print → parse can be compared exactly.
 */
import type { CmpOp, Json, PolicyTable, Where } from '@dfc/schema';
import fc from 'fast-check';

export const table: PolicyTable = {
  primaryKey: 'id',
  columns: {
    id: { type: 'integer', nullable: false },
    s: { type: 'string', nullable: true },
    s2: { type: 'string', nullable: true },
    i: { type: 'integer', nullable: true },
    n: { type: 'number', nullable: true },
    b: { type: 'bool', nullable: true },
    d: { type: 'date', nullable: true },
    j: { type: 'json', nullable: true },
    // A column whose name is a filter keyword: printed in backticks.
    not: { type: 'integer', nullable: true },
  },
};

/** Property runs scale with DFC_PROPERTY_SCALE (default 1). */
export function runs(base: number): number {
  const scale = Number(process.env.DFC_PROPERTY_SCALE ?? '1');
  return Math.max(1, Math.round(base * (Number.isFinite(scale) && scale > 0 ? scale : 1)));
}

// Characters that matter to comparisons and LIKE: case, padding, wildcards, escapes,
// quotes, multi-byte and astral characters. No NUL (PostgreSQL cannot store it).
const CHARS = ['a', 'b', 'A', 'z', ' ', '%', '_', '\\', '!', "'", '"', 'é', 'ß', '😀', '\uff21', '-', '\n', '\u00a0'];
export const text = fc.array(fc.constantFrom(...CHARS), { maxLength: 4 }).map((cs) => cs.join(''));
const likeChars = [...CHARS, '%', '_', '\\%', '\\_', '\\\\', '\\a'];
export const likePattern = fc.array(fc.constantFrom(...likeChars), { maxLength: 5 }).map((cs) => cs.join(''));

export const integer = fc.oneof(fc.integer({ min: -3, max: 3 }), fc.constantFrom(2 ** 40, -(2 ** 40), 1_000_000));
export const number = fc.oneof(
  integer,
  fc.constantFrom(-1.5, 0.1, 0.2, 0.1 + 0.2, 2.5, 1e-7, -1e10, 123.456),
);
export const dates = [
  '1999-12-31T23:59:59.999Z',
  '2000-01-01T00:00:00.000Z',
  '2024-02-29T12:00:00.000Z',
  '2024-02-29T12:00:00.001Z',
  '9999-12-31T00:00:00.000Z',
  '1000-01-01T00:00:00.000Z',
];
export const date = fc.constantFrom(...dates);
export const json: fc.Arbitrary<Json> = fc.constantFrom<Json>(1, 'x', true, [1, 'two'], { a: { b: [null] } });

const byType: Record<string, fc.Arbitrary<Json>> = {
  s: text,
  s2: text,
  i: integer,
  not: integer,
  n: number,
  b: fc.boolean(),
  d: date,
  id: fc.integer({ min: 0, max: 12 }),
};
/** Values compared with each column: some never stored (1.5 with an integer column). */
const cmpValue: Record<string, fc.Arbitrary<Json>> = {
  ...byType,
  i: fc.oneof(integer, fc.constantFrom(1.5, -0.5, 2 ** 41 + 0.5)),
  id: fc.oneof(fc.integer({ min: 0, max: 12 }), fc.constant(3.5)),
};
const comparable = Object.keys(cmpValue);
const stringCols = ['s', 's2'];
const allCols = Object.keys(table.columns);
const ops: CmpOp[] = ['=', '!=', '<', '<=', '>', '>='];

function leaf(): fc.Arbitrary<Where> {
  const cmp = fc.constantFrom(...comparable).chain((column) =>
    fc.record({
      kind: fc.constant('cmp' as const),
      column: fc.constant(column),
      op: fc.constantFrom(...ops),
      value: cmpValue[column]!,
    }),
  );
  const inList = fc.constantFrom(...comparable).chain((column) =>
    fc.record({
      kind: fc.constant('in' as const),
      column: fc.constant(column),
      values: fc.array(cmpValue[column]!, { maxLength: 4 }),
      negated: fc.boolean(),
    }),
  );
  const like = fc.record({
    kind: fc.constant('like' as const),
    column: fc.constantFrom(...stringCols),
    pattern: likePattern,
    negated: fc.boolean(),
  });
  const isNull = fc.record({ kind: fc.constant('null' as const), column: fc.constantFrom(...allCols), negated: fc.boolean() });
  const constant = fc.record({ kind: fc.constant('const' as const), value: fc.boolean() });
  return fc.oneof(
    { arbitrary: cmp, weight: 5 },
    { arbitrary: inList, weight: 2 },
    { arbitrary: like, weight: 3 },
    { arbitrary: isNull, weight: 2 },
    { arbitrary: constant, weight: 1 },
  ) as fc.Arbitrary<Where>;
}

/** Conditions up to a few levels deep (well inside the parser's depth cap when printed). */
export const where: fc.Arbitrary<Where> = fc.letrec<{ w: Where }>((tie) => ({
  w: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    { arbitrary: leaf(), weight: 4 },
    { arbitrary: fc.record({ kind: fc.constant('and' as const), items: fc.array(tie('w'), { minLength: 2, maxLength: 3 }) }), weight: 1 },
    { arbitrary: fc.record({ kind: fc.constant('or' as const), items: fc.array(tie('w'), { minLength: 2, maxLength: 3 }) }), weight: 1 },
    { arbitrary: fc.record({ kind: fc.constant('not' as const), item: tie('w') }), weight: 1 },
  ) as fc.Arbitrary<Where>,
})).w;

/** Rows for `table` with distinct ids 1..n; every column nullable but the key. */
export const rows = fc
  .array(
    fc.record({
      s: fc.option(text, { nil: null }),
      s2: fc.option(text, { nil: null }),
      i: fc.option(integer, { nil: null }),
      n: fc.option(number, { nil: null }),
      b: fc.option(fc.boolean(), { nil: null }),
      d: fc.option(date, { nil: null }),
      j: fc.option(json, { nil: null }),
      not: fc.option(integer, { nil: null }),
    }),
    { maxLength: 12 },
  )
  .map((list) => list.map((r, k) => ({ id: k + 1, ...r })));
