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

/**
 * A `--watch` rebuild loads a module per file (built again only when the file changed);
 * a build loads one bundle. Under plain Node both place diagnostics the same, after
 * edits that move a file's lines, make it throw, or import a name another file does not export.
 */
test('a --watch rebuild (a module per file) places diagnostics as a build (one bundle) does, under plain Node', async () => {
  const dir = join(tmp.dir, 'modules');
  mkdirSync(dir);
  const svc =
    "import { defineRule, defineService } from 'dfc';\n\n" +
    "export const inventory = defineService({\n  name: 'inventory',\n  database: { type: 'sqlite', file: './i.db' },\n" +
    "  tables: { items: { columns: { id: 'integer', ownerId: 'string' }, primaryKey: 'id' }, bins: { columns: { id: 'integer' }, primaryKey: 'id' } },\n});\n\n" +
    "export const items = defineRule(inventory, 'items', { read: { rule: 'allow' } });\n" +
    "export const bins =   defineRule(inventory, 'bins', { read: { rule: 'authenticated' } });\n";
  writeFileSync(join(dir, 'svc.ts'), svc);
  writeFileSync(join(dir, 'roles.ts'), "import { defineRole } from 'dfc';\nimport { inventory } from './svc.js';\n\nexport const clerk = defineRole({ name: 'clerk', access: [{ service: inventory, component: '_table/items', verbs: ['GET'] }] });\n");
  writeFileSync(join(dir, 'dfc.config.ts'), "import { defineConfig } from 'dfc';\nimport { bins, inventory, items } from './svc.js';\nimport { clerk } from './roles.js';\n\nexport default defineConfig({ services: [inventory], rules: [items, bins], roles: [clerk] });\n");
  const steps: [string, string][][] = [
    [],
    // Lines move in the file that changed; the others keep their modules.
    [['svc.ts', '// moved\n\n' + svc]],
    [['svc.ts', "import { defineRule, defineService } from 'dfc';\n\nconst settings = JSON.parse('{');\n" + svc.split('\n').slice(2).join('\n')]],
    [
      ['svc.ts', svc],
      ['lib.mjs', 'export const x = 1;\n'],
      ['roles.mjs', "export { clerk } from './lib.mjs';\n"],
      ['dfc.config.ts', "import { defineConfig } from 'dfc';\nimport { bins, inventory, items } from './svc.js';\n// @ts-ignore: no declarations\nimport { clerk } from './roles.mjs';\n\nexport default defineConfig({ services: [inventory], rules: [items, bins], roles: [clerk] });\n"],
    ],
  ];
  const script = `
    const c = await import(${JSON.stringify(join(REPO, 'packages', 'compiler', 'dist', 'index.js'))});
    const { writeFileSync } = await import('node:fs');
    const { join } = await import('node:path');
    const dir = ${JSON.stringify(dir)};
    const session = {};
    const out = [];
    for (const writes of ${JSON.stringify(steps)}) {
      for (const [file, text] of writes) writeFileSync(join(dir, file), text);
      const rebuilt = (await c.build({ config: dir, session })).diagnostics;
      const built = (await c.build({ config: dir })).diagnostics;
      out.push({ rebuilt, built });
    }
    process.stdout.write(JSON.stringify(out));`;
  const child = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' });
  expect(child.stderr).toBe('');
  const out = JSON.parse(child.stdout) as { rebuilt: { code: string; file?: string; line?: number; column?: number }[]; built: unknown }[];
  for (const { rebuilt, built } of out) expect(rebuilt).toEqual(built);
  const at = (i: number) => out[i]!.rebuilt.filter((d) => d.code !== 'DFC4003').map((d) => `${d.code} ${d.file?.slice(dir.length + 1)}:${d.line}:${d.column}`);
  expect(at(0)).toEqual(expect.arrayContaining(['DFC4004 svc.ts:9:22', 'DFC4004 svc.ts:10:23']));
  expect(at(1)).toEqual(expect.arrayContaining(['DFC4004 svc.ts:11:22', 'DFC4004 svc.ts:12:23']));
  expect(at(2)).toEqual(['DFC1004 svc.ts:3:23']);
  // Linking the modules fails before any code runs; the bundle then says where, as a build does.
  expect(at(3)).toEqual(['DFC1003 roles.mjs:1:10']);
});

/** `check`'s diagnostics from the built compiler in a plain Node process. */
function underNode(dir: string): unknown {
  const script = `const c = await import(${JSON.stringify(join(REPO, 'packages', 'compiler', 'dist', 'index.js'))}); process.stdout.write(JSON.stringify((await c.check({ config: ${JSON.stringify(dir)} })).diagnostics));`;
  const child = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' });
  expect(child.stderr).toBe('');
  return JSON.parse(child.stdout);
}
