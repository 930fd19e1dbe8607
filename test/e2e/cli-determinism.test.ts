import { cpSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { REPO, runDfc, sha256File, tempDir } from '../fixtures/helpers.js';

// Security checklist C7: byte-identical artifacts whatever the time zone, locale,
// working directory or location of the config.

let tmp: ReturnType<typeof tempDir>;
beforeAll(() => {
  tmp = tempDir('dfc-det-');
});
afterAll(() => tmp.cleanup());

const FILES = ['policy.json', 'policy.mjs', 'policy.schema.json'];
const hashes = (dir: string) => Object.fromEntries(FILES.map((f) => [f, sha256File(join(dir, f))]));

test('examples/blog builds to the same bytes with other TZ, LANG, cwd and location', () => {
  const a = join(tmp.dir, 'a');
  const b = join(tmp.dir, 'b');
  const c = join(tmp.dir, 'c');
  const ra = runDfc(['build', 'examples/blog', '--out', a], { cwd: REPO, env: { TZ: 'UTC', LANG: 'C', LC_ALL: 'C' } });
  expect(ra.status, ra.stderr).toBe(0);
  const rb = runDfc(['build', join(REPO, 'examples', 'blog'), '--out', 'b'], {
    cwd: tmp.dir,
    env: { TZ: 'Pacific/Kiritimati', LANG: 'tr_TR.UTF-8', LC_ALL: 'tr_TR.UTF-8' },
  });
  expect(rb.status, rb.stderr).toBe(0);
  // A copy of the example elsewhere (another absolute path, no node_modules above it).
  const copy = join(tmp.dir, 'elsewhere', 'blog');
  mkdirSync(copy, { recursive: true });
  cpSync(join(REPO, 'examples', 'blog', 'dfc.config.ts'), join(copy, 'dfc.config.ts'));
  const rc = runDfc(['build', '.', '--out', c], { cwd: copy, env: { TZ: 'America/St_Johns', LANG: 'ja_JP.UTF-8' } });
  expect(rc.status, rc.stderr).toBe(0);
  expect(hashes(b)).toEqual(hashes(a));
  expect(hashes(c)).toEqual(hashes(a));
});
