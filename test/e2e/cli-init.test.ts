import { mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { runDfc, snapshotDir, tempDir } from '../fixtures/helpers.js';

// `dfc init my-policy && cd my-policy && dfc build` in a fresh directory outside the
// repository: no node_modules anywhere above it, so `dfc` must resolve to the running
// dfc for the type checker and for loading.

let tmp: ReturnType<typeof tempDir>;
beforeAll(() => {
  tmp = tempDir('dfc-init-');
});
afterAll(() => tmp.cleanup());

test('init scaffolds a project that builds as is, with no diagnostics at all', () => {
  const init = runDfc(['init', 'my-policy'], { cwd: tmp.dir });
  expect(init.status, init.stderr).toBe(0);
  const project = join(tmp.dir, 'my-policy');
  expect(readdirSync(project).sort()).toEqual(['.gitignore', 'README.md', 'dfc.config.ts', 'package.json', 'tsconfig.json']);
  const pkg = JSON.parse(readFileSync(join(project, 'package.json'), 'utf8'));
  expect(pkg).toMatchObject({ name: 'my-policy', private: true, type: 'module', devDependencies: { dfc: expect.stringMatching(/^\^\d+\.\d+\.\d+/) } });
  expect(readFileSync(join(project, 'dfc.config.ts'), 'utf8')).toContain("secret('NOTES_WEB_API_KEY')");
  expect(init.stderr).toContain('cd my-policy');

  const build = runDfc(['build'], { cwd: project });
  expect(build.status, build.stderr).toBe(0);
  expect(build.stderr).toMatch(/^dfc build: dfc\.config\.ts → dist \(written, sha256:[0-9a-f]{12}…\)\n$/);
  expect(readdirSync(join(project, 'dist')).sort()).toEqual(['policy.json', 'policy.mjs', 'policy.schema.json']);
  const policy = JSON.parse(readFileSync(join(project, 'dist', 'policy.json'), 'utf8'));
  expect(policy.apps.web.apiKey).toEqual({ $secret: 'NOTES_WEB_API_KEY' });
});

test('init refuses to overwrite existing files, and changes nothing', () => {
  const first = runDfc(['init', 'again'], { cwd: tmp.dir });
  expect(first.status).toBe(0);
  const before = snapshotDir(join(tmp.dir, 'again'));
  const second = runDfc(['init', 'again'], { cwd: tmp.dir });
  expect(second.status).toBe(1);
  expect(second.stderr).toMatch(/^dfc init: refusing to overwrite `again\/dfc\.config\.ts`, `again\/tsconfig\.json`/);
  expect(snapshotDir(join(tmp.dir, 'again'))).toEqual(before);
});

test('init into the current directory', () => {
  const dir = join(tmp.dir, 'here');
  mkdirSync(dir);
  expect(runDfc(['init'], { cwd: dir }).status).toBe(0);
  const r = runDfc(['check'], { cwd: dir });
  expect(r.status, r.stderr).toBe(0);
  expect(r.stderr).toBe('dfc check: dfc.config.ts is valid\n');
});
