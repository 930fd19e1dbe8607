import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { accessComponent, indexAccess, matchAccess } from './access.js';
import type { PolicyAccess } from './policy.js';
import type { Verb } from './config.js';

const entry = (service: string, component: string, verbs: Verb[], requestor: ('api' | 'script')[] = ['api']): PolicyAccess => ({
  service,
  component,
  verbs,
  requestor,
  filters: [],
  filterOp: 'AND',
});

describe('matchAccess', () => {
  test('the most specific tier decides, even when it grants fewer verbs', () => {
    // DreamFactory: service `*` = all verbs plus exact `_table/contacts` = GET ⇒ POST denied.
    const entries = [entry('db', '*', ['GET', 'POST', 'PUT', 'PATCH', 'DELETE']), entry('db', '_table/contacts', ['GET'])];
    const post = matchAccess(entries, { service: 'db', component: '_table/contacts', verb: 'POST' });
    expect(post).toMatchObject({ allowed: false, tier: 'exact' });
    expect(post.overridden).toEqual([entries[0]]);
    expect(matchAccess(entries, { service: 'db', component: '_table/contacts', verb: 'GET' }).allowed).toBe(true);
    expect(matchAccess(entries, { service: 'db', component: '_table/other', verb: 'POST' })).toMatchObject({
      allowed: true,
      tier: 'service',
    });
  });

  test('verbs of entries in the same tier are unioned', () => {
    const entries = [entry('db', '_table/t', ['GET']), entry('db', '_table/t', ['DELETE'])];
    const del = matchAccess(entries, { service: 'db', component: '_table/t', verb: 'DELETE' });
    expect(del.allowed).toBe(true);
    expect(del.granting).toEqual([entries[1]]);
    expect(del.matched).toHaveLength(2);
  });

  test('`_table/posts` also covers `_table/posts/{id}`', () => {
    const entries = [entry('blog', '_table/posts', ['GET'])];
    expect(matchAccess(entries, { service: 'blog', component: '_table/posts/17', verb: 'GET' }).tier).toBe('exact');
    expect(accessComponent('/_table/posts/17/')).toBe('_table/posts');
  });

  test('`_table/*` matches every table and the table list itself', () => {
    const entries = [entry('blog', '_table/*', ['GET'])];
    for (const component of ['_table', '_table/posts', '_table/posts/3']) {
      expect(matchAccess(entries, { service: 'blog', component, verb: 'GET' }).tier).toBe('component');
    }
    expect(matchAccess(entries, { service: 'blog', component: '_schema', verb: 'GET' }).allowed).toBe(false);
  });

  test('all-services entries are the least specific tier', () => {
    const entries = [entry('*', '*', ['GET']), entry('blog', '*', ['POST'])];
    expect(matchAccess(entries, { service: 'shop', component: '_table/x', verb: 'GET' })).toMatchObject({ allowed: true, tier: 'all' });
    expect(matchAccess(entries, { service: 'blog', component: '_table/x', verb: 'GET' })).toMatchObject({ allowed: false, tier: 'service' });
  });

  test('another service, another requestor or no entry at all denies', () => {
    const entries = [entry('blog', '*', ['GET'], ['script'])];
    const none = matchAccess(entries, { service: 'blog', component: '_table/x', verb: 'GET' });
    expect(none.allowed).toBe(false);
    expect(none.tier).toBeUndefined();
    expect(matchAccess(entries, { service: 'blog', component: '_table/x', verb: 'GET', requestor: 'script' }).allowed).toBe(true);
    expect(matchAccess([], { service: 'blog', component: '', verb: 'GET' }).allowed).toBe(false);
    expect(matchAccess([entry('shop', '*', ['GET'])], { service: 'blog', component: '_table/x', verb: 'GET' }).allowed).toBe(false);
  });

  test('a wildcard must match at a segment prefix', () => {
    const entries = [entry('blog', '_table/po*', ['GET'])];
    expect(matchAccess(entries, { service: 'blog', component: '_table/posts', verb: 'GET' }).allowed).toBe(true);
    expect(matchAccess(entries, { service: 'blog', component: '_table/users', verb: 'GET' }).allowed).toBe(false);
  });
});

describe('indexAccess', () => {
  const services = ['blog', 'shop'];
  const components = ['', '*', '/', '_table', '_table/', '_table/*', '/_table/*/', '_table/posts', '/_table/posts/', '_table/posts/7', '_table/po*', '_schema', '_schema/*', '_schema/posts', '_doc', '*posts'];
  const anEntry = fc
    .tuple(fc.constantFrom('*', ...services), fc.constantFrom(...components), fc.subarray<Verb>(['GET', 'POST', 'DELETE']), fc.constantFrom<('api' | 'script')[]>(['api'], ['script'], ['api', 'script']))
    .map(([service, component, verbs, requestor]) => entry(service, component, verbs, requestor));

  test('matching over the candidates decides exactly as over every entry', () => {
    fc.assert(
      fc.property(
        fc.array(anEntry, { maxLength: 12 }),
        fc.constantFrom(...services),
        fc.constantFrom(...components),
        fc.constantFrom<Verb>('GET', 'POST', 'DELETE'),
        fc.constantFrom<'api' | 'script'>('api', 'script'),
        (entries, service, component, verb, requestor) => {
          const request = { service, component, verb, requestor };
          expect(matchAccess(indexAccess(entries).candidates(service, component), request)).toEqual(matchAccess(entries, request));
        },
      ),
      { numRuns: 3000 },
    );
  });

  test('an entry without `*` is a candidate only for its own component', () => {
    const entries = [entry('blog', '_table/posts', ['GET']), entry('blog', '_table/*', ['GET']), entry('*', '*', ['GET'])];
    const index = indexAccess(entries);
    expect(index.candidates('blog', '_table/posts/7')).toEqual(entries);
    expect(index.candidates('blog', '_table/users')).toEqual([entries[1], entries[2]]);
    expect(index.candidates('shop', '_table/posts')).toEqual([entries[2]]);
  });
});
