/**
 * Differential test: generated conditions over generated rows give the same rows on
 * SQLite, PostgreSQL and MariaDB as the JavaScript evaluator (matchesWhere), and the
 * condition printed as filter text and parsed again selects the same rows.
 * Runs scale with DFC_PROPERTY_SCALE.
 */
import type { Where } from '@dfc/schema';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createTables,
  evaluateWhere,
  matchesWhere,
  parseFilter,
  printFilter,
  type DataSource,
  type Row,
} from '../../packages/runtime/src/data/index.js';
import { runs, rows as rowsArb, table, where as whereArb } from './data-arbitraries.js';
import { DIALECTS, createTestDatabase, type TestDatabase } from './data-databases.js';

const TRUE: Where = { kind: 'const', value: true };
const WHERES_PER_RUN = 10;

describe.each(DIALECTS)('conditions on %s agree with the JavaScript evaluator', (dialect) => {
  let db: TestDatabase;
  let ds: DataSource;
  let checked = 0;
  let nonTrivial = 0;

  beforeAll(async () => {
    db = await createTestDatabase(dialect);
    ds = db.open({ t: table });
    await createTables(ds, db.service({ t: table }));
  });
  afterAll(async () => {
    await db?.drop();
  });

  const ids = (list: Row[]) => list.map((r) => r.id as number).sort((a, b) => a - b);

  it('selects, counts and round-trips like the evaluator', async () => {
    await fc.assert(
      fc.asyncProperty(rowsArb, fc.array(whereArb, { minLength: WHERES_PER_RUN, maxLength: WHERES_PER_RUN }), async (rows, wheres) => {
        await ds.delete('t', TRUE);
        const stored = await ds.insert('t', rows);
        // What the database stores is what was written (canonical values round-trip).
        expect(stored).toEqual(rows.map((r) => ({ ...r })));
        for (const w of wheres) {
          const expected = ids(stored.filter((r) => matchesWhere(w, r, table)));
          const got = ids(await ds.select('t', { where: w, columns: ['id'] }));
          expect(got, printFilter(w)).toEqual(expected);
          expect(await ds.count('t', w)).toBe(expected.length);
          const reparsed = parseFilter(printFilter(w), table);
          expect(ids(await ds.select('t', { where: reparsed, columns: ['id'] })), printFilter(w)).toEqual(expected);
          checked++;
          if (expected.length > 0 && expected.length < stored.length) nonTrivial++;
          // Three-valued logic: the negation selects exactly the rows where the condition is false.
          const negated = ids(await ds.select('t', { where: { kind: 'not', item: w }, columns: ['id'] }));
          expect(negated, `not (${printFilter(w)})`).toEqual(ids(stored.filter((r) => evaluateWhere(w, r, table) === false)));
        }
      }),
      { numRuns: runs(60) },
    );
    // The generated conditions really discriminate between rows.
    expect(nonTrivial).toBeGreaterThan(checked / 5);
  });

  it('deletes and updates exactly the rows the evaluator selects', async () => {
    await fc.assert(
      fc.asyncProperty(rowsArb, whereArb, async (rows, w) => {
        await ds.delete('t', TRUE);
        const stored = await ds.insert('t', rows);
        const expected = ids(stored.filter((r) => matchesWhere(w, r, table)));
        const updated = await ds.update('t', w, { s2: 'touched' });
        expect(ids(updated)).toEqual(expected);
        expect(updated.every((r) => r.s2 === 'touched')).toBe(true);
        const w2: Where = { kind: 'cmp', column: 's2', op: '=', value: 'touched' };
        const deleted = await ds.delete('t', w2);
        expect(ids(deleted)).toEqual(expected);
        expect(await ds.count('t', TRUE)).toBe(stored.length - expected.length);
      }),
      { numRuns: runs(40) },
    );
  });
});
