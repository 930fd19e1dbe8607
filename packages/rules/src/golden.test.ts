/**
 * Golden file of the module `generate` writes for the blog example's rules,
 * requirement collections and code rule. Review changes to __golden__/ as code: it
 * is what runs in production. Update with `npx vitest run -u packages/rules/src/golden.test.ts`.
 */
import { expect, test } from 'vitest';
import type { Rule } from '@dfc/schema';
import { generate, type GenerateInput } from './generate.js';

const isAdmin: Rule = { rule: 'match', eval: '==', type: 'string', f1: 'args.auth.role', f2: 'admin' };
const owner: Rule = { rule: 'match', eval: '==', type: 'string', f1: 'args.auth.id', f2: 'args.find.userId', name: 'owner' };
const forceOwner = (field: string): Rule => ({ rule: 'force', field, value: 'args.auth.id' });
const exists = (path: string): Rule => ({ rule: 'match', eval: '==', type: 'bool', f1: `utils.exists(${path})`, f2: true });

const rules: Record<string, Rule> = {
  'blog/posts/read': { rule: 'allow' },
  'blog/posts/create': { rule: 'and', clauses: [{ rule: 'authenticated' }, forceOwner('args.doc.userId')] },
  'blog/posts/update': owner,
  'blog/posts/delete': { rule: 'match', eval: 'in', type: 'string', f1: 'args.auth.role', f2: ['admin', 'moderator'], name: 'staff', error: 'only admins and moderators may delete posts' },
  'blog/comments/read': { rule: 'allow' },
  'blog/comments/create': {
    rule: 'and',
    clauses: [{ rule: 'authenticated' }, forceOwner('args.doc.userId'), { rule: 'webhook', url: 'https://hooks.example.com/dfc/moderate', timeout: 2000, name: 'moderation' }],
  },
  'blog/comments/update': owner,
  'blog/comments/delete': { rule: 'code', name: 'moderatorOrAuthor', id: 'c0', sourceHash: 'sha256:' + 'a'.repeat(64), async: false },
  'blog/bookmarks/read': forceOwner('args.find.userId'),
  'blog/bookmarks/create': forceOwner('args.doc.userId'),
  'blog/bookmarks/delete': forceOwner('args.find.userId'),
  'blog/bookmarks/update': { rule: 'deny' },
  'blog/profiles/read': {
    rule: 'or',
    clauses: [
      { rule: 'query', name: 'public', db: 'blog', col: 'profiles', find: { userId: 'args.find.userId', isPublic: true }, clause: { rule: 'match', eval: '==', type: 'number', f1: 'utils.length(args.result)', f2: 1 } },
      { rule: 'query', name: 'follower', db: 'blog', col: 'profiles', find: { userId: 'args.find.userId', followers: { $in: 'args.auth.id' } } },
    ],
  },
  'blog/users/create': {
    rule: 'and',
    clauses: [
      { rule: 'authenticated' },
      { rule: 'force', field: 'args.doc.id', value: 'args.auth.id' },
      { rule: 'force', field: 'args.doc.role', value: 'user', clause: { rule: 'match', eval: '!=', type: 'string', f1: 'args.auth.role', f2: 'admin' } },
      { rule: 'encrypt', fields: ['args.doc.email', 'args.doc.name'] },
      { rule: 'hash', fields: ['args.doc.password'] },
    ],
  },
  'blog/users/read': {
    rule: 'and',
    clauses: [
      { rule: 'authenticated' },
      { rule: 'remove', fields: ['res.password'], clause: { rule: 'match', eval: '!=', type: 'string', f1: 'args.auth.role', f2: 'admin' } },
      {
        rule: 'decrypt',
        fields: ['res.email', 'res.name'],
        clause: { rule: 'and', clauses: [exists('args.find.id'), { rule: 'match', eval: '==', type: 'string', f1: 'args.auth.id', f2: 'args.find.id' }] },
      },
    ],
  },
  'blog/users/update': {
    rule: 'and',
    clauses: [
      { rule: 'or', clauses: [{ rule: 'match', eval: '==', type: 'string', f1: 'args.auth.id', f2: 'args.find.id' }, isAdmin] },
      { rule: 'remove', fields: ['args.update.$set.role'] },
      { rule: 'encrypt', fields: ['args.update.$set.email'], clause: exists('args.update.$set.email') },
      { rule: 'encrypt', fields: ['args.update.$set.name'], clause: exists('args.update.$set.name') },
      { rule: 'hash', fields: ['args.update.$set.password'], clause: exists('args.update.$set.password') },
    ],
  },
  'blog/users/delete': isAdmin,
  'blog/default/create': { rule: 'deny' },
};

function input(order: 'asc' | 'desc'): GenerateInput {
  const keys = Object.keys(rules).sort();
  if (order === 'desc') keys.reverse();
  return {
    hash: 'sha256:' + '0'.repeat(64),
    rules: Object.fromEntries(keys.map((k) => [k, { rule: rules[k]!, path: `rules.${k.replaceAll('/', '.')}` }])),
    requirements: {
      blog: { collection: [{ name: 'signedIn', type: 'authenticated' }], path: 'services.blog.security', implicitAuthenticated: true },
      'blog/posts': { collection: [{ name: 'anyone', type: 'allowAnonymous' }], path: 'services.blog.tables.posts.security', implicitAuthenticated: false },
      'blog/users/role': { collection: [{ name: 'adminsOnly', type: 'role', roles: ['admin'] }], path: 'services.blog.tables.users.columns.role.security', implicitAuthenticated: false },
    },
    code: {
      c0: '({ auth, find }) => auth?.role === "moderator" || (typeof auth?.id === "string" && auth.id === find?.userId)',
    },
  };
}

test('the generated module for the blog example', async () => {
  const source = generate(input('asc'));
  await expect(source).toMatchFileSnapshot('./__golden__/blog-policy.mjs');
});

test('generation is deterministic and independent of key order', () => {
  expect(generate(input('desc'))).toBe(generate(input('asc')));
});
