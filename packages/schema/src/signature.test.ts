import { generateKeyPairSync } from 'node:crypto';
import { describe, expect, test } from 'vitest';
import { parseSigningKey, parseTrustedKey, signArtifact, signingKeyId, verifyArtifactSignature } from './signature.js';

const pair = () => {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  return {
    privatePem: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    publicPem: publicKey.export({ type: 'spki', format: 'pem' }).toString(),
  };
};
const files = { policyJson: '{"hash":"sha256:1"}\n', policyMjs: 'export const hash = "sha256:1";\n' };

describe('artifact signatures', () => {
  const a = pair();
  const b = pair();
  const sig = signArtifact(files, parseSigningKey(a.privatePem));

  test('a signature by a trusted key over unchanged files verifies', () => {
    const check = verifyArtifactSignature(sig, files, [parseTrustedKey(b.publicPem), parseTrustedKey(a.publicPem)]);
    expect(check).toEqual({ ok: true, keyId: signingKeyId(parseTrustedKey(a.publicPem)) });
    expect(signingKeyId(parseSigningKey(a.privatePem))).toBe(signingKeyId(parseTrustedKey(a.publicPem)));
  });

  test('another key, a changed file or a changed signature fails, each with its reason', () => {
    expect(verifyArtifactSignature(sig, files, [parseTrustedKey(b.publicPem)])).toMatchObject({ ok: false, reason: expect.stringMatching(/not a trusted key/) });
    expect(verifyArtifactSignature(sig, { ...files, policyMjs: files.policyMjs + ' ' }, [parseTrustedKey(a.publicPem)])).toEqual({
      ok: false,
      reason: 'policy.mjs changed after it was signed',
    });
    expect(verifyArtifactSignature(sig, { ...files, policyJson: files.policyJson.replace('1', '2') }, [parseTrustedKey(a.publicPem)])).toEqual({
      ok: false,
      reason: 'policy.json changed after it was signed',
    });
    const parsed = JSON.parse(sig);
    // Claiming other digests (to match edited files) breaks the signature itself.
    parsed.files['policy.mjs'] = 'sha256:' + '0'.repeat(64);
    expect(verifyArtifactSignature(JSON.stringify(parsed), files, [parseTrustedKey(a.publicPem)])).toEqual({ ok: false, reason: 'the signature in policy.sig does not verify' });
    for (const bad of ['', 'null', '{}', '{"format":"dfc-signature-v1","algorithm":"Ed25519"}', '[1]']) {
      expect(verifyArtifactSignature(bad, files, [parseTrustedKey(a.publicPem)]).ok, bad).toBe(false);
    }
  });

  test('only Ed25519 keys in PEM are accepted, with readable errors', () => {
    const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    expect(() => parseSigningKey(privateKey.export({ type: 'pkcs8', format: 'pem' }).toString())).toThrow('the signing key must be Ed25519, not ec');
    expect(() => parseTrustedKey(publicKey.export({ type: 'spki', format: 'pem' }).toString())).toThrow('a trusted key must be Ed25519, not ec');
    expect(() => parseSigningKey('not a key')).toThrow('the signing key is not a PEM private key');
    expect(() => parseTrustedKey(a.privatePem.replace(/PRIVATE/g, 'PUBLIC'))).toThrow(/not a PEM public key/);
    expect(() => parseTrustedKey(a.privatePem)).toThrow('a trusted key must be the public key (`.pub`), not the private key');
  });

  test('signing is deterministic (Ed25519) so a rebuild leaves policy.sig unchanged', () => {
    expect(signArtifact(files, parseSigningKey(a.privatePem))).toBe(sig);
  });
});
