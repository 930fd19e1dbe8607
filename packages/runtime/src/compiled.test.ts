import { createHash } from 'node:crypto';
import { describe, expect, test, vi } from 'vitest';
import { appForKey, compilePolicy } from './compiled.js';
import { DfcError } from './errors.js';
import { makeArtifact, makePolicy } from './testing.js';

const spy = vi.hoisted(() => ({ calls: [] as [Buffer, Buffer][] }));
vi.mock('node:crypto', async (importOriginal) => {
  const real = await importOriginal<typeof import('node:crypto')>();
  return {
    ...real,
    timingSafeEqual: (a: Buffer, b: Buffer) => {
      spy.calls.push([a, b]);
      return real.timingSafeEqual(a, b);
    },
  };
});

const policy = makePolicy({
  apps: {
    web: { apiKey: { $secret: 'WEB' }, role: null, roles: [], active: true },
    hashed: { apiKey: { sha256: createHash('sha256').update('only-the-digest-is-stored').digest('hex') }, role: null, roles: [], active: true },
  },
});

describe('API keys', () => {
  test('held as digests; a hit is confirmed by a constant-time comparison of 32-byte digests', () => {
    const c = compilePolicy(makeArtifact(policy), { env: { WEB: 'web-key-0123456789' } });
    expect([...c.keyDigests.keys()].every((k) => /^[0-9a-f]{64}$/.test(k))).toBe(true);
    expect(JSON.stringify([...c.keyDigests])).not.toContain('web-key-0123456789');
    spy.calls.length = 0;
    expect(appForKey(c, 'web-key-0123456789')).toBe('web');
    expect(appForKey(c, 'only-the-digest-is-stored')).toBe('hashed');
    expect(spy.calls).toHaveLength(2);
    for (const [a, b] of spy.calls) {
      expect(a).toHaveLength(32);
      expect(b).toHaveLength(32);
    }
    // a miss never compares against anything; keys of any length are fine
    expect(appForKey(c, 'nope')).toBeUndefined();
    expect(appForKey(c, 'x'.repeat(10_000))).toBeUndefined();
    expect(spy.calls).toHaveLength(2);
  });
  test('a key whose secret is unset stops compilation, naming the variable', () => {
    try {
      compilePolicy(makeArtifact(policy), { env: {} });
      expect.unreachable();
    } catch (e) {
      expect((e as DfcError).code).toBe('DFC_ERR_SECRET_MISSING');
      expect((e as DfcError).message).toContain('`WEB`');
    }
  });
});
