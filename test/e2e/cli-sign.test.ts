import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { loadArtifact, signatureVerifier } from '@dfc/runtime';
import { runDfc, snapshotDir, tempDir } from '../fixtures/helpers.js';

const tmp = tempDir('dfc-sign-');
afterAll(() => tmp.cleanup());

function project(name: string): string {
  const dir = join(tmp.dir, name);
  runDfc(['init', dir]);
  expect(existsSync(join(dir, 'dfc.config.ts'))).toBe(true);
  return dir;
}

describe('signed policies: dfc keygen, dfc build --sign, dfc serve --trusted-key', () => {
  const dir = project('app');
  const dist = join(dir, 'dist');

  test('keygen writes a private key only its owner can read and a public key, and never overwrites', () => {
    const r = runDfc(['keygen', 'ci'], { cwd: dir });
    expect(r.status).toBe(0);
    expect(r.stderr).toMatch(/key ed25519:[0-9a-f]{16}/);
    expect(statSync(join(dir, 'ci.key')).mode & 0o777).toBe(0o600);
    expect(readFileSync(join(dir, 'ci.pub'), 'utf8')).toContain('BEGIN PUBLIC KEY');
    const key = readFileSync(join(dir, 'ci.key'));
    const again = runDfc(['keygen', 'ci'], { cwd: dir });
    expect(again.status).toBe(1);
    expect(again.stderr).toContain('already exists');
    expect(readFileSync(join(dir, 'ci.key'))).toEqual(key);
  });

  test('a signed build loads only under a key that is trusted; an unsigned rebuild drops the signature', async () => {
    expect(runDfc(['build', dir, '--sign', join(dir, 'ci.key')]).status).toBe(0);
    expect(existsSync(join(dist, 'policy.sig'))).toBe(true);
    const pub = readFileSync(join(dir, 'ci.pub'), 'utf8');
    expect((await loadArtifact(dist, { verify: signatureVerifier([pub]) })).policy.hash).toMatch(/^sha256:/);

    runDfc(['keygen', 'other'], { cwd: dir });
    const other = readFileSync(join(dir, 'other.pub'), 'utf8');
    await expect(loadArtifact(dist, { verify: signatureVerifier([other]) })).rejects.toMatchObject({ code: 'DFC_ERR_ARTIFACT_SIGNATURE' });

    // the same key from the environment gives the same bytes (Ed25519 is deterministic)
    const before = snapshotDir(dist);
    expect(runDfc(['build', dir], { env: { DFC_SIGNING_KEY: readFileSync(join(dir, 'ci.key'), 'utf8') } }).status).toBe(0);
    expect(snapshotDir(dist)).toEqual(before);

    expect(runDfc(['build', dir]).status).toBe(0);
    expect(existsSync(join(dist, 'policy.sig'))).toBe(false);
    await expect(loadArtifact(dist, { verify: signatureVerifier([pub]) })).rejects.toMatchObject({ code: 'DFC_ERR_ARTIFACT_UNSIGNED' });
  });

  test('a key that is not an Ed25519 private key is DFC5003 and nothing is written', () => {
    writeFileSync(join(dir, 'bad.key'), readFileSync(join(dir, 'ci.pub')));
    const before = snapshotDir(dist);
    const r = runDfc(['build', dir, '--sign', join(dir, 'bad.key')]);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('DFC5003');
    expect(snapshotDir(dist)).toEqual(before);
    expect(runDfc(['build', dir, '--sign', join(dir, 'missing.key')]).status).toBe(2);
  });

  test('dfc serve with a trusted key refuses an unsigned policy, naming why', () => {
    const r = runDfc(['serve', dir, '--no-build', '--port', '0', '--trusted-key', join(dir, 'ci.pub')]);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('DFC_ERR_ARTIFACT_UNSIGNED');
    const bad = runDfc(['serve', dir, '--no-build', '--port', '0', '--trusted-key', join(dir, 'ci.key')]);
    expect(bad.status).toBe(1);
    expect(bad.stderr).toContain('DFC_ERR_TRUSTED_KEY');
  });
});

