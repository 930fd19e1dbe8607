import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { copyFixture, tempDir } from '../../../../test/fixtures/helpers.js';
import ts from 'typescript';
import { check } from '../index.js';
import type { CompilerSession } from '../pipeline.js';
import { typecheck } from './typecheck.js';

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
  expect(Object.keys(session.typecheck ?? {}).sort()).toEqual(['checks', 'declarations', 'libraryStamps', 'optionsKey']);
  // Only text: declarations of imported files (the fixture has none), and each file's errors as diagnostics.
  expect(session.typecheck?.declarations?.size).toBe(0);
  expect([...(session.typecheck?.checks?.values() ?? [])].map((c) => Object.keys(c).sort())).toEqual([['diagnostics', 'resolutions', 'stamp']]);
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

/** A rebuild in `session` and a cold build of the same files: the same diagnostics, every severity. */
async function rebuildMatchesCold(dir: string, session: CompilerSession) {
  const rebuilt = (await check({ config: dir, session })).diagnostics;
  const cold = (await check({ config: dir })).diagnostics;
  expect(rebuilt).toEqual(cold);
  return rebuilt.filter((d) => d.severity === 'error').map((d) => `${d.code} ${d.file?.split('/').pop()}:${d.line} ${d.message}`);
}

/** The minimal fixture with its service in svc.ts and its rules in rules.ts (which imports svc.ts). */
function splitProject() {
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
  writeFileSync(
    config,
    "import { inventory } from './svc.js';\nimport { items } from './rules.js';\n" +
      original.replace('services: [shop],', 'services: [shop, inventory],').replace('rules: [orderRules],', 'rules: [orderRules, items],'),
  );
  const edit = (file: string, from: string, to: string) => {
    const text = readFileSync(file, 'utf8');
    if (!text.includes(from)) throw new Error(`${from} is not in ${file}`);
    writeFileSync(file, text.replace(from, to));
  };
  return { dir, config, svc, rules, edit };
}

test('a rebuild does not check again a file whose imports kept their exported types, and reports what a cold build reports', async () => {
  const { dir, config, svc, rules, edit } = splitProject();
  const session: CompilerSession = {};
  expect(await rebuildMatchesCold(dir, session)).toEqual([]);
  const first = session.typecheck?.checks;
  expect([...(first?.keys() ?? [])].sort()).toEqual([config, rules, svc]);

  // A rule changes: rules.ts exports the same types, so the config's check is taken over.
  edit(rules, "eval: '=='", "eval: '!='");
  expect(await rebuildMatchesCold(dir, session)).toEqual([]);
  expect(session.typecheck?.checks?.get(config)).toBe(first?.get(config));
  expect(session.typecheck?.checks?.get(rules)).not.toBe(first?.get(rules));

  // The config gets an error of its own; then rules.ts changes again without changing its
  // exported types: the config's error, taken over, is still reported.
  writeFileSync(config, readFileSync(config, 'utf8') + 'export const wrong: number = items;\n');
  const withError = await rebuildMatchesCold(dir, session);
  expect(withError).toEqual([expect.stringMatching(/^DFC2003 dfc\.config\.ts:\d+ type `RuleSet<"inventory", "items">` is not assignable to type `number`$/)]);
  const configCheck = session.typecheck?.checks?.get(config);
  edit(rules, "eval: '!='", "eval: '=='");
  expect(await rebuildMatchesCold(dir, session)).toEqual(withError);
  expect(session.typecheck?.checks?.get(config)).toBe(configCheck);
});

test('a rebuild checks again every file that sees an import whose exported types changed', async () => {
  const { dir, config, svc, rules, edit } = splitProject();
  const session: CompilerSession = {};
  expect(await rebuildMatchesCold(dir, session)).toEqual([]);

  // The exported name the config and rules.ts use is renamed: both now have an error,
  // though neither file changed.
  edit(svc, 'export const inventory =', 'export const stock =');
  expect(await rebuildMatchesCold(dir, session)).toEqual([
    expect.stringMatching(/^DFC2004 dfc\.config\.ts:1 module `"\.\/svc\.js"` has no exported member `inventory`/),
    expect.stringMatching(/^DFC2004 rules\.ts:2 module `"\.\/svc\.js"` has no exported member `inventory`/),
  ]);
  // Named back: the errors go, in the files that did not change either.
  edit(svc, 'export const stock =', 'export const inventory =');
  expect(await rebuildMatchesCold(dir, session)).toEqual([]);

  // A change of exported type two imports away: svc.ts → rules.ts → the config.
  writeFileSync(config, readFileSync(config, 'utf8') + "export const table: 'items' = items.table;\n");
  expect(await rebuildMatchesCold(dir, session)).toEqual([]);
  edit(svc, "tables: { items: { columns: { id: 'integer', ownerId: 'string' }", "tables: { goods: { columns: { id: 'integer', ownerId: 'string' }");
  expect((await rebuildMatchesCold(dir, session)).map((e) => e.split(' ')[1])).toEqual([expect.stringMatching(/^dfc\.config\.ts:\d+$/), 'rules.ts:3']);
  edit(rules, "defineRule(inventory, 'items'", "defineRule(inventory, 'goods'");
  expect((await rebuildMatchesCold(dir, session)).map((e) => e.split(' ').slice(0, 2).join(' '))).toEqual([
    expect.stringMatching(/^DFC2003 dfc\.config\.ts:\d+$/),
  ]);
});

test("an edit inside the rules of a `defineRule` call keeps the file's declarations only when it is dfc's", async () => {
  const { dir, config, svc, rules, edit } = splitProject();
  const session: CompilerSession = {};
  writeFileSync(config, readFileSync(config, 'utf8') + "export const table: 'items' = items.table;\n");
  expect(await rebuildMatchesCold(dir, session)).toEqual([]);
  const declared = session.typecheck?.declarations?.get(rules);
  edit(rules, "eval: '=='", "eval: '!='");
  expect(await rebuildMatchesCold(dir, session)).toEqual([]);
  expect(session.typecheck?.declarations?.get(rules)?.text).toBe(declared?.text);

  // The service's name changes in the same rebuild: rules.ts's declarations change with
  // it, and the next rebuild, which reads them, sees the new name.
  writeFileSync(config, readFileSync(config, 'utf8') + "export const svcName: 'inventory' = items.service;\n");
  expect(await rebuildMatchesCold(dir, session)).toEqual([]);
  edit(svc, "name: 'inventory'", "name: 'stock'");
  edit(rules, "eval: '!='", "eval: '=='");
  const renamed = await rebuildMatchesCold(dir, session);
  expect(renamed).toEqual(expect.arrayContaining([expect.stringMatching(/^DFC2003 dfc\.config\.ts:\d+ type `"stock"` is not assignable to type `"inventory"`$/)]));
  expect(session.typecheck?.declarations?.get(rules)?.text).toContain('"stock"');
  writeFileSync(config, readFileSync(config, 'utf8') + '// edited\n');
  expect(await rebuildMatchesCold(dir, session)).toEqual(renamed);
  edit(svc, "name: 'stock'", "name: 'inventory'");
  edit(rules, "eval: '=='", "eval: '!='");
  writeFileSync(config, readFileSync(config, 'utf8').replace("export const svcName: 'inventory' = items.service;\n", ''));
  expect(await rebuildMatchesCold(dir, session)).toEqual([]);

  // A function of the user's named defineRule, whose result is its third argument: the
  // same kind of edit changes what rules.ts exports, and the config sees it.
  edit(rules, "import { defineRule } from 'dfc';", 'function defineRule<S, T, const R>(service: S, table: T, rules: R): R {\n  return rules;\n}');
  writeFileSync(
    config,
    readFileSync(config, 'utf8').replace('rules: [orderRules, items],', 'rules: [orderRules],').replace("export const table: 'items' = items.table;", "export const op: '!=' = items.read.eval;"),
  );
  expect(await rebuildMatchesCold(dir, session)).toEqual([]);
  edit(rules, "eval: '!='", "eval: '=='");
  expect(await rebuildMatchesCold(dir, session)).toEqual([expect.stringMatching(/^DFC2003 dfc\.config\.ts:\d+ type `"=="` is not assignable to type `"!="`$/)]);
});

test("a rebuild after an edit inside one `defineRule` call's rules, written as plain data, reports what a cold check reports", async () => {
  const { dir, config, rules, edit } = splitProject();
  const input = { configFile: config, configDir: dir, incremental: true, authoringChecks: false };
  let session = typecheck(input).session;
  /** A rebuild's errors of the first pass, which must be a cold first pass's. */
  const rebuild = () => {
    const out = typecheck({ ...input, session });
    session = out.session;
    expect(out.diagnostics).toEqual(typecheck({ configFile: config, configDir: dir, authoringChecks: false }).diagnostics);
    return out.diagnostics.map((d) => `${d.code} ${d.file?.split('/').pop()}:${d.line}`);
  };
  edit(rules, "eval: '=='", "eval: '!='");
  expect(rebuild()).toEqual([]);
  // Rules the first pass's signature does not take: a rule kind that does not exist, an
  // operation that does not exist, a `fn` that is not a function.
  for (const [from, to] of [
    ["rule: 'match'", "rule: 'matches'"],
    ['{ read: {', '{ reed: {'],
    ["f1: 'args.auth.id'", "fn: 'args.auth.id'"],
  ]) {
    edit(rules, from!, to!);
    expect(rebuild()).toEqual(['DFC2003 rules.ts:3']);
    edit(rules, to!, from!);
    expect(rebuild()).toEqual([]);
    expect(rebuild()).toEqual([]);
  }
  // An error elsewhere in the file stays reported after an edit of the rules.
  writeFileSync(rules, readFileSync(rules, 'utf8') + "export const pageSize: number = 'ten';\n");
  expect(rebuild()).toEqual(['DFC2003 rules.ts:4']);
  edit(rules, "eval: '!='", "eval: '=='");
  expect(rebuild()).toEqual(['DFC2003 rules.ts:4']);
});

test('a syntax error between two rebuilds hides no change of exported types', async () => {
  const { dir, svc, edit } = splitProject();
  const session: CompilerSession = {};
  expect(await rebuildMatchesCold(dir, session)).toEqual([]);
  edit(svc, 'export const inventory =', 'export const stock = ,');
  expect(new Set((await rebuildMatchesCold(dir, session)).map((e) => e.split(' ').slice(0, 2).join(' ')))).toEqual(new Set(['DFC2001 svc.ts:2']));
  edit(svc, 'export const stock = ,', 'export const stock =');
  expect((await rebuildMatchesCold(dir, session)).map((e) => e.split(' ').slice(0, 2).join(' '))).toEqual([
    'DFC2004 dfc.config.ts:1',
    'DFC2004 rules.ts:2',
  ]);
});

test('a change to a global declaration reaches a file that does not import it (no file is read as its declarations)', async () => {
  const { dir, config, svc, rules, edit } = splitProject();
  const globals = join(dir, 'globals.ts');
  const uses = join(dir, 'uses.ts');
  writeFileSync(globals, 'export {};\ndeclare global {\n  interface DfcProbe { size: number }\n}\n');
  writeFileSync(uses, 'export const probe: DfcProbe = { size: 1 };\n');
  writeFileSync(config, "import './globals.js';\nimport { probe } from './uses.js';\nvoid probe;\n" + readFileSync(config, 'utf8'));
  const session: CompilerSession = {};
  expect(await rebuildMatchesCold(dir, session)).toEqual([]);
  edit(globals, 'size: number', 'size: string');
  expect((await rebuildMatchesCold(dir, session)).map((e) => e.split(' ').slice(0, 2).join(' '))).toEqual(['DFC2003 uses.ts:1']);

  // A module augmentation appears in a project whose files the previous run read as
  // their declarations: uses.ts, unchanged, sees it.
  writeFileSync(globals, 'export {};\n');
  writeFileSync(uses, "import type { Settings } from './settings.js';\nexport const probe: Settings = { size: 1 };\n");
  writeFileSync(join(dir, 'settings.ts'), 'export interface Settings { size: number }\n');
  expect(await rebuildMatchesCold(dir, session)).toEqual([]);
  expect(await rebuildMatchesCold(dir, session)).toEqual([]);
  expect([...(session.typecheck?.declarations?.keys() ?? [])].sort()).toEqual([globals, rules, join(dir, 'settings.ts'), svc, uses].sort());
  writeFileSync(globals, "export {};\ndeclare module './settings.js' {\n  interface Settings { name: string }\n}\n");
  expect((await rebuildMatchesCold(dir, session)).map((e) => e.split(' ')[1])).toEqual(['uses.ts:2']);
});

test('without the authoring checks, a rule set without a code rule takes the build\'s own `defineRule` signature; one with a code rule has its `fn` typed', async () => {
  const dir = copyFixture('minimal', tmp.dir);
  const config = join(dir, 'dfc.config.ts');
  writeFileSync(
    config,
    readFileSync(config, 'utf8').replace(
      'export const customer',
      "export const codeRules = defineRule(shop, 'default', { read: { rule: 'and', clauses: [{ rule: 'authenticated' }, { rule: 'code', fn: ({ find }) => find?.customerId !== 'x' }] } });\n\nexport const customer",
    ),
  );
  /** Where the signature each `defineRule` call resolved to is declared, by the call's variable. */
  const signatures = (authoringChecks: boolean) => {
    const out = typecheck({ configFile: config, configDir: dir, authoringChecks });
    expect(out.diagnostics).toEqual([]);
    const checker = out.program.getTypeChecker();
    const found: Record<string, string> = {};
    const visit = (node: ts.Node): void => {
      if (ts.isVariableDeclaration(node) && node.initializer && ts.isCallExpression(node.initializer) && node.initializer.expression.getText() === 'defineRule') {
        const declaration = checker.getResolvedSignature(node.initializer)?.getDeclaration();
        found[node.name.getText()] = declaration?.getSourceFile().fileName.split('/').pop() ?? '';
      }
      ts.forEachChild(node, visit);
    };
    visit(out.program.getSourceFile(config)!);
    return found;
  };
  expect(signatures(false)).toEqual({ orderRules: '__dfc_build_type_settings__.d.ts', codeRules: expect.stringMatching(/^rule-set\.(d\.)?ts$/) });
  expect(signatures(true)).toEqual({ orderRules: expect.stringMatching(/^rule-set\.(d\.)?ts$/), codeRules: expect.stringMatching(/^rule-set\.(d\.)?ts$/) });

  // The function is typed against the table in the first pass: a wrong column in it is an error there.
  writeFileSync(config, readFileSync(config, 'utf8').replace('find?.customerId', 'find?.customrId'));
  const first = typecheck({ configFile: config, configDir: dir, authoringChecks: false });
  expect(first.diagnostics.map((d) => d.message)).toEqual([expect.stringContaining('`customrId`')]);
});

test('`checkAgain` checks an unchanged imported file from source, as after an edit, and finds what the last run found', async () => {
  const dir = copyFixture('minimal', tmp.dir);
  const config = join(dir, 'dfc.config.ts');
  const extra = join(dir, 'extra.ts');
  writeFileSync(extra, "export const limit: number = 10;\nexport const wrong: string = 5;\n");
  writeFileSync(config, "import { limit } from './extra.js';\nvoid limit;\n" + readFileSync(config, 'utf8'));
  const input = { configFile: config, configDir: dir, incremental: true, authoringChecks: false };
  const first = typecheck(input);
  const names = (out: ReturnType<typeof typecheck>) => out.program.getSourceFiles().map((sf) => sf.fileName.split('/').pop()).filter((f) => f?.startsWith('extra'));
  // (A file with an error is not read as its declarations: fix it first.)
  writeFileSync(extra, 'export const limit: number = 10;\n');
  const fixed = typecheck({ ...input, session: first.session });
  expect(fixed.diagnostics).toEqual([]);
  expect(names(typecheck({ ...input, session: fixed.session }))).toEqual(['extra.dfc-reused.d.ts']);
  const again = typecheck({ ...input, session: fixed.session, checkAgain: extra });
  expect(names(again)).toEqual(['extra.ts']);
  expect(again.diagnostics).toEqual([]);
  expect(again.session.checks).toEqual(fixed.session.checks);
  expect(again.session.declarations).toEqual(fixed.session.declarations);
});
