import type { CmpOp, Json, PolicyTable, Where } from '@dfc/schema';
import { escapeLike } from '@dfc/schema';
import { FilterError } from './errors.js';
import { tokenize, type Token } from './tokenize.js';
import type { OrderBy } from './types.js';
import { shorten } from './text.js';
import { checkWhereValue, parseDate } from './values.js';

/**
 * The `filter`, `order`, `fields` and `ids` parameters: DreamFactory's syntax read by
 * a real grammar (tokenizer + recursive descent), checked against the table's declared
 * columns, producing a `Where` whose values are data. Nothing here ever becomes SQL
 * text; see docs/filters.md for the grammar.
 */

/** Deepest nesting of parentheses and `not` (checklist I2). */
export const MAX_DEPTH = 32;
/** Most conditions in one filter (checklist I1). */
export const MAX_CONDITIONS = 100;
/** Most values in one `in (…)` list, and most `ids`. */
export const MAX_LIST = 1000;

export interface ParseFilterOptions {
  /**
   * Resolves a lookup such as `{user.id}` (called with `user.id`) after parsing; the
   * value is bound as data. `undefined` means the lookup is unknown (a FilterError).
   */
  lookup?: (name: string) => Json | undefined;
}

type Value = { kind: 'lit'; value: Json; pos: number } | { kind: 'lookup'; name: string; pos: number };

type LikeMode = 'like' | 'contains' | 'starts with' | 'ends with';

/** The syntax tree before lookups are resolved and values checked against column types. */
type Node =
  | { kind: 'and' | 'or'; items: Node[] }
  | { kind: 'not'; item: Node }
  | { kind: 'const'; value: boolean }
  | { kind: 'cmp'; column: string; op: CmpOp; opText: string; value: Value; pos: number }
  | { kind: 'in'; column: string; values: Value[] | Value; negated: boolean; pos: number }
  | { kind: 'like'; column: string; mode: LikeMode; value: Value; negated: boolean; pos: number }
  | { kind: 'null'; column: string; negated: boolean };

const WORD_OPS: Record<string, CmpOp> = { eq: '=', ne: '!=', gt: '>', ge: '>=', gte: '>=', lt: '<', le: '<=', lte: '<=' };
const PUNCT_OPS: Record<string, CmpOp> = { '=': '=', '!=': '!=', '<>': '!=', '>': '>', '>=': '>=', '<': '<', '<=': '<=' };

function describe(t: Token): string {
  switch (t.kind) {
    case 'end':
      return 'the end of the text';
    case 'word':
      return `\`${shorten(t.text)}\``;
    case 'quoted':
      return `\`${shorten(t.text)}\``;
    case 'string':
      return `\`${shorten(t.raw)}\``;
    case 'number':
      return `\`${shorten(t.raw)}\``;
    case 'lookup':
      return `\`{${shorten(t.name)}}\``;
    case 'punct':
      return `\`${t.text}\``;
  }
}

function columnOf(table: PolicyTable, t: Token, parameter: 'filter' | 'order' | 'fields'): string {
  if (t.kind !== 'word' && t.kind !== 'quoted') {
    throw new FilterError(parameter, `expected a column name at position ${t.pos}, found ${describe(t)}`, t.pos);
  }
  // invariant: own properties only, so `__proto__` or `constructor` never name a column.
  if (!Object.hasOwn(table.columns, t.text)) {
    throw new FilterError(parameter, `unknown column \`${shorten(t.text)}\` in ${parameter}`, t.pos);
  }
  return t.text;
}

class FilterParser {
  private i = 0;
  private depth = 0;
  private conditions = 0;

  constructor(
    private readonly tokens: Token[],
    private readonly table: PolicyTable,
  ) {}

  private peek(): Token {
    return this.tokens[this.i]!;
  }
  private next(): Token {
    const t = this.tokens[this.i]!;
    if (t.kind !== 'end') this.i++;
    return t;
  }
  private isWord(t: Token, ...words: string[]): boolean {
    return t.kind === 'word' && words.includes(t.lower);
  }

  parse(): Node {
    if (this.peek().kind === 'end') return { kind: 'const', value: true };
    const node = this.parseOr();
    const t = this.peek();
    if (t.kind !== 'end') {
      if (t.kind === 'punct' && t.text === ')') {
        throw new FilterError('filter', `unexpected \`)\` at position ${t.pos}`, t.pos, 'it closes a parenthesis that was never opened');
      }
      throw new FilterError('filter', `expected \`and\`, \`or\` or the end of the filter at position ${t.pos}, found ${describe(t)}`, t.pos);
    }
    return node;
  }

  private parseOr(): Node {
    const first = this.parseAnd();
    const items = [first];
    for (let t = this.peek(); this.isWord(t, 'or') || (t.kind === 'punct' && t.text === '||'); t = this.peek()) {
      this.next();
      items.push(this.parseAnd());
    }
    return items.length === 1 ? first : { kind: 'or', items };
  }

  private parseAnd(): Node {
    const first = this.parseUnary();
    const items = [first];
    for (let t = this.peek(); this.isWord(t, 'and') || (t.kind === 'punct' && t.text === '&&'); t = this.peek()) {
      this.next();
      items.push(this.parseUnary());
    }
    return items.length === 1 ? first : { kind: 'and', items };
  }

  private enter(t: Token): void {
    if (++this.depth > MAX_DEPTH) {
      throw new FilterError('filter', `filter nests deeper than ${MAX_DEPTH} levels at position ${t.pos}`, t.pos);
    }
  }

  private parseUnary(): Node {
    const t = this.peek();
    if (this.isWord(t, 'not')) {
      this.next();
      this.enter(t);
      const item = this.parseUnary();
      this.depth--;
      return { kind: 'not', item };
    }
    if (t.kind === 'punct' && t.text === '(') {
      this.next();
      this.enter(t);
      const inner = this.parseOr();
      const close = this.next();
      if (close.kind !== 'punct' || close.text !== ')') {
        throw new FilterError(
          'filter',
          `expected \`)\` at position ${close.pos}, found ${describe(close)}`,
          close.pos,
          `the parenthesis at position ${t.pos} is not closed`,
        );
      }
      this.depth--;
      return inner;
    }
    if (this.isWord(t, 'true', 'false')) {
      this.next();
      this.count(t);
      return { kind: 'const', value: t.kind === 'word' && t.lower === 'true' };
    }
    return this.parseCondition();
  }

  private count(t: Token): void {
    if (++this.conditions > MAX_CONDITIONS) {
      throw new FilterError('filter', `filter has more than ${MAX_CONDITIONS} conditions (at position ${t.pos})`, t.pos);
    }
  }

  private parseCondition(): Node {
    const colTok = this.next();
    if (colTok.kind === 'end') {
      throw new FilterError('filter', `expected a condition at position ${colTok.pos}, found the end of the filter`, colTok.pos);
    }
    const column = columnOf(this.table, colTok, 'filter');
    this.count(colTok);
    const opTok = this.next();
    const pos = opTok.pos;
    if (opTok.kind === 'punct' && Object.hasOwn(PUNCT_OPS, opTok.text)) {
      return { kind: 'cmp', column, op: PUNCT_OPS[opTok.text]!, opText: opTok.text, value: this.parseValue(opTok.text), pos };
    }
    if (opTok.kind === 'word') {
      const w = opTok.lower;
      if (Object.hasOwn(WORD_OPS, w)) {
        return { kind: 'cmp', column, op: WORD_OPS[w]!, opText: opTok.text, value: this.parseValue(opTok.text), pos };
      }
      if (w === 'is') {
        let negated = false;
        if (this.isWord(this.peek(), 'not')) {
          this.next();
          negated = true;
        }
        const nullTok = this.next();
        if (!this.isWord(nullTok, 'null')) {
          throw new FilterError('filter', `expected \`null\` after \`is${negated ? ' not' : ''}\` at position ${nullTok.pos}, found ${describe(nullTok)}`, nullTok.pos);
        }
        return { kind: 'null', column, negated };
      }
      let negated = false;
      let opWord: Token = opTok;
      if (w === 'not') {
        negated = true;
        opWord = this.next();
      }
      if (this.isWord(opWord, 'in')) return this.parseIn(column, negated, pos);
      if (this.isWord(opWord, 'like', 'contains')) {
        const mode = (opWord as { lower: string }).lower as LikeMode;
        return { kind: 'like', column, mode, negated, value: this.parseValue((opWord as { text: string }).text), pos };
      }
      if (this.isWord(opWord, 'starts', 'ends')) {
        const withTok = this.next();
        const first = (opWord as { lower: string }).lower;
        if (!this.isWord(withTok, 'with')) {
          throw new FilterError('filter', `expected \`with\` after \`${first}\` at position ${withTok.pos}, found ${describe(withTok)}`, withTok.pos);
        }
        const mode = (first + ' with') as LikeMode;
        return { kind: 'like', column, mode, negated, value: this.parseValue(mode), pos };
      }
      if (negated) {
        throw new FilterError(
          'filter',
          `expected \`in\`, \`like\`, \`contains\`, \`starts with\` or \`ends with\` after \`not\` at position ${opWord.pos}, found ${describe(opWord)}`,
          opWord.pos,
        );
      }
    }
    throw new FilterError(
      'filter',
      `expected an operator after \`${shorten(column)}\` at position ${opTok.pos}, found ${describe(opTok)}`,
      opTok.pos,
      'operators are =, !=, <>, >, >=, <, <=, in, not in, like, not like, contains, starts with, ends with, is null, is not null',
    );
  }

  private parseValue(after: string): Value {
    const t = this.next();
    switch (t.kind) {
      case 'string':
        return { kind: 'lit', value: t.value, pos: t.pos };
      case 'number':
        return { kind: 'lit', value: t.value, pos: t.pos };
      case 'lookup':
        return { kind: 'lookup', name: t.name, pos: t.pos };
      case 'word':
        if (t.lower === 'true' || t.lower === 'false') return { kind: 'lit', value: t.lower === 'true', pos: t.pos };
        if (t.lower === 'null') return { kind: 'lit', value: null, pos: t.pos };
        throw new FilterError(
          'filter',
          `expected a value after \`${shorten(after)}\` at position ${t.pos}, found ${describe(t)}`,
          t.pos,
          `text values are quoted, as in '${shorten(t.text)}'`,
        );
      default:
        throw new FilterError('filter', `expected a value after \`${shorten(after)}\` at position ${t.pos}, found ${describe(t)}`, t.pos);
    }
  }

  private parseIn(column: string, negated: boolean, pos: number): Node {
    const open = this.next();
    if (open.kind === 'lookup') {
      return { kind: 'in', column, negated, values: { kind: 'lookup', name: open.name, pos: open.pos }, pos };
    }
    if (open.kind !== 'punct' || open.text !== '(') {
      throw new FilterError('filter', `expected \`(\` after \`in\` at position ${open.pos}, found ${describe(open)}`, open.pos);
    }
    const values: Value[] = [];
    const first = this.peek();
    if (first.kind === 'punct' && first.text === ')') {
      this.next();
      return { kind: 'in', column, negated, values, pos };
    }
    while (true) {
      if (values.length >= MAX_LIST) {
        const t = this.peek();
        throw new FilterError('filter', `a list holds more than ${MAX_LIST} values (at position ${t.pos})`, t.pos);
      }
      values.push(this.parseValue(values.length === 0 ? '(' : ','));
      const sep = this.next();
      if (sep.kind === 'punct' && sep.text === ')') break;
      if (sep.kind !== 'punct' || sep.text !== ',') {
        throw new FilterError('filter', `expected \`,\` or \`)\` in the list at position ${sep.pos}, found ${describe(sep)}`, sep.pos);
      }
    }
    return { kind: 'in', column, negated, values, pos };
  }
}

class Resolver {
  constructor(
    private readonly table: PolicyTable,
    private readonly lookup: ((name: string) => Json | undefined) | undefined,
  ) {}

  private value(v: Value): Json {
    if (v.kind === 'lit') return v.value;
    const found = this.lookup?.(v.name);
    if (found === undefined) {
      throw new FilterError('filter', `unknown lookup \`{${shorten(v.name)}}\` at position ${v.pos}`, v.pos);
    }
    if (found === null) {
      throw new FilterError('filter', `lookup \`{${shorten(v.name)}}\` at position ${v.pos} has no value`, v.pos);
    }
    return found;
  }

  private scalar(v: Value): Json {
    const value = this.value(v);
    if (typeof value === 'object' && value !== null) {
      // Only a lookup can produce a list or an object here (literals are scalars).
      const name = v.kind === 'lookup' ? shorten(v.name) : '';
      throw new FilterError('filter', `lookup \`{${name}}\` at position ${v.pos} is not a single value`, v.pos);
    }
    return value;
  }

  private typed(column: string, value: Json, pos: number): Json {
    const checked = checkWhereValue(column, this.table.columns[column]!, value);
    if (!checked.ok) throw new FilterError('filter', `${checked.message} (at position ${pos})`, pos);
    return checked.value;
  }

  resolve(n: Node): Where {
    switch (n.kind) {
      case 'const':
        return n;
      case 'and':
      case 'or':
        return { kind: n.kind, items: n.items.map((x) => this.resolve(x)) };
      case 'not':
        return { kind: 'not', item: this.resolve(n.item) };
      case 'null':
        return { kind: 'null', column: n.column, negated: n.negated };
      case 'cmp': {
        const raw = this.scalar(n.value);
        if (raw === null) {
          // Only a literal `null` gets here (a lookup with no value is an error above).
          if (n.op === '=' || n.op === '!=') return { kind: 'null', column: n.column, negated: n.op === '!=' };
          throw new FilterError(
            'filter',
            `null can only be compared with \`=\` or \`!=\` (at position ${n.value.pos})`,
            n.value.pos,
            'write `is null` or `is not null`',
          );
        }
        return { kind: 'cmp', column: n.column, op: n.op, value: this.typed(n.column, raw, n.value.pos) };
      }
      case 'in': {
        let items: { value: Json; pos: number }[];
        if (Array.isArray(n.values)) {
          items = n.values.map((v) => ({ value: this.scalar(v), pos: v.pos }));
        } else {
          const list = this.value(n.values);
          const pos = n.values.pos;
          const arr = Array.isArray(list) ? list : [list];
          if (arr.length > MAX_LIST) {
            throw new FilterError('filter', `a list holds more than ${MAX_LIST} values (at position ${pos})`, pos);
          }
          items = arr.map((value) => {
            if (typeof value === 'object' && value !== null) {
              const name = n.values && !Array.isArray(n.values) && n.values.kind === 'lookup' ? shorten(n.values.name) : '';
              throw new FilterError('filter', `lookup \`{${name}}\` at position ${pos} holds something other than single values`, pos);
            }
            return { value, pos };
          });
        }
        const values = items.map(({ value, pos }) => {
          if (value === null) {
            throw new FilterError('filter', `a list may not hold null (at position ${pos})`, pos, 'add `or <column> is null` instead');
          }
          return this.typed(n.column, value, pos);
        });
        return { kind: 'in', column: n.column, values, negated: n.negated };
      }
      case 'like': {
        const col = this.table.columns[n.column]!;
        if (col.type !== 'string') {
          throw new FilterError(
            'filter',
            `\`${n.mode}\` applies to text columns, and \`${shorten(n.column)}\` holds ${col.type === 'json' ? 'JSON' : col.type} values (at position ${n.pos})`,
            n.pos,
          );
        }
        const raw = this.scalar(n.value);
        if (typeof raw !== 'string' && typeof raw !== 'number') {
          throw new FilterError('filter', `\`${n.mode}\` needs a text value (at position ${n.value.pos})`, n.value.pos);
        }
        const text = String(raw);
        const pattern =
          n.mode === 'like'
            ? text
            : n.mode === 'contains'
              ? '%' + escapeLike(text) + '%'
              : n.mode === 'starts with'
                ? escapeLike(text) + '%'
                : '%' + escapeLike(text);
        return { kind: 'like', column: n.column, pattern, negated: n.negated };
      }
    }
  }
}

/**
 * Parses a DreamFactory-style `filter` into a `Where` over `table`'s declared columns.
 * Lookups (`{user.id}`) are resolved after parsing through `options.lookup` and become
 * bound values. Empty text means no condition (`true`). Throws only `FilterError`.
 */
export function parseFilter(text: string, table: PolicyTable, options: ParseFilterOptions = {}): Where {
  if (typeof text !== 'string') throw new FilterError('filter', 'filter must be text');
  const tokens = tokenize(text, 'filter');
  const tree = new FilterParser(tokens, table).parse();
  return new Resolver(table, options.lookup).resolve(tree);
}

/** Most terms in one `order`. */
const MAX_ORDER_TERMS = 64;

/**
 * Parses `order` (`col [asc|desc] [nulls first|last], …`) against `table`'s declared
 * columns. Empty text means no order. Throws only `FilterError`.
 */
export function parseOrder(text: string, table: PolicyTable): OrderBy[] {
  if (typeof text !== 'string') throw new FilterError('order', 'order must be text');
  const tokens = tokenize(text, 'order');
  const out: OrderBy[] = [];
  let i = 0;
  const next = (): Token => tokens[Math.min(i++, tokens.length - 1)]!;
  const peek = (): Token => tokens[i]!;
  if (peek().kind === 'end') return out;
  while (true) {
    const colTok = next();
    if (colTok.kind === 'end') {
      throw new FilterError('order', `expected a column name at position ${colTok.pos}, found the end of the text`, colTok.pos);
    }
    const column = columnOf(table, colTok, 'order');
    if (out.length >= MAX_ORDER_TERMS) {
      throw new FilterError('order', `order has more than ${MAX_ORDER_TERMS} terms (at position ${colTok.pos})`, colTok.pos);
    }
    const term: OrderBy = { column, direction: 'asc' };
    let t = peek();
    if (t.kind === 'word' && (t.lower === 'asc' || t.lower === 'desc')) {
      term.direction = t.lower;
      next();
      t = peek();
    }
    if (t.kind === 'word' && t.lower === 'nulls') {
      next();
      const which = next();
      if (which.kind !== 'word' || (which.lower !== 'first' && which.lower !== 'last')) {
        throw new FilterError('order', `expected \`first\` or \`last\` after \`nulls\` at position ${which.pos}, found ${describe(which)}`, which.pos);
      }
      term.nulls = which.lower;
    }
    out.push(term);
    const sep = next();
    if (sep.kind === 'end') return out;
    if (sep.kind !== 'punct' || sep.text !== ',') {
      throw new FilterError(
        'order',
        `expected \`,\`, \`asc\`, \`desc\`, \`nulls\` or the end of order at position ${sep.pos}, found ${describe(sep)}`,
        sep.pos,
      );
    }
  }
}

/**
 * Parses `fields`: `*` (or empty text) for every declared column in declaration
 * order, or a comma-separated list of declared columns (duplicates dropped). Throws
 * only `FilterError`.
 */
export function parseFields(text: string, table: PolicyTable): string[] {
  if (typeof text !== 'string') throw new FilterError('fields', 'fields must be text');
  const tokens = tokenize(text, 'fields');
  const all = Object.keys(table.columns);
  const first = tokens[0]!;
  if (first.kind === 'end') return all;
  if (first.kind === 'punct' && first.text === '*') {
    const after = tokens[1]!;
    if (after.kind !== 'end') {
      throw new FilterError('fields', `expected the end of fields after \`*\` at position ${after.pos}, found ${describe(after)}`, after.pos);
    }
    return all;
  }
  const out: string[] = [];
  let i = 0;
  while (true) {
    const column = columnOf(table, tokens[i++]!, 'fields');
    if (!out.includes(column)) out.push(column);
    const sep = tokens[i++]!;
    if (sep.kind === 'end') return out;
    if (sep.kind !== 'punct' || sep.text !== ',') {
      throw new FilterError('fields', `expected \`,\` or the end of fields at position ${sep.pos}, found ${describe(sep)}`, sep.pos);
    }
  }
}

/** Longest single id accepted. */
const MAX_ID = 256;

/**
 * Parses one record id (a path segment or one `ids` entry) by the primary key's
 * declared type: integers for `integer` keys, text as-is for `string` keys. Throws
 * only `FilterError`.
 */
export function parseId(text: string, table: PolicyTable, parameter: 'ids' = 'ids'): Json {
  const pk = table.primaryKey;
  const col = table.columns[pk];
  if (!col) throw new FilterError(parameter, `the table has no primary key column \`${shorten(pk)}\``);
  if (typeof text !== 'string' || text.length === 0) throw new FilterError(parameter, 'an id is empty');
  if (text.length > MAX_ID) throw new FilterError(parameter, `an id is longer than ${MAX_ID} characters`);
  switch (col.type) {
    case 'integer': {
      if (!/^-?\d{1,16}$/.test(text) || !Number.isSafeInteger(Number(text))) {
        throw new FilterError(parameter, `id \`${shorten(text)}\` is not an integer`);
      }
      return Number(text);
    }
    case 'number': {
      const checked = checkWhereValue(pk, col, text);
      if (!checked.ok) throw new FilterError(parameter, `id \`${shorten(text)}\` is not a number`);
      return checked.value;
    }
    case 'string':
      if (text.includes('\u0000')) throw new FilterError(parameter, 'an id may not hold a NUL character');
      return text;
    case 'date': {
      const iso = parseDate(text);
      if (iso === undefined) throw new FilterError(parameter, `id \`${shorten(text)}\` is not an ISO-8601 date`);
      return iso;
    }
    case 'bool':
      if (text === 'true' || text === '1') return true;
      if (text === 'false' || text === '0') return false;
      throw new FilterError(parameter, `id \`${shorten(text)}\` is not true or false`);
    case 'json':
      throw new FilterError(parameter, 'records of this table cannot be addressed by id');
  }
}

/**
 * Parses `ids` (comma-separated, DreamFactory's `ids=1,2,3`) by the primary key's
 * type; at most 1000 ids, duplicates dropped. Throws only `FilterError`.
 */
export function parseIds(text: string, table: PolicyTable): Json[] {
  if (typeof text !== 'string') throw new FilterError('ids', 'ids must be text');
  if (text.length > MAX_LIST * (MAX_ID + 1)) throw new FilterError('ids', `ids holds more than ${MAX_LIST} ids`);
  const parts = text.split(',');
  if (parts.length > MAX_LIST) throw new FilterError('ids', `ids holds more than ${MAX_LIST} ids`);
  const out: Json[] = [];
  for (const part of parts) {
    const id = parseId(part.trim(), table);
    if (!out.includes(id)) out.push(id);
  }
  return out;
}

/** Parses `limit` or `offset`: a non-negative integer (no sign, no fraction). Throws only `FilterError`. */
export function parseCount(text: string, parameter: 'limit' | 'offset'): number {
  if (typeof text !== 'string' || !/^\d{1,15}$/.test(text.trim())) {
    throw new FilterError(parameter, `\`${parameter}\` must be a non-negative integer`);
  }
  return Number(text.trim());
}
