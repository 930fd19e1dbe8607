import { randomBytes } from 'node:crypto';
import { readFile, unlink, writeFile } from 'node:fs/promises';
import { builtinModules } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, extname, isAbsolute, join, resolve as resolvePath } from 'node:path';
import { pathToFileURL } from 'node:url';
import * as esbuild from 'esbuild';
import type ts from 'typescript';
import { diagnostic, type Diagnostic, type SourceSpan } from '../diagnostics/diagnostic.js';
import { DFC_SPECIFIERS, dfcConfigPackage } from '../source/dfc-package.js';
import { findDefaultExport, spanOfNode, type CallSite, type Locator } from '../source/locate.js';
import { bundleSource, createTraceRecorder, userFrame, type SiteLookup } from '../source/trace.js';
import { esbuildMessage } from './esbuild-message.js';

export interface LoadInput {
  configFile: string;
  configDir: string;
  /** To point at the default export; optional (load also works without a program). */
  sourceFile?: (file: string) => ts.SourceFile | undefined;
}

export interface LoadOutput {
  diagnostics: Diagnostic[];
  /** The config module's default export (an object, when there are no errors). */
  value?: unknown;
  /** Where each traced define* call ran. */
  sites: SiteLookup;
  /** Every object a define* call returned while the config loaded. */
  definitions?: readonly object[];
  /** Every file the bundle read: the watch list (absolute, sorted). */
  inputs: string[];
}

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

/**
 * Bundles a module that sits next to the config (the config itself, or a policy test)
 * with its relative imports into one ES module meant to be written to the OS temp
 * directory and imported once from there; `dfc` and `@dfc/config` map to this
 * compiler's own copy. esbuild's errors come back as diagnostics with positions.
 */
export async function bundleForImport(entry: string, dir: string, kind: 'config' | 'module'): Promise<Bundle | { diagnostics: Diagnostic[] }> {
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
/** Settles when the config import in progress (if any) is done. */
let importing: Promise<void> = Promise.resolve();

/**
 * Bundles the config (with its relative imports) into one ES module, writes it to
 * the OS temp directory, imports it once and deletes it. Packages stay external
 * and are imported from where the config's directory resolves them; `dfc` and
 * `@dfc/config` are this compiler's own copy.
 */
export async function load(input: LoadInput): Promise<LoadOutput> {
  const dfc = dfcConfigPackage();
  const sites = new WeakMap<object, CallSite>();
  const bundled = await bundleForImport(input.configFile, input.configDir, 'config');
  if ('diagnostics' in bundled) return { diagnostics: bundled.diagnostics, sites, inputs: [input.configFile] };
  const { temp, inputs } = bundled;
  const userFiles = new Set(inputs.filter((f) => !f.startsWith(dfc.dir + '/')));
  const isUserFile = (file: string) => userFiles.has(file);

  const code = bundled.code;
  const source = bundleSource(pathToFileURL(temp).href, code);
  const recorder = createTraceRecorder(isUserFile, source);
  let mod: Record<string, unknown>;
  await writeFile(temp, code, { mode: 0o600 });
  // The trace hook is process-wide: one import at a time.
  const previous = importing;
  let release = () => {};
  importing = new Promise<void>((resolve) => (release = resolve));
  await previous;
  const uninstall = recorder.install();
  try {
    mod = (await import(pathToFileURL(temp).href)) as Record<string, unknown>;
  } catch (error) {
    const span = userFrame(error instanceof Error ? error.stack : undefined, isUserFile, source) ?? {
      file: input.configFile,
      line: 1,
      column: 1,
    };
    return {
      diagnostics: [
        diagnostic('DFC1004', `the config threw ${describeThrown(error)} while loading`, {
          span,
          notes: ['dfc runs the config to read it; it must not fail when imported'],
        }),
      ],
      sites: recorder.sites,
      inputs,
    };
  } finally {
    uninstall();
    release();
    await unlink(temp).catch(() => {});
  }

  const entrySpan = (): SourceSpan => {
    const sf = input.sourceFile?.(input.configFile);
    const node = sf && findDefaultExport(sf);
    return sf && node ? spanOfNode(sf, node.getStart(sf), node.getEnd()) : { file: input.configFile, line: 1, column: 1 };
  };
  if (!('default' in mod)) {
    return {
      diagnostics: [
        diagnostic('DFC1005', 'the config has no default export', {
          span: { file: input.configFile, line: 1, column: 1 },
          notes: ['end the file with `export default defineConfig({ … })`'],
        }),
      ],
      sites: recorder.sites,
      inputs,
    };
  }
  const value = mod.default;
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    return {
      diagnostics: [
        diagnostic('DFC1006', `the default export must be an object, not ${describeValue(value)}`, {
          span: entrySpan(),
          notes: ['export the result of `defineConfig({ services: [ … ] })`'],
        }),
      ],
      sites: recorder.sites,
      inputs,
    };
  }
  return { diagnostics: [], value, sites: recorder.sites, definitions: recorder.definitions, inputs };
}

function describeThrown(error: unknown): string {
  if (error instanceof Error) return '`' + `${error.name}: ${error.message}`.slice(0, 200) + '`';
  return describeValue(error);
}

export function describeValue(value: unknown): string {
  if (value === null) return '`null`';
  if (value === undefined) return '`undefined`';
  if (Array.isArray(value)) return 'an array';
  switch (typeof value) {
    case 'string':
      return `the string \`${value.length > 40 ? value.slice(0, 37) + '…' : value}\``;
    case 'number':
    case 'boolean':
    case 'bigint':
      return `\`${String(value)}\``;
    case 'function':
      return 'a function';
    case 'symbol':
      return 'a symbol';
    default:
      return 'an object';
  }
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
