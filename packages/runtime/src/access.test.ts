import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { VERBS, type PolicyAccess, type PolicyService, type Verb } from '@dfc/schema';
import { precomputeAccess, resolveAccess, serviceComponents, verbBit } from './access.js';
import { entriesWhere } from './role-filter.js';
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
  test('verbBits are the granted verbs; unfilteredBits the verbs whose role condition is TRUE whatever the session', () => {
    const filters = [{ name: 'userId', operator: '=' as const, value: '{user.id}' }];
    const a = entry('blog', '_table/posts', ['GET', 'PATCH'], { filters });
    const b = entry('blog', '_table/posts', ['GET', 'DELETE']);
    const m = resolveAccess([a, b, entry('blog', '*', ['PUT'])], 'blog', '_table/posts');
    expect(m.verbBits).toBe(verbBit('GET') | verbBit('PATCH') | verbBit('DELETE'));
    expect(m.unfilteredBits).toBe(verbBit('GET') | verbBit('DELETE'));
    const scopes = [{ claims: null }, { claims: { id: 'u1' } }, { claims: { sub: 'x' }, role: 'r', app: 'web' }];
    for (const verb of VERBS) {
      for (const scope of scopes) {
        const where = entriesWhere(m.granting.get(verb) ?? [], scope);
        if (m.unfilteredBits & verbBit(verb)) expect(where).toEqual({ kind: 'const', value: true });
        else expect(where).not.toEqual({ kind: 'const', value: true });
      }
    }
    expect(new Set(VERBS.map(verbBit)).size).toBe(VERBS.length);
    expect(verbBit('HEAD')).toBe(0);
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
  test('resolves each component exactly as against all of the role\'s entries (the entry index only skips entries that cannot match)', () => {
    const table: PolicyService['tables'][string] = { primaryKey: 'id', columns: { id: { type: 'integer', nullable: false } } };
    const svc = (tables: string[]): PolicyService => ({
      database: { type: 'sqlite', file: ':memory:' },
      maxRecords: 10,
      security: [],
      tables: Object.fromEntries(tables.map((t) => [t, table])),
    });
    const services = { a: svc(['t1', 't2', 'x']), b: svc(['t1']) };
    const entryArb: fc.Arbitrary<PolicyAccess> = fc.record({
      service: fc.constantFrom('a', 'b', 'c', '*'),
      component: fc.constantFrom('*', '', '/', '_table', '_table/', '_table/*', '/_table/t1/', '_table/t1', '_table/t2', '_table/t*', '_schema', '_schema/*', '_schema/t1', '_doc', '_doc/'),
      verbs: fc.subarray([...VERBS] as Verb[]),
      requestor: fc.constantFrom<('api' | 'script')[]>(['api'], ['script'], ['api', 'script']),
      filters: fc.constant([]),
      filterOp: fc.constant<'AND' | 'OR'>('AND'),
    });
    fc.assert(
      fc.property(fc.array(entryArb, { maxLength: 12 }), (access) => {
        const policy = makePolicy({ services, roles: { r: { active: true, access } } });
        const m = precomputeAccess(policy).get('r')!;
        for (const service of Object.keys(services)) {
          for (const component of serviceComponents(policy, service)) {
            expect(m.get(service + '\0' + component)).toEqual(resolveAccess(access, service, component));
          }
        }
      }),
      { numRuns: 300 },
    );
  });
});

