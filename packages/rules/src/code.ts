/**
 * A small code-building kit for the rule generator, in the manner of ajv's codegen:
 * trusted source and data are two types. Only `Code` (and its subclass `Name`) is
 * spliced into generated source as is; every other value that reaches the `_`
 * template is turned into a literal by `lit`, which accepts plain data only and
 * quotes strings with JSON (U+2028/U+2029 escaped, since they end a line in JS).
 *
 * invariant: no user text reaches generated source except through `lit`.
 */

const TOKEN = Symbol('dfc.code');

export class Code {
  readonly #src: string;
  constructor(token: symbol, src: string) {
    // Only this module can mint Code: anything else must go through `lit` or `_`.
    if (token !== TOKEN) throw new TypeError('Code can only be built by the code module');
    this.#src = src;
  }
  toString(): string {
    return this.#src;
  }
  get isEmpty(): boolean {
    return this.#src === '';
  }
}

/** An identifier; minted by `Scope` from fixed prefixes and a counter, never from user names. */
export class Name extends Code {
  constructor(token: symbol, src: string) {
    if (!IDENTIFIER.test(src) || RESERVED.has(src)) throw new TypeError(`invalid generated identifier ${JSON.stringify(src)}`);
    super(token, src);
  }
}

export const IDENTIFIER = /^[A-Za-z_$][A-Za-z0-9_$]*$/;
const RESERVED = new Set([
  'break', 'case', 'catch', 'class', 'const', 'continue', 'debugger', 'default', 'delete', 'do', 'else', 'enum',
  'export', 'extends', 'false', 'finally', 'for', 'function', 'if', 'import', 'in', 'instanceof', 'new', 'null',
  'return', 'super', 'switch', 'this', 'throw', 'true', 'try', 'typeof', 'var', 'void', 'while', 'with', 'yield',
  'let', 'static', 'implements', 'interface', 'package', 'private', 'protected', 'public', 'await', 'async',
  'eval', 'arguments', 'Function', 'globalThis', 'process', 'require', 'constructor', 'prototype', '__proto__',
]);

/** Mint a Name (for the scope and for the fixed parameter names of generated functions). */
export function name(src: string): Name {
  return new Name(TOKEN, src);
}

export const nil = new Code(TOKEN, '');

function raw(src: string): Code {
  return new Code(TOKEN, src);
}

/** JSON-quote a string so that it is a safe JS string literal anywhere in a script or module. */
export function quote(s: string): string {
  if (typeof s !== 'string') throw new TypeError('quote expects a string');
  return JSON.stringify(s).replace(/\u2028/g, '\\u2028').replace(/\u2029/g, '\\u2029');
}

/**
 * A literal for a primitive: strings are JSON-quoted, numbers must be finite (`-0`
 * keeps its sign), booleans and null as themselves. Objects and arrays are not
 * literals: hoist them with `Scope.json`. Anything else is refused, because
 * `JSON.stringify` would silently change its meaning (NaN → null, undefined → nothing).
 */
export function lit(value: unknown): Code {
  if (value instanceof Code) return value;
  switch (typeof value) {
    case 'string':
      return new Code(TOKEN, quote(value));
    case 'number':
      if (!Number.isFinite(value)) throw new TypeError(`cannot emit the non-finite number ${String(value)}`);
      if (Object.is(value, -0)) return new Code(TOKEN, '(-0)');
      return new Code(TOKEN, value < 0 ? `(${String(value)})` : String(value));
    case 'boolean':
      return new Code(TOKEN, value ? 'true' : 'false');
    case 'object':
      if (value === null) return new Code(TOKEN, 'null');
      throw new TypeError('objects and arrays are not literals; hoist them as constants');
    default:
      throw new TypeError(`cannot emit a value of type ${typeof value}`);
  }
}

/** The tagged template: `Code` is spliced as is, everything else through `lit`. */
export function _(strings: TemplateStringsArray, ...values: unknown[]): Code {
  let out = strings[0]!;
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    out += (v instanceof Code ? v : lit(v)).toString();
    out += strings[i + 1]!;
  }
  return new Code(TOKEN, out);
}

/** Join code fragments with a separator (itself code). */
export function join(parts: readonly Code[], sep: Code = raw(', ')): Code {
  for (const p of parts) if (!(p instanceof Code)) throw new TypeError('join expects Code');
  if (!(sep instanceof Code)) throw new TypeError('join expects a Code separator');
  return new Code(TOKEN, parts.map(String).join(sep.toString()));
}

/**
 * JSON text for a plain data value, preserving `-0` (which `JSON.stringify` writes as
 * `0`) and key order. Refuses non-finite numbers, functions, undefined and cycles.
 */
export function jsonText(value: unknown, seen: Set<object> = new Set()): string {
  switch (typeof value) {
    case 'string':
      return JSON.stringify(value);
    case 'number':
      if (!Number.isFinite(value)) throw new TypeError(`cannot emit the non-finite number ${String(value)}`);
      return Object.is(value, -0) ? '-0' : JSON.stringify(value);
    case 'boolean':
      return value ? 'true' : 'false';
    case 'object': {
      if (value === null) return 'null';
      if (seen.has(value)) throw new TypeError('cannot emit a cyclic value');
      seen.add(value);
      let out: string;
      if (Array.isArray(value)) {
        out = '[' + value.map((v) => jsonText(v, seen)).join(',') + ']';
      } else {
        const proto = Object.getPrototypeOf(value);
        if (proto !== Object.prototype && proto !== null) throw new TypeError('only plain objects can be emitted');
        out = '{' + Object.keys(value).map((k) => JSON.stringify(k) + ':' + jsonText((value as Record<string, unknown>)[k], seen)).join(',') + '}';
      }
      seen.delete(value);
      return out;
    }
    default:
      throw new TypeError(`cannot emit a value of type ${typeof value}`);
  }
}
