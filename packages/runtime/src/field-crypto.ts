import { decryptSecret, encryptSecret } from './secrets.js';
import { DfcError } from './errors.js';
import type { FieldCrypto } from './rule-types.js';

export type { FieldCrypto };

/**
 * Field encryption for `encrypt`/`decrypt` rules and `$encrypt` seed values: AES-256-GCM
 * envelopes (random 96-bit nonce, 16-byte tag, key id) under the policy's crypto key,
 * base64 of 32 bytes read from the environment.
 */
export function createFieldCrypto(keyText: string): FieldCrypto {
  const key = Buffer.from(keyText.trim(), 'base64');
  if (key.length !== 32) {
    throw new DfcError('DFC_ERR_SERVER_CONFIG', 'the field encryption key is not base64 of 32 bytes', {
      note: 'e.g. `openssl rand -base64 32`',
    });
  }
  return {
    encrypt: (plaintext, context) => encryptSecret(plaintext, key, context ?? ''),
    decrypt: (envelope, context) => decryptSecret(envelope, key, context ?? ''),
  };
}
