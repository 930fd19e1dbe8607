import { DfcError } from './errors.js';

/**
 * Request bodies: JSON only, parsed with `JSON.parse` and then checked iteratively (no
 * recursion, so a 10,000-level body cannot overflow the stack): nesting depth capped,
 * `__proto__` keys and `constructor.prototype` refused.
 */

export const DEFAULT_JSON_DEPTH = 32;

export function parseJsonBody(text: string, maxDepth = DEFAULT_JSON_DEPTH): unknown {
  if (text.length === 0) throw new DfcError('DFC_ERR_INVALID_JSON', 'the request body is empty');
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new DfcError('DFC_ERR_INVALID_JSON');
  }
  checkJson(value, maxDepth);
  return value;
}

export function checkJson(value: unknown, maxDepth: number): void {
  const stack: { v: unknown; d: number }[] = [{ v: value, d: 0 }];
  while (stack.length > 0) {
    const { v, d } = stack.pop()!;
    if (v === null || typeof v !== 'object') continue;
    if (d >= maxDepth) {
      throw new DfcError('DFC_ERR_JSON_TOO_DEEP', `the request body is nested more than ${maxDepth} levels deep`);
    }
    if (Array.isArray(v)) {
      for (const item of v) stack.push({ v: item, d: d + 1 });
      continue;
    }
    for (const key of Object.keys(v)) {
      const child = (v as Record<string, unknown>)[key];
      if (key === '__proto__' || (key === 'constructor' && child !== null && typeof child === 'object' && Object.hasOwn(child, 'prototype'))) {
        throw new DfcError('DFC_ERR_FORBIDDEN_KEY', `the request body holds the key \`${key}\``);
      }
      stack.push({ v: child, d: d + 1 });
    }
  }
}

/** `application/json`, any case, with optional parameters; nothing else. */
export function isJsonMediaType(contentType: string | undefined): boolean {
  if (contentType === undefined) return false;
  const base = contentType.split(';', 1)[0]!.trim().toLowerCase();
  return base === 'application/json';
}
