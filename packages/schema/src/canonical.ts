import { createHash } from 'node:crypto';

/**
 * Canonical JSON: keys sorted by code unit, no whitespace, `undefined` members dropped,
 * U+2028/U+2029 escaped. Two equal values always give the same text, whatever order
 * their keys were written in; that is what makes policy.json byte-identical.
 */
export function canonicalJson(value: unknown): string {
  return stringify(value, 0).replace(/[\u2028\u2029]/g, (c) => (c === '\u2028' ? '\\u2028' : '\\u2029'));
}

/** Canonical JSON, indented by two spaces (the on-disk form of policy.json). */
export function prettyCanonicalJson(value: unknown): string {
  return stringify(value, 2).replace(/[\u2028\u2029]/g, (c) => (c === '\u2028' ? '\\u2028' : '\\u2029'));
}

function stringify(value: unknown, indent: number): string {
  const pad = (depth: number) => (indent ? '\n' + ' '.repeat(indent * depth) : '');
  const walk = (v: unknown, depth: number): string | undefined => {
    if (v === null) return 'null';
    switch (typeof v) {
      case 'string':
        return JSON.stringify(v);
      case 'boolean':
        return v ? 'true' : 'false';
      case 'number':
        if (!Number.isFinite(v)) throw new TypeError('canonical JSON cannot hold a non-finite number');
        return JSON.stringify(v);
      case 'undefined':
        return undefined;
      case 'object': {
        if (Array.isArray(v)) {
          if (v.length === 0) return '[]';
          const items = v.map((x) => walk(x, depth + 1) ?? 'null');
          return '[' + items.map((x) => pad(depth + 1) + x).join(',') + pad(depth) + ']';
        }
        const keys = Object.keys(v as object).sort();
        const parts: string[] = [];
        for (const k of keys) {
          const s = walk((v as Record<string, unknown>)[k], depth + 1);
          if (s !== undefined) parts.push(pad(depth + 1) + JSON.stringify(k) + (indent ? ': ' : ':') + s);
        }
        return parts.length === 0 ? '{}' : '{' + parts.join(',') + pad(depth) + '}';
      }
      default:
        throw new TypeError(`canonical JSON cannot hold a ${typeof v}`);
    }
  };
  return walk(value, 0) ?? 'null';
}

/** `sha256:<hex>` of a policy's canonical JSON, with its own `hash` field left out. */
export function policyHash(policy: object): string {
  const { hash: _ignored, ...rest } = policy as Record<string, unknown>;
  return 'sha256:' + createHash('sha256').update(canonicalJson(rest)).digest('hex');
}

export function sha256Hex(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}
