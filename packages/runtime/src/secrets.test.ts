import { randomBytes } from 'node:crypto';
import { describe, expect, test } from 'vitest';
import { createFieldCrypto } from '@dfc/rules';
import { decryptSecret, encryptSecret, parseMasterKey, secretResolver } from './secrets.js';
import { DfcError } from './errors.js';

const key = randomBytes(32);

describe('secret envelopes', () => {
  test('round trip, with a fresh nonce each time', () => {
    const a = encryptSecret('db-password', key);
    const b = encryptSecret('db-password', key);
    expect(a).not.toBe(b);
    expect(a.startsWith('dfcenc:v1:')).toBe(true);
    expect(decryptSecret(a, key)).toBe('db-password');
    expect(a).not.toContain('db-password');
  });
  test('tampering with any part, truncating the tag or using another key fails', () => {
    const env = encryptSecret('s3cret', key);
    const parts = env.split(':');
    const flip = (s: string) => (s[0] === 'A' ? 'B' : 'A') + s.slice(1);
    for (const i of [3, 4, 5]) {
      const p = [...parts];
      p[i] = flip(p[i]!);
      expect(() => decryptSecret(p.join(':'), key)).toThrow(DfcError);
    }
    const short = [...parts];
    short[5] = Buffer.from(parts[5]!, 'base64url').subarray(0, 4).toString('base64url');
    expect(() => decryptSecret(short.join(':'), key)).toThrow(DfcError);
    try {
      decryptSecret(env, randomBytes(32));
      expect.unreachable();
    } catch (e) {
      expect((e as DfcError).note).toMatch(/another/);
    }
  });
  test('the master key must be base64 of exactly 32 bytes, and its value is never echoed', () => {
    expect(parseMasterKey(key.toString('base64'))).toEqual(key);
    for (const bad of ['', 'short', randomBytes(16).toString('base64'), 'not base64 at all!!!!!!!!!!!!!!!!!!!!!!!!!!']) {
      try {
        parseMasterKey(bad);
        expect.unreachable();
      } catch (e) {
        expect((e as DfcError).code).toBe('DFC_ERR_MASTER_KEY');
        if (bad) expect((e as Error).message).not.toContain(bad);
      }
    }
  });
  test('the resolver reads the environment and decrypts under DFC_MASTER_KEY', () => {
    const r = secretResolver({ A: 'from-env', DFC_MASTER_KEY: key.toString('base64') });
    expect(r({ $secret: 'A' }, 'x')).toBe('from-env');
    expect(r({ $encrypted: encryptSecret('hidden', key) }, 'x')).toBe('hidden');
    expect(() => r({ $secret: 'MISSING' }, 'the api key of app `web`')).toThrow(/`MISSING`/);
  });
  test('config secrets and rule field encryption share one envelope format', () => {
    const rules = createFieldCrypto(key.toString('base64'));
    expect(rules.decrypt(encryptSecret('same', key))).toBe('same');
    expect(decryptSecret(rules.encrypt('same'), key)).toBe('same');
    expect(decryptSecret(rules.encrypt('bound', 'email'), key, 'email')).toBe('bound');
    expect(() => decryptSecret(rules.encrypt('bound', 'email'), key, 'name')).toThrow(DfcError);
  });
});
