import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { tempDir } from '../../../../test/fixtures/helpers.js';
import { check } from '../index.js';
import { loadModule } from './load-module.js';

const tmp = tempDir('dfc-outline-');
afterAll(() => tmp.cleanup());
let n = 0;

function project(files: Record<string, string>): string {
  const dir = join(tmp.dir, `p${++n}`);
  mkdirSync(dir);
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
  return dir;
}

const CONFIG = `import { defineConfig, defineRole, defineRule, defineService } from 'dfc';
export const shop = defineService({
  name: 'shop',
  database: { type: 'sqlite', file: './shop.db' },
  tables: {
    orders: { columns: { id: 'integer', owner: 'string' }, primaryKey: 'id', security: { staff: { type: 'role', roles: ['clerk'] } } },
  },
});
const owner = { rule: 'match', eval: '==', type: 'string', f1: 'args.auth.id', f2: 'args.find.owner' } as const;
export default defineConfig({
  services: [shop],
  rules: [
    defineRule(shop, 'orders', {
      read: {
        rule: 'or',
        clauses: [
          owner,
          { rule: 'remove', fields: ['res.owner'], clause: { rule: 'authenticated' } },
        ],
      },
    }),
    defineRule(shop, 'default', { read: { rule: 'deny' }, delete: { rule: 'deny' } }),
  ],
  roles: [
    defineRole({ name: 'clerk', access: [
      { service: shop, component: '_table/orders', verbs: ['GET'] },
      { service: shop, component: '*', verbs: ['GET'] },
    ] }),
  ],
});
`;

describe('the outline of a policy', () => {
  test('names every rule node, requirement and access entry as traces do, with its line', async () => {
    const dir = project({ 'dfc.config.ts': CONFIG });
    const result = await check({ config: dir, outline: true });
    expect(result.ok).toBe(true);
    const lines = readFileSync(join(dir, 'dfc.config.ts'), 'utf8').split('\n');
    const lineOf = (text: string, from = 0) => lines.findIndex((l, i) => i >= from && l.includes(text)) + 1;
    const o = result.outline!;
    const read = o.rules.find((r) => r.path === 'rules.shop.orders.read')!;
    expect(read.nodes.map((node) => [node.path, node.kind, node.depth, node.span?.line])).toEqual([
      ['rules.shop.orders.read', 'or', 0, lineOf('read: {')],
      // a rule written elsewhere and named here points where it is named
      ['rules.shop.orders.read.clauses[0]', 'match', 1, lineOf('          owner,')],
      ['rules.shop.orders.read.clauses[1]', 'remove', 1, lineOf("{ rule: 'remove'")],
      ['rules.shop.orders.read.clauses[1].clause', 'authenticated', 2, lineOf("{ rule: 'remove'")],
    ]);
    // `default` rules: `read` is overridden by every table, `delete` is used by `orders`
    expect(o.rules.find((r) => r.path === 'rules.shop.default.read')!.unused).toBe('every table of `shop` has its own `read` rule');
    expect(o.rules.find((r) => r.path === 'rules.shop.default.delete')!.unused).toBeUndefined();
    expect(o.collections).toEqual([
      {
        path: 'services.shop.tables.orders.security',
        level: 'table',
        span: expect.objectContaining({ line: lineOf("security: { staff: { type: 'role'") }),
        requirements: [{ path: 'services.shop.tables.orders.security.staff', name: 'staff', type: 'role', span: expect.objectContaining({ line: lineOf("security: { staff:") }) }],
      },
    ]);
    // access entries in config order, with their index in the policy (which sorts them)
    expect(o.access.map((a) => [a.path, a.component, a.index, a.span?.line])).toEqual([
      ['roles.clerk.access[0]', '_table/orders', 1, lineOf("component: '_table/orders'")],
      ['roles.clerk.access[1]', '*', 0, lineOf("component: '*'")],
    ]);
    expect(result.policy!.roles.clerk!.access[1]!.component).toBe('_table/orders');
  });

  test('a check returns the text of policy.mjs; without `outline` no outline', async () => {
    const dir = project({ 'dfc.config.ts': CONFIG });
    const result = await check({ config: dir });
    // (bundled: esbuild writes `var hash = …; export { hash, … }`)
    expect(result.module).toContain(`hash = ${JSON.stringify(result.policy!.hash)};`);
    expect(result.module).toMatch(/^export \{[^}]*\bhash\b/m);
    expect(result.outline).toBeUndefined();
  });

  test('files checked with the config report their type errors in the same run', async () => {
    const dir = project({
      'dfc.config.ts': CONFIG,
      'extra.ts': `import { shop } from './dfc.config';\nexport const table: keyof typeof shop.tables = 'ordrs';\n`,
    });
    const result = await check({ config: dir, typecheckAlso: [join(dir, 'extra.ts')] });
    expect(result.ok).toBe(false);
    expect(result.diagnostics).toEqual([expect.objectContaining({ code: 'DFC2003', file: join(dir, 'extra.ts'), line: 2 })]);
    expect(result.inputs).toContain(join(dir, 'extra.ts'));
  });
});

describe('loading a module next to a config', () => {
  test('bundles it with the config it imports and returns its exports and inputs', async () => {
    const dir = project({ 'dfc.config.ts': CONFIG, 'm.ts': `import { shop } from './dfc.config';\nexport default shop.name;\n` });
    const m = await loadModule(join(dir, 'm.ts'));
    expect(m.exports?.default).toBe('shop');
    expect(m.inputs).toEqual([join(dir, 'dfc.config.ts'), join(dir, 'm.ts')]);
  });

  test('an error while loading is returned with the line it was thrown from', async () => {
    const dir = project({ 'm.ts': `export const a = 1;\nthrow new TypeError('nope');\n` });
    const m = await loadModule(join(dir, 'm.ts'));
    expect(m.exports).toBeUndefined();
    expect(m.threw).toEqual({ message: 'TypeError: nope', span: { file: join(dir, 'm.ts'), line: 2, column: 7 } });
  });

  test('a module that does not parse is DFC1003 at its position', async () => {
    const dir = project({ 'm.ts': `export const = 1;\n` });
    const m = await loadModule(join(dir, 'm.ts'));
    expect(m.diagnostics).toEqual([expect.objectContaining({ code: 'DFC1003', file: join(dir, 'm.ts'), line: 1 })]);
  });
});
