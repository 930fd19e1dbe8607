import type { Json, Where } from '@dfc/schema';

/**
 * Prints a `Where` as filter text that `parseFilter` reads back to the same
 * condition (up to single-item and/or groups, which print without a group). Used for
 * logs, explanations and the round-trip tests.
 */
export function printFilter(where: Where): string {
  return print(where, false);
}

// Words that would be read as something other than a column where a condition starts.
const RESERVED = new Set(['not', 'true', 'false']);
const WORD = /^[A-Za-z_][A-Za-z0-9_]*$/;

function column(name: string): string {
  return WORD.test(name) && !RESERVED.has(name.toLowerCase()) ? name : '`' + name + '`';
}

/** A string literal in single quotes; backslash escapes for quotes, backslashes and control characters. */
export function quote(value: string): string {
  let out = "'";
  for (const ch of value) {
    switch (ch) {
      case '\\':
        out += '\\\\';
        break;
      case "'":
        out += "\\'";
        break;
      case '\n':
        out += '\\n';
        break;
      case '\r':
        out += '\\r';
        break;
      case '\t':
        out += '\\t';
        break;
      default: {
        const c = ch.codePointAt(0)!;
        out += c < 0x20 || c === 0x7f ? '\\u' + c.toString(16).padStart(4, '0') : ch;
      }
    }
  }
  return out + "'";
}

function value(v: Json): string {
  if (v === null) return 'null';
  if (typeof v === 'string') return quote(v);
  if (typeof v === 'number') return Object.is(v, -0) ? '0' : String(v);
  if (typeof v === 'boolean') return v ? 'true' : 'false';
  // Arrays and objects have no literal form; a quoted JSON text is the closest honest print.
  return quote(JSON.stringify(v));
}

function print(w: Where, nested: boolean): string {
  switch (w.kind) {
    case 'const':
      return w.value ? 'true' : 'false';
    case 'and':
    case 'or': {
      if (w.items.length === 0) return w.kind === 'and' ? 'true' : 'false';
      if (w.items.length === 1) return print(w.items[0]!, nested);
      const text = w.items.map((x) => print(x, true)).join(` ${w.kind} `);
      return nested ? `(${text})` : text;
    }
    case 'not':
      return `not (${print(w.item, false)})`;
    case 'cmp':
      return `${column(w.column)} ${w.op} ${value(w.value)}`;
    case 'in':
      return `${column(w.column)} ${w.negated ? 'not in' : 'in'} (${w.values.map(value).join(', ')})`;
    case 'like':
      return `${column(w.column)} ${w.negated ? 'not like' : 'like'} ${quote(w.pattern)}`;
    case 'null':
      return `${column(w.column)} is ${w.negated ? 'not null' : 'null'}`;
  }
}
