/**
 * CORS in a real browser (checklist §2.4 K3, K6, K7, K9, K11): headless Chromium loads
 * pages from loopback origins (each port its own origin) and calls the API on another
 * port. What the page may read is computed from the built policy's CORS entries by an
 * oracle written here (entry by longest path, exact origin, methods, headers,
 * credentials, exposed headers) and must be exactly what the browser allows: a table of
 * pages × paths × requests. Also: `null` origins (sandboxed iframe, `data:` and `file:`
 * pages) are refused, a preflight is cached for its max age, and an attacker page's
 * form-style POST changes nothing.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { SignJWT } from 'jose';
import type { Browser, Frame, Page } from 'playwright-core';
import { createServer, type DfcServer } from '@dfc/runtime';
import type { PolicyCors } from '@dfc/schema';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { launchChromium, staticSite, type Site } from './helpers/browser.js';
import { buildProject, canary, seedProject, type Project } from './helpers/project.js';

const env = { SHOP_WEB_KEY: canary('webkey'), SHOP_JWT_SECRET: canary('jwtsecret'), SHOP_ADMIN_TOKEN: canary('admintoken') };

const config = (allowed: string, other: string) => `
import { defineApp, defineConfig, defineCors, defineRole, defineRule, defineService, secret } from 'dfc';

export const shop = defineService({
  name: 'shop',
  database: { type: 'sqlite', file: './shop.db', seed: './seed.json' },
  tables: {
    items: { columns: { id: 'integer', name: 'string' }, primaryKey: 'id' },
    notes: { columns: { id: 'integer', text: 'string' }, primaryKey: 'id' },
    orders: { columns: { id: 'integer', total: 'number' }, primaryKey: 'id' },
  },
  security: { anyone: { type: 'allowAnonymous' } },
});
export const items = defineRule(shop, 'items', { read: { rule: 'allow' }, create: { rule: 'allow' }, update: { rule: 'allow' }, delete: { rule: 'allow' } });
export const notes = defineRule(shop, 'notes', { read: { rule: 'allow' } });
export const orders = defineRule(shop, 'orders', { read: { rule: 'allow' } });
export const reader = defineRole({
  name: 'reader',
  access: [
    { service: shop, component: '_table/items', verbs: ['GET', 'POST', 'PATCH', 'DELETE'] },
    { service: shop, component: '_table/notes', verbs: ['GET'] },
    { service: shop, component: '_table/orders', verbs: ['GET'] },
  ],
});
export default defineConfig({
  services: [shop],
  rules: [items, notes, orders],
  roles: [reader],
  apps: [defineApp({ name: 'web', apiKey: secret('SHOP_WEB_KEY'), role: reader })],
  auth: { jwt: { secret: secret('SHOP_JWT_SECRET'), algorithms: ['HS256'], issuer: 'https://id.shop.test', audience: 'shop' } },
  admin: { token: secret('SHOP_ADMIN_TOKEN') },
  cors: [
    // credentials, a custom header, an exposed header, a max age; PATCH is not listed
    defineCors({ path: '/api/v2/shop/_table/items*', origins: ['${allowed}'], methods: ['GET', 'POST', 'DELETE'],
                 headers: ['Content-Type', 'Authorization', 'X-Api-Key', 'X-Trace-Id'], exposedHeaders: ['X-Request-Id'],
                 maxAge: 600, supportsCredentials: true, enabled: true }),
    // no credentials, only the key header, nothing exposed
    defineCors({ path: '/api/v2/shop/_table/notes*', origins: ['${allowed}'], methods: ['GET'], headers: ['X-Api-Key'],
                 exposedHeaders: [], maxAge: 0, supportsCredentials: false, enabled: true }),
    // switched off: the other origin is listed nowhere that is enabled
    defineCors({ path: '/api/v2/*', origins: ['${other}'], methods: ['GET'], headers: ['X-Api-Key'], supportsCredentials: false, enabled: false }),
  ],
});
`;

const seed = { items: [{ id: 1, name: 'one' }, { id: 2, name: 'two' }], notes: [{ id: 1, text: 'note' }], orders: [{ id: 1, total: 10 }] };

// ---------------------------------------------------------------------------
// the oracle: what the browser must allow, from the policy's CORS entries alone

interface Req {
  name: string;
  path: string;
  method: string;
  headers: Record<string, string>;
  body?: string;
  credentials: 'omit' | 'include';
}

const globRe = (glob: string) => new RegExp('^' + glob.replace(/^\/+/, '').split('*').map((p) => p.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('.*') + '$', 's');
const SIMPLE_METHODS = ['GET', 'HEAD', 'POST'];

function entryFor(cors: readonly PolicyCors[], path: string): PolicyCors | undefined {
  const bare = path.split('?')[0]!.replace(/^\/+/, '');
  return cors
    .filter((c) => c.enabled && globRe(c.path).test(bare))
    .sort((a, b) => b.path.replace(/^\/+/, '').length - a.path.replace(/^\/+/, '').length)[0];
}

/** Whether a page at `origin` may read the response to `req` (and which headers it sees). */
function oracle(cors: readonly PolicyCors[], origin: string, req: Req): { readable: boolean; exposed: string[] } {
  const none = { readable: false, exposed: [] };
  const e = entryFor(cors, req.path);
  if (!e) return none;
  if (!e.origins.some((o) => o.toLowerCase() === origin.toLowerCase())) return none;
  const custom = Object.keys(req.headers).map((h) => h.toLowerCase());
  const preflight = !SIMPLE_METHODS.includes(req.method) || custom.length > 0;
  if (preflight) {
    if (!e.methods.includes(req.method as never)) return none; // the server answers the preflight 405
    const allowed = e.headers.map((h) => h.toLowerCase());
    if (!custom.every((h) => allowed.includes(h))) return none;
  }
  if (req.credentials === 'include' && !e.supportsCredentials) return none;
  return { readable: true, exposed: e.exposedHeaders.map((h) => h.toLowerCase()) };
}

// ---------------------------------------------------------------------------

interface Outcome {
  readable: boolean;
  error?: string;
  status?: number;
  headers?: Record<string, string | null>;
}

/** Runs `reqs` with fetch inside a page or frame, one after the other. */
function runInPage(target: Page | Frame, api: string, reqs: Req[]): Promise<Outcome[]> {
  return target.evaluate(
    async ({ api, reqs }) => {
      const out: Outcome[] = [];
      for (const r of reqs) {
        try {
          const res = await fetch(api + r.path, { method: r.method, headers: r.headers, credentials: r.credentials, ...(r.body !== undefined ? { body: r.body } : {}) });
          await res.text();
          out.push({
            readable: true,
            status: res.status,
            headers: { 'x-request-id': res.headers.get('x-request-id'), 'x-content-type-options': res.headers.get('x-content-type-options'), 'content-type': res.headers.get('content-type') },
          });
        } catch (e) {
          out.push({ readable: false, error: (e as Error).name });
        }
      }
      return out;
    },
    { api, reqs },
  );
}

let project: Project;
let server: DfcServer;
let api: string;
let browser: Browser;
let allowedSite: Site;
let otherSite: Site;
const logs: string[] = [];
let token: string;
let requests: Req[];

beforeAll(async () => {
  [allowedSite, otherSite] = await Promise.all([staticSite(), staticSite()]);
  project = await buildProject('cors', { 'dfc.config.ts': config(allowedSite.origin, otherSite.origin), 'seed.json': JSON.stringify(seed) });
  await seedProject(project, env);
  server = await createServer({ policy: project.dist, env, baseDir: project.dir, host: '127.0.0.1', port: 0, admin: false, logger: { level: 'info' }, logStream: { write: (l) => void logs.push(l) } });
  api = (await server.listen()).url;
  browser = await launchChromium();
  token = await new SignJWT({ id: 'u1' })
    .setProtectedHeader({ alg: 'HS256' })
    .setIssuer('https://id.shop.test')
    .setAudience('shop')
    .setSubject('u1')
    .setExpirationTime('1h')
    .sign(new TextEncoder().encode(env.SHOP_JWT_SECRET));
  const key = { 'X-Api-Key': env.SHOP_WEB_KEY };
  requests = [];
  for (const table of ['items', 'notes', 'orders']) {
    const path = `/api/v2/shop/_table/${table}`;
    requests.push(
      { name: 'simple GET, no key', path, method: 'GET', headers: {}, credentials: 'omit' },
      { name: 'GET with X-Api-Key', path, method: 'GET', headers: key, credentials: 'omit' },
      { name: 'GET with X-Api-Key and Authorization, credentials included', path, method: 'GET', headers: { ...key, Authorization: `Bearer ${token}` }, credentials: 'include' },
      { name: 'GET with X-Api-Key, credentials included', path: `${path}/1`, method: 'GET', headers: key, credentials: 'include' },
      { name: 'GET with a listed custom header', path, method: 'GET', headers: { ...key, 'X-Trace-Id': 't-1' }, credentials: 'omit' },
      { name: 'GET with an unlisted custom header', path, method: 'GET', headers: { ...key, 'X-Unlisted': 'x' }, credentials: 'omit' },
      { name: 'POST JSON', path, method: 'POST', headers: { ...key, 'Content-Type': 'application/json' }, body: JSON.stringify({ name: 'from the page' }), credentials: 'omit' },
      { name: 'DELETE (listed for items only)', path: `${path}/999`, method: 'DELETE', headers: key, credentials: 'omit' },
      { name: 'PATCH (listed nowhere)', path: `${path}/1`, method: 'PATCH', headers: { ...key, 'Content-Type': 'application/json' }, body: JSON.stringify({ name: 'patched' }), credentials: 'omit' },
    );
  }
});

afterAll(async () => {
  await browser?.close();
  await server?.close();
  await Promise.all([allowedSite?.close(), otherSite?.close()]);
  project?.cleanup();
});

/** What the API answers the same request when no browser is involved. */
async function direct(r: Req): Promise<number> {
  const res = await fetch(api + r.path, { method: r.method, headers: r.headers, ...(r.body !== undefined ? { body: r.body } : {}) });
  await res.arrayBuffer();
  return res.status;
}

describe('CORS in Chromium', () => {
  test('pages × paths × requests: the browser allows exactly what the policy says', async () => {
    const cors = project.policy.cors;
    expect(cors.length).toBe(3);
    let readable = 0;
    let blocked = 0;
    for (const site of [allowedSite, otherSite]) {
      const page = await browser.newPage();
      await page.goto(site.origin + '/');
      const outcomes = await runInPage(page, api, requests);
      for (const [i, r] of requests.entries()) {
        const want = oracle(cors, site.origin, r);
        const got = outcomes[i]!;
        const label = `${site === allowedSite ? 'allowed' : 'other'} origin: ${r.name} ${r.method} ${r.path}`;
        expect(got.readable, label).toBe(want.readable);
        if (!want.readable) {
          expect(got.error, label).toBe('TypeError');
          blocked++;
          continue;
        }
        readable++;
        // the page sees the API's real answer
        expect(got.status, label).toBe(await direct(r));
        // exposed headers are readable, others are not (content-type is always safe-listed)
        expect(got.headers!['x-request-id'] !== null, `${label}: X-Request-Id readable`).toBe(want.exposed.includes('x-request-id'));
        expect(got.headers!['x-content-type-options'], `${label}: X-Content-Type-Options hidden`).toBeNull();
        expect(got.headers!['content-type'], label).toContain('application/json');
      }
      await page.close();
    }
    console.log(`browser CORS: ${requests.length * 2} fetches from 2 origins: ${readable} readable, ${blocked} blocked, as the policy says`);
    // the table covers both outcomes on every dimension the oracle looks at
    expect(readable).toBeGreaterThanOrEqual(5);
    expect(blocked).toBeGreaterThanOrEqual(20);
  });

  test('`null` origins (sandboxed iframe, data: and file: pages) are refused, even for the simplest request', async () => {
    const reqs = requests.filter((r) => r.path.startsWith('/api/v2/shop/_table/items')).slice(0, 4);
    const page = await browser.newPage();
    await page.goto(allowedSite.origin + '/');
    // a sandboxed iframe inside the allowed page: its origin is opaque (`Origin: null`)
    await page.setContent(`<iframe sandbox="allow-scripts" srcdoc="<p>sandboxed</p>"></iframe>`);
    const frame = page.frames().find((f) => f !== page.mainFrame())!;
    expect(await frame.evaluate(() => self.origin)).toBe('null');
    const fromFrame = await runInPage(frame, api, reqs);
    // the iframe's requests do carry `Origin: null` (seen by a recording site)
    await frame.evaluate((u) => fetch(u, { method: 'POST', mode: 'no-cors', body: 'x' }).catch(() => undefined), otherSite.origin + '/echo-null');
    expect(otherSite.seen.find((s) => s.url === '/echo-null')?.headers.origin).toBe('null');
    await page.close();

    const data = await browser.newPage();
    await data.goto('data:text/html,<p>data page</p>');
    expect(await data.evaluate(() => self.origin)).toBe('null');
    const fromData = await runInPage(data, api, reqs);
    await data.close();

    const file = join(project.dir, 'page.html');
    writeFileSync(file, '<!doctype html><p>file page</p>');
    const local = await browser.newPage();
    await local.goto(pathToFileURL(file).href);
    expect(await local.evaluate(() => self.origin)).toBe('null');
    const fromFile = await runInPage(local, api, reqs);
    await local.close();

    for (const [where, outcomes] of [['sandboxed iframe', fromFrame], ['data: page', fromData], ['file: page', fromFile]] as const) {
      outcomes.forEach((o, i) => {
        expect(o, `${where}: ${reqs[i]!.name}`).toEqual({ readable: false, error: 'TypeError' });
        expect(oracle(project.policy.cors, 'null', reqs[i]!).readable).toBe(false);
      });
    }
  });

  test('a preflight is cached for its max age; a disallowed page cannot change data with a form-style POST', async () => {
    const page = await browser.newPage();
    await page.goto(allowedSite.origin + '/');
    const path = `/api/v2/shop/_table/items/2?cache=${Date.now()}`;
    const preflights = () => logs.filter((l) => l.includes('"method":"OPTIONS"') && l.includes(path)).length;
    const req: Req = { name: 'cached', path, method: 'GET', headers: { 'X-Api-Key': env.SHOP_WEB_KEY }, credentials: 'omit' };
    const [first] = await runInPage(page, api, [req]);
    expect(first).toMatchObject({ readable: true, status: 200 });
    expect(preflights()).toBe(1);
    const [second] = await runInPage(page, api, [req]);
    expect(second).toMatchObject({ readable: true, status: 200 });
    expect(preflights(), 'the second identical request within max-age sends no preflight').toBe(1);
    await page.close();

    // K9: the other origin fires simple (no-preflight) POSTs, key in the query string; nothing is stored
    const before = await (await fetch(`${api}/api/v2/shop/_table/items?include_count=true`, { headers: { 'x-api-key': env.SHOP_WEB_KEY } })).json();
    const refusedBefore = logs.filter((l) => l.includes('"statusCode":415')).length;
    const attacker = await browser.newPage();
    await attacker.goto(otherSite.origin + '/');
    const url = `${api}/api/v2/shop/_table/items?api_key=${encodeURIComponent(env.SHOP_WEB_KEY)}`;
    await attacker.evaluate(async (u) => {
      const form = new FormData();
      form.append('name', 'pwned');
      await fetch(u, { method: 'POST', mode: 'no-cors', headers: { 'Content-Type': 'text/plain' }, body: '{"name":"pwned"}' });
      await fetch(u, { method: 'POST', mode: 'no-cors', body: new URLSearchParams({ name: 'pwned' }) });
      await fetch(u, { method: 'POST', mode: 'no-cors', body: form });
    }, url);
    // and a real HTML form submission
    await attacker.setContent(`<form method="POST" enctype="text/plain" action="${url}"><input name='{"name":"pwned","x":"' value='"}'></form>`);
    await Promise.all([attacker.waitForEvent('load'), attacker.evaluate(() => document.forms[0]!.submit())]);
    await attacker.close();
    // all four reached the API and were refused before anything else: 415
    expect(logs.filter((l) => l.includes('"statusCode":415')).length - refusedBefore).toBe(4);
    const after = await (await fetch(`${api}/api/v2/shop/_table/items?include_count=true`, { headers: { 'x-api-key': env.SHOP_WEB_KEY } })).json();
    expect(after.meta.count).toBe(before.meta.count);
    expect(JSON.stringify(after)).not.toContain('pwned');
  });
});
