import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { builtinModules } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, extname, isAbsolute, join, resolve as resolvePath } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import * as esbuild from 'esbuild';
import type { Diagnostic } from '../diagnostics/diagnostic.js';
import { esbuildMessage } from '../stages/esbuild-message.js';
import { DFC_SPECIFIERS, dfcConfigPackage } from './dfc-package.js';

/**
 * Bundling the config (or a policy test) for import: esbuild with the plugin that maps
 * `dfc` to this compiler's copy. No TypeScript here: a `Bundler` runs this module in a
 * worker thread.
 */

const BUILTINS = new Set(builtinModules);
const LOADERS: Record<string, esbuild.Loader> = {
  '.ts': 'ts',
  '.mts': 'ts',
  '.cts': 'ts',
  '.tsx': 'tsx',
  '.js': 'js',
  '.mjs': 'js',
  '.cjs': 'js',
  '.jsx': 'jsx',
};

let counter = 0;

/** A bundle ready to be written to `temp` and imported from there, and every file it read. */
export interface Bundle {
  temp: string;
  code: string;
  /** Every file the bundle read, dfc's own included (absolute, sorted). */
  inputs: string[];
}

export type BundleKind = 'config' | 'module';
export type BundleResult = Bundle | { diagnostics: Diagnostic[] };

/**
 * Bundles a module that sits next to the config (the config itself, or a policy test)
 * with its relative imports into one ES module meant to be written to the OS temp
 * directory and imported once from there; `dfc` and `@dfc/config` map to this
 * compiler's own copy. esbuild's errors come back as diagnostics with positions.
 */
export async function bundleForImport(entry: string, dir: string, kind: BundleKind): Promise<BundleResult> {
  const dfc = dfcConfigPackage();
  // The bundle's source map is relative to where the bundle runs from, so name it first.
  const temp = join(tmpdir(), `dfc-${kind}-${process.pid}-${++counter}-${randomBytes(4).toString('hex')}.mjs`);
  let result: esbuild.BuildResult<{ write: false; metafile: true }>;
  try {
    result = await esbuild.build({
      absWorkingDir: dir,
      entryPoints: [entry],
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
    return { diagnostics: failure.errors.map((m) => esbuildMessage(m, dir)) };
  }
  const inputs = Object.keys(result.metafile.inputs)
    .filter((key) => !/^[a-z-]+:/.test(key) || key.startsWith('file:'))
    .map((key) => resolvePath(dir, key))
    .sort();
  return { temp, code: result.outputFiles[0]!.text, inputs };
}

/** Resolves `dfc` to this compiler's copy, keeps packages external and gives each file its own `import.meta`. */
export function dfcPlugin(dfcEntry: string): esbuild.Plugin {
  return {
    name: 'dfc-config',
    setup(build) {
      build.onResolve({ filter: /^[^./]|^\.[^./]|^\.\.[^/]/ }, async (args) => {
        if (args.pluginData === 'dfc-inner' || isAbsolute(args.path)) return undefined;
        if (DFC_SPECIFIERS.has(args.path)) {
          // The running dfc's copy: bundled when it is TypeScript source (a checkout
          // that was not built), imported from its file otherwise.
          return dfcEntry.endsWith('.ts') ? { path: dfcEntry } : { path: pathToFileURL(dfcEntry).href, external: true };
        }
        if (args.path.startsWith('node:') || BUILTINS.has(args.path)) return { path: args.path, external: true };
        // Other packages stay external, imported by absolute URL because the bundle
        // runs from the temp directory, where nothing resolves.
        const resolved = await build.resolve(args.path, {
          kind: args.kind,
          resolveDir: args.resolveDir,
          importer: args.importer,
          pluginData: 'dfc-inner',
        });
        if (resolved.errors.length > 0) return { errors: resolved.errors };
        if (resolved.external || !isAbsolute(resolved.path)) return { path: resolved.path, external: true };
        return { path: pathToFileURL(resolved.path).href, external: true };
      });
      build.onLoad({ filter: /\.[cm]?[jt]sx?$/ }, async (args) => {
        const loader = LOADERS[extname(args.path)];
        if (!loader || args.path.split('/').includes('node_modules')) return undefined;
        const source = await readFile(args.path, 'utf8');
        // Per-file values for import.meta (the bundle runs from elsewhere). Kept on the
        // first line so that line numbers in stacks stay right.
        const url = pathToFileURL(args.path).href;
        const prelude =
          `const __dfc_import_meta_url = ${JSON.stringify(url)}, ` +
          `__dfc_import_meta_dirname = ${JSON.stringify(dirname(args.path))}, ` +
          `__dfc_import_meta_filename = ${JSON.stringify(args.path)};`;
        return { contents: prelude + source, loader, resolveDir: dirname(args.path) };
      });
    },
  };
}

/** What the main thread sends a bundler worker, and what it answers. */
export interface BundleRequest {
  id: number;
  entry: string;
  dir: string;
  kind: BundleKind;
}
export type BundleAnswer = { id: number; result: BundleResult } | { id: number; error: string };

/**
 * Bundles in a worker thread, so that a rebuild's bundle is made while this thread
 * type-checks (esbuild works in its own process, but its plugin callbacks, which read
 * the files, run on the thread that started it). Started on first use; `close` ends it.
 * Wherever the worker cannot run (its script is missing, as when the compiler runs from
 * its TypeScript sources, or it fails), it bundles on this thread as `bundleForImport`.
 */
export class Bundler {
  #worker: Worker | undefined;
  #unavailable = false;
  #next = 0;
  readonly #waiting = new Map<number, { request: BundleRequest; resolve: (result: BundleResult | PromiseLike<BundleResult>) => void }>();

  /** Whether bundles are made in a worker (false until the first, and after a failure). */
  get inWorker(): boolean {
    return this.#worker !== undefined;
  }

  bundle(entry: string, dir: string, kind: BundleKind): Promise<BundleResult> {
    const worker = this.#start();
    if (!worker) return bundleForImport(entry, dir, kind);
    const request: BundleRequest = { id: this.#next++, entry, dir, kind };
    return new Promise<BundleResult>((resolve) => {
      this.#waiting.set(request.id, { request, resolve });
      // Referenced while a bundle is awaited, so that the process waits for it.
      worker.ref();
      worker.postMessage(request);
    });
  }

  async close(): Promise<void> {
    const worker = this.#worker;
    this.#worker = undefined;
    this.#unavailable = true;
    await worker?.terminate();
  }

  #start(): Worker | undefined {
    if (this.#worker || this.#unavailable) return this.#worker;
    const script = new URL('./bundle-worker.js', import.meta.url);
    if (script.protocol !== 'file:' || !existsSync(fileURLToPath(script))) {
      this.#unavailable = true;
      return undefined;
    }
    // Without the process's own Node options, which are for its main script (`--input-type`
    // refuses a worker's file).
    const worker = new Worker(script, { execArgv: [] });
    worker.on('message', (answer: BundleAnswer) => {
      const waiting = this.#waiting.get(answer.id);
      if (!waiting) return;
      this.#waiting.delete(answer.id);
      if (this.#waiting.size === 0) worker.unref();
      waiting.resolve('result' in answer ? Promise.resolve(answer.result) : Promise.reject(new Error(answer.error)));
    });
    const fail = () => {
      // Whatever was waiting is bundled here instead, and so is what comes later.
      if (this.#worker !== worker) return;
      this.#worker = undefined;
      this.#unavailable = true;
      for (const { request, resolve } of this.#waiting.values()) resolve(bundleForImport(request.entry, request.dir, request.kind));
      this.#waiting.clear();
    };
    worker.on('error', fail);
    worker.on('exit', fail);
    // An idle worker never keeps the process alive (the caller's watcher does); after
    // the listeners, which take a reference.
    worker.unref();
    this.#worker = worker;
    return worker;
  }
}
