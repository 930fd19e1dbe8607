/**
 * Regressions found by the authorization matrix, as small named cases: a filter that does
 * not parse is answered only to a caller who may use the table (no column probing before
 * authentication), and a write's filter cannot name a column the read rule masks.
 */
import { SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { TENANTS, dump, serve, type Served } from './fixtures/harness.js';
import { httpClient, type Client } from './fixtures/http.js';

let s: Served;
let c: Client;
const as = async (id: string, role: string, tenant: string) =>
  `Bearer ${await new SignJWT({ id, role, tenant }).setProtectedHeader({ alg: 'HS256' }).setIssuer('https://id.crm.test').setAudience('crm').setExpirationTime('1h').sign(new TextEncoder().encode(s.env.CRM_JWT_SECRET!))}`;

beforeAll(async () => {
  s = await serve({ config: TENANTS });
  c = httpClient(s.url);
});
afterAll(async () => {
  c?.close();
  await s?.close();
});

describe('probing columns through filters', () => {
  test('without a session, an unknown column in a filter answers like any other filter', async () => {
    const key = { 'x-api-key': s.env.CRM_APP_KEY! };
    for (const f of ['nosuchcolumn = 1', 'secretNote = 1', 'id = 1) or (id > 0', "name like 'A%'"]) {
      for (const method of ['GET', 'PATCH', 'DELETE']) {
        const r = await c.request(method, `/api/v2/crm/_table/projects?filter=${encodeURIComponent(f)}`, { headers: key, ...(method === 'PATCH' ? { body: { name: 'x' } } : {}) });
        expect(r.status, `${method} ${f}`).toBe(401);
        expect(r.json().error.code).toBe('DFC_ERR_AUTH_REQUIRED');
      }
    }
    // without any key: the same refusal whatever the filter
    for (const f of ['nosuchcolumn = 1', 'id = 1']) expect((await c.get(`/api/v2/crm/_table/projects?filter=${encodeURIComponent(f)}`)).json().error.code).toBe('DFC_ERR_NO_API_KEY');
  });

  test('a role without access to the table gets its denial, not the parse error', async () => {
    const h = { 'x-api-key': s.env.CRM_APP_KEY!, authorization: await as('a1', 'member', 'A') };
    const r = await c.get(`/api/v2/crm/_table/audit?filter=${encodeURIComponent('nosuchcolumn = 1')}`, { headers: h });
    expect(r.status).toBe(403);
    expect(r.json().error.code).toBe('DFC_ERR_ACCESS_DENIED');
    // with access the parse error is shown
    const ok = await c.get(`/api/v2/crm/_table/projects?filter=${encodeURIComponent('nosuchcolumn = 1')}`, { headers: h });
    expect(ok.status).toBe(400);
    expect(ok.json().error.message).toContain('`nosuchcolumn`');
  });

  test('a write filter on a column masked from the caller is refused; the ids would answer it', async () => {
    const before = JSON.stringify(await dump(s));
    const member = { 'x-api-key': s.env.CRM_APP_KEY!, authorization: await as('a1', 'member', 'A') };
    for (const f of ["secretNote = 'CANARY-project-1'", "(id > 0) and (secretNote like 'CANARY%')", "not (secretNote is null)"]) {
      const patch = await c.request('PATCH', `/api/v2/crm/_table/projects?filter=${encodeURIComponent(f)}`, { headers: member, body: { name: 'Apollo' } });
      expect(patch.status, f).toBe(400);
      expect(patch.json().error.message).toContain('`secretNote`');
      expect(patch.text).not.toContain('"resource"');
    }
    // a manager reads secretNote, so may filter writes on it
    const manager = { 'x-api-key': s.env.CRM_APP_KEY!, authorization: await as('a1', 'manager', 'A') };
    const ok = await c.request('PATCH', `/api/v2/crm/_table/projects?filter=${encodeURIComponent("secretNote = 'CANARY-project-1'")}`, { headers: manager, body: { name: 'Apollo' } });
    expect(ok.status).toBe(200);
    expect(ok.json().resource).toEqual([{ id: 1 }]);
    expect(JSON.stringify(await dump(s))).toBe(before);
  });
});
