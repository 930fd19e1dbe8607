import { describe, expect, test } from 'vitest';
import type { PolicyCors } from '@dfc/schema';
import { actualHeaders, compileCors, normalizeOrigin, preflight } from './cors.js';

const entry = (e: Partial<PolicyCors>): PolicyCors => ({
  path: '/api/v2/blog/*',
  origins: ['https://app.example.com'],
  methods: ['GET', 'POST'],
  headers: ['Content-Type', 'Authorization', 'X-Api-Key'],
  exposedHeaders: ['X-Request-Id'],
  maxAge: 600,
  supportsCredentials: true,
  enabled: true,
  ...e,
});

const cors = compileCors([
  entry({}),
  entry({ path: '/api/v2/blog/_doc', origins: ['https://docs.example.com'], methods: ['GET'], supportsCredentials: false }),
  entry({ path: '/api/v2/*', origins: ['https://staging.example.com'], enabled: false }),
  entry({ path: '/api/v2/shop/*', origins: ['*'], supportsCredentials: false, exposedHeaders: [] }),
  entry({ path: '/api/v2/wild/*', origins: ['https://*.example.com'] }),
]);

describe('entry selection', () => {
  test('the longest matching path wins; disabled entries and unmatched paths give nothing', () => {
    expect(cors.match('/api/v2/blog/_table/posts')?.entry.path).toBe('/api/v2/blog/*');
    expect(cors.match('/api/v2/blog/_doc')?.entry.path).toBe('/api/v2/blog/_doc');
    expect(cors.match('/api/v2/other/_table/x')).toBeUndefined();
    expect(actualHeaders(cors.match('/api/v2/other/x'), 'https://app.example.com')).toEqual({});
  });
});

describe('actual requests', () => {
  const c = cors.match('/api/v2/blog/_table/posts');
  test('an allowed origin is echoed exactly, with credentials, exposed headers and Vary', () => {
    expect(actualHeaders(c, 'https://app.example.com')).toEqual({
      vary: 'Origin',
      'access-control-allow-origin': 'https://app.example.com',
      'access-control-allow-credentials': 'true',
      'access-control-expose-headers': 'X-Request-Id',
    });
  });
  test('origins that only look like the allowed one get Vary and nothing else', () => {
    const bad = [
      'https://evil.example',
      'null',
      'https://app.example.com.evil.net',
      'https://evilapp.example.com',
      'https://evil-app.example.com',
      'http://app.example.com',
      'https://app.example.com:8443',
      'https://app.example.com.',
      'https://app.example.com/',
      'https://аpp.example.com',
      '*',
      '',
      'https://a.com, https://app.example.com',
      'https://' + 'a'.repeat(10_000) + '.com',
      'file://',
      'chrome-extension://x',
      'https://user@app.example.com',
    ];
    for (const o of bad) expect(actualHeaders(c, o), o).toEqual({ vary: 'Origin' });
  });
  test('host case and an explicit default port are normalised', () => {
    expect(normalizeOrigin('https://APP.example.com')).toBe('https://app.example.com');
    expect(normalizeOrigin('https://app.example.com:443')).toBe('https://app.example.com');
    expect(actualHeaders(c, 'https://APP.EXAMPLE.COM')['access-control-allow-origin']).toBe('https://APP.EXAMPLE.COM');
  });
  test('`*` without credentials answers `*`; it is never sent with credentials', () => {
    expect(actualHeaders(cors.match('/api/v2/shop/x'), 'https://any.example')).toEqual({ vary: 'Origin', 'access-control-allow-origin': '*' });
    const risky = compileCors([entry({ path: '*', origins: ['*'], supportsCredentials: true })]).match('/x');
    const h = actualHeaders(risky, 'https://any.example');
    expect(h['access-control-allow-origin']).toBe('https://any.example');
    expect(h['access-control-allow-origin'] === '*' && h['access-control-allow-credentials']).toBeFalsy();
  });
  test('a leftmost `*.` label matches subdomains only, label-wise', () => {
    const w = cors.match('/api/v2/wild/x');
    expect(actualHeaders(w, 'https://a.example.com')['access-control-allow-origin']).toBe('https://a.example.com');
    expect(actualHeaders(w, 'https://a.b.example.com')['access-control-allow-origin']).toBe('https://a.b.example.com');
    for (const o of ['https://example.com', 'https://evilexample.com', 'https://example.com.evil.net', 'http://a.example.com']) {
      expect(actualHeaders(w, o)['access-control-allow-origin'], o).toBeUndefined();
    }
  });
});

describe('preflight', () => {
  const c = cors.match('/api/v2/blog/_table/posts');
  test('an allowed origin and method get 204 with the configured (not reflected) headers', () => {
    const a = preflight(c, 'https://app.example.com', 'POST');
    expect(a.status).toBe(204);
    expect(a.headers).toEqual({
      vary: 'Origin, Access-Control-Request-Method, Access-Control-Request-Headers',
      'access-control-allow-origin': 'https://app.example.com',
      'access-control-allow-credentials': 'true',
      'access-control-allow-methods': 'GET, POST',
      'access-control-allow-headers': 'Content-Type, Authorization, X-Api-Key',
      'access-control-max-age': '600',
    });
  });
  test('a method the entry does not list is 405; a disallowed origin is 403 without allow headers', () => {
    expect(preflight(c, 'https://app.example.com', 'DELETE').status).toBe(405);
    const evil = preflight(c, 'https://evil.example', 'GET');
    expect(evil.status).toBe(403);
    expect(Object.keys(evil.headers)).toEqual(['vary']);
    expect(preflight(undefined, 'https://app.example.com', 'GET')).toEqual({ status: 405, headers: {} });
  });
});
