/**
 * Hostile input through HTTP against a listening server (checklist I1–I6, I8, I9), on
 * SQLite, PostgreSQL and MariaDB: JSON nested 10,000 levels and more, oversized bodies,
 * huge arrays and lists, Unicode and percent-encoding tricks in paths (look-alike table
 * names, `%2F` inside a segment, overlong UTF-8, NUL), prototype-pollution keys in bodies,
 * filters, query strings and paths, ReDoS-shaped strings in every parsed place, content
 * types, repeated parameters and malformed JSON. Each answer is a 4xx with a coded,
 * one-line message (or a documented 200 with the literal meaning); the stored rows are
 * unchanged; the process stays up and `Object.prototype` is untouched.
 */
import { SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { DIALECTS } from '../e2e/data-databases.js';
import { BLOG, dump, serve, type Served } from './fixtures/harness.js';
import { httpClient, rawRequest, type Client, type Response } from './fixtures/http.js';
import { clearRefusal } from './fixtures/sqli-suite.js';

const protoKeys = () => Object.getOwnPropertyNames(Object.prototype).sort().join(',');

describe.each(DIALECTS)('hostile input on %s', (dialect) => {
  let s: Served;
  let c: Client;
  let h: Record<string, string>;
  let before: string;
  const protoBefore = protoKeys();
  let requests = 0;
  const send = async (method: string, path: string, body?: unknown, headers: Record<string, string | string[]> = {}) => {
    requests++;
    return c.request(method, path, { headers: { ...h, ...headers }, ...(body !== undefined ? { body } : {}) });
  };
  const refused = async (method: string, path: string, body?: unknown, headers: Record<string, string | string[]> = {}, codes?: RegExp): Promise<Response> => {
    const r = await send(method, path, body, headers);
    const what = `${method} ${path.slice(0, 120)} ${typeof body === 'string' ? body.slice(0, 60) : ''}`;
    clearRefusal(r, what);
    if (codes) expect(r.json().error.code, what).toMatch(codes);
    return r;
  };

  beforeAll(async () => {
    s = await serve({ config: BLOG, dialect });
    c = httpClient(s.url);
    const token = await new SignJWT({ id: 'carol', role: 'admin' })
      .setProtectedHeader({ alg: 'HS256' })
      .setIssuer('https://id.blog.example.com')
      .setAudience('blog')
      .setExpirationTime('1h')
      .sign(new TextEncoder().encode(s.env.BLOG_JWT_SECRET!));
    h = { 'x-api-key': s.env.BLOG_ADMIN_KEY!, authorization: `Bearer ${token}` };
    before = JSON.stringify(await dump(s));
  });
  afterAll(async () => {
    c?.close();
    await s?.close();
  });

  test('deeply nested JSON (33 to 100,000 levels, arrays, objects, mixed) is a 400 on every write', async () => {
    const nests: [string, string][] = [];
    for (const depth of [33, 1000, 10_000, 100_000]) {
      nests.push([`${depth} arrays`, '['.repeat(depth) + ']'.repeat(depth)]);
      nests.push([`${depth} objects`, '{"a":'.repeat(depth) + '1' + '}'.repeat(depth)]);
      nests.push([`${depth * 2} mixed`, '{"a":['.repeat(depth) + '1' + ']}'.repeat(depth)]);
      nests.push([`${depth} inside a record value`, `{"title":${'['.repeat(depth)}${']'.repeat(depth)}}`]);
      nests.push([`${depth} inside resource`, `{"resource":[{"title":${'{"x":'.repeat(depth)}1${'}'.repeat(depth)}}]}`]);
    }
    for (const [name, body] of nests) {
      for (const [method, path] of [
        ['POST', '/api/v2/blog/_table/posts'],
        ['PATCH', '/api/v2/blog/_table/posts/1'],
        ['PUT', '/api/v2/blog/_table/posts?ids=1'],
        ['DELETE', '/api/v2/blog/_table/posts'],
      ] as const) {
        const r = await refused(method, path, body, { 'content-type': 'application/json' });
        expect(r.json().error.code, `${name} ${method}`).toMatch(/^DFC_ERR_(JSON_TOO_DEEP|BODY_TOO_LARGE)$/);
      }
    }
    // filters nest parentheses and `not` up to a cap
    for (const depth of [33, 1000]) {
      await refused('GET', `/api/v2/blog/_table/posts?filter=${encodeURIComponent('('.repeat(depth) + 'id = 1' + ')'.repeat(depth))}`, undefined, {}, /^DFC_ERR_BAD_FILTER$/);
      await refused('GET', `/api/v2/blog/_table/posts?filter=${encodeURIComponent('not '.repeat(depth) + 'id = 1')}`, undefined, {}, /^DFC_ERR_BAD_FILTER$/);
    }
    // deeper than a URL may be long: refused by length (414 by dfc, or 431 by Node past 16 KiB)
    await refused('GET', `/api/v2/blog/_table/posts?filter=${'('.repeat(4500)}id%3D1${')'.repeat(4500)}`, undefined, {}, /^DFC_ERR_URI_TOO_LONG$/);
    const deeper = await send('GET', `/api/v2/blog/_table/posts?filter=${'('.repeat(10_000)}id%3D1${')'.repeat(10_000)}`);
    expect(deeper.status).toBe(431);
  });

  test('oversized bodies are a 413; huge arrays and lists a 400', async () => {
    const big = JSON.stringify({ title: 'x'.repeat(1024 * 1024), body: 'b', isPublic: true, createdAt: '2024-01-01T00:00:00Z' });
    await refused('POST', '/api/v2/blog/_table/posts', big, { 'content-type': 'application/json' }, /^DFC_ERR_BODY_TOO_LARGE$/);
    await refused('POST', '/api/v2/blog/_table/posts', ' '.repeat(3 * 1024 * 1024), { 'content-type': 'application/json' }, /^DFC_ERR_BODY_TOO_LARGE$/);
    const rec = (i: number) => ({ id: 10_000 + i, title: 't', body: 'b', isPublic: true, createdAt: '2024-01-01T00:00:00Z' });
    await refused('POST', '/api/v2/blog/_table/posts', { resource: Array.from({ length: 1001 }, (_, i) => rec(i)) }, {}, /^DFC_ERR_BAD_RECORD$/);
    await refused('POST', '/api/v2/blog/_table/posts', Array.from({ length: 5000 }, (_, i) => rec(i)), {}, /^DFC_ERR_BAD_RECORD$/);
    await refused('POST', '/api/v2/blog/_table/posts', { ...rec(0), title: Array.from({ length: 100_000 }, (_, i) => i) }, {}, /^DFC_ERR_(INVALID_DATA|BAD_RECORD)$/);
    await refused('PATCH', '/api/v2/blog/_table/posts', { resource: Array.from({ length: 20_000 }, (_, i) => ({ id: i })) }, {}, /^DFC_ERR_BAD_RECORD$/);
    await refused('GET', `/api/v2/blog/_table/posts?ids=${Array.from({ length: 1001 }, (_, i) => i).join(',')}`, undefined, {}, /^DFC_ERR_BAD_PARAMETER$/);
    await refused('GET', `/api/v2/blog/_table/posts?filter=${encodeURIComponent(`id in (${Array.from({ length: 1001 }, (_, i) => i).join(',')})`)}`, undefined, {}, /^DFC_ERR_BAD_FILTER$/);
    await refused('GET', `/api/v2/blog/_table/posts?filter=${encodeURIComponent(Array.from({ length: 101 }, (_, i) => `id = ${i}`).join(' or '))}`, undefined, {}, /^DFC_ERR_BAD_FILTER$/);
    await refused('GET', `/api/v2/blog/_table/posts?x=${'y'.repeat(9000)}`, undefined, {}, /^DFC_ERR_URI_TOO_LONG$/);
    // more query parameters than anyone needs
    const many = Array.from({ length: 1500 }, (_, i) => `p${i}=1`).join('&');
    const r = await send('GET', `/api/v2/blog/_table/posts?${many}`);
    expect(r.status).toBeLessThan(500);
    // a header beyond Node's 16 KiB limit
    const huge = await send('GET', '/api/v2/blog/_table/posts', undefined, { 'x-padding': 'p'.repeat(20_000) });
    expect(huge.status).toBe(431);
    // limits are clamped, not trusted
    const lim = await send('GET', '/api/v2/blog/_table/posts?limit=99999999999');
    expect(lim.status).toBe(200);
    for (const bad of ['-1', '1e3', '0x10', '1.5', '99999999999999999999999', '1 1', 'NaN', 'Infinity']) {
      await refused('GET', `/api/v2/blog/_table/posts?limit=${encodeURIComponent(bad)}`, undefined, {}, /^DFC_ERR_BAD_PARAMETER$/);
    }
  });

  test('Unicode and percent-encoding tricks in paths never reach another table', async () => {
    const paths = [
      '/api/v2/blog/_table/%EF%BD%90osts', // fullwidth p
      '/api/v2/blog/_table/p%D0%BEsts', // Cyrillic o
      '/api/v2/blog/_table/posts%E2%80%8B', // zero-width space
      '/api/v2/blog/_table/POSTS',
      '/api/v2/blog/_table/Posts',
      '/api/v2/blog/_table/posts%2F1',
      '/api/v2/blog/_table/posts%2f..%2fusers',
      '/api/v2/blog/_table/users%2F..%2F_schema',
      '/api/v2/blog%2F_table/posts',
      '/api/v2/blog/_table/posts%00',
      '/api/v2/blog/_table/users%00',
      '/api/v2/blog/_table/posts/1%00',
      '/api/v2/blog/_table/users%252F',
      '/api/v2/%2e%2e/blog/_table/posts',
      '/api/v2/blog/_table/users/1/../2',
      '/api/v2/blog/_table/users/../posts',
      '/api/v2/blog/_table/users;x=1',
      '/api/v2/blog/_table/%C0%AFposts',
      '/api/v2/blog/_table/%C0%AE%C0%AE',
      '/api/v2/blog/_table/%E0%80%AFusers',
      '/api/v2/blog/_table/%FF%FE',
      '/api/v2/blog/_table/%ED%A0%80', // a UTF-16 surrogate encoded as UTF-8
      '/api/v2/blog/_table/%',
      '/api/v2/blog/_table/%zz',
      '/api/v2/BLOG/_table/posts',
      '/api/v2/bl%C3%B6g/_table/posts',
      `/api/v2/blog/_table/posts/${'9'.repeat(2000)}`,
      '/api/v2/blog/_table/__proto__',
      '/api/v2/blog/_table/constructor',
      '/api/v2/blog/_table/hasOwnProperty',
      '/api/v2/blog/_table/toString/1',
      '/api/v2/__proto__/_table/posts',
      '/api/v2/constructor/_table/prototype',
      '/api/v2/blog/_schema/__proto__',
      '/api/v2/blog/_table/posts/__proto__',
      '/api/v2/blog/_table/users/__proto__',
      '/api/v2/blog/_table/users/constructor',
    ];
    for (const p of paths) {
      for (const method of ['GET', 'PATCH', 'DELETE']) {
        const r = await send(method, p, method === 'PATCH' ? { title: 'x' } : undefined);
        clearRefusal(r, `${method} ${p.slice(0, 80)}`);
        expect(r.text).not.toContain('Hello, world');
        expect(r.text).not.toContain('alice@example.com');
      }
    }
    // the path is decoded exactly once: %75 is `u`, so this is the users table itself
    const once = await send('GET', '/api/v2/blog/_table/%75sers/alice');
    expect(once.status).toBe(200);
    // raw bytes the client library will not send: non-ASCII and control characters in the request line
    for (const line of ['GET /api/v2/blog/_table/p\xf6sts HTTP/1.1', 'GET /api/v2/blog/_table/posts\x00 HTTP/1.1', 'GET /api/v2/blog/_table/\xc0\xafposts HTTP/1.1', 'GET /api/v2/blog/_table/posts\x7f HTTP/1.1']) {
      const raw = await rawRequest(s.url, Buffer.from(`${line}\r\nHost: 127.0.0.1\r\nX-Api-Key: ${h['x-api-key']}\r\nConnection: close\r\n\r\n`, 'latin1'));
      requests++;
      expect(raw.status, JSON.stringify(line)).toBeGreaterThanOrEqual(400);
      expect(raw.status, JSON.stringify(line)).toBeLessThan(500);
    }
  });

  test('NUL, lone surrogates and look-alike quotes in values: stored literally or refused as invalid data', async () => {
    for (const v of ['a\u0000b', '\ud800', 'x\udfffy', '\u202eevil', 'ｓｅｌｅｃｔ＇', 'a\u2028b\u2029c', '\ufeffbom', 'e\u0301']) {
      const r = await send('POST', '/api/v2/blog/_table/posts', { title: v, body: v, isPublic: true, createdAt: '2024-01-01T00:00:00Z' });
      if (r.status === 201) {
        const id = r.json().id as number;
        const back = await send('GET', `/api/v2/blog/_table/posts/${id}`);
        // a lone surrogate cannot survive UTF-8: the database may store U+FFFD, never something else
        const got = back.json().title as string;
        expect(got === v || (/[\ud800-\udfff]/.test(v) && got === v.replace(/[\ud800-\udfff]/g, '\ufffd')), JSON.stringify([v, got])).toBe(true);
        expect((await send('DELETE', `/api/v2/blog/_table/posts/${id}`)).status).toBe(200);
      } else {
        clearRefusal(r, JSON.stringify(v));
        expect(r.json().error.code, JSON.stringify(v)).toBe('DFC_ERR_INVALID_DATA');
      }
      // (a lone surrogate cannot be written in a URL)
      if (/[\ud800-\udfff]/.test(v)) continue;
      const f = await send('GET', `/api/v2/blog/_table/posts?filter=${encodeURIComponent(`title = '${v}'`)}`);
      expect(f.status, JSON.stringify(v)).toBeLessThan(500);
      if (f.status === 200) expect(f.json().resource).toEqual([]);
    }
  });

  test('prototype-pollution keys in bodies, filters, order, fields and the query string', async () => {
    for (const body of [
      '{"__proto__":{"isAdmin":true},"title":"t"}',
      '{"title":"t","constructor":{"prototype":{"isAdmin":true}}}',
      '{"resource":[{"title":"t","__proto__":{"isAdmin":true}}]}',
      '{"title":{"__proto__":{"isAdmin":true}}}',
      '[{"__proto__":{"polluted":1}}]',
    ]) {
      for (const [method, path] of [
        ['POST', '/api/v2/blog/_table/posts'],
        ['PATCH', '/api/v2/blog/_table/posts/1'],
      ] as const) {
        await refused(method, path, body, { 'content-type': 'application/json' }, /^DFC_ERR_(FORBIDDEN_KEY|INVALID_JSON)$/);
      }
    }
    // keys the table does not have, including Object.prototype's own names
    for (const key of ['constructor', 'prototype', 'toString', 'hasOwnProperty', 'valueOf', '__defineGetter__', 'isPrototypeOf']) {
      await refused('POST', '/api/v2/blog/_table/posts', `{"title":"t","${key}":1}`, { 'content-type': 'application/json' }, /^DFC_ERR_(BAD_RECORD|FORBIDDEN_KEY)$/);
      await refused('GET', `/api/v2/blog/_table/posts?filter=${encodeURIComponent(`${key} = 1`)}`, undefined, {}, /^DFC_ERR_BAD_FILTER$/);
      await refused('GET', `/api/v2/blog/_table/posts?filter=${encodeURIComponent(`\`${key}\` is null`)}`, undefined, {}, /^DFC_ERR_BAD_FILTER$/);
      await refused('GET', `/api/v2/blog/_table/posts?order=${key}`, undefined, {}, /^DFC_ERR_BAD_PARAMETER$/);
      await refused('GET', `/api/v2/blog/_table/posts?fields=id,${key}`, undefined, {}, /^DFC_ERR_BAD_PARAMETER$/);
    }
    await refused('GET', `/api/v2/blog/_table/posts?filter=${encodeURIComponent('__proto__ = 1')}`, undefined, {}, /^DFC_ERR_BAD_FILTER$/);
    await refused('GET', `/api/v2/blog/_table/posts?filter=${encodeURIComponent("title = {user.__proto__}")}`, undefined, {}, /^DFC_ERR_BAD_FILTER$/);
    // bracketed query keys stay flat strings
    const q = await send('GET', '/api/v2/blog/_table/posts?__proto__[isAdmin]=1&constructor[prototype][polluted]=1&__proto__.x=1&order=id');
    expect(q.status).toBe(200);
    expect(q.json().resource).toHaveLength(3);
    expect(({} as Record<string, unknown>).isAdmin).toBeUndefined();
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(protoKeys()).toBe(protoBefore);
  });

  test('ReDoS-shaped strings in every parsed place answer promptly with a 4xx or the literal meaning', async () => {
    const long = (unit: string, n: number) => unit.repeat(n);
    const cases: [string, string, Record<string, string>?][] = [
      ['filter: a long quoted string', `/api/v2/blog/_table/posts?filter=${encodeURIComponent(`title = '${long('a', 3900)}'`)}`],
      ['filter: many escapes', `/api/v2/blog/_table/posts?filter=${encodeURIComponent(`title = '${long('\\\\', 1900)}'`)}`],
      ['filter: LIKE with many wildcards', `/api/v2/blog/_table/posts?filter=${encodeURIComponent(`title like '${long('%a', 1900)}b'`)}`],
      ['filter: LIKE with many underscores', `/api/v2/blog/_table/posts?filter=${encodeURIComponent(`body like '${long('_%', 1900)}'`)}`],
      ['filter: unterminated quote', `/api/v2/blog/_table/posts?filter=${encodeURIComponent(`title = '${long("a'", 1900)}`)}`],
      ['filter: many spaces', `/api/v2/blog/_table/posts?filter=${encodeURIComponent(`id${long(' ', 3900)}= 1`)}`],
      ['filter: over 4 KiB', `/api/v2/blog/_table/posts?filter=${encodeURIComponent(`title = '${long('a', 5000)}'`)}`],
      ['filter: numbers', `/api/v2/blog/_table/posts?filter=${encodeURIComponent(`id = ${long('9', 3000)}`)}`],
      ['filter: dates', `/api/v2/blog/_table/posts?filter=${encodeURIComponent(`createdAt > '${long('2024-', 700)}'`)}`],
      ['order: many columns', `/api/v2/blog/_table/posts?order=${encodeURIComponent(long('id,', 1300))}`],
      ['order: long direction', `/api/v2/blog/_table/posts?order=${encodeURIComponent(`id ${long('desc', 900)}`)}`],
      ['fields: many commas', `/api/v2/blog/_table/posts?fields=${long(',', 3000)}`],
      ['ids: many commas', `/api/v2/blog/_table/posts?ids=${long('1,', 900)}`],
      ['ids: long number', `/api/v2/blog/_table/posts?ids=${long('1', 4000)}`],
      ['Authorization: many dots', '/api/v2/blog/_table/posts', { authorization: `Bearer ${long('a.', 4000)}` }],
      ['Authorization: many spaces', '/api/v2/blog/_table/posts', { authorization: `Bearer${long(' ', 8000)}x` }],
      ['Origin: many labels', '/api/v2/blog/_table/posts', { origin: `https://${long('a.', 5000)}com` }],
      ['Origin: many colons', '/api/v2/blog/_table/posts', { origin: `https://a${long(':', 8000)}` }],
      ['content-type: many parameters', '/api/v2/blog/_table/posts', { 'content-type': `application/json${long(';a=b', 3000)}` }],
      ['api key: long', '/api/v2/blog/_table/posts', { 'x-api-key': long('k', 12_000) }],
    ];
    for (const [name, path, headers] of cases) {
      const r = await send('GET', path, undefined, headers ?? {});
      expect(r.status, name).toBeLessThan(500);
      if (r.status >= 400) clearRefusal(r, name);
      else expect(r.json().resource, name).toBeInstanceOf(Array);
    }
  });

  test('content types other than JSON are a 415; repeated parameters a 400; malformed JSON a 400', async () => {
    const doc = JSON.stringify({ title: 't', body: 'b', isPublic: true, createdAt: '2024-01-01T00:00:00Z' });
    for (const ct of ['text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x', 'application/json-patch+json', 'application/jsonx', 'text/json', 'application/xml', '', 'json']) {
      await refused('POST', '/api/v2/blog/_table/posts', doc, { 'content-type': ct }, /^DFC_ERR_UNSUPPORTED_MEDIA_TYPE$/);
    }
    for (const p of ['filter=id%3D1&filter=id%3D2', 'fields=id&fields=title', 'order=id&order=title', 'limit=1&limit=2', 'offset=0&offset=1', 'ids=1&ids=2', 'include_count=true&include_count=false']) {
      await refused('GET', `/api/v2/blog/_table/posts?${p}`, undefined, {}, /^DFC_ERR_DUPLICATE_PARAMETER$/);
    }
    for (const body of ['{', '{"title":', '{"title":"t"}garbage', '\ufeff{"title":"t"}', '{"title":NaN}', '{"title":Infinity}', "{'title':'t'}", '{"title":"t",}', '[1,]', 'null', 'true', '"string"', '123', '{"a":1}{"b":2}', '{"title":"\\x41"}', '{"title":"\\u12"}']) {
      const r = await send('POST', '/api/v2/blog/_table/posts', body, { 'content-type': 'application/json' });
      clearRefusal(r, body);
    }
    // invalid UTF-8 in a JSON body
    const r = await send('POST', '/api/v2/blog/_table/posts', Buffer.from([0x7b, 0x22, 0x74, 0x22, 0x3a, 0x22, 0xc0, 0xaf, 0xff, 0x22, 0x7d]).toString('latin1'), { 'content-type': 'application/json' });
    expect(r.status).toBeLessThan(500);
  });

  test('nothing stored changed, and the server still answers', async () => {
    expect(JSON.stringify(await dump(s))).toBe(before);
    const r = await send('GET', '/api/v2/blog/_table/posts?order=id');
    expect(r.status).toBe(200);
    expect(r.json().resource).toHaveLength(3);
    expect(protoKeys()).toBe(protoBefore);
    console.log(`${dialect}: ${requests} hostile requests, no 5xx, data unchanged`);
  });
});
