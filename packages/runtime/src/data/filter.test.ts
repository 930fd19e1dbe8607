import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { PolicyTable, Where } from '@dfc/schema';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  FilterError,
  MAX_CONDITIONS,
  MAX_DEPTH,
  evaluateWhere,
  matchesWhere,
  parseCount,
  parseFields,
  parseFilter,
  parseId,
  parseIds,
  parseOrder,
} from './index.js';
import { likeMatch } from './match.js';

const posts: PolicyTable = {
  primaryKey: 'id',
  columns: {
    id: { type: 'integer', nullable: false },
    userId: { type: 'string', nullable: false },
    title: { type: 'string', nullable: true },
    score: { type: 'number', nullable: true },
    isPublic: { type: 'bool', nullable: false },
    created: { type: 'date', nullable: true },
    meta: { type: 'json', nullable: true },
    in: { type: 'integer', nullable: true },
  },
};

function err(fn: () => unknown): FilterError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(FilterError);
    return e as FilterError;
  }
  throw new Error('expected a FilterError');
}

const cmp = (column: string, op: '=' | '!=' | '>' | '>=' | '<' | '<=', value: unknown): Where =>
  ({ kind: 'cmp', column, op, value }) as Where;

describe('parseFilter', () => {
  const p = (text: string, lookup?: (n: string) => unknown) =>
    parseFilter(text, posts, lookup ? { lookup: lookup as never } : {});

  it('reads DreamFactory-style conditions', () => {
    expect(p("(id = 1) and (title like 'x%')")).toEqual({
      kind: 'and',
      items: [cmp('id', '=', 1), { kind: 'like', column: 'title', pattern: 'x%', negated: false }],
    });
    expect(p("id = 1 AND userId != 'x'")).toEqual({ kind: 'and', items: [cmp('id', '=', 1), cmp('userId', '!=', 'x')] });
    expect(p('id <> 2')).toEqual(cmp('id', '!=', 2));
    expect(p('id == 2')).toEqual(cmp('id', '=', 2));
    expect(p('(((id = 1)))')).toEqual(cmp('id', '=', 1));
    expect(p('')).toEqual({ kind: 'const', value: true });
    expect(p('   ')).toEqual({ kind: 'const', value: true });
    expect(p('true')).toEqual({ kind: 'const', value: true });
    expect(p('FALSE')).toEqual({ kind: 'const', value: false });
  });

  it('reads every operator, symbols and words, in any case', () => {
    const table: [string, Where][] = [
      ['score = 1', cmp('score', '=', 1)],
      ['score EQ 1', cmp('score', '=', 1)],
      ['score ne 1', cmp('score', '!=', 1)],
      ['score gt 1', cmp('score', '>', 1)],
      ['score > 1', cmp('score', '>', 1)],
      ['score ge 1', cmp('score', '>=', 1)],
      ['score gte 1', cmp('score', '>=', 1)],
      ['score >= 1', cmp('score', '>=', 1)],
      ['score lt 1', cmp('score', '<', 1)],
      ['score < 1', cmp('score', '<', 1)],
      ['score le 1', cmp('score', '<=', 1)],
      ['score LTE 1', cmp('score', '<=', 1)],
      ['score <= 1', cmp('score', '<=', 1)],
      ['id in (1, 2,3)', { kind: 'in', column: 'id', values: [1, 2, 3], negated: false }],
      ['id NOT IN (1)', { kind: 'in', column: 'id', values: [1], negated: true }],
      ['id in ()', { kind: 'in', column: 'id', values: [], negated: false }],
      ["title like '%a_'", { kind: 'like', column: 'title', pattern: '%a_', negated: false }],
      ["title not like 'a'", { kind: 'like', column: 'title', pattern: 'a', negated: true }],
      ["title contains '50%_\\\\'", { kind: 'like', column: 'title', pattern: '%50\\%\\_\\\\%', negated: false }],
      ["title starts with 'a%'", { kind: 'like', column: 'title', pattern: 'a\\%%', negated: false }],
      ["title ends with '_z'", { kind: 'like', column: 'title', pattern: '%\\_z', negated: false }],
      ["title not contains 'x'", { kind: 'like', column: 'title', pattern: '%x%', negated: true }],
      ['title is null', { kind: 'null', column: 'title', negated: false }],
      ['title IS NOT NULL', { kind: 'null', column: 'title', negated: true }],
      ['title = null', { kind: 'null', column: 'title', negated: false }],
      ['title != null', { kind: 'null', column: 'title', negated: true }],
      ['meta is null', { kind: 'null', column: 'meta', negated: false }],
      ['isPublic = true', cmp('isPublic', '=', true)],
      ["isPublic = 'false'", cmp('isPublic', '=', false)],
      ['isPublic = 1', cmp('isPublic', '=', true)],
      ["id = '42'", cmp('id', '=', 42)],
      ['userId = 42', cmp('userId', '=', '42')],
      ["created > '2024-05-01'", cmp('created', '>', '2024-05-01T00:00:00.000Z')],
      ["created < '2024-05-01T02:00:00+02:00'", cmp('created', '<', '2024-05-01T00:00:00.000Z')],
      ['score = -1.5e3', cmp('score', '=', -1500)],
      ['score = -0', cmp('score', '=', 0)],
      ['`in` in (1)', { kind: 'in', column: 'in', values: [1], negated: false }],
      ['in = 1', cmp('in', '=', 1)],
    ];
    for (const [text, expected] of table) expect(p(text), text).toEqual(expected);
  });

  it('gives and precedence over or, and not over and', () => {
    expect(p('id = 1 or id = 2 and id = 3')).toEqual({
      kind: 'or',
      items: [cmp('id', '=', 1), { kind: 'and', items: [cmp('id', '=', 2), cmp('id', '=', 3)] }],
    });
    expect(p('not id = 1 and id = 2')).toEqual({ kind: 'and', items: [{ kind: 'not', item: cmp('id', '=', 1) }, cmp('id', '=', 2)] });
    expect(p('id = 1 || id = 2 && not (id = 3 or id = 4)')).toEqual({
      kind: 'or',
      items: [
        cmp('id', '=', 1),
        { kind: 'and', items: [cmp('id', '=', 2), { kind: 'not', item: { kind: 'or', items: [cmp('id', '=', 3), cmp('id', '=', 4)] } }] },
      ],
    });
    expect(p('(id = 1 or id = 2) and id = 3')).toEqual({
      kind: 'and',
      items: [{ kind: 'or', items: [cmp('id', '=', 1), cmp('id', '=', 2)] }, cmp('id', '=', 3)],
    });
  });

  it('reads string escapes and both quote styles', () => {
    const v = (text: string) => (p(`title = ${text}`) as { value: unknown }).value;
    expect(v("'it''s'")).toBe("it's");
    expect(v("'it\\'s'")).toBe("it's");
    expect(v('"say \\"hi\\""')).toBe('say "hi"');
    expect(v('"it\'s"')).toBe("it's");
    expect(v("'a\\nb\\tc\\\\d'")).toBe('a\nb\tc\\d');
    expect(v("'\\u00e9\\ud83d\\ude00'")).toBe('é😀');
    expect(v("'50\\%'")).toBe('50\\%');
    expect(v("''")).toBe('');
    expect(v("') or (1=1'")).toBe(') or (1=1');
  });

  it('resolves lookups after parsing, as values', () => {
    const lookup = (n: string) =>
      (({ 'user.id': "x') OR ('1'='1", 'user.age': 7, 'user.groups': ['a', 'b'], 'user.none': null, 'user.obj': { a: 1 } }) as Record<string, unknown>)[n];
    expect(p('userId = {user.id}', lookup)).toEqual(cmp('userId', '=', "x') OR ('1'='1"));
    expect(p('id > {user.age} and userId in {user.groups}', lookup)).toEqual({
      kind: 'and',
      items: [cmp('id', '>', 7), { kind: 'in', column: 'userId', values: ['a', 'b'], negated: false }],
    });
    expect(p('userId in ({user.id}, \'z\')', lookup)).toEqual({ kind: 'in', column: 'userId', values: ["x') OR ('1'='1", 'z'], negated: false });
    expect(p("title contains {user.id}", lookup)).toEqual({ kind: 'like', column: 'title', pattern: "%x') OR ('1'='1%", negated: false });
    expect(err(() => p('userId = {user.nope}', lookup)).message).toBe('unknown lookup `{user.nope}` at position 10');
    expect(err(() => p('userId = {user.id}')).message).toBe('unknown lookup `{user.id}` at position 10');
    expect(err(() => p('userId = {user.none}', lookup)).message).toBe('lookup `{user.none}` at position 10 has no value');
    expect(err(() => p('userId = {user.obj}', lookup)).message).toMatch(/is not a single value/);
    expect(err(() => p('id = {user.id}', lookup)).message).toMatch(/`id` must be an integer, not a string/);
    expect(err(() => p('userId = {user}x', lookup)).message).toMatch(/unknown lookup|expected/);
    expect(err(() => p('userId = {a..b}', lookup)).message).toBe('invalid lookup at position 10');
    expect(err(() => p('userId = {', lookup)).message).toBe('invalid lookup at position 10');
  });

  it('names the problem and its position', () => {
    const cases: [string, string, number | undefined][] = [
      ['passwd = 1', 'unknown column `passwd` in filter', 1],
      ['id = 1 and passwd = 1', 'unknown column `passwd` in filter', 12],
      ['__proto__ = 1', 'unknown column `__proto__` in filter', 1],
      ['constructor = 1', 'unknown column `constructor` in filter', 1],
      ['Id = 1', 'unknown column `Id` in filter', 1],
      ['id = )', 'expected a value after `=` at position 6, found `)`', 6],
      ['title = ', 'expected a value after `=` at position 9, found the end of the text', 9],
      ['title = abc', 'expected a value after `=` at position 9, found `abc`', 9],
      ['title', 'expected an operator after `title` at position 6, found the end of the text', 6],
      ['title ~ 1', 'unexpected character `~` at position 7', 7],
      ['title between 1', 'expected an operator after `title` at position 7, found `between`', 7],
      ['(id = 1', 'expected `)` at position 8, found the end of the text', 8],
      ['id = 1)', 'unexpected `)` at position 7', 7],
      ['id = 1 id = 2', 'expected `and`, `or` or the end of the filter at position 8, found `id`', 8],
      ["title = 'abc", 'unterminated string starting at position 9', 9],
      ['id = 1;', 'unexpected character `;` at position 7', 7],
      ['id = 1 -- x', 'unexpected character `-` at position 8', 8],
      ['id = 1 /* x */', 'unexpected character `/` at position 8', 8],
      ['id = 1e999', 'number `1e999` at position 6 is out of range', 6],
      ['id = 99999999999999999999', 'number `99999999999999999999` at position 6 is out of range', 6],
      ['id = 12abc', 'invalid number `12a` at position 6', 6],
      ['id = 1.2.3', 'invalid number `1.2.` at position 6', 6],
      ['id in 1', 'expected `(` after `in` at position 7, found `1`', 7],
      ['id in (1 2)', 'expected `,` or `)` in the list at position 10, found `2`', 10],
      ['id in (1,)', 'expected a value after `,` at position 10, found `)`', 10],
      ['id in (1, null)', 'a list may not hold null (at position 11)', 11],
      ['title is 1', 'expected `null` after `is` at position 10, found `1`', 10],
      ['title starts 1', 'expected `with` after `starts` at position 14, found `1`', 14],
      ['title not = 1', 'expected `in`, `like`, `contains`, `starts with` or `ends with` after `not` at position 11, found `=`', 11],
      ["id like '1%'", '`like` applies to text columns, and `id` holds integer values (at position 4)', 4],
      ["meta = 'x'", '`meta` holds JSON and can only be tested with `is null` or `is not null` (at position 8)', 8],
      ['id > null', 'null can only be compared with `=` or `!=` (at position 6)', 6],
      ["id = 'abc'", '`id` must be an integer, not a string (at position 6)', 6],
      ["isPublic = 'yes'", '`isPublic` must be a boolean, not a string (at position 12)', 12],
      ["created > 'yesterday'", '`created` must be compared with an ISO-8601 date between the years 1000 and 9999 (at position 11)', 11],
      ["title = 'a\u0000'", 'a string may not hold a NUL character (at position 11)', 11],
      ["title = '\\u0000'", 'a string may not hold a NUL character (at position 10)', 10],
      ["title = '\\uZZ'", 'invalid `\\u` escape at position 10', 10],
      ['`title = 1', 'unterminated quoted name starting at position 1', 1],
      ['title = "\ud800"', 'filter is not valid unicode text', undefined],
      ["title = '\\ud800'", 'the string at position 9 is not valid unicode text', 9],
      ['and', 'unknown column `and` in filter', 1],
      ['not', 'expected a condition at position 4, found the end of the filter', 4],
      ['id = 1 and', 'expected a condition at position 11, found the end of the filter', 11],
      ['=', 'expected a column name at position 1, found `=`', 1],
      ["'x' = title", "expected a column name at position 1, found `'x'`", 1],
      ['title = {"expression": "1); DROP TABLE t; --"}', 'invalid lookup at position 9', 9],
      ['title = (select 1)', 'expected a value after `=` at position 9, found `(`', 9],
      ['title = now()', 'expected a value after `=` at position 9, found `now`', 9],
    ];
    for (const [text, message, position] of cases) {
      const e = err(() => p(text));
      expect(e.message, text).toBe(message);
      expect(e.position, text).toBe(position);
      expect(e.parameter).toBe('filter');
    }
    expect(err(() => p('title = abc')).note).toBe("text values are quoted, as in 'abc'");
  });

  it('caps length, depth, conditions and list sizes', () => {
    expect(err(() => p('id = 1 ' + ' '.repeat(4100))).message).toBe('filter is too long (4107 characters, the limit is 4096)');
    const nested = (n: number) => '('.repeat(n) + 'id = 1' + ')'.repeat(n);
    expect(p(nested(MAX_DEPTH))).toEqual(cmp('id', '=', 1));
    expect(err(() => p(nested(MAX_DEPTH + 1))).message).toBe(`filter nests deeper than ${MAX_DEPTH} levels at position ${MAX_DEPTH + 1}`);
    expect(err(() => p('not '.repeat(MAX_DEPTH + 1) + 'id = 1')).message).toMatch(/nests deeper than 32 levels/);
    expect(err(() => p('('.repeat(2000))).message).toMatch(/nests deeper/);
    const many = (n: number) => Array.from({ length: n }, (_, i) => `id = ${i}`).join(' or ');
    expect((p(many(MAX_CONDITIONS)) as { items: unknown[] }).items).toHaveLength(MAX_CONDITIONS);
    expect(err(() => p(many(MAX_CONDITIONS + 1))).message).toMatch(/filter has more than 100 conditions/);
    const list = (n: number) => `id in (${Array.from({ length: n }, (_, i) => i).join(',')})`;
    expect((p(list(1000)) as { values: unknown[] }).values).toHaveLength(1000);
    expect(err(() => p(list(1001))).message).toMatch(/a list holds more than 1000 values/);
  });

  it('never throws anything but a FilterError, on any text', () => {
    const tokens = ['id', 'title', 'userId', 'isPublic', '=', '!=', '<>', '<', '>=', 'in', 'not', 'like', 'and', 'or', '&&', '||', '(', ')', ',',
      "'x'", '"y"', "'", '"', '1', '-2.5', 'null', 'true', 'is', 'starts', 'with', '{user.id}', '{', '}', '`', '\\', ';', '--', '/*', ' '];
    const soup = fc.array(fc.constantFrom(...tokens), { maxLength: 30 }).map((t) => t.join(' '));
    const lookup = (n: string) => (n === 'user.id' ? 'u1' : undefined);
    fc.assert(
      fc.property(fc.oneof(fc.string({ maxLength: 200 }), fc.string({ unit: 'binary', maxLength: 100 }), soup), (text) => {
        try {
          parseFilter(text, posts, { lookup });
        } catch (e) {
          expect(e).toBeInstanceOf(FilterError);
          const f = e as FilterError;
          expect(f.message).not.toMatch(/\.$/);
          expect(f.message).not.toMatch(/\n/);
          if (f.position !== undefined) {
            expect(f.position).toBeGreaterThanOrEqual(1);
            expect(f.position).toBeLessThanOrEqual(text.length + 1);
          }
        }
      }),
      { numRuns: 3000 },
    );
  });

  it('handles 50,000-character adversarial inputs without a pathological slowdown', () => {
    // Each of these is refused or parsed in one linear pass; a hang would hit the test timeout.
    const inputs = [
      '('.repeat(50_000),
      "'".repeat(50_000),
      'a'.repeat(50_000),
      '1'.repeat(50_000),
      'id = 1 or '.repeat(5_000),
      "title like '" + '%a'.repeat(20_000) + "'",
      '{' + 'a.'.repeat(25_000),
      '\\'.repeat(50_000),
    ];
    for (const text of inputs) {
      for (const parse of [() => parseFilter(text, posts), () => parseOrder(text, posts), () => parseFields(text, posts)]) {
        expect(() => parse()).toThrow(FilterError);
      }
      expect(() => parseFilter(text.slice(0, 4000), posts)).not.toThrow(RangeError);
    }
    // LIKE matching is linear in practice even for patterns that make regexes backtrack.
    expect(likeMatch('%a%a%a%a%a%a%a%a%a%a%b', 'a'.repeat(5000))).toBe(false);
  });
});

describe('parseOrder', () => {
  it('reads columns, directions and null placement', () => {
    expect(parseOrder('', posts)).toEqual([]);
    expect(parseOrder('title', posts)).toEqual([{ column: 'title', direction: 'asc' }]);
    expect(parseOrder('title DESC, id asc nulls first,score nulls LAST', posts)).toEqual([
      { column: 'title', direction: 'desc' },
      { column: 'id', direction: 'asc', nulls: 'first' },
      { column: 'score', direction: 'asc', nulls: 'last' },
    ]);
  });
  it('refuses anything else with the position', () => {
    const cases: [string, string][] = [
      ['passwd', 'unknown column `passwd` in order'],
      ['title; drop table posts', 'unexpected character `;` at position 6'],
      ['title desc desc', 'expected `,`, `asc`, `desc`, `nulls` or the end of order at position 12, found `desc`'],
      ['title nulls middle', 'expected `first` or `last` after `nulls` at position 13, found `middle`'],
      ['title,', 'expected a column name at position 7, found the end of the text'],
      ['(case when 1=1 then title else id end)', 'expected a column name at position 1, found `(`'],
      ['if(1=1,title,id)', 'unknown column `if` in order'],
      ['title collate "C"', 'expected `,`, `asc`, `desc`, `nulls` or the end of order at position 7, found `collate`'],
      ['1', 'expected a column name at position 1, found `1`'],
    ];
    for (const [text, message] of cases) {
      const e = err(() => parseOrder(text, posts));
      expect(e.message, text).toBe(message);
      expect(e.parameter).toBe('order');
    }
  });
});

describe('parseFields', () => {
  it('reads `*` or a column list', () => {
    const all = Object.keys(posts.columns);
    expect(parseFields('', posts)).toEqual(all);
    expect(parseFields('*', posts)).toEqual(all);
    expect(parseFields(' title , id,title ', posts)).toEqual(['title', 'id']);
  });
  it('refuses unknown columns and anything that is not a list', () => {
    const cases: [string, string][] = [
      ['passwd', 'unknown column `passwd` in fields'],
      ['id,passwd', 'unknown column `passwd` in fields'],
      ['*,id', 'expected the end of fields after `*` at position 2, found `,`'],
      ['id,', 'expected a column name at position 4, found the end of the text'],
      ['id title', 'expected `,` or the end of fields at position 4, found `title`'],
      ['count(*)', 'unknown column `count` in fields'],
      ['id as x', 'expected `,` or the end of fields at position 4, found `as`'],
      ["id,(select password from users)", 'expected a column name at position 4, found `(`'],
    ];
    for (const [text, message] of cases) {
      const e = err(() => parseFields(text, posts));
      expect(e.message, text).toBe(message);
      expect(e.parameter).toBe('fields');
    }
  });
});

describe('parseIds, parseId and parseCount', () => {
  const tags: PolicyTable = { primaryKey: 'code', columns: { code: { type: 'string', nullable: false } } };
  it('reads ids by the key type', () => {
    expect(parseIds('1, 2,3,2', posts)).toEqual([1, 2, 3]);
    expect(parseIds("a,b c,o'neil", tags)).toEqual(['a', 'b c', "o'neil"]);
    expect(parseId('-7', posts)).toBe(-7);
  });
  it('refuses malformed ids', () => {
    expect(err(() => parseIds('1,x', posts)).message).toBe('id `x` is not an integer');
    expect(err(() => parseIds('1 OR 1=1', posts)).message).toBe('id `1 OR 1=1` is not an integer');
    expect(err(() => parseIds('1,,2', posts)).message).toBe('an id is empty');
    expect(err(() => parseIds('1.5', posts)).message).toBe('id `1.5` is not an integer');
    expect(err(() => parseIds(Array.from({ length: 1001 }, (_, i) => i).join(','), posts)).message).toBe('ids holds more than 1000 ids');
    expect(err(() => parseId('a\u0000', tags)).message).toBe('an id may not hold a NUL character');
  });
  it('reads limit and offset as non-negative integers only', () => {
    expect(parseCount('10', 'limit')).toBe(10);
    expect(parseCount('0', 'offset')).toBe(0);
    for (const bad of ['-1', '1.5', '1e3', '', ' ', '10; drop table x', '0x10', '9999999999999999', 'NaN']) {
      const e = err(() => parseCount(bad, 'limit'));
      expect(e.message).toBe('`limit` must be a non-negative integer');
      expect(e.parameter).toBe('limit');
    }
  });
});

describe('matchesWhere', () => {
  it('uses SQL three-valued logic', () => {
    const row = { id: 1, title: null, userId: 'u', isPublic: true };
    const w = cmp('title', '=', 'x');
    expect(evaluateWhere(w, row, posts)).toBeNull();
    expect(evaluateWhere({ kind: 'not', item: w }, row, posts)).toBeNull();
    expect(matchesWhere({ kind: 'not', item: w }, row, posts)).toBe(false);
    expect(matchesWhere({ kind: 'or', items: [w, cmp('id', '=', 1)] }, row, posts)).toBe(true);
    expect(evaluateWhere({ kind: 'and', items: [w, cmp('id', '=', 2)] }, row, posts)).toBe(false);
    expect(matchesWhere({ kind: 'in', column: 'title', values: [], negated: true }, row, posts)).toBe(true);
    expect(matchesWhere({ kind: 'like', column: 'userId', pattern: 'U', negated: false }, row, posts)).toBe(false);
    expect(matchesWhere(cmp('isPublic', '=', 'true'), row, posts)).toBe(true);
  });
});

describe('docs/filters.md', () => {
  // The message table in the docs is checked against what the parser really says.
  const docs = readFileSync(fileURLToPath(new URL('../../../../docs/filters.md', import.meta.url)), 'utf8');
  const section = docs.slice(docs.indexOf('## Messages'), docs.indexOf('## For embedders'));
  const codeSpan = (cell: string): string => {
    const double = /``(.*?)``/.exec(cell);
    if (double) {
      const inner = double[1]!;
      return inner.startsWith(' ') && inner.endsWith(' ') ? inner.slice(1, -1) : inner;
    }
    return /`([^`]*)`/.exec(cell)![1]!;
  };
  const rows = section
    .split('\n')
    .filter((l) => l.startsWith('| ') && !l.startsWith('| input') && !l.startsWith('|---'))
    .map((l) => l.split(' | '));

  it('lists messages the parser really gives', () => {
    expect(rows.length).toBeGreaterThanOrEqual(10);
    for (const [inputCell, messageCell] of rows) {
      const kind = /^\| (order|fields|limit) /.exec(inputCell!)?.[1] ?? 'filter';
      const input = codeSpan(inputCell!);
      const message = codeSpan(messageCell!);
      const run = {
        filter: () => parseFilter(input, posts),
        order: () => parseOrder(input, posts),
        fields: () => parseFields(input, posts),
        limit: () => parseCount(input, 'limit'),
      }[kind]!;
      expect(err(run).message, input).toBe(message);
    }
  });
});
