/**
 * AES-256-GCM envelopes that were tampered with never decrypt (checklist §2.6 S1, S2):
 *
 * - field values read through a `decrypt` rule: a flipped bit in the nonce, the
 *   ciphertext or the tag, another key id, a truncated tag or envelope, a value made
 *   under another key (with the right key id written in), or one moved from another
 *   field (the field name is bound as additional data) makes the request fail whole:
 *   500 with no plaintext of any row and no envelope, never a partly decrypted reply;
 * - `$encrypted` config values: the same tampering, or another `DFC_MASTER_KEY`, stops the
 *   server from starting (and a reload from swapping), with a message that holds neither
 *   the plaintext nor the key.
 */
import { createCipheriv, createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { SignJWT } from 'jose';
import { createFieldCrypto } from '@dfc/rules';
import { createServer, encryptSecret, type DfcServer } from '@dfc/runtime';
import { policyHash, prettyCanonicalJson, type Policy } from '@dfc/schema';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { buildProject, canary, randomKey, seedProject, type Project } from './helpers/project.js';

const FIELD_KEY = randomKey();
const MASTER_KEY = randomKey();
const JWT_SECRET = canary('jwtsecret');
const WEB_KEY = canary('webkey');
const GOOD = ['alice@example.com', 'Alice Archer'];

const config = (jwtEnvelope: string) => `
import { defineApp, defineConfig, defineRole, defineRule, defineService, encrypted, secret } from 'dfc';

export const vault = defineService({
  name: 'vault',
  database: { type: 'sqlite', file: './vault.db', seed: './seed.json' },
  tables: { users: { columns: { id: 'string', email: 'string', name: 'string' }, primaryKey: 'id' } },
});
export const users = defineRule(vault, 'users', { read: { rule: 'decrypt', fields: ['res.email', 'res.name'] } });
export const reader = defineRole({ name: 'reader', access: [{ service: vault, component: '_table/users', verbs: ['GET'] }] });
export default defineConfig({
  services: [vault],
  rules: [users],
  roles: [reader],
  apps: [defineApp({ name: 'web', apiKey: secret('VAULT_WEB_KEY'), role: reader })],
  auth: { jwt: { secret: encrypted('${jwtEnvelope}'), algorithms: ['HS256'], issuer: 'https://id.vault.test', audience: 'vault' } },
  crypto: { key: secret('VAULT_FIELD_KEY') },
});
`;

const seed = { users: [{ id: 'alice', email: { $encrypt: GOOD[0] }, name: { $encrypt: GOOD[1] } }] };
const env = { VAULT_WEB_KEY: WEB_KEY, VAULT_FIELD_KEY: FIELD_KEY, DFC_MASTER_KEY: MASTER_KEY };

let project: Project;
let server: DfcServer;
let api: string;
let headers: Record<string, string>;

beforeAll(async () => {
  project = await buildProject('ciphertext', { 'dfc.config.ts': config(encryptSecret(JWT_SECRET, Buffer.from(MASTER_KEY, 'base64'))), 'seed.json': JSON.stringify(seed) });
  await seedProject(project, env);
  server = await createServer({ policy: project.dist, env, baseDir: project.dir, host: '127.0.0.1', port: 0, admin: false, logger: false });
  api = (await server.listen()).url;
  const token = await new SignJWT({ id: 'alice' }).setProtectedHeader({ alg: 'HS256' }).setIssuer('https://id.vault.test').setAudience('vault').setExpirationTime('1h').sign(new TextEncoder().encode(JWT_SECRET));
  headers = { 'x-api-key': WEB_KEY, authorization: `Bearer ${token}` };
});
afterAll(async () => {
  await server?.close();
  project?.cleanup();
});

// ---------------------------------------------------------------------------
// envelope surgery: dfcenc:v1:<kid>:<nonce>:<ciphertext>:<tag>

const b64 = (b: Buffer) => b.toString('base64url');
const parts = (envelope: string) => envelope.split(':');
const join6 = (p: string[]) => p.join(':');
function flipBit(part: string): string {
  const b = Buffer.from(part, 'base64url');
  b[b.length - 1] = b[b.length - 1]! ^ 0x01;
  return b64(b);
}
/** An envelope made under `key` (no additional data binding to a field unless given), labelled with `kid`. */
function sealWith(key: Buffer, kid: string, plaintext: string, context: string): string {
  const nonce = randomBytes(12);
  const c = createCipheriv('aes-256-gcm', key, nonce, { authTagLength: 16 });
  c.setAAD(Buffer.from(`dfcenc:v1:${kid}${context ? ':' + context : ''}`));
  const ct = Buffer.concat([c.update(plaintext, 'utf8'), c.final()]);
  return ['dfcenc', 'v1', kid, b64(nonce), b64(ct), b64(c.getAuthTag())].join(':');
}

/** Tampered variants of a valid envelope of `plaintext` for the field `field`. */
function variants(plaintext: string, field: string, key: string): [string, string][] {
  const crypto = createFieldCrypto(key);
  const good = crypto.encrypt(plaintext, field);
  const p = parts(good);
  const kid = p[2]!;
  const other = randomBytes(32);
  const otherKid = createHash('sha256').update(other).digest('hex').slice(0, 8);
  return [
    ['nonce bit flipped', join6([...p.slice(0, 3), flipBit(p[3]!), p[4]!, p[5]!])],
    ['ciphertext bit flipped', join6([...p.slice(0, 4), flipBit(p[4]!), p[5]!])],
    ['tag bit flipped', join6([...p.slice(0, 5), flipBit(p[5]!)])],
    ['key id changed', join6([p[0]!, p[1]!, kid.replace(/^./, (c) => (c === '0' ? '1' : '0')), ...p.slice(3)])],
    ['tag truncated to 4 bytes', join6([...p.slice(0, 5), b64(Buffer.from(p[5]!, 'base64url').subarray(0, 4))])],
    ['tag missing', join6(p.slice(0, 5))],
    ['ciphertext truncated by one byte', join6([...p.slice(0, 4), b64(Buffer.from(p[4]!, 'base64url').subarray(0, -1)), p[5]!])],
    ['envelope cut in half', good.slice(0, Math.floor(good.length / 2))],
    ['nonce of 8 bytes', join6([...p.slice(0, 3), b64(Buffer.from(p[3]!, 'base64url').subarray(0, 8)), p[4]!, p[5]!])],
    ['made under another key, labelled with the right key id', sealWith(other, kid, plaintext, field)],
    ['made under another key, with its own key id', sealWith(other, otherKid, plaintext, field)],
    ['moved from another field (additional data)', crypto.encrypt(plaintext, field === 'email' ? 'name' : 'email')],
    ['encrypted without the field binding', crypto.encrypt(plaintext)],
    ['plain text', plaintext],
    ['empty', ''],
  ];
}

describe('field values read through a decrypt rule', () => {
  test('every tampered envelope makes the read fail whole: no plaintext, no envelope, not partly decrypted', async () => {
    const db = new Database(join(project.dir, 'vault.db'));
    const secret = 'victim-' + randomBytes(6).toString('hex') + '@example.com';
    const cases = variants(secret, 'email', FIELD_KEY);
    const insert = db.prepare('insert into users (id, email, name) values (?, ?, ?)');
    const good = createFieldCrypto(FIELD_KEY);
    cases.forEach(([, envelope], i) => insert.run(`bad${i}`, envelope, good.encrypt(`Name ${i}`, 'name')));
    db.close();
    try {
      // the good row alone reads fine: the key and the rule work
      const ok = await fetch(`${api}/api/v2/vault/_table/users/alice`, { headers });
      expect(ok.status).toBe(200);
      expect(await ok.json()).toEqual({ id: 'alice', email: GOOD[0], name: GOOD[1] });
      for (const [i, [name, envelope]] of cases.entries()) {
        const r = await fetch(`${api}/api/v2/vault/_table/users/bad${i}`, { headers });
        const body = await r.text();
        expect(r.status, name).toBe(500);
        expect(JSON.parse(body).error.code, name).toBe('DFC_ERR_RESPONSE_REFUSED');
        for (const text of [secret, `Name ${i}`, ...GOOD]) expect(body, name).not.toContain(text);
        if (envelope) expect(body, name).not.toContain(envelope);
        expect(body, name).not.toContain('dfcenc:');
      }
      // a list holding one bad row is refused whole: the good row's plaintext is not sent either
      const list = await fetch(`${api}/api/v2/vault/_table/users`, { headers });
      const text = await list.text();
      expect(list.status).toBe(500);
      for (const g of [...GOOD, secret]) expect(text).not.toContain(g);
      console.log(`ciphertext: ${cases.length} tampered field envelopes, each refused`);
    } finally {
      const d = new Database(join(project.dir, 'vault.db'));
      d.prepare("delete from users where id like 'bad%'").run();
      d.close();
    }
  });
});

describe('$encrypted config values', () => {
  /** A copy of the built artifact whose JWT secret envelope is `envelope` (re-hashed: only the envelope is wrong). */
  function artifactWith(envelope: string): string {
    const next = structuredClone(project.policy) as Policy;
    next.auth.jwt!.secret = { $encrypted: envelope };
    next.hash = policyHash(next);
    const dir = mkdtempSync(join(project.dir, 'variant-'));
    writeFileSync(join(dir, 'policy.json'), prettyCanonicalJson(next));
    const mjs = readFileSync(join(project.dist, 'policy.mjs'), 'utf8');
    writeFileSync(join(dir, 'policy.mjs'), mjs.split(project.policy.hash).join(next.hash));
    return dir;
  }

  async function refusal(dir: string, env2: Record<string, string>): Promise<{ code: string; text: string }> {
    const e = await createServer({ policy: dir, env: env2, baseDir: project.dir, port: 0, admin: false, logger: false }).then(
      async (s) => {
        await s.close();
        return undefined;
      },
      (err: unknown) => err as { code: string; message: string; note?: string },
    );
    expect(e, 'the server must refuse to start').toBeDefined();
    return { code: e!.code, text: `${e!.message} ${e!.note ?? ''}` };
  }

  test('a tampered, truncated or foreign envelope, or another master key, stops startup and reload without echoing secrets', async () => {
    const envelope = project.policy.auth.jwt!.secret as { $encrypted: string };
    expect(envelope.$encrypted).toMatch(/^dfcenc:v1:/);
    const key = Buffer.from(MASTER_KEY, 'base64');
    const kid = parts(envelope.$encrypted)[2]!;
    const p = parts(envelope.$encrypted);
    const other = randomBytes(32);
    const cases: [string, string][] = [
      ['nonce bit flipped', join6([...p.slice(0, 3), flipBit(p[3]!), p[4]!, p[5]!])],
      ['ciphertext bit flipped', join6([...p.slice(0, 4), flipBit(p[4]!), p[5]!])],
      ['tag bit flipped', join6([...p.slice(0, 5), flipBit(p[5]!)])],
      ['key id changed', join6([p[0]!, p[1]!, '00000000', ...p.slice(3)])],
      ['tag truncated to 4 bytes', join6([...p.slice(0, 5), b64(Buffer.from(p[5]!, 'base64url').subarray(0, 4))])],
      ['envelope cut', envelope.$encrypted.slice(0, -10)],
      ['made under another key, labelled with the right key id', sealWith(other, kid, JWT_SECRET, '')],
    ];
    // sanity: the untouched envelope decrypts under this master key
    expect((await createServer({ policy: artifactWith(envelope.$encrypted), env, baseDir: project.dir, port: 0, admin: false, logger: false }).then((s) => s.close().then(() => 'started'))) as string).toBe('started');
    const forbidden = [JWT_SECRET, MASTER_KEY, key.toString('hex'), FIELD_KEY, WEB_KEY];
    for (const [name, bad] of cases) {
      const r = await refusal(artifactWith(bad), env);
      expect(r.code, name).toBe('DFC_ERR_SECRET_DECRYPT');
      for (const f of forbidden) expect(r.text, name).not.toContain(f);
    }
    // another master key
    const wrongKey = randomKey();
    const r = await refusal(project.dist, { ...env, DFC_MASTER_KEY: wrongKey });
    expect(r.code).toBe('DFC_ERR_SECRET_DECRYPT');
    expect(r.text).toContain('another `DFC_MASTER_KEY`');
    for (const f of [...forbidden, wrongKey]) expect(r.text).not.toContain(f);
    // a master key that is not 32 bytes of base64
    for (const bad of ['', 'short', randomBytes(16).toString('base64'), `${MASTER_KEY}x`]) {
      const m = await refusal(project.dist, { ...env, DFC_MASTER_KEY: bad });
      expect(['DFC_ERR_MASTER_KEY'], bad).toContain(m.code);
      if (bad) expect(m.text).not.toContain(bad);
    }
    // a reload to a tampered envelope is refused and the server keeps its policy
    const before = server.runtime.state.compiled.hash;
    await expect(server.runtime.reload(artifactWith(cases[2]![1]))).rejects.toMatchObject({ code: 'DFC_ERR_SECRET_DECRYPT' });
    expect(server.runtime.state.compiled.hash).toBe(before);
    expect((await fetch(`${api}/api/v2/vault/_table/users/alice`, { headers })).status).toBe(200);
  });
});
