import { describe, expect, test } from 'vitest';
import { DfcError } from './errors.js';
import { isJsonMediaType, parseJsonBody } from './body.js';

const code = (f: () => unknown) => {
  try {
    f();
    return 'ok';
  } catch (e) {
    expect(e).toBeInstanceOf(DfcError);
    return (e as DfcError).code;
  }
};

describe('parseJsonBody', () => {
  test('depth is capped without recursion, even at a million levels', () => {
    expect(code(() => parseJsonBody('['.repeat(32) + ']'.repeat(32)))).toBe('ok');
    for (const n of [33, 1_000, 10_000, 1_000_000]) {
      expect(code(() => parseJsonBody('['.repeat(n) + ']'.repeat(n))), String(n)).toBe('DFC_ERR_JSON_TOO_DEEP');
      expect(code(() => parseJsonBody('{"a":'.repeat(n) + '1' + '}'.repeat(n))), String(n)).toBe('DFC_ERR_JSON_TOO_DEEP');
    }
  });
  test('prototype keys are refused anywhere in the body', () => {
    for (const t of ['{"__proto__":{}}', '[{"a":{"__proto__":1}}]', '{"constructor":{"prototype":{"x":1}}}']) {
      expect(code(() => parseJsonBody(t)), t).toBe('DFC_ERR_FORBIDDEN_KEY');
    }
    expect(code(() => parseJsonBody('{"constructor":"ok"}'))).toBe('ok');
    expect(({} as Record<string, unknown>).x).toBeUndefined();
  });
  test('malformed JSON is a 400 whose message does not echo the body', () => {
    for (const t of ['{', '{"a":1}x', 'NaN', "{'a':1}", '\ufeff{}']) {
      try {
        parseJsonBody(t);
        expect.unreachable(t);
      } catch (e) {
        expect((e as DfcError).code).toBe('DFC_ERR_INVALID_JSON');
        expect((e as DfcError).message).toBe('the request body is not valid JSON');
      }
    }
  });
});

describe('isJsonMediaType', () => {
  test('only application/json, in any case, with parameters', () => {
    for (const ok of ['application/json', 'APPLICATION/JSON', 'application/json; charset=utf-8', 'application/json\t; charset=utf-8', ' application/json']) {
      expect(isJsonMediaType(ok), ok).toBe(true);
    }
    for (const bad of [undefined, '', 'text/plain', 'application/json-patch+json', 'application/x-www-form-urlencoded', 'multipart/form-data', 'application/jsonx', 'text/json']) {
      expect(isJsonMediaType(bad), String(bad)).toBe(false);
    }
  });
});
