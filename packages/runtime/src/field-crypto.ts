import { createFieldCrypto as create } from '@dfc/rules';
import { DfcError } from './errors.js';
import type { FieldCrypto } from './rule-types.js';

export type { FieldCrypto };

/**
 * Field encryption for `encrypt`/`decrypt` rules and `$encrypt` seed values: the rule
 * engine's AES-256-GCM envelopes (random 96-bit nonce, 16-byte tag, key id, bound to the
 * field name) under the policy's crypto key, base64 of 32 bytes from the environment.
 */
export function createFieldCrypto(keyText: string): FieldCrypto {
  try {
    return create(keyText.trim());
  } catch {
    throw new DfcError('DFC_ERR_SERVER_CONFIG', 'the field encryption key is not base64 of 32 bytes', {
      note: 'e.g. `openssl rand -base64 32`',
    });
  }
}
