import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { copyFixture, tempDir } from '../../../../test/fixtures/helpers.js';
import { check } from '../index.js';
import type { CompilerSession } from '../pipeline.js';

let tmp: ReturnType<typeof tempDir>;
beforeAll(() => {
  tmp = tempDir();
});
afterAll(() => tmp.cleanup());

const errorsOf = async (dir: string, session: CompilerSession) =>
  (await check({ config: dir, session })).diagnostics.filter((d) => d.severity === 'error').map((d) => `${d.code} ${d.file?.split('/').pop()}:${d.line}`);

test('a session keeps no program (a second type checker held during a rebuild ran out of heap on large configs)', async () => {
  const dir = copyFixture('minimal', tmp.dir);
  const session: CompilerSession = {};
  await check({ config: dir, session });
  expect(Object.keys(session.typecheck ?? {}).sort()).toEqual(['declarations', 'libraryStamps', 'optionsKey']);
  // Only text: declarations of imported files (the fixture has none).
  expect(session.typecheck?.declarations?.size).toBe(0);
});

test('rebuilds in one session report every error of every file, and see changes to imported types', async () => {
  const dir = copyFixture('minimal', tmp.dir);
  const config = join(dir, 'dfc.config.ts');
  const extra = join(dir, 'extra.ts');
  const original = readFileSync(config, 'utf8');
  writeFileSync(extra, "export const limit: number = 'ten';\n");
  writeFileSync(config, "import { limit } from './extra.js';\nvoid limit;\n" + original);
  const session: CompilerSession = {};

  expect(await errorsOf(dir, session)).toEqual(['DFC2003 extra.ts:1']);
  // Only the config changes: the imported file's error is still reported.
  writeFileSync(config, readFileSync(config, 'utf8') + '// edited\n');
  expect(await errorsOf(dir, session)).toEqual(['DFC2003 extra.ts:1']);
  // The imported file is fixed; then the config gets an error of its own.
  writeFileSync(extra, 'export const limit: number = 10;\n');
  expect(await errorsOf(dir, session)).toEqual([]);
  writeFileSync(config, readFileSync(config, 'utf8') + "export const wrong: string = limit;\n");
  expect(await errorsOf(dir, session)).toEqual(['DFC2003 dfc.config.ts:' + (readFileSync(config, 'utf8').split('\n').length - 1)]);
  // A change to the imported file's exported type reaches the file that imports it.
  writeFileSync(extra, "export const limit: string = 'ten';\n");
  expect(await errorsOf(dir, session)).toEqual([]);
});

test('the build leaves out the hover-only documentation types, and finds the same mistakes', async () => {
  const dir = copyFixture('minimal', tmp.dir);
  const config = join(dir, 'dfc.config.ts');
  const original = readFileSync(config, 'utf8');
  // Under the editor's settings `HoverDocs<D>` is `D`, and this probe is an error.
  writeFileSync(config, original + "import type { HoverDocs } from 'dfc';\nexport const probe: HoverDocs<{ a: 1 }> = 5;\n");
  expect(await errorsOf(dir, {})).toEqual([]);

  const mistakes = original
    .replace("f2: 'args.find.customerId'", "f2: 'args.find.customrId'")
    .replace("update: { rule: 'deny' }", "update: { rule: 'or', clauses: [{ rule: 'allow' }, { rule: 'remove', fields: ['res.totl'] }] }")
    .replace("component: '_table/orders'", "component: '_table/order'");
  writeFileSync(config, mistakes);
  const result = await check({ config: dir });
  expect(result.diagnostics.filter((d) => d.severity === 'error').map((d) => [d.line, d.message])).toEqual([
    [12, 'unknown column `customrId` in table `orders`'],
    [14, 'unknown column `totl` in table `orders`'],
    [20, expect.stringContaining('"_table/orders"')],
  ]);
});

test('a rebuild reads unchanged imported files as their declarations, and reports what a cold build reports', async () => {
  const dir = copyFixture('minimal', tmp.dir);
  const config = join(dir, 'dfc.config.ts');
  const svc = join(dir, 'svc.ts');
  const rules = join(dir, 'rules.ts');
  writeFileSync(
    svc,
    "import { defineService } from 'dfc';\n" +
      "export const inventory = defineService({ name: 'inventory', database: { type: 'sqlite', file: './i.db' }, tables: { items: { columns: { id: 'integer', ownerId: 'string' }, primaryKey: 'id' } } });\n",
  );
  writeFileSync(
    rules,
    "import { defineRule } from 'dfc';\nimport { inventory } from './svc.js';\n" +
      "export const items = defineRule(inventory, 'items', { read: { rule: 'match', eval: '==', type: 'string', f1: 'args.auth.id', f2: 'args.find.ownerId' } });\n",
  );
  const original = readFileSync(config, 'utf8');
  const withImports = (extra: string) =>
    "import { inventory } from './svc.js';\nimport { items } from './rules.js';\n" +
    original.replace('services: [shop],', 'services: [shop, inventory],').replace('rules: [orderRules],', 'rules: [orderRules, items],') +
    extra;
  writeFileSync(config, withImports(''));
  const session: CompilerSession = {};
  const cold = async () => errorsOf(dir, {});

  expect(await errorsOf(dir, session)).toEqual([]);
  const first = session.typecheck?.declarations;
  expect([...(first?.keys() ?? [])].sort()).toEqual([rules, svc]);
  expect(first?.get(rules)?.imports).toEqual([svc]);

  // The config changes, with an error about an imported type: both files are reused.
  writeFileSync(config, withImports("export const bad = defineRule(inventory, 'items', { read: { rule: 'match', eval: '==', type: 'string', f1: 'args.auth.id', f2: 'args.find.owner' } });\n"));
  const rebuilt = await check({ config: dir, session });
  expect(session.typecheck?.declarations?.get(svc)).toBe(first?.get(svc));
  expect(session.typecheck?.declarations?.get(rules)).toBe(first?.get(rules));
  expect(rebuilt.inputs).toEqual(expect.arrayContaining([svc, rules, config]));
  const errors = rebuilt.diagnostics.filter((d) => d.severity === 'error').map((d) => `${d.code} ${d.file?.split('/').pop()}:${d.line} ${d.message}`);
  expect(errors).toEqual([`DFC2003 dfc.config.ts:${readFileSync(config, 'utf8').split('\n').length - 1} type \`"args.find.owner"\` is not assignable to type \`"args.find.ownerId"\``]);
  expect((await check({ config: dir })).diagnostics.filter((d) => d.severity === 'error').map((d) => `${d.code} ${d.file?.split('/').pop()}:${d.line} ${d.message}`)).toEqual(errors);

  // The service changes: it and the rules that import it are checked from source again.
  writeFileSync(svc, readFileSync(svc, 'utf8').replace("ownerId: 'string'", "ownerId: 'string', owner: 'string'"));
  writeFileSync(config, withImports(''));
  writeFileSync(rules, readFileSync(rules, 'utf8').replace("f2: 'args.find.ownerId'", "f2: 'args.find.ownr'"));
  expect(await errorsOf(dir, session)).toEqual(['DFC2003 rules.ts:3']);
  expect(await cold()).toEqual(['DFC2003 rules.ts:3']);
  // The rebuild's first pass runs without the authoring checks (the error above came from
  // the second, full one), so it found no error in rules.ts and kept its declarations.
  expect([...(session.typecheck?.declarations?.keys() ?? [])].sort()).toEqual([rules, svc]);
  writeFileSync(rules, readFileSync(rules, 'utf8').replace("f2: 'args.find.ownr'", "f2: 'args.find.owner'"));
  expect(await errorsOf(dir, session)).toEqual([]);
  // A file with an error the first pass sees keeps no declarations; fixed, it is reused again after one more build.
  writeFileSync(rules, readFileSync(rules, 'utf8') + "export const pageSize: number = 'ten';\n");
  expect(await errorsOf(dir, session)).toEqual(['DFC2003 rules.ts:4']);
  expect([...(session.typecheck?.declarations?.keys() ?? [])]).toEqual([svc]);
  writeFileSync(rules, readFileSync(rules, 'utf8').replace("export const pageSize: number = 'ten';\n", ''));
  expect(await errorsOf(dir, session)).toEqual([]);
  expect([...(session.typecheck?.declarations?.keys() ?? [])].sort()).toEqual([rules, svc]);
});

test('a change to a package an imported file uses is seen by the next rebuild', async () => {
  const dir = copyFixture('minimal', tmp.dir);
  const config = join(dir, 'dfc.config.ts');
  const lib = join(dir, 'node_modules', 'limits');
  mkdirSync(lib, { recursive: true });
  writeFileSync(join(lib, 'package.json'), JSON.stringify({ name: 'limits', type: 'module', main: 'index.js', types: 'index.d.ts' }));
  writeFileSync(join(lib, 'index.js'), 'export const pageSize = 10;\n');
  writeFileSync(join(lib, 'index.d.ts'), 'export declare const pageSize: number;\n');
  writeFileSync(join(dir, 'limits.ts'), "import { pageSize } from 'limits';\nexport const maxRecords = pageSize;\n");
  writeFileSync(config, "import { maxRecords } from './limits.js';\nexport const cap: number = maxRecords;\n" + readFileSync(config, 'utf8'));
  const session: CompilerSession = {};
  expect(await errorsOf(dir, session)).toEqual([]);
  expect([...(session.typecheck?.declarations?.keys() ?? [])]).toEqual([join(dir, 'limits.ts')]);
  writeFileSync(join(lib, 'index.d.ts'), 'export declare const pageSize: string;\n');
  expect(await errorsOf(dir, session)).toEqual(['DFC2003 dfc.config.ts:2']);
  expect(await errorsOf(dir, {})).toEqual(['DFC2003 dfc.config.ts:2']);
});
