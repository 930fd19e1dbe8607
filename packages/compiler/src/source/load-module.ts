import { unlink, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Diagnostic, SourceSpan } from '../diagnostics/diagnostic.js';
import { bundleForImport } from '../stages/load.js';
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

export async function loadModule(file: string): Promise<LoadedModule> {
  const dfc = dfcConfigPackage();
  const bundled = await bundleForImport(file, dirname(file), 'module');
  if ('diagnostics' in bundled) return { diagnostics: bundled.diagnostics, inputs: [file] };
  const { temp } = bundled;
  const inputs = bundled.inputs.filter((f) => !f.startsWith(dfc.dir + '/'));
  const userFiles = new Set(inputs);
  await writeFile(temp, bundled.code, { mode: 0o600 });
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

