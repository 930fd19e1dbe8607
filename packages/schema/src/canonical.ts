import { createHash } from 'node:crypto';

/**
 * Canonical JSON: keys sorted by code unit, no whitespace, `undefined` members dropped,
 * U+2028/U+2029 escaped. Two equal values always give the same text, whatever order
 * their keys were written in; that is what makes policy.json byte-identical.
 */
export function canonicalJson(value: unknown): string {
  return escapeSeparators(stringify(value, 0));
}

/** Canonical JSON, indented by two spaces (the on-disk form of policy.json). */
export function prettyCanonicalJson(value: unknown): string {
  return escapeSeparators(stringify(value, 2));
}

const escapeSeparators = (text: string) => text.replace(/[\u2028\u2029]/g, (c) => (c === '\u2028' ? '\\u2028' : '\\u2029'));

/**
 * The value with its keys in code-unit order, printed by `JSON.stringify` (several
 * times faster than printing it here). An object enumerates integer-like keys first
 * in numeric order, whatever order they were added in, so values with such keys, and
 * sparse arrays, are printed by `walk` instead.
 */
function stringify(value: unknown, indent: number): string {
  let copy: unknown;
  try {
    copy = sortedCopy(value);
  } catch (error) {
    if (error !== UNORDERED) throw error;
    return walk(value, indent, 0) ?? 'null';
  }
  return JSON.stringify(copy, null, indent) ?? 'null';
}

const UNORDERED = Symbol('unordered');
const ARRAY_INDEX = /^(?:0|[1-9][0-9]*)$/;

function refuse(v: unknown): never {
  if (typeof v === 'number') throw new TypeError('canonical JSON cannot hold a non-finite number');
  throw new TypeError(`canonical JSON cannot hold a ${typeof v}`);
}

function sortedCopy(v: unknown): unknown {
  switch (typeof v) {
    case 'string':
    case 'boolean':
    case 'undefined':
      return v;
    case 'number':
      return Number.isFinite(v) ? v : refuse(v);
    case 'object': {
      if (v === null) return null;
      if (Array.isArray(v)) {
        const out: unknown[] = new Array(v.length);
        for (let i = 0; i < v.length; i++) {
          if (!(i in v)) throw UNORDERED;
          out[i] = sortedCopy(v[i]);
        }
        return out;
      }
      // A plain object, not a null-prototype one: V8 keeps those in dictionary mode,
      // slower to fill and to print. An own `__proto__` key is defined, not assigned
      // (which would set the prototype), so it stays a key.
      const out: Record<string, unknown> = {};
      for (const k of Object.keys(v).sort()) {
        if (ARRAY_INDEX.test(k)) throw UNORDERED;
        const value = sortedCopy((v as Record<string, unknown>)[k]);
        if (k === '__proto__') Object.defineProperty(out, k, { value, enumerable: true, writable: true, configurable: true });
        else out[k] = value;
      }
      return out;
    }
    default:
      return refuse(v);
  }
}

function walk(v: unknown, indent: number, depth: number): string | undefined {
  const pad = (d: number) => (indent ? '\n' + ' '.repeat(indent * d) : '');
  if (v === null) return 'null';
  switch (typeof v) {
    case 'string':
      return JSON.stringify(v);
    case 'boolean':
      return v ? 'true' : 'false';
    case 'number':
      return Number.isFinite(v) ? JSON.stringify(v) : refuse(v);
    case 'undefined':
      return undefined;
    case 'object': {
      if (Array.isArray(v)) {
        if (v.length === 0) return '[]';
        const items = v.map((x) => walk(x, indent, depth + 1) ?? 'null');
        return '[' + items.map((x) => pad(depth + 1) + x).join(',') + pad(depth) + ']';
      }
      const keys = Object.keys(v as object).sort();
      const parts: string[] = [];
      for (const k of keys) {
        const s = walk((v as Record<string, unknown>)[k], indent, depth + 1);
        if (s !== undefined) parts.push(pad(depth + 1) + JSON.stringify(k) + (indent ? ': ' : ':') + s);
      }
      return parts.length === 0 ? '{}' : '{' + parts.join(',') + pad(depth) + '}';
    }
    default:
      return refuse(v);
  }
}

/** `sha256:<hex>` of a policy's canonical JSON, with its own `hash` field left out. */
export function policyHash(policy: object): string {
  const { hash: _ignored, ...rest } = policy as Record<string, unknown>;
  return sha256Text(canonicalJson(rest));
}

/**
 * A policy's hash (what {@link policyHash} gives) and its policy.json text (what
 * {@link prettyCanonicalJson} gives for the policy with that hash), printed from one
 * sorted copy: a build needs both, and making the copy costs more than printing it.
 */
export function hashedPolicyJson(policy: object): { hash: string; text: string } {
  const { hash: _ignored, ...rest } = policy as Record<string, unknown>;
  let copy: Record<string, unknown>;
  try {
    copy = sortedCopy(rest) as Record<string, unknown>;
  } catch (error) {
    if (error !== UNORDERED) throw error;
    const hash = sha256Text(canonicalJson(rest));
    return { hash, text: prettyCanonicalJson({ ...rest, hash }) };
  }
  const hash = sha256Text(escapeSeparators(JSON.stringify(copy)));
  // The copy's keys are in order: `hash` goes in before the first one after it.
  const withHash: Record<string, unknown> = {};
  let placed = false;
  for (const k of Object.keys(copy)) {
    if (!placed && k > 'hash') {
      withHash.hash = hash;
      placed = true;
    }
    if (k === '__proto__') Object.defineProperty(withHash, k, { value: copy[k], enumerable: true, writable: true, configurable: true });
    else withHash[k] = copy[k];
  }
  if (!placed) withHash.hash = hash;
  return { hash, text: escapeSeparators(JSON.stringify(withHash, null, 2)) };
}

const sha256Text = (canonical: string) => 'sha256:' + sha256Hex(canonical);

/**
 * `JSON.stringify(value)` when that text tells `value` apart from every other value:
 * strings, booleans, finite numbers but `-0`, null, and arrays (without holes) and
 * plain objects of them, no deeper than `maxDepth`; undefined otherwise (`undefined`,
 * functions, `NaN`, `-0`, class instances…, which JSON drops or changes). A key for
 * caching work done on plain data. Key order is part of the text.
 */
export function exactJson(value: unknown, maxDepth = 256): string | undefined {
  return isExactJson(value, maxDepth) ? JSON.stringify(value) : undefined;
}

/**
 * Whether a JSON round trip copies `value` exactly (what {@link exactJson} checks), with
 * `refuse` naming objects the caller wants treated as not plain (say, a `code` rule).
 */
export function isExactJson(value: unknown, depth = 256, refuse?: (object: object) => boolean): boolean {
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return true;
    case 'number':
      return Number.isFinite(value) && !Object.is(value, -0);
    case 'object': {
      if (value === null) return true;
      if (depth <= 0) return false;
      if (Array.isArray(value)) {
        for (let i = 0; i < value.length; i++) if (!(i in value) || !isExactJson(value[i], depth - 1, refuse)) return false;
        return true;
      }
      const proto = Object.getPrototypeOf(value);
      if ((proto !== Object.prototype && proto !== null) || refuse?.(value) === true) return false;
      for (const k in value) if (Object.hasOwn(value, k) && !isExactJson((value as Record<string, unknown>)[k], depth - 1, refuse)) return false;
      return true;
    }
    default:
      return false;
  }
}

export function sha256Hex(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}
