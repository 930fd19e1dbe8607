import { NAME_PATTERN } from '@dfc/schema';

/**
 * JSON text of a page of rows whose columns are known before the rows are read: a
 * function compiled once per column list writes each row's fields in that order, which
 * costs a fraction of `JSON.stringify` walking each row's keys. It gives up (returns
 * undefined, and the caller stringifies as before) on anything it does not write the way
 * `JSON.stringify` would: a row that is not an object, a field that is undefined or holds
 * a function, a symbol or a bigint. Rows are expected to hold the columns asked for and
 * no others (what every data source returns); a row with more keys is written with the
 * columns only.
 */

export type RowsJson = (rows: readonly unknown[]) => string | undefined;

/** Characters `JSON.stringify` escapes in a string (any surrogate: a lone one is escaped). */
const ESCAPED = /["\\\u0000-\u001f\ud800-\udfff]/;

/**
 * Whether `JSON.stringify` writes the string as it is between quotes. A short string (most
 * column values) is scanned by a loop: a regular expression's call costs more than the scan.
 */
function plain(v: string): boolean {
  if (v.length > 32) return !ESCAPED.test(v);
  for (let i = 0; i < v.length; i++) {
    const c = v.charCodeAt(i);
    if (c < 0x20 || c === 0x22 || c === 0x5c || (c >= 0xd800 && c <= 0xdfff)) return false;
  }
  return true;
}

/** One field's JSON text, or undefined where `JSON.stringify` would leave the key out or throw. */
function value(v: unknown): string | undefined {
  switch (typeof v) {
    case 'string':
      return plain(v) ? '"' + v + '"' : JSON.stringify(v);
    case 'number':
      return Number.isFinite(v) ? '' + v : 'null';
    case 'boolean':
      return v ? 'true' : 'false';
    case 'object':
      return v === null ? 'null' : JSON.stringify(v);
    default:
      return undefined;
  }
}

const compiled = new WeakMap<readonly string[], RowsJson | null>();

/**
 * The serializer for rows of `columns`; undefined for a list that is not frozen (only
 * lists the runtime keeps are compiled, never one made per request) or that names
 * something other than a plain column name.
 */
export function rowsJson(columns: readonly string[]): RowsJson | undefined {
  if (!Object.isFrozen(columns)) return undefined;
  let f = compiled.get(columns);
  if (f === undefined) compiled.set(columns, (f = compile(columns)));
  return f ?? undefined;
}

function compile(columns: readonly string[]): RowsJson | null {
  if (columns.length === 0 || !columns.every((c) => NAME_PATTERN.test(c) && c !== '__proto__')) return null;
  // Each field's text is added to the page with as few string additions as its value
  // allows (each one is a runtime call): a plain string in one with its key and opening
  // quote, a finite number or a boolean in one with its key; anything else through `value`.
  const fields = columns.map((c, i) => {
    const key = JSON.stringify(c);
    // The text before the value: the row's opening brace (with a comma before every row
    // but the first) or the comma between fields, and the key.
    const lead = (text: string) => (i === 0 ? `(i === 0 ? ${JSON.stringify('{' + text)} : ${JSON.stringify(',{' + text)})` : JSON.stringify(',' + text));
    return `v = r[${key}];
    if (typeof v === "string" && plain(v)) s += ${lead(key + ':"')} + v + '"';
    else if (typeof v === "number" && v - v === 0) s += ${lead(key + ':')} + v;
    else if (typeof v === "boolean") s += ${lead(key + ':')} + (v ? "true" : "false");
    else if ((t = value(v)) === undefined) return undefined;
    else s += ${lead(key + ':')} + t;`;
  });
  const body = `return function rowsJson(rows) {
  let s = "[";
  for (let i = 0; i < rows.length; i++) {
    const r = rows[i];
    if (typeof r !== "object" || r === null) return undefined;
    let v, t;
    ${fields.join('\n    ')}
    s += "}";
  }
  return s + "]";
};`;
  return new Function('value', 'plain', body)(value, plain) as RowsJson;
}
