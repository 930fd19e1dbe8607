import { randomBytes } from 'node:crypto';
import { unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve as resolvePath } from 'node:path';
import { pathToFileURL } from 'node:url';
import * as esbuild from 'esbuild';
import type { Diagnostic, SourceSpan } from '../diagnostics/diagnostic.js';
import { dfcPlugin } from '../stages/load.js';
import { esbuildMessage } from '../stages/esbuild-message.js';
import { dfcConfigPackage } from './dfc-package.js';
import { userFrame } from './trace.js';

/**
 * Loading a TypeScript module that sits next to a config and imports it (policy tests,
 * `*.policy.test.ts`) the way the config itself is loaded: bundled with its relative
 * imports by esbuild, `dfc` mapped to this compiler's copy, written to a temp file,
 * imported once and deleted.
 */
export interface LoadedModule {
  /** The module's exports, when it loaded. */
  exports?: Record<string, unknown>;
  /** Bundling errors (DFC1003), with positions. */
  diagnostics: Diagnostic[];
  /** The error the module threw while loading, with the user's frame when there is one. */
  threw?: { message: string; span?: SourceSpan };
  /** Every file the bundle read (for `--watch`). */
  inputs: string[];
}

let counter = 0;

export async function loadModule(file: string): Promise<LoadedModule> {
  const dir = dirname(file);
  const dfc = dfcConfigPackage();
  const temp = join(tmpdir(), `dfc-module-${process.pid}-${++counter}-${randomBytes(4).toString('hex')}.mjs`);
  let result: esbuild.BuildResult<{ write: false; metafile: true }>;
  try {
    result = await esbuild.build({
      absWorkingDir: dir,
      entryPoints: [file],
      bundle: true,
      write: false,
      metafile: true,
      format: 'esm',
      platform: 'node',
      target: 'node20',
      outfile: temp,
      sourcemap: 'inline',
      sourcesContent: false,
      logLevel: 'silent',
      define: {
        'import.meta.url': '__dfc_import_meta_url',
        'import.meta.dirname': '__dfc_import_meta_dirname',
        'import.meta.filename': '__dfc_import_meta_filename',
      },
      plugins: [dfcPlugin(dfc.entry)],
    });
  } catch (error) {
    const failure = error as esbuild.BuildFailure;
    if (!Array.isArray(failure.errors)) throw error;
    return { diagnostics: failure.errors.map((m) => esbuildMessage(m, dir)), inputs: [file] };
  }
  const inputs = Object.keys(result.metafile.inputs)
    .filter((key) => !/^[a-z-]+:/.test(key) || key.startsWith('file:'))
    .map((key) => resolvePath(dir, key))
    .filter((f) => !f.startsWith(dfc.dir + '/'))
    .sort();
  const userFiles = new Set(inputs);
  await writeFile(temp, result.outputFiles[0]!.text, { mode: 0o600 });
  const hadSourceMaps = process.sourceMapsEnabled;
  try {
    process.setSourceMapsEnabled(true);
    const exports = (await import(pathToFileURL(temp).href)) as Record<string, unknown>;
    return { exports, diagnostics: [], inputs };
  } catch (error) {
    const message = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
    const span = userFrame(error instanceof Error ? error.stack : undefined, (f) => userFiles.has(f));
    return { diagnostics: [], threw: span ? { message, span } : { message }, inputs };
  } finally {
    process.setSourceMapsEnabled(hadSourceMaps);
    await unlink(temp).catch(() => {});
  }
}

