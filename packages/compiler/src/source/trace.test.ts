import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { REPO, tempDir } from '../../../../test/fixtures/helpers.js';
import { check } from '../index.js';

let tmp: ReturnType<typeof tempDir>;
beforeAll(() => {
  tmp = tempDir();
});
afterAll(() => tmp.cleanup());

/**
 * Under plain Node the trace hook maps define* call sites (and the frames of an error
 * the config throws) through the bundle's source map; under vitest, whose module runner
 * maps stacks itself, they come from the stack text. Both give the same positions.
 */
test('diagnostics placed by define* call sites or by a thrown error are the same under plain Node (source map) and under vitest (stack text)', async () => {
  const dir = tmp.dir;
  writeFileSync(
    join(dir, 'svc.ts'),
    "import { defineRule, defineService } from 'dfc';\n\n" +
      "export const inventory = defineService({\n  name: 'inventory',\n  database: { type: 'sqlite', file: './i.db' },\n" +
      "  tables: { items: { columns: { id: 'integer', ownerId: 'string' }, primaryKey: 'id' }, bins: { columns: { id: 'integer' }, primaryKey: 'id' } },\n});\n\n" +
      "export const items = defineRule(inventory, 'items', { read: { rule: 'allow' } });\n" +
      "export const bins =   defineRule(inventory, 'bins', { read: { rule: 'authenticated' } });\n",
  );
  writeFileSync(
    join(dir, 'dfc.config.ts'),
    "import { defineConfig, defineRole } from 'dfc';\nimport { bins, inventory, items } from './svc.js';\n\n" +
      "const clerk = defineRole({ name: 'clerk', access: [{ service: inventory, component: '_table/items', verbs: ['GET'] }] });\n\n" +
      'export default defineConfig({ services: [inventory], rules: [items, bins], roles: [clerk] });\n',
  );
  const here = (await check({ config: dir })).diagnostics;
  expect(here.filter((d) => d.file === join(dir, 'svc.ts')).map((d) => `${d.code} ${d.line}:${d.column}`)).toEqual(
    expect.arrayContaining(['DFC4004 9:22', 'DFC4004 10:23']),
  );
  expect(underNode(dir)).toEqual(here);

  // An error thrown while the config loads points at the line that threw, in the imported file.
  writeFileSync(join(dir, 'svc.ts'), "import { defineRule, defineService } from 'dfc';\n\nconst settings = JSON.parse('{');\n" + readFileSync(join(dir, 'svc.ts'), 'utf8').split('\n').slice(2).join('\n'));
  const threw = (await check({ config: dir })).diagnostics;
  expect(threw.map((d) => `${d.code} ${d.file}:${d.line}:${d.column}`)).toEqual([`DFC1004 ${join(dir, 'svc.ts')}:3:23`]);
  expect(underNode(dir)).toEqual(threw);
});

test('a define* call made deep inside a package is placed at the user\'s call', async () => {
  const dir = join(tmp.dir, 'deep');
  const kit = join(dir, 'node_modules', 'rule-kit');
  mkdirSync(kit, { recursive: true });
  writeFileSync(join(kit, 'package.json'), JSON.stringify({ name: 'rule-kit', type: 'module', main: 'index.js' }));
  // Twelve frames of the package's own between the user's call and the define* function.
  writeFileSync(join(kit, 'index.js'), 'export function deep(n, define, ...args) {\n  return n === 0 ? define(...args) : deep(n - 1, define, ...args);\n}\n');
  writeFileSync(
    join(dir, 'dfc.config.ts'),
    "import { defineConfig, defineRole, defineRule, defineService } from 'dfc';\n// @ts-ignore: the package has no types\nimport { deep } from 'rule-kit';\n\n" +
      "const inventory = defineService({ name: 'inventory', database: { type: 'sqlite', file: './i.db' }, tables: { items: { columns: { id: 'integer' }, primaryKey: 'id' } } });\n" +
      "const items =\n  deep(12, defineRule, inventory, 'items', { read: { rule: 'allow' } });\n" +
      "const clerk = defineRole({ name: 'clerk', access: [{ service: inventory, component: '_table/items', verbs: ['GET'] }] });\n\n" +
      'export default defineConfig({ services: [inventory], rules: [items], roles: [clerk] });\n',
  );
  const here = (await check({ config: dir })).diagnostics;
  expect(here.filter((d) => d.code === 'DFC4004').map((d) => `${d.file}:${d.line}:${d.column}`)).toEqual([`${join(dir, 'dfc.config.ts')}:7:3`]);
  expect(underNode(dir)).toEqual(here);
});

/** `check`'s diagnostics from the built compiler in a plain Node process. */
function underNode(dir: string): unknown {
  const script = `const c = await import(${JSON.stringify(join(REPO, 'packages', 'compiler', 'dist', 'index.js'))}); process.stdout.write(JSON.stringify((await c.check({ config: ${JSON.stringify(dir)} })).diagnostics));`;
  const child = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' });
  expect(child.stderr).toBe('');
  return JSON.parse(child.stdout);
}
