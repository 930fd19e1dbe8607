import { generateKeyPairSync } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { SIGNATURE_FILE, prettyCanonicalJson, signArtifact } from '@dfc/schema';
import { loadArtifact, signatureVerifier } from './artifact.js';
import { DfcError } from './errors.js';
import { makePolicy } from './testing.js';

const root = mkdtempSync(join(tmpdir(), 'dfc-artifact-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const policy = makePolicy({ roles: { r: { active: true, access: [] } } });
let n = 0;
function pair(json: string, mjs: string | null): string {
  const dir = join(root, String(n++));
  mkdirSync(dir);
  writeFileSync(join(dir, 'policy.json'), json);
  if (mjs !== null) writeFileSync(join(dir, 'policy.mjs'), mjs);
  return dir;
}
const goodMjs = (hash: string) => `export const hash = ${JSON.stringify(hash)};\nexport const rules = { 'a/b/read': () => ({ allow: true }) };\n`;

async function code(dir: string): Promise<string> {
  try {
    await loadArtifact(dir);
  } catch (e) {
    expect(e).toBeInstanceOf(DfcError);
    return (e as DfcError).code;
  }
  return 'loaded';
}

describe('loadArtifact', () => {
  test('loads a matching pair', async () => {
    const a = await loadArtifact(pair(prettyCanonicalJson(policy), goodMjs(policy.hash)));
    expect(a.policy.hash).toBe(policy.hash);
    expect(Object.keys(a.module.rules)).toEqual(['a/b/read']);
  });
  test('refuses each kind of broken or mismatched pair with its own code', async () => {
    const other = makePolicy({ environment: 'development' });
    const edited = JSON.parse(JSON.stringify(policy));
    edited.roles.r.active = false;
    const cases: [string, string, string | null][] = [
      ['DFC_ERR_ARTIFACT_MISSING', prettyCanonicalJson(policy), null],
      ['DFC_ERR_ARTIFACT_JSON', '{"truncated": ', goodMjs(policy.hash)],
      ['DFC_ERR_ARTIFACT_SCHEMA', JSON.stringify({ ...policy, roles: 'x' }), goodMjs(policy.hash)],
      ['DFC_ERR_ARTIFACT_VERSION', JSON.stringify({ ...policy, artifactVersion: 999 }), goodMjs(policy.hash)],
      ['DFC_ERR_ARTIFACT_HASH', JSON.stringify(edited), goodMjs(policy.hash)],
      ['DFC_ERR_ARTIFACT_HASH', prettyCanonicalJson(policy), goodMjs(other.hash)],
      ['DFC_ERR_ARTIFACT_MODULE', prettyCanonicalJson(policy), 'throw new Error("at import");'],
      ['DFC_ERR_ARTIFACT_MODULE', prettyCanonicalJson(policy), 'export const hash = ;'],
      ['DFC_ERR_ARTIFACT_MODULE', prettyCanonicalJson(policy), `export const hash = ${JSON.stringify(policy.hash)}; export const rules = { x: 1 };`],
    ];
    for (const [want, json, mjs] of cases) expect(await code(pair(json, mjs))).toBe(want);
  });
  test('a policy.mjs whose import never finishes is refused after the import time limit', async () => {
    const dir = pair(prettyCanonicalJson(policy), `export const hash = ${JSON.stringify(policy.hash)};\nawait new Promise(() => {});\n`);
    const e = await loadArtifact(dir, { importTimeoutMs: 200 }).then(() => undefined, (err: unknown) => err);
    expect(e).toBeInstanceOf(DfcError);
    expect(e).toMatchObject({ code: 'DFC_ERR_ARTIFACT_MODULE', detail: 'the import did not finish within 200 ms' });
    // a module that does finish is unaffected by the limit
    expect((await loadArtifact(pair(prettyCanonicalJson(policy), goodMjs(policy.hash)), { importTimeoutMs: 200 })).policy.hash).toBe(policy.hash);
  });
  test('a verify hook sees both files before anything is trusted, and can refuse the pair', async () => {
    const dir = pair(prettyCanonicalJson(policy), goodMjs(policy.hash));
    const seen: number[] = [];
    const a = await loadArtifact(dir, { verify: ({ policyJson, policyMjs }) => void seen.push(policyJson.length, policyMjs.length) });
    expect(a.policy.hash).toBe(policy.hash);
    expect(seen.every((n) => n > 0)).toBe(true);
    const refuse = () => {
      throw new DfcError('DFC_ERR_ARTIFACT_HASH', 'the bundle is not signed by a trusted key');
    };
    await expect(loadArtifact(dir, { verify: refuse })).rejects.toMatchObject({ message: 'the bundle is not signed by a trusted key' });
  });
});


describe('signed artifacts', () => {
  const keys = () => {
    const { privateKey, publicKey } = generateKeyPairSync('ed25519');
    return { privateKey, publicPem: publicKey.export({ type: 'spki', format: 'pem' }).toString() };
  };
  const ours = keys();
  const theirs = keys();
  const signed = (signer = ours.privateKey, mjs = goodMjs(policy.hash)) => {
    const json = prettyCanonicalJson(policy);
    const dir = pair(json, mjs);
    writeFileSync(join(dir, SIGNATURE_FILE), signArtifact({ policyJson: json, policyMjs: mjs }, signer));
    return dir;
  };
  const load = (dir: string, trusted = [ours.publicPem]) =>
    loadArtifact(dir, { verify: signatureVerifier(trusted) }).then(
      (a) => a.policy.hash,
      (e: DfcError) => `${e.code}: ${e.message}`,
    );

  test('a pair signed by a trusted key loads', async () => {
    expect(await load(signed(), [theirs.publicPem, ours.publicPem])).toBe(policy.hash);
  });
  test('unsigned, signed by another key, or changed after signing: refused, each saying why', async () => {
    expect(await load(pair(prettyCanonicalJson(policy), goodMjs(policy.hash)))).toMatch(/^DFC_ERR_ARTIFACT_UNSIGNED: `.*policy\.sig` is missing$/);
    expect(await load(signed(theirs.privateKey))).toMatch(/^DFC_ERR_ARTIFACT_SIGNATURE: policy\.sig is signed by `ed25519:[0-9a-f]{16}`, which is not a trusted key$/);
    const dir = signed();
    writeFileSync(join(dir, 'policy.mjs'), goodMjs(policy.hash) + 'globalThis.pwned = true;\n');
    expect(await load(dir)).toBe('DFC_ERR_ARTIFACT_SIGNATURE: policy.mjs changed after it was signed');
    expect((globalThis as { pwned?: boolean }).pwned).toBeUndefined();
  });
  test('the module that runs is the one that was checked, even if policy.mjs is swapped after the check', async () => {
    const dir = signed();
    const evil = `export const hash = ${JSON.stringify(policy.hash)};\nexport const rules = { 'a/b/read': () => ({ allow: true }), 'a/b/delete': () => ({ allow: true }) };\n`;
    const verify = signatureVerifier([ours.publicPem]);
    const a = await loadArtifact(dir, {
      verify: async (files) => {
        await verify(files);
        writeFileSync(join(dir, 'policy.mjs'), evil); // between the check and the import
      },
    });
    expect(Object.keys(a.module.rules)).toEqual(['a/b/read']);
  });
  test('a trusted key that is not an Ed25519 public key is refused up front', () => {
    expect(() => signatureVerifier(['-----BEGIN PUBLIC KEY-----\nnope\n-----END PUBLIC KEY-----\n'])).toThrow(
      expect.objectContaining({ code: 'DFC_ERR_TRUSTED_KEY', message: 'trusted key 1 of 1: a trusted key is not a PEM public key' }),
    );
  });
});
