import { readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { afterEach, beforeEach, expect, test } from 'vitest';
import { tempDir } from '../../../../test/fixtures/helpers.js';
import { load, type LoadSession } from './load.js';

let tmp: ReturnType<typeof tempDir>;
beforeEach(() => {
  tmp = tempDir();
});
afterEach(() => tmp.cleanup());

const write = (files: Record<string, string>) => {
  for (const [name, text] of Object.entries(files)) writeFileSync(join(tmp.dir, name), text);
};
const loadWith = (session?: LoadSession) => load({ configFile: join(tmp.dir, 'dfc.config.ts'), configDir: tmp.dir, session });
/** What a load in a session left in the OS temp directory. */
const leftOver = (session: LoadSession) => readdirSync(tmpdir()).filter((name) => session.base !== undefined && name.startsWith(basename(session.base)));

test('a --watch load builds again only the files that changed, and runs every file afresh', async () => {
  write({
    'registry.ts': 'export const names: string[] = [];\n',
    'a.ts': "import { names } from './registry';\nnames.push('a1');\nexport const a = { v: 1 };\n",
    'b.ts': "import { names } from './registry';\nnames.push('b');\nexport const b = { v: 2 };\n",
    'dfc.config.ts': "import { a } from './a';\nimport { b } from './b';\nimport { names } from './registry';\nexport default { a, b, names: [...names] };\n",
  });
  const session: LoadSession = {};
  const first = await loadWith(session);
  expect(first.diagnostics).toEqual([]);
  expect(first.value).toEqual({ a: { v: 1 }, b: { v: 2 }, names: ['a1', 'b'] });
  expect(first.inputs).toEqual(['a.ts', 'b.ts', 'dfc.config.ts', 'registry.ts'].map((f) => join(tmp.dir, f)));
  const before = new Map(session.modules);

  write({ 'a.ts': "import { names } from './registry';\nnames.push('a2');\nexport const a = { v: 3 };\n" });
  const second = await loadWith(session);
  expect(second.diagnostics).toEqual([]);
  // The registry module ran again: it holds what this load's files put in it, not the last load's too.
  expect(second.value).toEqual({ a: { v: 3 }, b: { v: 2 }, names: ['a2', 'b'] });
  for (const file of ['b.ts', 'registry.ts', 'dfc.config.ts']) expect(session.modules!.get(join(tmp.dir, file))).toBe(before.get(join(tmp.dir, file)));
  expect(session.modules!.get(join(tmp.dir, 'a.ts'))).not.toBe(before.get(join(tmp.dir, 'a.ts')));
  expect(leftOver(session)).toEqual([]);

  // A file no longer imported leaves the session and the watch list.
  write({ 'dfc.config.ts': "import { a } from './a';\nexport default { a };\n" });
  const third = await loadWith(session);
  expect(third.value).toEqual({ a: { v: 3 } });
  expect(third.inputs).toEqual(['a.ts', 'dfc.config.ts', 'registry.ts'].map((f) => join(tmp.dir, f)));
  expect([...session.modules!.keys()].sort()).toEqual(third.inputs);
});

test('a --watch load builds a file again when a JSON file it imports changes', async () => {
  write({ 'data.json': '{ "n": 1 }\n', 'dfc.config.ts': "import data from './data.json';\nexport default { n: data.n };\n" });
  const session: LoadSession = {};
  expect((await loadWith(session)).value).toEqual({ n: 1 });
  write({ 'data.json': '{ "n": 22 }\n' });
  const again = await loadWith(session);
  expect(again.value).toEqual({ n: 22 });
  expect(again.inputs).toEqual([join(tmp.dir, 'data.json'), join(tmp.dir, 'dfc.config.ts')]);
});

test('a --watch load of a config whose files import the same JSON file bundles it as a build does (one object, not one per file)', async () => {
  write({
    'data.json': '{ "n": 1 }\n',
    'a.ts': "import data from './data.json';\nexport const a = data;\n",
    'dfc.config.ts': "import data from './data.json';\nimport { a } from './a';\nexport default { same: a === data };\n",
  });
  const session: LoadSession = {};
  expect((await loadWith(session)).value).toEqual({ same: true });
  expect((await loadWith()).value).toEqual({ same: true });
});

test('a --watch load of a config that imports CommonJS bundles it as a build does', async () => {
  write({
    'helper.cjs': 'module.exports = { y: 7 };\n',
    'dfc.config.ts': "import helper from './helper.cjs';\nexport default { y: helper.y };\n",
  });
  const session: LoadSession = {};
  const loaded = await loadWith(session);
  expect(loaded.diagnostics).toEqual([]);
  expect(loaded.value).toEqual({ y: 7 });
  expect(loaded.value).toEqual((await loadWith()).value);
  expect(loaded.inputs).toEqual([join(tmp.dir, 'dfc.config.ts'), join(tmp.dir, 'helper.cjs')]);
  expect(session.modules?.size ?? 0).toBe(0);
});

test('a --watch load reports a syntax error in the changed file, and loads again once it is mended', async () => {
  write({ 'a.ts': 'export const a = 1;\n', 'dfc.config.ts': "import { a } from './a';\nexport default { a };\n" });
  const session: LoadSession = {};
  expect((await loadWith(session)).value).toEqual({ a: 1 });
  write({ 'a.ts': 'export const a = ;\n' });
  const broken = await loadWith(session);
  expect(broken.diagnostics.map((d) => `${d.code} ${d.file}:${d.line}:${d.column}`)).toEqual([`DFC1003 ${join(tmp.dir, 'a.ts')}:1:18`]);
  expect(broken.value).toBeUndefined();
  // A build reports the same (the file's first line holds its import.meta values, which the column leaves out).
  expect((await loadWith()).diagnostics).toEqual(broken.diagnostics);
  write({ 'a.ts': 'export const a = 2;\n' });
  expect((await loadWith(session)).value).toEqual({ a: 2 });
  expect(leftOver(session)).toEqual([]);
});
