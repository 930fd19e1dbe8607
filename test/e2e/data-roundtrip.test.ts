/**
 * print ∘ parse = id for filter conditions (up to single-item groups), over generated
 * conditions: what printFilter writes, parseFilter reads back to the same Where.
 */
import type { Where } from '@dfc/schema';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseFilter, printFilter } from '../../packages/runtime/src/data/index.js';
import { runs, table, where } from './data-arbitraries.js';

/** Groups of one print as their item and empty groups as constants; parsing cannot tell them apart. */
function normalize(w: Where): Where {
  switch (w.kind) {
    case 'and':
    case 'or': {
      const items = w.items.map(normalize);
      if (items.length === 0) return { kind: 'const', value: w.kind === 'and' };
      if (items.length === 1) return items[0]!;
      return { kind: w.kind, items };
    }
    case 'not':
      return { kind: 'not', item: normalize(w.item) };
    default:
      return w;
  }
}

describe('filter round trip', () => {
  it('parses printed conditions back to the same condition', () => {
    fc.assert(
      fc.property(where, (w) => {
        const text = printFilter(w);
        expect(parseFilter(text, table)).toEqual(normalize(w));
        // Printing is stable: printing the parsed condition gives the same text.
        expect(printFilter(parseFilter(text, table))).toBe(printFilter(normalize(w)));
      }),
      { numRuns: runs(3000) },
    );
  });

  it('prints examples readably', () => {
    const w: Where = {
      kind: 'and',
      items: [
        { kind: 'cmp', column: 's', op: '=', value: "it's" },
        { kind: 'or', items: [{ kind: 'in', column: 'i', values: [1, 2], negated: true }, { kind: 'null', column: 'd', negated: false }] },
        { kind: 'not', item: { kind: 'like', column: 's2', pattern: '50\\%%', negated: false } },
        { kind: 'cmp', column: 'not', op: '>', value: 3 },
      ],
    };
    expect(printFilter(w)).toBe("s = 'it\\'s' and (i not in (1, 2) or d is null) and not (s2 like '50\\\\%%') and `not` > 3");
    expect(parseFilter(printFilter(w), table)).toEqual(w);
  });
});
