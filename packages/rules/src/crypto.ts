import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';
import type { FieldCrypto } from './types.js';

/**
 * Field encryption for `encrypt`/`decrypt` rules: AES-256-GCM with a random 96-bit
 * nonce, a full 16-byte tag (checked with `authTagLength: 16`, so a truncated tag is
 * refused) and a key id, in the envelope
 *
 *   dfcenc:v1:<kid>:<b64url nonce>:<b64url ciphertext>:<b64url tag>
 *
 * where kid is the first 8 hex digits of sha256(key). The additional data binds the
 * version, the kid and the field name, so a ciphertext cannot be moved to another
 * field. This is the same envelope as `{ $encrypted }` config secrets.
 */

const PREFIX = 'dfcenc:v1:';
const NONCE_BYTES = 12;
const TAG_BYTES = 16;

export type KeyMaterial = Uint8Array | string;

export interface FieldKeyring {
  /** The key new values are encrypted with. */
  current: KeyMaterial;
  /** Older keys, used only to decrypt values written before a key change. */
  previous?: readonly KeyMaterial[];
}

export interface FieldCryptoOptions {
  /**
   * Space Cloud's `aesKey` (base64): values that are not dfc envelopes are then
   * decrypted the Space Cloud way (AES-CFB, IV = the key's first 16 bytes), for
   * migrations only. Such values carry no integrity check: garbage in, garbage out.
   */
  legacySpaceCloudKey?: string;
}

/** A 32-byte key from bytes or base64 (standard or URL alphabet); throws otherwise, without echoing the value. */
export function parseKey(material: KeyMaterial): Buffer {
  let key: Buffer;
  if (typeof material === 'string') {
    const text = material.trim();
    if (!/^[A-Za-z0-9+/_-]+={0,2}$/.test(text)) throw new TypeError('an encryption key must be base64');
    key = Buffer.from(text.replace(/-/g, '+').replace(/_/g, '/'), 'base64');
  } else {
    key = Buffer.from(material);
  }
  if (key.length !== 32) throw new TypeError(`an encryption key must be 32 bytes, not ${key.length}`);
  return key;
}

/** The key id written into envelopes: first 8 hex digits of sha256(key). */
export function keyId(key: Uint8Array): string {
  return createHash('sha256').update(key).digest('hex').slice(0, 8);
}

function aad(kid: string, context: string | undefined): Buffer {
  return Buffer.from(PREFIX + kid + (context ? ':' + context : ''), 'utf8');
}

export class FieldDecryptError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'FieldDecryptError';
  }
}

export function createFieldCrypto(keys: KeyMaterial | FieldKeyring, options: FieldCryptoOptions = {}): FieldCrypto {
  const ring = typeof keys === 'string' || keys instanceof Uint8Array ? { current: keys } : keys;
  const current = parseKey(ring.current);
  const currentKid = keyId(current);
  const byKid = new Map<string, Buffer>([[currentKid, current]]);
  for (const k of ring.previous ?? []) {
    const key = parseKey(k);
    byKid.set(keyId(key), key);
  }
  const legacy = options.legacySpaceCloudKey !== undefined ? parseLegacyKey(options.legacySpaceCloudKey) : undefined;

  return Object.freeze({
    encrypt(plaintext: string, context?: string): string {
      if (typeof plaintext !== 'string') throw new TypeError('only strings can be encrypted');
      const nonce = randomBytes(NONCE_BYTES);
      const cipher = createCipheriv('aes-256-gcm', current, nonce, { authTagLength: TAG_BYTES });
      cipher.setAAD(aad(currentKid, context));
      const ct = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
      const tag = cipher.getAuthTag();
      return PREFIX + [currentKid, nonce.toString('base64url'), ct.toString('base64url'), tag.toString('base64url')].join(':');
    },
    decrypt(envelope: string, context?: string): string {
      if (typeof envelope !== 'string') throw new FieldDecryptError('only strings can be decrypted');
      if (!envelope.startsWith(PREFIX)) {
        if (legacy) return decryptSpaceCloud(envelope, legacy);
        throw new FieldDecryptError('the value is not a dfc envelope');
      }
      const parts = envelope.slice(PREFIX.length).split(':');
      if (parts.length !== 4) throw new FieldDecryptError('the value is truncated or altered');
      const [kid, n, c, t] = parts as [string, string, string, string];
      const key = byKid.get(kid);
      if (!key) throw new FieldDecryptError('the value was encrypted under an unknown key');
      const b64url = /^[A-Za-z0-9_-]*$/;
      if (!b64url.test(n) || !b64url.test(c) || !b64url.test(t)) throw new FieldDecryptError('the value is truncated or altered');
      const nonce = Buffer.from(n, 'base64url');
      const tag = Buffer.from(t, 'base64url');
      if (nonce.length !== NONCE_BYTES || tag.length !== TAG_BYTES) throw new FieldDecryptError('the value is truncated or altered');
      try {
        const decipher = createDecipheriv('aes-256-gcm', key, nonce, { authTagLength: TAG_BYTES });
        decipher.setAAD(aad(kid, context));
        decipher.setAuthTag(tag);
        // invariant: nothing of the plaintext is returned before final() has authenticated it.
        const out = Buffer.concat([decipher.update(Buffer.from(c, 'base64url')), decipher.final()]);
        return out.toString('utf8');
      } catch {
        throw new FieldDecryptError('the value is truncated or altered, or the key is wrong');
      }
    },
  });
}

function parseLegacyKey(text: string): Buffer {
  const key = Buffer.from(text, 'base64');
  if (![16, 24, 32].includes(key.length)) throw new TypeError('a Space Cloud key must be 16, 24 or 32 bytes in base64');
  return key;
}

/**
 * Decrypt a value that Space Cloud encrypted (AES-CFB over the whole key, IV = the
 * key's first 16 bytes, standard base64). Read-only: dfc never writes this format.
 */
export function decryptSpaceCloud(value: string, aesKey: string | Buffer): string {
  const key = typeof aesKey === 'string' ? parseLegacyKey(aesKey) : aesKey;
  if (!/^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/.test(value)) {
    throw new FieldDecryptError('the value is not base64');
  }
  const algorithm = `aes-${key.length * 8}-cfb`;
  const decipher = createDecipheriv(algorithm, key, key.subarray(0, 16));
  return Buffer.concat([decipher.update(Buffer.from(value, 'base64')), decipher.final()]).toString('utf8');
}
