import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { DfcError, ERRORS, errorBody, q } from './errors.js';

const doc = readFileSync(join(import.meta.dirname, '../../../docs/errors.md'), 'utf8');

describe('the error table', () => {
  test('docs/errors.md lists exactly the codes of ERRORS, in order, with their statuses', () => {
    const rows = [...doc.matchAll(/^\| `(DFC_ERR_[A-Z_]+)` \| (\d{3}|—) \|/gm)].map((m) => [m[1], m[2]]);
    expect(rows).toEqual(Object.entries(ERRORS).map(([code, e]) => [code, e.status === null ? '—' : String(e.status)]));
  });
  test('default messages follow the style: lowercase start, no final period, one line', () => {
    for (const [code, e] of Object.entries(ERRORS)) {
      expect(e.message, code).toMatch(/^[a-z`]/);
      expect(e.message, code).not.toMatch(/[.\n]$/);
    }
  });
  test('the body shows detail only with debug on', () => {
    const e = new DfcError('DFC_ERR_INTERNAL', undefined, { detail: 'SQLITE_BUSY at /srv/x.db' });
    expect(JSON.stringify(errorBody(e, 'r1', false))).not.toContain('SQLITE');
    expect(errorBody(e, 'r1', true).error.detail).toContain('SQLITE');
    expect(errorBody(e, 'r1', false)).toEqual({ error: { code: 'DFC_ERR_INTERNAL', status: 500, message: 'internal error', requestId: 'r1' } });
  });
  test('user input in messages is quoted, shortened and stripped of control characters', () => {
    expect(q('a`b\nc')).toBe('`a?b?c`');
    expect(q('x'.repeat(100)).length).toBeLessThanOrEqual(66);
  });
});
