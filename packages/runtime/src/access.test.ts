import { describe, expect, test } from 'vitest';
import type { PolicyAccess } from '@dfc/schema';
import { precomputeAccess, resolveAccess } from './access.js';
import { makePolicy } from './testing.js';

const entry = (service: string, component: string, verbs: PolicyAccess['verbs'], extra: Partial<PolicyAccess> = {}): PolicyAccess => ({
  service,
  component,
  verbs,
  requestor: ['api'],
  filters: [],
  filterOp: 'AND',
  ...extra,
});

describe('resolveAccess', () => {
  test('the most specific tier wins even when it grants fewer verbs', () => {
    const access = [entry('blog', '*', ['GET', 'POST', 'DELETE']), entry('blog', '_table/posts', ['GET'])];
    const m = resolveAccess(access, 'blog', '_table/posts');
    expect(m.tier).toBe('exact');
    expect([...m.verbs]).toEqual(['GET']);
    expect(m.overridden).toEqual([access[0]]);
    expect([...resolveAccess(access, 'blog', '_table/users').verbs].sort()).toEqual(['DELETE', 'GET', 'POST']);
  });
  test('verbs of one tier are unioned and each verb keeps the entries that grant it', () => {
    const a = entry('blog', '_table/posts', ['GET'], { filters: [{ name: 'userId', operator: '=', value: '{user.id}' }] });
    const b = entry('blog', '_table/posts', ['GET', 'PATCH']);
    const m = resolveAccess([a, b], 'blog', '_table/posts');
    expect([...m.verbs].sort()).toEqual(['GET', 'PATCH']);
    expect(m.granting.get('GET')).toEqual([a, b]);
    expect(m.granting.get('PATCH')).toEqual([b]);
  });
  test('script-only entries never grant HTTP requests', () => {
    expect(resolveAccess([entry('blog', '*', ['GET'], { requestor: ['script'] })], 'blog', '_table/x').verbs.size).toBe(0);
  });
});

describe('precomputeAccess', () => {
  test('covers every component of every service for every role', () => {
    const policy = makePolicy({
      services: {
        blog: {
          database: { type: 'sqlite', file: 'b.db' },
          maxRecords: 10,
          security: [],
          tables: { posts: { primaryKey: 'id', columns: { id: { type: 'integer', nullable: false } } } },
        },
      },
      roles: { docs: { active: true, access: [entry('blog', '_doc', ['GET'])] } },
    });
    const m = precomputeAccess(policy).get('docs')!;
    expect([...m.keys()].map((k) => k.replace('\0', ' '))).toEqual([
      'blog _table',
      'blog _table/posts',
      'blog _schema',
      'blog _schema/posts',
      'blog _doc',
    ]);
    expect([...m.get('blog\0_doc')!.verbs]).toEqual(['GET']);
    expect(m.get('blog\0_table/posts')!.verbs.size).toBe(0);
  });
});
