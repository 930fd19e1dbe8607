/**
 * `generate` with a cache (what `dfc build --watch` keeps between rebuilds) writes the
 * module it writes without one, after any sequence of edits; and the cache holds only
 * the closures of the latest call.
 */
import { expect, test } from 'vitest';
import type { Rule } from '@dfc/schema';
import { GenerateCache, generate, type GenerateInput } from './generate.js';
import { InvalidRuleError } from './validate.js';

const owner: Rule = { rule: 'match', eval: '==', type: 'string', f1: 'args.auth.id', f2: 'args.find.userId' };

function input(rules: Record<string, Rule>, extra: Partial<GenerateInput> = {}): GenerateInput {
  return {
    hash: 'sha256:' + '0'.repeat(64),
    rules: Object.fromEntries(Object.entries(rules).map(([k, rule]) => [k, { rule, path: `rules.${k.replaceAll('/', '.')}` }])),
    requirements: {
      blog: { collection: [{ name: 'signedIn', type: 'authenticated' }], path: 'services.blog.security', implicitAuthenticated: true },
      'blog/posts': { collection: [{ name: 'staff', type: 'role', roles: ['admin'] }], path: 'services.blog.tables.posts.security', implicitAuthenticated: false },
    },
    code: {},
    ...extra,
  };
}

const base: Record<string, Rule> = {
  'blog/posts/read': { rule: 'allow' },
  'blog/posts/update': owner,
  'blog/posts/delete': { rule: 'match', eval: 'in', type: 'string', f1: 'args.auth.role', f2: ['admin'] },
  'blog/comments/update': owner,
  'blog/comments/delete': { rule: 'or', clauses: [owner, { rule: 'remove', fields: ['res.secret'] }] },
};

test('a cached generation writes the module an uncached one writes, edit after edit', () => {
  const cache = new GenerateCache();
  const steps: GenerateInput[] = [
    input(base),
    // One rule edited: a role list gains an entry.
    input({ ...base, 'blog/posts/delete': { rule: 'match', eval: 'in', type: 'string', f1: 'args.auth.role', f2: ['admin', 'owner'] } }),
    // And back.
    input(base),
    // A rule that now matches another one's code (the two share a factory), and a new table.
    input({ ...base, 'blog/posts/delete': owner, 'blog/tags/read': { rule: 'authenticated' } }),
    // The same rule moved: its path is part of what it was made from.
    input({ 'blog/tags/update': owner, 'blog/posts/read': { rule: 'allow' } }),
    // A requirement collection edited, a code rule added.
    input(base, {
      requirements: { blog: { collection: [{ name: 'anyone', type: 'allowAnonymous' }], path: 'services.blog.security', implicitAuthenticated: true } },
      code: { c0: '({ auth }) => auth?.role === "admin"' },
    }),
  ];
  const reused: number[] = [];
  for (const step of steps) {
    expect(generate(step, cache)).toBe(generate(step));
    reused.push(cache.reused);
  }
  // Closures taken from the cache (of 7, 7, 7, 8, 4, 6): every one the previous call
  // made from the same source at the same path, and only those.
  expect(reused).toEqual([0, 6, 6, 6, 3, 1]);
});

test('values JSON cannot tell apart are generated afresh', () => {
  const cache = new GenerateCache();
  const zero = (f2: number): Record<string, Rule> => ({ 'blog/posts/read': { rule: 'match', eval: '==', type: 'number', f1: 'args.find.n', f2 } });
  expect(generate(input(zero(0)), cache)).toBe(generate(input(zero(0))));
  const negative = generate(input(zero(-0)), cache);
  expect(negative).toBe(generate(input(zero(-0))));
  expect(negative).toContain('(-0)');
  expect(generate(input(zero(0)), cache)).toBe(generate(input(zero(0))));
});

test('the cache holds the closures of the latest call only, and never a rule that failed validation', () => {
  const cache = new GenerateCache();
  generate(input(base), cache);
  // Five rules (two identical, at different paths) and two collections.
  expect(cache.size).toBe(7);
  generate(input({ 'blog/posts/read': { rule: 'allow' } }), cache);
  expect(cache.size).toBe(3);
  const broken = { 'blog/posts/read': { rule: 'match', eval: '~', type: 'string', f1: 'args.auth.id', f2: 'x' } as unknown as Rule };
  expect(() => generate(input(broken), cache)).toThrow(InvalidRuleError);
  expect(() => generate(input(broken), cache)).toThrow(InvalidRuleError);
});

test('a rule nested too deep, or holding itself, is refused as without a cache', () => {
  const cache = new GenerateCache();
  let deep: Rule = { rule: 'allow' };
  for (let i = 0; i < 300; i++) deep = { rule: 'and', clauses: [deep] };
  expect(() => generate(input({ 'blog/posts/read': deep }), cache)).toThrow(InvalidRuleError);
  const cyclic = { rule: 'and', clauses: [] as unknown[] };
  cyclic.clauses.push(cyclic);
  expect(() => generate(input({ 'blog/posts/read': cyclic as unknown as Rule }), cache)).toThrow(InvalidRuleError);
  expect(cache.size).toBe(0);
});
