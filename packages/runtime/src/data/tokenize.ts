import { FilterError, type FilterParameter } from './errors.js';
import { hasLoneSurrogate, shorten } from './text.js';

/**
 * The tokenizer shared by `filter`, `order` and `fields`: one pass over the text,
 * character by character, no regex over the whole input. Positions are 1-based.
 */

export type Token =
  | { kind: 'word'; text: string; lower: string; pos: number }
  /** A column written in backticks, for names that are also keywords. */
  | { kind: 'quoted'; text: string; pos: number }
  | { kind: 'string'; value: string; pos: number; raw: string }
  | { kind: 'number'; value: number; pos: number; raw: string }
  | { kind: 'lookup'; name: string; pos: number }
  | { kind: 'punct'; text: Punct; pos: number }
  | { kind: 'end'; pos: number };

export type Punct = '(' | ')' | ',' | '=' | '!=' | '<>' | '<' | '<=' | '>' | '>=' | '&&' | '||' | '*';

/** Longest filter text accepted (checklist I1). */
export const MAX_TEXT = 4096;
const MAX_LOOKUP = 128;

function isWordStart(c: number): boolean {
  return (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c === 95;
}
function isWordChar(c: number): boolean {
  return isWordStart(c) || isDigit(c);
}
function isDigit(c: number): boolean {
  return c >= 48 && c <= 57;
}
function isSpace(c: number): boolean {
  return c === 32 || c === 9 || c === 10 || c === 13;
}

function describeChar(text: string, i: number): string {
  const cp = text.codePointAt(i)!;
  return shorten(String.fromCodePoint(cp));
}

export function tokenize(text: string, parameter: FilterParameter): Token[] {
  if (text.length > MAX_TEXT) {
    throw new FilterError(parameter, `${parameter} is too long (${text.length} characters, the limit is ${MAX_TEXT})`);
  }
  if (hasLoneSurrogate(text)) {
    throw new FilterError(parameter, `${parameter} is not valid unicode text`);
  }
  const tokens: Token[] = [];
  let i = 0;
  const n = text.length;
  while (i < n) {
    const c = text.charCodeAt(i);
    const pos = i + 1;
    if (isSpace(c)) {
      i++;
      continue;
    }
    if (isWordStart(c)) {
      let j = i + 1;
      while (j < n && isWordChar(text.charCodeAt(j))) j++;
      const word = text.slice(i, j);
      tokens.push({ kind: 'word', text: word, lower: word.toLowerCase(), pos });
      i = j;
      continue;
    }
    if (isDigit(c) || (c === 45 /* - */ && i + 1 < n && isDigit(text.charCodeAt(i + 1)))) {
      i = readNumber(text, i, tokens, parameter);
      continue;
    }
    switch (c) {
      case 39: // '
      case 34: // "
        i = readString(text, i, tokens, parameter);
        continue;
      case 96: {
        // `
        const end = text.indexOf('`', i + 1);
        if (end < 0) throw new FilterError(parameter, `unterminated quoted name starting at position ${pos}`, pos);
        tokens.push({ kind: 'quoted', text: text.slice(i + 1, end), pos });
        i = end + 1;
        continue;
      }
      case 123: {
        // {
        const end = text.indexOf('}', i + 1);
        const name = end < 0 ? '' : text.slice(i + 1, end);
        if (end < 0 || name.length > MAX_LOOKUP || !isLookupName(name)) {
          throw new FilterError(
            parameter,
            `invalid lookup at position ${pos}`,
            pos,
            'a lookup is a dotted name in braces, such as `{user.id}`',
          );
        }
        tokens.push({ kind: 'lookup', name, pos });
        i = end + 1;
        continue;
      }
      case 40:
      case 41:
      case 44:
      case 61:
      case 42:
        tokens.push({ kind: 'punct', text: text[i] as Punct, pos });
        i++;
        // `==` reads as `=`.
        if (c === 61 && text.charCodeAt(i) === 61) i++;
        continue;
      case 33: // !
        if (text.charCodeAt(i + 1) === 61) {
          tokens.push({ kind: 'punct', text: '!=', pos });
          i += 2;
          continue;
        }
        break;
      case 60: // <
        if (text.charCodeAt(i + 1) === 61) tokens.push({ kind: 'punct', text: '<=', pos });
        else if (text.charCodeAt(i + 1) === 62) tokens.push({ kind: 'punct', text: '<>', pos });
        else {
          tokens.push({ kind: 'punct', text: '<', pos });
          i++;
          continue;
        }
        i += 2;
        continue;
      case 62: // >
        if (text.charCodeAt(i + 1) === 61) {
          tokens.push({ kind: 'punct', text: '>=', pos });
          i += 2;
        } else {
          tokens.push({ kind: 'punct', text: '>', pos });
          i++;
        }
        continue;
      case 38: // &
        if (text.charCodeAt(i + 1) === 38) {
          tokens.push({ kind: 'punct', text: '&&', pos });
          i += 2;
          continue;
        }
        break;
      case 124: // |
        if (text.charCodeAt(i + 1) === 124) {
          tokens.push({ kind: 'punct', text: '||', pos });
          i += 2;
          continue;
        }
        break;
    }
    throw new FilterError(parameter, `unexpected character \`${describeChar(text, i)}\` at position ${pos}`, pos);
  }
  tokens.push({ kind: 'end', pos: n + 1 });
  return tokens;
}

/** `word(.word)*` where a word is letters, digits, `_` or `-`, starting with a letter or `_`. */
function isLookupName(name: string): boolean {
  if (name.length === 0) return false;
  let segmentStart = true;
  for (let k = 0; k < name.length; k++) {
    const c = name.charCodeAt(k);
    if (c === 46) {
      if (segmentStart) return false;
      segmentStart = true;
      continue;
    }
    if (segmentStart ? !isWordStart(c) && !(k > 0 && isDigit(c)) : !isWordChar(c) && c !== 45) return false;
    segmentStart = false;
  }
  return !segmentStart;
}

function readNumber(text: string, start: number, tokens: Token[], parameter: FilterParameter): number {
  const n = text.length;
  let j = start;
  if (text.charCodeAt(j) === 45) j++;
  while (j < n && isDigit(text.charCodeAt(j))) j++;
  if (text.charCodeAt(j) === 46 && isDigit(text.charCodeAt(j + 1))) {
    j++;
    while (j < n && isDigit(text.charCodeAt(j))) j++;
  }
  const e = text.charCodeAt(j);
  if (e === 101 || e === 69) {
    let k = j + 1;
    const sign = text.charCodeAt(k);
    if (sign === 43 || sign === 45) k++;
    if (isDigit(text.charCodeAt(k))) {
      while (k < n && isDigit(text.charCodeAt(k))) k++;
      j = k;
    }
  }
  const raw = text.slice(start, j);
  const pos = start + 1;
  if (j < n && (isWordChar(text.charCodeAt(j)) || text.charCodeAt(j) === 46)) {
    throw new FilterError(parameter, `invalid number \`${shorten(text.slice(start, j + 1))}\` at position ${pos}`, pos);
  }
  const value = Number(raw);
  const integral = !/[.eE]/.test(raw);
  if (!Number.isFinite(value) || (integral && !Number.isSafeInteger(value))) {
    throw new FilterError(parameter, `number \`${shorten(raw)}\` at position ${pos} is out of range`, pos);
  }
  tokens.push({ kind: 'number', value: Object.is(value, -0) ? 0 : value, pos, raw });
  return j;
}

function readString(text: string, start: number, tokens: Token[], parameter: FilterParameter): number {
  const quote = text.charCodeAt(start);
  const n = text.length;
  const pos = start + 1;
  let out = '';
  let j = start + 1;
  while (true) {
    if (j >= n) throw new FilterError(parameter, `unterminated string starting at position ${pos}`, pos);
    const c = text.charCodeAt(j);
    if (c === quote) {
      // SQL style: a doubled quote stands for one.
      if (text.charCodeAt(j + 1) === quote) {
        out += text[j];
        j += 2;
        continue;
      }
      j++;
      break;
    }
    if (c === 0) {
      throw new FilterError(parameter, `a string may not hold a NUL character (at position ${j + 1})`, j + 1);
    }
    if (c === 92 /* \ */ && j + 1 < n) {
      const d = text[j + 1]!;
      switch (d) {
        case '\\':
        case "'":
        case '"':
          out += d;
          j += 2;
          continue;
        case 'n':
          out += '\n';
          j += 2;
          continue;
        case 'r':
          out += '\r';
          j += 2;
          continue;
        case 't':
          out += '\t';
          j += 2;
          continue;
        case 'u': {
          const hex = text.slice(j + 2, j + 6);
          if (hex.length === 4 && /^[0-9A-Fa-f]{4}$/.test(hex)) {
            const code = parseInt(hex, 16);
            if (code === 0) {
              throw new FilterError(parameter, `a string may not hold a NUL character (at position ${j + 1})`, j + 1);
            }
            out += String.fromCharCode(code);
            j += 6;
            continue;
          }
          throw new FilterError(parameter, `invalid \`\\u\` escape at position ${j + 1}`, j + 1, 'write four hex digits, such as `\\u00e9`');
        }
        default:
          // Any other backslash is kept as written, so LIKE escapes (`\%`, `\_`) pass through.
          out += '\\' + d;
          j += 2;
          continue;
      }
    }
    out += text[j];
    j++;
  }
  if (hasLoneSurrogate(out)) {
    throw new FilterError(parameter, `the string at position ${pos} is not valid unicode text`, pos);
  }
  tokens.push({ kind: 'string', value: out, pos, raw: text.slice(start, j) });
  return j;
}
