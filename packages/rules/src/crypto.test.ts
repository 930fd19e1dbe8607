import { createCipheriv, createHash } from 'node:crypto';
import { describe, expect, test } from 'vitest';
import { createFieldCrypto, decryptSpaceCloud, FieldDecryptError, keyId, parseKey } from './crypto.js';
import { evaluate } from './interpret.js';
import { compile } from './compile.js';
import { applyResponse, hashString } from './runtime/index.js';

const KEY = Buffer.alloc(32, 1);
const OTHER = Buffer.alloc(32, 2);
const ENVELOPE = /^dfcenc:v1:([0-9a-f]{8}):([A-Za-z0-9_-]{16}):([A-Za-z0-9_-]*):([A-Za-z0-9_-]{22})$/;

function flip(b64url: string, bit = 0): string {
  const b = Buffer.from(b64url, 'base64url');
  b[Math.floor(bit / 8) % b.length]! ^= 1 << bit % 8;
  return b.toString('base64url');
}

describe('AES-256-GCM field envelopes', () => {
  const fc = createFieldCrypto(KEY);

  test('round trip, envelope format and key id', () => {
    const e = fc.encrypt('ann@example.com', 'email');
    const m = ENVELOPE.exec(e)!;
    expect(m).not.toBeNull();
    expect(m[1]).toBe(createHash('sha256').update(KEY).digest('hex').slice(0, 8));
    expect(m[1]).toBe(keyId(KEY));
    expect(Buffer.from(m[2]!, 'base64url')).toHaveLength(12);
    expect(Buffer.from(m[4]!, 'base64url')).toHaveLength(16);
    expect(fc.decrypt(e, 'email')).toBe('ann@example.com');
    expect(fc.decrypt(fc.encrypt('', 'x'), 'x')).toBe('');
    expect(fc.decrypt(fc.encrypt('héllo \u2028 ✓', undefined))).toBe('héllo \u2028 ✓');
  });

  test('a known answer: the envelope is AES-256-GCM over the documented additional data', () => {
    const nonce = Buffer.alloc(12, 9);
    const kid = keyId(KEY);
    const c = createCipheriv('aes-256-gcm', KEY, nonce, { authTagLength: 16 });
    c.setAAD(Buffer.from(`dfcenc:v1:${kid}:email`));
    const ct = Buffer.concat([c.update('secret', 'utf8'), c.final()]);
    const envelope = `dfcenc:v1:${kid}:${nonce.toString('base64url')}:${ct.toString('base64url')}:${c.getAuthTag().toString('base64url')}`;
    expect(fc.decrypt(envelope, 'email')).toBe('secret');
  });

  test('10,000 encryptions use 10,000 different nonces', () => {
    const nonces = new Set<string>();
    for (let i = 0; i < 10_000; i++) nonces.add(ENVELOPE.exec(fc.encrypt('same', 'f'))![2]!);
    expect(nonces.size).toBe(10_000);
  });

  test('any altered part, a truncated tag, another key or another field is refused', () => {
    const e = fc.encrypt('top secret value', 'email');
    const [, kid, n, c, t] = ENVELOPE.exec(e)!;
    const variants = [
      `dfcenc:v1:${kid}:${flip(n!)}:${c}:${t}`,
      `dfcenc:v1:${kid}:${n}:${flip(c!, 3)}:${t}`,
      `dfcenc:v1:${kid}:${n}:${c}:${flip(t!, 7)}`,
      `dfcenc:v1:${kid}:${n}:${c}:${Buffer.from(t!, 'base64url').subarray(0, 4).toString('base64url')}`,
      `dfcenc:v1:${kid}:${n}:${c}`,
      `dfcenc:v1:00000000:${n}:${c}:${t}`,
      `dfcenc:v2:${kid}:${n}:${c}:${t}`,
      `dfcenc:v1:${kid}:${n}:${c}:${t}:extra`,
      `dfcenc:v1:${kid}:${n}:${c}=:${t}`,
      'plain text',
    ];
    for (const v of variants) expect(() => fc.decrypt(v, 'email'), v).toThrow(FieldDecryptError);
    expect(() => fc.decrypt(e, 'name')).toThrow(FieldDecryptError);
    expect(() => createFieldCrypto(OTHER).decrypt(e, 'email')).toThrow(FieldDecryptError);
  });

  test('a keyring decrypts with older keys and encrypts with the current one', () => {
    const old = createFieldCrypto(OTHER).encrypt('v', 'f');
    const ring = createFieldCrypto({ current: KEY, previous: [OTHER.toString('base64')] });
    expect(ring.decrypt(old, 'f')).toBe('v');
    expect(ENVELOPE.exec(ring.encrypt('v', 'f'))![1]).toBe(keyId(KEY));
  });

  test('keys must be 32 bytes of base64; errors do not echo the key', () => {
    expect(parseKey(KEY.toString('base64'))).toEqual(KEY);
    expect(parseKey(KEY.toString('base64url'))).toEqual(KEY);
    expect(() => parseKey('c2hvcnQ=')).toThrow('32 bytes, not 5');
    try {
      parseKey('not base64 at all: hunter2');
    } catch (e) {
      expect((e as Error).message).not.toContain('hunter2');
    }
  });
});

describe("Space Cloud's format (read-only)", () => {
  const aesKey = 'Olw6AhA/GzSxfhwKLxO7JJsUL6VUwwGEFTgxzoZPy9g=';
  test('the documented vector decrypts', () => {
    expect(decryptSpaceCloud('BXioRN4GyvZs', aesKey)).toBe('username1');
  });
  test('behind the legacy option, non-dfc values are decrypted the Space Cloud way', () => {
    const fc = createFieldCrypto(KEY, { legacySpaceCloudKey: aesKey });
    expect(fc.decrypt('BXioRN4GyvZs', 'username')).toBe('username1');
    expect(fc.decrypt(fc.encrypt('new', 'username'), 'username')).toBe('new');
    expect(() => fc.decrypt('not base64!', 'x')).toThrow(FieldDecryptError);
  });
});

describe('hash', () => {
  test('SHA-256, standard base64, one encoding on both sides', () => {
    expect(hashString('password')).toBe('XohImNooBHFR0OVvjcYpJ3NgPQ1qq73WKhHvch0VQtg=');
  });
});

describe('encrypt and decrypt rules with real keys', () => {
  const crypto = createFieldCrypto(KEY);
  test('encrypted on create, decrypted on read; a value moved to another field is refused', async () => {
    const input = { args: { auth: { id: 'u1' }, doc: { email: 'ann@example.com', name: 'Ann' } } };
    expect(await evaluate({ rule: 'encrypt', fields: ['args.doc.email', 'args.doc.name'] }, input, { crypto })).toEqual({ allow: true });
    const row = { ...input.args.doc };
    const read = compile({ rule: 'decrypt', fields: ['res.email', 'res.name'] });
    const d = await read({ args: { auth: { id: 'u1' } } }, { crypto });
    const rows = [structuredClone(row)];
    expect(applyResponse(d.response, rows, { crypto })).toEqual({ allow: true });
    expect(rows).toEqual([{ email: 'ann@example.com', name: 'Ann' }]);
    // Swapping the ciphertexts between columns fails authentication: the reply is refused.
    const swapped = [{ email: row.name, name: row.email }];
    expect(applyResponse(d.response, swapped, { crypto })).toMatchObject({ allow: false, status: 500, code: 'response' });
  });
});
