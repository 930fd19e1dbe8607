/**
 * A caller listing the same table again may get its earlier decision back (the runtime
 * keeps allowed reads of whole tables per caller when the table's read depends on nothing
 * but the caller and the request). These tests check it never answers what a fresh
 * decision would not: after data a `query` rule reads changes, as the clock moves, after
 * a reload, for the same token under another app, after the token expires, and with a
 * filter.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { join, resolve } from 'node:path';
import { SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, test, vi } from 'vitest';
import { build } from '@dfc/compiler';
import { createServer, createTables, type DfcServer } from '@dfc/runtime';

const TMP = resolve(import.meta.dirname, '../.tmp');
const SECRET = 'decision-reuse-secret-0123456789-abcdefgh';
const env = { WEB_KEY: 'web-key-decision-reuse-0000', OTHER_KEY: 'other-key-decision-reuse-00', JWT: SECRET };

const config = (itemsRead: string) => `
import { defineApp, defineConfig, defineRole, defineRule, defineService, secret } from 'dfc';

export const shop = defineService({
  name: 'shop',
  database: { type: 'sqlite', file: './shop.db' },
  tables: {
    items: { columns: { id: 'integer', ownerId: 'string', title: 'string', secret: 'string' }, primaryKey: 'id' },
    grants: { columns: { id: 'integer', userId: 'string' }, primaryKey: 'id' },
    gated: { columns: { id: 'integer', title: 'string' }, primaryKey: 'id' },
    notices: { columns: { id: 'integer', title: 'string' }, primaryKey: 'id' },
    events: { columns: { id: 'integer', title: 'string' }, primaryKey: 'id' },
    reports: { columns: { id: 'integer', ownerId: 'string' }, primaryKey: 'id' },
  },
  security: { signedIn: { type: 'authenticated' } },
});

export const itemRules = defineRule(shop, 'items', { read: ${itemsRead} });
// Readable only while a grant row names the caller: the decision depends on data.
export const gatedRules = defineRule(shop, 'gated', { read: { rule: 'query', db: 'shop', col: 'grants', find: { userId: 'args.auth.id' } } });
// Both read the clock: decided anew on every request.
export const noticeRules = defineRule(shop, 'notices', { read: { rule: 'code', fn: () => new Date().getUTCFullYear() < 2100 } });
export const eventRules = defineRule(shop, 'events', { read: { rule: 'match', eval: '<', type: 'date', f1: 'utils.now()', f2: '2100-01-01' } });
// Readable whole, never by owner: the decision depends on the filter.
export const reportRules = defineRule(shop, 'reports', { read: { rule: 'match', eval: '==', type: 'bool', f1: 'utils.exists(args.find.ownerId)', f2: false } });
export const grantRules = defineRule(shop, 'grants', { read: { rule: 'allow' }, create: { rule: 'allow' }, delete: { rule: 'allow' } });

export const member = defineRole({ name: 'member', access: [{ service: shop, component: '_table/*', verbs: ['GET', 'POST', 'DELETE'] }] });
export const outsider = defineRole({ name: 'outsider', access: [{ service: shop, component: '_table/grants', verbs: ['GET'] }] });

export const web = defineApp({ name: 'web', apiKey: secret('WEB_KEY'), role: outsider, roles: [member] });
export const other = defineApp({ name: 'other', apiKey: secret('OTHER_KEY'), role: outsider });

export default defineConfig({
  services: [shop],
  rules: [itemRules, gatedRules, noticeRules, eventRules, reportRules, grantRules],
  roles: [member, outsider],
  apps: [web, other],
  auth: { jwt: { secret: secret('JWT'), issuer: 'iss', audience: 'aud', roleClaim: 'role', clockTolerance: 0 } },
});
`;

const MEMBER_READ = `{ rule: 'and', clauses: [{ rule: 'match', eval: 'in', type: 'string', f1: 'args.auth.role', f2: ['member'] }, { rule: 'remove', fields: ['res.secret'] }] }`;

let work: string;
let server: DfcServer;

async function buildInto(dist: string, itemsRead: string): Promise<void> {
  writeFileSync(join(work, 'dfc.config.ts'), config(itemsRead));
  const r = await build({ config: work, outDir: dist });
  if (!r.ok) throw new Error('the test project did not build: ' + JSON.stringify(r.diagnostics.slice(0, 3)));
}

const token = (claims: Record<string, unknown>, expiresAt = Math.floor(Date.now() / 1000) + 600) =>
  new SignJWT({ iss: 'iss', aud: 'aud', exp: expiresAt, ...claims }).setProtectedHeader({ alg: 'HS256' }).sign(new TextEncoder().encode(SECRET));

async function get(path: string, headers: Record<string, string>) {
  const r = await server.app.inject({ method: 'GET', url: `/api/v2/shop/_table/${path}`, headers });
  return { status: r.statusCode, body: r.json() as { resource?: Record<string, unknown>[]; error?: { code: string } } };
}

async function send(method: 'POST' | 'DELETE', path: string, headers: Record<string, string>, payload?: unknown) {
  const r = await server.app.inject({ method, url: `/api/v2/shop/_table/${path}`, headers: { ...headers, 'content-type': 'application/json' }, ...(payload ? { payload: JSON.stringify(payload) } : {}) });
  expect(r.statusCode, r.body).toBeLessThan(300);
  return r.json() as { resource: Record<string, unknown>[] };
}

beforeAll(async () => {
  mkdirSync(TMP, { recursive: true });
  work = mkdtempSync(join(TMP, 'decision-reuse-'));
  await buildInto(join(work, 'dist'), MEMBER_READ);
  server = await createServer({ policy: join(work, 'dist'), env, baseDir: work, logger: false, admin: false });
  await server.app.ready();
  const ds = server.runtime.state.sources.get('shop')!;
  await createTables(ds, server.runtime.state.compiled.policy.services.shop!);
  await ds.insert('items', [
    { id: 1, ownerId: 'u1', title: 'one', secret: 's1' },
    { id: 2, ownerId: 'u2', title: 'two', secret: 's2' },
  ]);
  await ds.insert('gated', [{ id: 1, title: 'behind a grant' }]);
  await ds.insert('reports', [{ id: 1, ownerId: 'u1' }]);
}, 120_000);

afterAll(async () => {
  await server?.close();
  if (work) rmSync(work, { recursive: true, force: true });
});

describe('reused decisions', () => {
  test('the same caller listing again gets the same answer, with the same fields removed; another role is still refused', async () => {
    const member = { 'x-api-key': env.WEB_KEY, authorization: `Bearer ${await token({ id: 'u1', role: 'member' })}` };
    const first = await get('items', member);
    expect(first.status).toBe(200);
    expect(first.body.resource).toEqual([
      { id: 1, ownerId: 'u1', title: 'one' },
      { id: 2, ownerId: 'u2', title: 'two' },
    ]);
    for (let i = 0; i < 3; i++) expect(await get('items?limit=1&offset=1', member)).toEqual({ status: 200, body: { resource: [{ id: 2, ownerId: 'u2', title: 'two' }] } });
    expect(await get('items', member)).toEqual(first);
    // `fields` in its own order, a removed field left out, the same on every request
    for (let i = 0; i < 3; i++) {
      const r = await server.app.inject({ method: 'GET', url: '/api/v2/shop/_table/items?fields=title,secret,id', headers: member });
      expect(r.body).toBe('{"resource":[{"title":"one","id":1},{"title":"two","id":2}]}');
    }
    // a caller whose role the app does not let it select gets the app's role, which may not read items
    const guest = { 'x-api-key': env.WEB_KEY, authorization: `Bearer ${await token({ id: 'u9', role: 'guest' })}` };
    for (let i = 0; i < 2; i++) expect((await get('items', guest)).body.error?.code).toBe('DFC_ERR_ACCESS_DENIED');
  });

  test('a decision that reads data is made again on every request', async () => {
    const caller = { 'x-api-key': env.WEB_KEY, authorization: `Bearer ${await token({ id: 'u2', role: 'member' })}` };
    expect((await get('gated', caller)).status).toBe(403);
    const grant = await send('POST', 'grants', caller, { resource: [{ id: 7, userId: 'u2' }] });
    expect(grant.resource).toEqual([{ id: 7 }]);
    for (let i = 0; i < 2; i++) expect((await get('gated', caller)).body.resource).toEqual([{ id: 1, title: 'behind a grant' }]);
    await send('DELETE', 'grants/7', caller);
    expect((await get('gated', caller)).status).toBe(403);
  });

  test('a decision that reads the clock (a code rule, `utils.now()`) is made again on every request', async () => {
    // Signed to outlive the clock moves below.
    const caller = { 'x-api-key': env.WEB_KEY, authorization: `Bearer ${await token({ id: 'u2', role: 'member' }, 5_000_000_000)}` };
    vi.useFakeTimers({ toFake: ['Date'] });
    try {
      for (const table of ['notices', 'events']) {
        vi.setSystemTime(new Date('2099-06-01T00:00:00Z'));
        for (let i = 0; i < 2; i++) expect((await get(table, caller)).status, table).toBe(200);
        vi.setSystemTime(new Date('2100-06-01T00:00:00Z'));
        expect((await get(table, caller)).body.error?.code, table).toBe('DFC_ERR_RULE_DENIED');
      }
    } finally {
      vi.useRealTimers();
    }
  });

  test('the same token under another app gets that app’s role, each time', async () => {
    const jwt = await token({ id: 'u1', role: 'member' });
    for (let i = 0; i < 2; i++) {
      expect((await get('items', { 'x-api-key': env.WEB_KEY, authorization: `Bearer ${jwt}` })).status).toBe(200);
      expect((await get('items', { 'x-api-key': env.OTHER_KEY, authorization: `Bearer ${jwt}` })).body.error?.code).toBe('DFC_ERR_ACCESS_DENIED');
    }
  });

  test('a filtered read is decided on its own: a rule that reads the filter refuses it after the whole table was allowed', async () => {
    const member = { 'x-api-key': env.WEB_KEY, authorization: `Bearer ${await token({ id: 'u1', role: 'member' })}` };
    for (let i = 0; i < 2; i++) expect(await get('reports', member)).toEqual({ status: 200, body: { resource: [{ id: 1, ownerId: 'u1' }] } });
    const byOwner = await get(`reports?filter=${encodeURIComponent("ownerId = 'u1'")}`, member);
    expect(byOwner.status).toBe(403);
    expect(byOwner.body.error?.code).toBe('DFC_ERR_RULE_DENIED');
    expect((await get('reports', member)).status).toBe(200);
  });

  test('a filter next to reused whole-table decisions keeps its rows and cannot probe a removed field', async () => {
    const member = { 'x-api-key': env.WEB_KEY, authorization: `Bearer ${await token({ id: 'u1', role: 'member' })}` };
    expect((await get('items', member)).body.resource).toHaveLength(2);
    expect((await get(`items?filter=${encodeURIComponent("ownerId = 'u2'")}`, member)).body.resource).toEqual([{ id: 2, ownerId: 'u2', title: 'two' }]);
    for (let i = 0; i < 2; i++) expect((await get(`items?filter=${encodeURIComponent("secret = 's1'")}`, member)).body.error?.code).toBe('DFC_ERR_BAD_FILTER');
    expect((await get('items', member)).body.resource).toHaveLength(2);
  });

  test('an expired token is refused even though its decision was kept', async () => {
    const soon = Math.floor(Date.now() / 1000) + 2;
    const member = { 'x-api-key': env.WEB_KEY, authorization: `Bearer ${await token({ id: 'u1', role: 'member' }, soon)}` };
    expect((await get('items', member)).status).toBe(200);
    expect((await get('items', member)).status).toBe(200);
    await new Promise((r) => setTimeout(r, Math.max(0, soon * 1000 - Date.now()) + 100));
    expect((await get('items', member)).body.error?.code).toBe('DFC_ERR_INVALID_TOKEN');
  });

  test('on one keep-alive connection: each token decides for itself, and an expired one is refused', async () => {
    const address = await server.app.listen({ host: '127.0.0.1', port: 0 });
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    const onConnection = (headers: Record<string, string>) =>
      new Promise<{ status: number; reused: boolean; code?: string }>((resolve, reject) => {
        const req = request(`${address}/api/v2/shop/_table/items`, { agent, headers }, (res) => {
          let text = '';
          res.on('data', (d: Buffer) => (text += d));
          res.on('end', () => resolve({ status: res.statusCode!, reused: req.reusedSocket, code: (JSON.parse(text) as { error?: { code: string } }).error?.code }));
        });
        req.on('error', reject);
        req.end();
      });
    try {
      const soon = Math.floor(Date.now() / 1000) + 2;
      const member = { 'x-api-key': env.WEB_KEY, authorization: `Bearer ${await token({ id: 'u1', role: 'member' }, soon)}` };
      const guest = { 'x-api-key': env.WEB_KEY, authorization: `Bearer ${await token({ id: 'u9', role: 'guest' })}` };
      expect(await onConnection(member)).toMatchObject({ status: 200, reused: false });
      expect(await onConnection(member)).toMatchObject({ status: 200, reused: true });
      expect(await onConnection(guest)).toMatchObject({ status: 403, reused: true, code: 'DFC_ERR_ACCESS_DENIED' });
      expect(await onConnection(member)).toMatchObject({ status: 200, reused: true });
      // The connection keeps its last Authorization value that passed the format check; another is still checked.
      for (const authorization of [`${member.authorization} x`, `${member.authorization}\u00a0`, `Basic ${member.authorization.slice(7)}`]) {
        expect(await onConnection({ ...member, authorization })).toMatchObject({ status: 401, reused: true, code: 'DFC_ERR_INVALID_TOKEN' });
      }
      expect(await onConnection(member)).toMatchObject({ status: 200, reused: true });
      await new Promise((r) => setTimeout(r, Math.max(0, soon * 1000 - Date.now()) + 100));
      expect(await onConnection(member)).toMatchObject({ status: 401, reused: true, code: 'DFC_ERR_INVALID_TOKEN' });
      expect(await onConnection(guest)).toMatchObject({ status: 403, reused: true });
    } finally {
      agent.destroy();
    }
  });

  test('after a reload the new rules decide at once, for a caller whose decision was kept', async () => {
    const member = { 'x-api-key': env.WEB_KEY, authorization: `Bearer ${await token({ id: 'u1', role: 'member' })}` };
    expect((await get('items', member)).status).toBe(200);
    const next = join(work, 'dist-deny');
    await buildInto(next, `{ rule: 'deny', error: 'closed for stocktaking' }`);
    await server.runtime.reload(next);
    const after = await get('items', member);
    expect(after.status).toBe(403);
    expect(after.body.error?.code).toBe('DFC_ERR_RULE_DENIED');
  });
});
