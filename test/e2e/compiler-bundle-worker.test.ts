import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { expect, test } from 'vitest';
import { REPO } from '../fixtures/helpers.js';

// The built compiler bundles a rebuild's config in a worker thread (`Bundler`), which
// only runs from dist/ (a worker cannot load the TypeScript sources the unit tests run).

test('the bundler worker bundles what the main thread bundles, and an idle worker lets the process exit', () => {
  const module = pathToFileURL(join(REPO, 'packages', 'compiler', 'dist', 'source', 'bundle.js')).href;
  const dir = join(REPO, 'examples', 'blog');
  const script = `
    const { Bundler, bundleForImport } = await import(${JSON.stringify(module)});
    const entry = ${JSON.stringify(join(dir, 'dfc.config.ts'))};
    const bundler = new Bundler();
    const [inWorker, here] = await Promise.all([bundler.bundle(entry, ${JSON.stringify(dir)}, 'config'), bundleForImport(entry, ${JSON.stringify(dir)}, 'config')]);
    const broken = await bundler.bundle(${JSON.stringify(join(REPO, 'test', 'fixtures', 'syntax-error', 'dfc.config.ts'))}, ${JSON.stringify(join(REPO, 'test', 'fixtures', 'syntax-error'))}, 'config');
    console.log(JSON.stringify({ worker: bundler.inWorker, sameCode: inWorker.code === here.code, sameInputs: JSON.stringify(inWorker.inputs) === JSON.stringify(here.inputs), inputs: inWorker.inputs.length, broken: broken.diagnostics?.map((d) => d.code) }));
  `;
  // No close(): the process must exit on its own once nothing is awaited.
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { cwd: REPO, encoding: 'utf8', timeout: 60_000 });
  expect(r.status, r.stderr).toBe(0);
  const out = JSON.parse(r.stdout.trim()) as Record<string, unknown>;
  expect(out).toEqual({ worker: true, sameCode: true, sameInputs: true, inputs: 1, broken: ['DFC1003'] });
});
