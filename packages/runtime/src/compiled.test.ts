import { createHash } from 'node:crypto';
import { describe, expect, test, vi } from 'vitest';
import { appForKey, compilePolicy, readsOnly } from './compiled.js';
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
  test('a key that matched is found again by its exact text (no digest, no comparison); near misses and other policies still miss', () => {
    const c = compilePolicy(makeArtifact(policy), { env: { WEB: 'web-key-0123456789' } });
    expect(appForKey(c, 'web-key-0123456789')).toBe('web');
    spy.calls.length = 0;
    expect(appForKey(c, 'web-key-0123456789')).toBe('web');
    expect(spy.calls).toHaveLength(0);
    for (const near of ['web-key-012345678', 'web-key-01234567890', 'Web-key-0123456789', ' web-key-0123456789', 'web-key-0123456789\0']) {
      expect(appForKey(c, near)).toBeUndefined();
    }
    // remembered per policy: after a key is rotated, the old one is unknown to the new policy
    const rotated = compilePolicy(makeArtifact(policy), { env: { WEB: 'rotated-key-0123456789' } });
    expect(appForKey(rotated, 'web-key-0123456789')).toBeUndefined();
    expect(appForKey(rotated, 'rotated-key-0123456789')).toBe('web');
  });
  test('keys are digested as UTF-8, as `{ sha256 }` keys are written', () => {
    const key = 'clé-ünïcode-🔑-0123456789';
    const p = makePolicy({ apps: { intl: { apiKey: { sha256: createHash('sha256').update(key, 'utf8').digest('hex') }, role: null, roles: [], active: true } } });
    const c = compilePolicy(makeArtifact(p), { env: {} });
    expect(appForKey(c, key)).toBe('intl');
    expect(appForKey(c, key.normalize('NFD'))).toBeUndefined();
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

describe('readsOnly', () => {
  test('allow, deny, authenticated and match only read; and/or read when every clause does', () => {
    const match = { rule: 'match', eval: '==', type: 'string', f1: 'args.auth.id', f2: 'x' } as const;
    expect(readsOnly({ rule: 'allow' })).toBe(true);
    expect(readsOnly({ rule: 'and', clauses: [match, { rule: 'or', clauses: [{ rule: 'authenticated' }, { rule: 'deny' }] }] })).toBe(true);
  });
  test('anything that can write to its input, however deep, does not', () => {
    const force = { rule: 'force', field: 'args.find.id', value: 1 } as const;
    expect(readsOnly(force)).toBe(false);
    expect(readsOnly({ rule: 'and', clauses: [{ rule: 'allow' }, { rule: 'or', clauses: [force] }] })).toBe(false);
    expect(readsOnly({ rule: 'remove', fields: ['res.x'] })).toBe(false);
    expect(readsOnly({ rule: 'query', db: 'blog', col: 'posts', find: {} } as never)).toBe(false);
    expect(readsOnly({ rule: 'code', id: 'c0', name: 'f', source: 'sha256:x' } as never)).toBe(false);
  });
});

describe('tables', () => {
  test("each table holds its `_table/<name>` access by role number: the same objects as the policy's access", () => {
    const svc = {
      database: { type: 'sqlite' as const, file: 'b.db' },
      maxRecords: 10,
      security: [],
      tables: { posts: { primaryKey: 'id', columns: { id: { type: 'integer' as const, nullable: false } } }, users: { primaryKey: 'id', columns: { id: { type: 'integer' as const, nullable: false } } } },
    };
    const entry = (service: string, component: string, verbs: ('GET' | 'POST')[]) => ({ service, component, verbs, requestor: ['api' as const], filters: [], filterOp: 'AND' as const });
    const p = makePolicy({
      services: { blog: svc, shop: svc },
      roles: {
        reader: { active: true, access: [entry('blog', '_table/posts', ['GET'])] },
        writer: { active: false, access: [entry('*', '*', ['GET', 'POST'])] },
      },
    });
    const c = compilePolicy(makeArtifact(p), { env: {} });
    expect([...c.roleIndex]).toEqual([
      ['reader', 0],
      ['writer', 1],
    ]);
    for (const [sname, s] of c.services) {
      for (const [tname, t] of s.tables) {
        expect(t.access).toHaveLength(2);
        for (const [role, i] of c.roleIndex) expect(t.access[i]).toBe(c.access.get(role)!.get(`${sname}\0_table/${tname}`));
      }
    }
    expect([...c.services.get('blog')!.tables.get('posts')!.access[0]!.verbs]).toEqual(['GET']);
    expect(c.services.get('shop')!.tables.get('posts')!.access[0]!.verbs.size).toBe(0);
    expect([...c.services.get('shop')!.tables.get('users')!.access[1]!.verbs]).toEqual(['GET', 'POST']);
  });
});
