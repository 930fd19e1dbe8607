import { createHash, createPrivateKey, createPublicKey, sign, verify, type KeyObject } from 'node:crypto';
import { canonicalJson, prettyCanonicalJson } from './canonical.js';

/**
 * Artifact signatures (`dfc build --sign`): an Ed25519 signature over the SHA-256 of
 * policy.json and policy.mjs, written next to them as policy.sig. A runtime configured
 * with trusted public keys refuses a pair that is unsigned, signed by another key, or
 * changed after signing. Shared by the compiler (signs) and the runtime (verifies).
 */

export const SIGNATURE_FILE = 'policy.sig';
export const SIGNATURE_FORMAT = 'dfc-signature-v1';

export interface ArtifactSignature {
  format: typeof SIGNATURE_FORMAT;
  algorithm: 'Ed25519';
  /** `ed25519:` and the first 16 hex digits of the SHA-256 of the public key (SPKI DER). */
  keyId: string;
  /** `sha256:<hex>` of each file's bytes. */
  files: { 'policy.json': string; 'policy.mjs': string };
  /** base64url Ed25519 signature of the canonical JSON of every other field. */
  signature: string;
}

export interface SignedFiles {
  policyJson: string | Uint8Array;
  policyMjs: string | Uint8Array;
}

const digest = (data: string | Uint8Array) => 'sha256:' + createHash('sha256').update(data).digest('hex');

/** The key id of a public (or private) Ed25519 key. */
export function signingKeyId(key: KeyObject): string {
  const pub = key.type === 'private' ? createPublicKey(key) : key;
  const der = pub.export({ type: 'spki', format: 'der' });
  return 'ed25519:' + createHash('sha256').update(der).digest('hex').slice(0, 16);
}

/** Parses a PEM Ed25519 private key; throws a plain Error with a readable message. */
export function parseSigningKey(pem: string): KeyObject {
  let key: KeyObject;
  try {
    key = createPrivateKey(pem);
  } catch {
    throw new Error('the signing key is not a PEM private key');
  }
  if (key.asymmetricKeyType !== 'ed25519') throw new Error(`the signing key must be Ed25519, not ${key.asymmetricKeyType ?? 'unknown'}`);
  return key;
}

/** Parses a PEM Ed25519 public key (a trusted key); throws a plain Error with a readable message. */
export function parseTrustedKey(pem: string): KeyObject {
  // Node would derive a public key from a private one; a private key has no business on a server.
  if (/-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(pem)) throw new Error('a trusted key must be the public key (`.pub`), not the private key');
  let key: KeyObject;
  try {
    key = createPublicKey(pem);
  } catch {
    throw new Error('a trusted key is not a PEM public key');
  }
  if (key.asymmetricKeyType !== 'ed25519') throw new Error(`a trusted key must be Ed25519, not ${key.asymmetricKeyType ?? 'unknown'}`);
  return key;
}

/** The text of policy.sig for these files. */
export function signArtifact(files: SignedFiles, privateKey: KeyObject): string {
  const body = {
    format: SIGNATURE_FORMAT,
    algorithm: 'Ed25519' as const,
    keyId: signingKeyId(privateKey),
    files: { 'policy.json': digest(files.policyJson), 'policy.mjs': digest(files.policyMjs) },
  };
  const signature = sign(null, Buffer.from(canonicalJson(body), 'utf8'), privateKey).toString('base64url');
  return prettyCanonicalJson({ ...body, signature }) + '\n';
}

export type SignatureCheck = { ok: true; keyId: string } | { ok: false; reason: string };

/**
 * Checks policy.sig against the files and the trusted keys. Never throws: a malformed
 * signature file is a failed check like any other.
 */
export function verifyArtifactSignature(signatureText: string | Uint8Array, files: SignedFiles, trusted: readonly KeyObject[]): SignatureCheck {
  let sig: Partial<ArtifactSignature>;
  try {
    sig = JSON.parse(typeof signatureText === 'string' ? signatureText : Buffer.from(signatureText).toString('utf8')) as Partial<ArtifactSignature>;
  } catch {
    return { ok: false, reason: 'policy.sig is not valid JSON' };
  }
  if (!sig || typeof sig !== 'object' || sig.format !== SIGNATURE_FORMAT || sig.algorithm !== 'Ed25519') {
    return { ok: false, reason: `policy.sig is not a ${SIGNATURE_FORMAT} Ed25519 signature` };
  }
  if (typeof sig.keyId !== 'string' || typeof sig.signature !== 'string' || !sig.files || typeof sig.files !== 'object') {
    return { ok: false, reason: 'policy.sig is incomplete' };
  }
  const key = trusted.find((k) => signingKeyId(k) === sig.keyId);
  if (!key) return { ok: false, reason: `policy.sig is signed by \`${sig.keyId}\`, which is not a trusted key` };
  const body = { format: sig.format, algorithm: sig.algorithm, keyId: sig.keyId, files: sig.files };
  let valid = false;
  try {
    valid = verify(null, Buffer.from(canonicalJson(body), 'utf8'), key, Buffer.from(sig.signature, 'base64url'));
  } catch {
    valid = false;
  }
  if (!valid) return { ok: false, reason: 'the signature in policy.sig does not verify' };
  if (sig.files['policy.json'] !== digest(files.policyJson)) return { ok: false, reason: 'policy.json changed after it was signed' };
  if (sig.files['policy.mjs'] !== digest(files.policyMjs)) return { ok: false, reason: 'policy.mjs changed after it was signed' };
  return { ok: true, keyId: sig.keyId };
}
