/**
 * Canary secrets never leak (checklist §2.6 S2–S5): a project whose every secret is a
 * distinctive random value (the PostgreSQL password inside a URL that is itself
 * `$encrypted` under the master key, the JWT secret, the master key, two API keys, the
 * field key, the admin token) is built and served. None of those values appears in
 * policy.json, policy.mjs, policy.schema.json or the build's diagnostics, nor in any log
 * line (pino at trace level) or any response (bodies and headers, admin port included)
 * while every error class is provoked, in production and with debug on; nor in the
 * output of `dfc serve` at debug level.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { SignJWT } from 'jose';
import pg from 'pg';
import { createServer, encryptSecret, type DfcServer } from '@dfc/runtime';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../e2e/data-databases.js';
import { leaks, makeCanaries } from './helpers/canaries.js';
import { startDfcServe } from './helpers/child.js';
import { buildProject, type Project } from './helpers/project.js';
import { TcpProxy } from './helpers/proxy.js';

const C = makeCanaries();
const proxy = new TcpProxy(5432);
let db: TestDatabase;
let project: Project;
let env: Record<string, string>;

const config = (encryptedUrl: string) => `
import { defineApp, defineConfig, defineRole, defineRule, defineService, encrypted, secret } from 'dfc';

export const shop = defineService({
  name: 'shop',
  database: { type: 'postgres', url: encrypted('${encryptedUrl}') },
  tables: {
    notes: { columns: { id: 'integer', text: 'string' }, primaryKey: 'id' },
    users: { columns: { id: 'string', email: 'string' }, primaryKey: 'id' },
  },
  security: { anyone: { type: 'allowAnonymous' } },
});
export const notes = defineRule(shop, 'notes', { read: { rule: 'allow' }, create: { rule: 'allow' }, update: { rule: 'allow' }, delete: { rule: 'deny' } });
export const users = defineRule(shop, 'users', {
  read: { rule: 'decrypt', fields: ['res.email'] },
  create: { rule: 'encrypt', fields: ['args.doc.email'] },
});
export const reader = defineRole({
  name: 'reader',
  access: [
    { service: shop, component: '_table/notes', verbs: ['GET', 'POST', 'PATCH', 'DELETE'] },
    { service: shop, component: '_table/users', verbs: ['GET', 'POST'] },
  ],
});
export default defineConfig({
  services: [shop],
  rules: [notes, users],
  roles: [reader],
  apps: [
    defineApp({ name: 'web', apiKey: secret('SHOP_WEB_KEY'), role: reader }),
    defineApp({ name: 'tools', apiKey: secret('SHOP_ADMIN_KEY'), role: reader }),
  ],
  auth: { jwt: { secret: secret('SHOP_JWT_SECRET'), algorithms: ['HS256'], issuer: 'https://id.shop.test', audience: 'shop' } },
  crypto: { key: secret('SHOP_FIELD_KEY') },
  admin: { token: secret('SHOP_ADMIN_TOKEN') },
  server: { bodyLimit: 4096 },
});
`;

beforeAll(async () => {
  await proxy.start();
  db = await createTestDatabase('postgres');
  // trust authentication ignores the password, so the canary can sit in a working URL
  const url = db.url.replace('postgres@127.0.0.1:5432/', `postgres:${C.dbPassword}@127.0.0.1:${proxy.port}/`);
  const c = new pg.Client({ connectionString: db.url });
  await c.connect();
  await c.query('create table notes (id integer primary key, text text not null)');
  await c.query('create table users (id text primary key, email text not null)');
  await c.query("insert into notes values (1, 'first')");
  // a row whose encrypted field was tampered with: its read fails in the response rule (500)
  await c.query("insert into users values ('broken', 'dfcenc:v1:00000000:AAAA:BBBB:CCCC')");
  await c.end();
  env = {
    DFC_MASTER_KEY: C.masterKey,
    SHOP_WEB_KEY: C.webKey,
    SHOP_ADMIN_KEY: C.adminKey,
    SHOP_JWT_SECRET: C.jwtSecret,
    SHOP_FIELD_KEY: C.fieldKey,
    SHOP_ADMIN_TOKEN: C.adminToken,
  };
  const encryptedUrl = encryptSecret(url, Buffer.from(C.masterKey, 'base64'));
  // the compiler runs with the canaries in its environment too
  project = await buildProject('secrets', { 'dfc.config.ts': config(encryptedUrl) }, { env });
});

afterAll(async () => {
  await proxy.stop();
  await db?.drop();
  project?.cleanup();
});

test('the artifacts and the build diagnostics hold no secret', () => {
  const files = readdirSync(project.dist);
  expect(files.sort()).toEqual(['policy.json', 'policy.mjs', 'policy.schema.json']);
  for (const f of files) expect(leaks(C, readFileSync(join(project.dist, f), 'utf8')), f).toEqual([]);
  expect(leaks(C, JSON.stringify(project.result.diagnostics))).toEqual([]);
  // what the artifact holds instead: references
  expect(project.policy.auth.jwt!.secret).toEqual({ $secret: 'SHOP_JWT_SECRET' });
  expect(JSON.stringify(project.policy.services.shop!.database)).toContain('"$encrypted":"dfcenc:v1:');
});

test('a config that puts the secrets themselves in place of references fails the build without repeating them', async () => {
  // JavaScript: nothing type-checks it, so the values reach validation and the lints
  const js = `
import { defineApp, defineConfig, defineRole, defineService } from 'dfc';
const e = process.env;
export const shop = defineService({ name: 'shop', database: { type: 'postgres', url: e.SHOP_DB_URL_PLAIN }, tables: { notes: { columns: { id: 'integer' }, primaryKey: 'id' } } });
export const reader = defineRole({ name: 'reader', access: [{ service: shop, component: '_table/notes', verbs: ['GET'] }] });
export default defineConfig({
  services: [shop],
  roles: [reader],
  apps: [defineApp({ name: 'web', apiKey: e.SHOP_WEB_KEY, role: reader }), defineApp({ name: 'tools', apiKey: e.SHOP_ADMIN_KEY, role: reader })],
  auth: { jwt: { secret: e.SHOP_JWT_SECRET, algorithms: ['HS256'], issuer: 'https://id.shop.test', audience: 'shop' } },
  crypto: { key: e.SHOP_FIELD_KEY },
  admin: { token: e.SHOP_ADMIN_TOKEN },
  webhooks: { allowPrivateHosts: [e.DFC_MASTER_KEY] },
});
`;
  const p = await buildProject('secrets-plain', { 'dfc.config.mjs': js }, { expectErrors: true, env: { ...env, SHOP_DB_URL_PLAIN: `postgres://app:${C.dbPassword}@db.example.com/shop` } });
  try {
    expect(p.result.ok).toBe(false);
    const errors = p.result.diagnostics.filter((d) => d.severity === 'error');
    expect(errors.length).toBeGreaterThanOrEqual(5);
    expect(leaks(C, JSON.stringify(p.result.diagnostics))).toEqual([]);
    expect(existsSync(p.dist)).toBe(false);
  } finally {
    p.cleanup();
  }
});

interface Answer {
  name: string;
  status: number;
  /** The status the request is meant to provoke. */
  want?: number;
  text: string;
}

/** Sends every request that provokes an error class (and a few that succeed); every answer with its text (headers and body). */
async function provoke(api: string, adminUrl: string, user: string): Promise<Answer[]> {
  const answers: Answer[] = [];
  const web = { 'x-api-key': C.webKey };
  const send = async (name: string, url: string, init: RequestInit = {}, want?: number) => {
    const r = await fetch(url, init);
    const text = [...r.headers].map(([k, v]) => `${k}: ${v}`).join('\n') + '\n\n' + (await r.text());
    answers.push({ name, status: r.status, text, ...(want !== undefined ? { want } : {}) });
    return r;
  };
  const token = await new SignJWT({ id: 'u1' }).setProtectedHeader({ alg: 'HS256' }).setIssuer('https://id.shop.test').setAudience('shop').setExpirationTime('1h').sign(new TextEncoder().encode(C.jwtSecret));
  const forged = await new SignJWT({ id: 'u1' }).setProtectedHeader({ alg: 'HS256' }).setIssuer('https://id.shop.test').setAudience('shop').setExpirationTime('1h').sign(new TextEncoder().encode('another-secret-that-is-32-bytes-long!!'));
  const expired = await new SignJWT({ id: 'u1' }).setProtectedHeader({ alg: 'HS256' }).setIssuer('https://id.shop.test').setAudience('shop').setExpirationTime(Math.floor(Date.now() / 1000) - 3600).sign(new TextEncoder().encode(C.jwtSecret));
  const t = `${api}/api/v2/shop/_table`;
  const json = { ...web, 'content-type': 'application/json' };
  // the users table's rules (encrypt, decrypt) need a session
  const signed = { ...web, authorization: `Bearer ${token}` };

  await send('list', `${t}/notes`, { headers: web }, 200);
  await send('list with the key and a session in the query string', `${t}/notes?api_key=${C.webKey}&session_token=${token}`, {}, 200);
  await send('second app, session header', `${t}/notes`, { headers: { 'x-api-key': C.adminKey, authorization: `Bearer ${token}` } }, 200);
  await send('create (encrypted field)', `${t}/users`, { method: 'POST', headers: { ...signed, 'content-type': 'application/json' }, body: JSON.stringify({ id: user, email: `${user}@example.com` }) }, 201);
  await send('read back (decrypted)', `${t}/users/${user}`, { headers: signed }, 200);
  await send('bad filter', `${t}/notes?filter=${encodeURIComponent('text = (')}`, { headers: web }, 400);
  await send('filter on an unknown column', `${t}/notes?filter=${encodeURIComponent("password = 'x'")}`, { headers: web }, 400);
  await send('invalid JSON', `${t}/notes`, { method: 'POST', headers: json, body: '{"id": 2,' }, 400);
  await send('wrong value type', `${t}/notes`, { method: 'POST', headers: json, body: JSON.stringify({ id: 'x', text: 1 }) }, 400);
  await send('no key', `${t}/notes`, {}, 401);
  await send('wrong key (almost the real one)', `${t}/notes`, { headers: { 'x-api-key': C.webKey.slice(0, -1) + 'x' } }, 401);
  await send('token signed with another secret', `${t}/notes`, { headers: { ...web, authorization: `Bearer ${forged}` } }, 401);
  await send('expired token', `${t}/notes`, { headers: { ...web, authorization: `Bearer ${expired}` } }, 401);
  await send('garbage token', `${t}/notes`, { headers: { ...web, authorization: 'Bearer a.b.c' } }, 401);
  await send('rule denies', `${t}/notes/1`, { method: 'DELETE', headers: signed }, 403);
  await send('unknown table', `${t}/secrets`, { headers: web }, 404);
  await send('unknown route', `${api}/api/v2/shop/nope?api_key=${C.webKey}`, {}, 404);
  await send('missing record', `${t}/notes/424242`, { headers: web }, 404);
  await send('POST on a record', `${t}/notes/1`, { method: 'POST', headers: json, body: '{}' }, 405);
  await send('duplicate key', `${t}/notes`, { method: 'POST', headers: json, body: JSON.stringify({ id: 1, text: 'again' }) }, 409);
  await send('body too large', `${t}/notes`, { method: 'POST', headers: json, body: JSON.stringify({ id: 3, text: 'x'.repeat(10_000) }) }, 413);
  await send('URL too long', `${t}/notes/${'9'.repeat(9000)}`, { headers: web }, 414);
  await send('not JSON', `${t}/notes`, { method: 'POST', headers: { ...web, 'content-type': 'text/plain' }, body: 'id=3' }, 415);
  await send('response rule fails (tampered ciphertext)', `${t}/users/broken`, { headers: signed }, 500);
  await send('response rule fails in a list', `${t}/users`, { headers: signed }, 500);
  await proxy.stop();
  await send('database down', `${t}/notes`, { headers: web }, 503);
  await send('database down, write', `${t}/notes`, { method: 'PATCH', headers: json, body: JSON.stringify({ id: 1, text: 'x' }) }, 503);
  const adminAuth = { authorization: `Bearer ${C.adminToken}` };
  await send('admin ready while the database is down', `${adminUrl}/ready`, { headers: adminAuth }, 503);
  await proxy.start();
  for (const path of ['/health', '/ready', '/policy', '/metrics']) await send(`admin ${path}`, adminUrl + path, { headers: adminAuth });
  await send('admin reload', `${adminUrl}/reload`, { method: 'POST', headers: adminAuth }, 200);
  await send('admin reload from a missing directory', `${adminUrl}/reload`, { method: 'POST', headers: { ...adminAuth, 'content-type': 'application/json' }, body: JSON.stringify({ dir: '/nonexistent' }) }, 422);
  await send('admin with a wrong token', `${adminUrl}/policy`, { headers: { authorization: `Bearer ${C.adminToken.slice(0, -1)}x` } }, 401);
  await send('admin unknown route', `${adminUrl}/secrets`, { headers: adminAuth }, 404);
  // last: repeated failures from this client are rate limited
  for (let i = 0; i < 4; i++) await send('repeated bad keys', `${t}/notes`, { headers: { 'x-api-key': `bad-${i}` } });
  await send('rate limited', `${t}/notes`, { headers: web }, 429);
  return answers;
}

describe.each([
  ['production', false],
  ['debug', true],
] as const)('serving in %s mode', (_mode, debug) => {
  const lines: string[] = [];
  let server: DfcServer;
  let api: string;
  let adminUrl: string;
  beforeAll(async () => {
    server = await createServer({
      policy: project.dist,
      env,
      baseDir: project.dir,
      host: '127.0.0.1',
      port: 0,
      admin: { port: 0 },
      logger: { level: 'trace' },
      logStream: { write: (l) => void lines.push(l) },
      authFailures: { max: 6, windowMs: 60_000 },
      ...(debug ? { debug: true, allowDebugInProduction: true } : {}),
    });
    ({ url: api, adminUrl: adminUrl = '' } = await server.listen());
  });
  afterAll(async () => server?.close());

  test('every error class is answered, and no response or log line holds a secret', async () => {
    const user = debug ? 'debuguser' : 'produser';
    const answers = await provoke(api, adminUrl, user);
    expect(answers.filter((a) => a.want !== undefined && a.status !== a.want).map((a) => `${a.name}: ${a.status}, wanted ${a.want}`)).toEqual([]);
    const statuses = new Set(answers.map((a) => a.status));
    for (const s of [200, 201, 400, 401, 403, 404, 405, 409, 413, 414, 415, 422, 429, 500, 503]) expect(statuses.has(s), `status ${s} provoked`).toBe(true);
    for (const a of answers) expect(leaks(C, a.text), `${a.name} (${a.status})`).toEqual([]);
    // debug mode adds details: the check above covered them
    if (debug) expect(answers.some((a) => a.text.includes('"detail"'))).toBe(true);
    // the decrypted value did reach its reader: the scan would see a leaked plaintext the same way
    expect(answers.find((a) => a.name === 'read back (decrypted)')!.text).toContain(`${user}@example.com`);
    // a list with one undecryptable row is refused whole: never a partly processed reply
    const list = answers.find((a) => a.name === 'response rule fails in a list')!;
    expect(list.text).not.toContain(`${user}@example.com`);
    expect(list.text).not.toContain('dfcenc:');
    expect(lines.length).toBeGreaterThan(answers.length);
    const levels = new Set(lines.map((l) => (JSON.parse(l) as { level: number }).level));
    expect(levels.has(50), 'error lines (the 500s) were logged').toBe(true);
    for (const l of lines) expect(leaks(C, l), l.slice(0, 300)).toEqual([]);
  });
});

test('`dfc serve` at debug level prints no secret, from startup to SIGTERM', async () => {
  const child = await startDfcServe(project.dist, { ...env, NODE_ENV: 'production' }, ['--log-level', 'debug']);
  try {
    const t = `${child.url}/api/v2/shop/_table`;
    const token = await new SignJWT({ id: 'u2' }).setProtectedHeader({ alg: 'HS256' }).setIssuer('https://id.shop.test').setAudience('shop').setExpirationTime('1h').sign(new TextEncoder().encode(C.jwtSecret));
    const statuses: number[] = [];
    for (const [path, headers] of [
      ['/notes', { 'x-api-key': C.webKey }],
      [`/notes?api_key=${C.adminKey}`, {}],
      ['/notes', { 'x-api-key': 'wrong' }],
      ['/users', { 'x-api-key': C.webKey, authorization: `Bearer ${token}` }],
      ['/nope', { 'x-api-key': C.webKey }],
    ] as const) {
      const r = await fetch(t + path, { headers });
      statuses.push(r.status);
      expect(leaks(C, await r.text())).toEqual([]);
    }
    expect(statuses).toEqual([200, 200, 401, 500, 404]);
    const m = await fetch(child.adminUrl + '/metrics', { headers: { authorization: `Bearer ${C.adminToken}` } });
    expect(leaks(C, await m.text())).toEqual([]);
  } finally {
    child.child.kill('SIGTERM');
    await child.exited;
  }
  expect(child.stdout().length).toBeGreaterThan(0);
  expect(leaks(C, child.stdout())).toEqual([]);
  expect(leaks(C, child.stderr())).toEqual([]);
});
