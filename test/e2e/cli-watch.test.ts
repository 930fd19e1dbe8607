import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { copyFixture, DFC_BIN, snapshotDir, tempDir } from '../fixtures/helpers.js';

// `dfc build --watch`: rebuilds on change, keeps running after an error without
// touching the last good output, and exits 0 on SIGINT.

let tmp: ReturnType<typeof tempDir>;
beforeAll(() => {
  tmp = tempDir('dfc-watch-');
});
afterAll(() => tmp.cleanup());

test('build --watch rebuilds, survives errors and stops cleanly on SIGINT', async () => {
  const dir = copyFixture('minimal', tmp.dir);
  const config = join(dir, 'dfc.config.ts');
  const child = spawn(process.execPath, [DFC_BIN, 'build', '--watch'], { cwd: dir, env: { ...process.env, NO_COLOR: '1' } });
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));

  /** Waits (bounded) until stderr has `count` occurrences of `text`. */
  const waitFor = async (text: string, count = 1) => {
    const deadline = Date.now() + 60_000;
    while (stderr.split(text).length - 1 < count) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${JSON.stringify(text)} ×${count}; stderr:\n${stderr}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  };

  try {
    await waitFor('dfc build: watching for changes');
    expect(stderr).toMatch(/^dfc build: dfc\.config\.ts → dist \(written, sha256:/m);
    const first = snapshotDir(join(dir, 'dist'));

    writeFileSync(config, readFileSync(config, 'utf8').replace("update: { rule: 'deny' }", "update: { rule: 'authenticated' }"));
    await waitFor('rebuilding after a change to dfc.config.ts');
    await waitFor('(written, sha256:', 2);
    const second = snapshotDir(join(dir, 'dist'));
    expect(second).not.toEqual(first);

    writeFileSync(config, readFileSync(config, 'utf8').replace("create: { rule: 'authenticated' }", "create: { rule: 'authenticated' ,, }"));
    await waitFor('nothing was written');
    expect(stderr).toMatch(/^dfc\.config\.ts:\d+:\d+ {2}DFC2001 {2}/m);
    expect(snapshotDir(join(dir, 'dist'))).toEqual(second);
    expect(child.exitCode).toBe(null); // still running after an error
  } finally {
    child.kill('SIGINT');
  }
  expect(await exited).toBe(0);
});
