import { expect, test } from 'vitest';
import { displayPath, formatRelativePath } from './config-path.js';

const config = {
  services: [{ name: 'blog', tables: { posts: { columns: { 'odd-name': 'string' } } } }],
  rules: [{ service: 'blog', table: 'posts', rules: { read: { rule: 'and', clauses: [{ rule: 'allow' }] } } }],
  roles: [{ name: 'editor', access: [{ verbs: ['GET'] }] }, { access: [] }],
  apps: [{ name: 'web' }],
  cors: [{ path: '/api/v2/*', origins: ['*'] }],
};

test('arrays of named things are addressed by name; the rest by index', () => {
  expect(displayPath(config, ['roles', 0, 'access', 0, 'verbs', 0])).toBe('roles.editor.access[0].verbs[0]');
  expect(displayPath(config, ['roles', 1, 'access'])).toBe('roles[1].access');
  expect(displayPath(config, ['apps', 0, 'role'])).toBe('apps.web.role');
  expect(displayPath(config, ['services', 0, 'tables', 'posts', 'columns', 'odd-name'])).toBe('services.blog.tables.posts.columns["odd-name"]');
});

test('rule sets read as rules.<service>.<table>, CORS entries by path', () => {
  expect(displayPath(config, ['rules', 0, 'rules', 'read', 'clauses', 0])).toBe('rules.blog.posts.read.clauses[0]');
  expect(displayPath(config, ['rules', 0])).toBe('rules.blog.posts');
  expect(displayPath(config, ['cors', 0, 'origins', 0])).toBe('cors["/api/v2/*"].origins[0]');
});

test('paths past the value still format', () => {
  expect(displayPath(config, ['roles', 5, 'name'])).toBe('roles[5].name');
  expect(displayPath({}, ['environment'])).toBe('environment');
  expect(formatRelativePath(['clauses', 1, 'f2'])).toBe('clauses[1].f2');
  expect(formatRelativePath(['services', 'my-svc', 'security'])).toBe('services["my-svc"].security');
});
