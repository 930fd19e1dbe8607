import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';
import type { SecretValue } from '@dfc/schema';
import { DfcError, q } from './errors.js';

/**
 * Secrets in a policy are references: `{ $secret: 'ENV' }` (read from the environment) or
 * `{ $encrypted: 'dfcenc:v1:…' }` (AES-256-GCM under `DFC_MASTER_KEY`, made by
 * `dfc encrypt`). They are resolved when the runtime starts and never logged.
 *
 * Envelope: `dfcenc:v1:<kid>:<nonce>:<ciphertext>:<tag>` (base64url parts), where kid is
 * the first 8 hex digits of sha256(key), the nonce is 12 random bytes and the tag 16 bytes.
 * The AAD binds the version, the kid and an optional context (a field name), so a value
 * cannot be replayed under another key id or moved to another field.
 */

export type Env = Readonly<Record<string, string | undefined>>;

const PREFIX = 'dfcenc:v1:';

export function parseMasterKey(text: string | undefined): Buffer {
  if (!text) throw new DfcError('DFC_ERR_MASTER_KEY', '`DFC_MASTER_KEY` is not set', {
    note: 'set it to 32 random bytes in base64, e.g. `openssl rand -base64 32`',
  });
  const key = Buffer.from(text.trim(), 'base64');
  // Buffer.from ignores bad characters; re-encoding catches a value that was not base64.
  if (key.length !== 32 || key.toString('base64').replace(/=+$/, '') !== text.trim().replace(/=+$/, '')) {
    throw new DfcError('DFC_ERR_MASTER_KEY', undefined, { note: 'e.g. `openssl rand -base64 32`' });
  }
  return key;
}

export function keyId(key: Buffer): string {
  return createHash('sha256').update(key).digest('hex').slice(0, 8);
}

export function encryptSecret(plaintext: string, key: Buffer, context = ''): string {
  const kid = keyId(key);
  const nonce = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', key, nonce, { authTagLength: 16 });
  cipher.setAAD(Buffer.from(PREFIX + kid + (context ? ':' + context : '')));
  const ct = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
  const tag = cipher.getAuthTag();
  return [PREFIX + kid, nonce.toString('base64url'), ct.toString('base64url'), tag.toString('base64url')].join(':');
}

export function decryptSecret(envelope: string, key: Buffer, context = ''): string {
  const fail = (why: string) => new DfcError('DFC_ERR_SECRET_DECRYPT', undefined, { note: why });
  if (!envelope.startsWith(PREFIX)) throw fail('an encrypted value starts with `dfcenc:v1:`');
  const parts = envelope.slice(PREFIX.length).split(':');
  if (parts.length !== 4) throw fail('the value is truncated or altered');
  const [kid, n, c, t] = parts as [string, string, string, string];
  if (kid !== keyId(key)) throw fail('the value was encrypted under another `DFC_MASTER_KEY`');
  const nonce = Buffer.from(n, 'base64url');
  const tag = Buffer.from(t, 'base64url');
  if (nonce.length !== 12 || tag.length !== 16) throw fail('the value is truncated or altered');
  try {
    const decipher = createDecipheriv('aes-256-gcm', key, nonce, { authTagLength: 16 });
    decipher.setAAD(Buffer.from(PREFIX + kid + (context ? ':' + context : '')));
    decipher.setAuthTag(tag);
    // invariant: the plaintext is used only after final() has authenticated it.
    const out = Buffer.concat([decipher.update(Buffer.from(c, 'base64url')), decipher.final()]);
    return out.toString('utf8');
  } catch {
    throw fail('the value is truncated or altered, or the key is wrong');
  }
}

/** A resolver bound to an environment: reads `$secret` references and decrypts `$encrypted` values. */
export type SecretResolver = (value: SecretValue | string, where: string) => string;

export function secretResolver(env: Env): SecretResolver {
  let master: Buffer | undefined;
  return (value, where) => {
    if (typeof value === 'string') return value;
    if ('$secret' in value) {
      const v = env[value.$secret];
      if (v === undefined || v === '') {
        throw new DfcError('DFC_ERR_SECRET_MISSING', `the environment variable ${q(value.$secret)} is not set`, {
          note: `it is needed by ${where}`,
        });
      }
      return v;
    }
    master ??= parseMasterKey(env.DFC_MASTER_KEY);
    try {
      return decryptSecret(value.$encrypted, master);
    } catch (e) {
      if (e instanceof DfcError) throw new DfcError(e.code, `the encrypted value of ${where} could not be decrypted`, { note: e.note ?? '' });
      throw e;
    }
  };
}
