import { readFileSync, writeFileSync } from 'node:fs';
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
  expect(Object.keys(session.typecheck ?? {})).toEqual(['optionsKey']);
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
