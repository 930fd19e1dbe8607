import { randomBytes } from 'node:crypto';
import { mkdir, readFile, rm, stat, unlink, writeFile } from 'node:fs/promises';
import { builtinModules } from 'node:module';
import { tmpdir } from 'node:os';
import { basename, dirname, extname, isAbsolute, join, resolve as resolvePath } from 'node:path';
import { pathToFileURL } from 'node:url';
import * as esbuild from 'esbuild';
import type ts from 'typescript';
import { diagnostic, type Diagnostic, type SourceSpan } from '../diagnostics/diagnostic.js';
import { DFC_SPECIFIERS, dfcConfigPackage } from '../source/dfc-package.js';
import { findDefaultExport, spanOfNode, type CallSite, type Locator } from '../source/locate.js';
import { bundleSource, bundleSources, createTraceRecorder, userFrame, type BundleSources, type SiteLookup, type TraceRecorder } from '../source/trace.js';
import { IMPORT_META, withImportMeta } from '../source/import-meta.js';
import { esbuildMessage } from './esbuild-message.js';

export interface LoadInput {
  configFile: string;
  configDir: string;
  /** To point at the default export; optional (load also works without a program). */
  sourceFile?: (file: string) => ts.SourceFile | undefined;
  /** Kept between `--watch` rebuilds: each user file's module, built again only when the file changes. */
  session?: LoadSession | undefined;
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
  const built = await buildOne(entry, dir, temp, dfcPlugin(dfc.entry));
  if ('diagnostics' in built) return built;
  return { temp, code: built.code, inputs: built.inputs.sort() };
}

/**
 * One esbuild build of `entry` into an ES module for Node, in memory, with an inline
 * source map (paths relative to `outfile`) and the file's own import.meta: its code and
 * every file it read, or esbuild's errors as diagnostics with their positions.
 */
async function buildOne(
  entry: string,
  dir: string,
  outfile: string,
  plugin: esbuild.Plugin,
): Promise<{ code: string; inputs: string[]; metafile: esbuild.Metafile } | { diagnostics: Diagnostic[] }> {
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
      outfile,
      sourcemap: 'inline',
      sourcesContent: false,
      logLevel: 'silent',
      define: IMPORT_META,
      plugins: [plugin],
    });
  } catch (error) {
    const failure = error as esbuild.BuildFailure;
    if (!Array.isArray(failure.errors)) throw error;
    return { diagnostics: failure.errors.map((m) => esbuildMessage(m, dir)) };
  }
  const inputs = Object.keys(result.metafile.inputs)
    .filter((key) => !/^[a-z-]+:/.test(key) || key.startsWith('file:'))
    .map((key) => resolvePath(dir, key));
  return { code: result.outputFiles[0]!.text, inputs, metafile: result.metafile };
}

/**
 * Where an import that is not dfc's resolves, as esbuild resolves it without this
 * plugin: an answer for esbuild (a Node built-in, a resolution error, something
 * external or outside the file system), or the file it names.
 */
async function resolveElsewhere(build: esbuild.PluginBuild, args: esbuild.OnResolveArgs): Promise<esbuild.OnResolveResult | string> {
  if (args.path.startsWith('node:') || BUILTINS.has(args.path)) return { path: args.path, external: true };
  const resolved = await build.resolve(args.path, { kind: args.kind, resolveDir: args.resolveDir, importer: args.importer, pluginData: 'dfc-inner' });
  if (resolved.errors.length > 0) return { errors: resolved.errors };
  if (resolved.external || !isAbsolute(resolved.path)) return { path: resolved.path, external: true };
  return resolved.path;
}

/** Settles when the config import in progress (if any) is done. */
let importing: Promise<void> = Promise.resolve();

/** Module files ready to import: written first, imported from `entry`, removed after. */
interface Prepared {
  /** Where the modules are written: a directory made for them, or the OS temp directory. */
  dir: string;
  /** Whether `dir` was made for these modules (and goes with them). */
  ownDir: boolean;
  files: { path: string; code: string }[];
  entry: string;
  sources: BundleSources;
  /** Every file the modules were built from: the watch list (absolute, sorted). */
  inputs: string[];
}

/**
 * Loads the config: its code, with the files it imports, is built into ES modules that
 * are written to the OS temp directory, imported once and deleted. Packages stay
 * external and are imported from where the config's directory resolves them; `dfc` and
 * `@dfc/config` are this compiler's own copy.
 *
 * A build bundles everything into one module. A `--watch` rebuild (`session`) builds a
 * module per user file and builds again only the files that changed, so a one-line
 * edit costs one small build rather than a bundle of the whole config; every module is
 * still evaluated afresh, so nothing one load did is seen by the next.
 */
export async function load(input: LoadInput): Promise<LoadOutput> {
  const dfc = dfcConfigPackage();
  // dfc's own source (a checkout that was not built) is bundled with the config: only one bundle can hold it.
  if (input.session && !dfc.entry.endsWith('.ts')) {
    const prepared = await moduleFiles(input, input.session, dfc.entry);
    const ran = prepared && (await run(input, prepared, dfc.dir));
    // A module that imports a name another does not export fails before any code runs: the bundle says where.
    if (ran !== undefined && !(ran.thrown instanceof SyntaxError && / requested module /.test(ran.thrown.message))) return ran.output;
  }
  return (await run(input, await oneBundle(input), dfc.dir)).output;
}

/** Imports the prepared modules: what they export, or the diagnostic for what went wrong. */
async function run(input: LoadInput, prepared: Prepared | { diagnostics: Diagnostic[]; inputs: string[] }, dfcDir: string): Promise<{ output: LoadOutput; thrown?: unknown }> {
  if ('diagnostics' in prepared) return { output: { diagnostics: prepared.diagnostics, sites: new WeakMap<object, CallSite>(), inputs: prepared.inputs } };
  const { inputs, sources } = prepared;
  const userFiles = new Set(inputs.filter((f) => !f.startsWith(dfcDir + '/')));
  const isUserFile = (file: string) => userFiles.has(file);
  const recorder = createTraceRecorder(isUserFile, sources);

  let mod: Record<string, unknown>;
  if (prepared.ownDir) await mkdir(prepared.dir, { recursive: true, mode: 0o700 });
  await Promise.all(prepared.files.map((f) => writeFile(f.path, f.code, { mode: 0o600 })));
  // The trace hook is process-wide: one import at a time.
  const previous = importing;
  let release = () => {};
  importing = new Promise<void>((resolve) => (release = resolve));
  await previous;
  const uninstall = recorder.install();
  try {
    mod = (await import(pathToFileURL(prepared.entry).href)) as Record<string, unknown>;
  } catch (error) {
    const span = userFrame(error instanceof Error ? error.stack : undefined, isUserFile, sources) ?? {
      file: input.configFile,
      line: 1,
      column: 1,
    };
    const output: LoadOutput = {
      diagnostics: [
        diagnostic('DFC1004', `the config threw ${describeThrown(error)} while loading`, {
          span,
          notes: ['dfc runs the config to read it; it must not fail when imported'],
        }),
      ],
      sites: recorder.sites,
      inputs,
    };
    return { output, thrown: error };
  } finally {
    uninstall();
    release();
    if (prepared.ownDir) await rm(prepared.dir, { recursive: true, force: true }).catch(() => {});
    else await Promise.all(prepared.files.map((f) => unlink(f.path).catch(() => {})));
  }
  return { output: exported(input, mod, recorder, inputs) };
}

/** The config module's default export, which must be an object. */
function exported(input: LoadInput, mod: Record<string, unknown>, recorder: TraceRecorder, inputs: string[]): LoadOutput {
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

/** The config and everything it imports as one bundle. */
async function oneBundle(input: LoadInput): Promise<Prepared | { diagnostics: Diagnostic[]; inputs: string[] }> {
  const bundled = await bundleForImport(input.configFile, input.configDir, 'config');
  if ('diagnostics' in bundled) return { diagnostics: bundled.diagnostics, inputs: [input.configFile] };
  const { temp, code, inputs } = bundled;
  return {
    dir: dirname(temp),
    ownDir: false,
    files: [{ path: temp, code }],
    entry: temp,
    sources: bundleSources([bundleSource(pathToFileURL(temp).href, code)]),
    inputs,
  };
}

/** What `--watch` keeps between loads: a module per user file, by the file's path. */
export interface LoadSession {
  /** Generation directories are `<base>-<n>`, side by side in the OS temp directory. */
  base?: string;
  generation?: number;
  modules?: Map<string, FileModule>;
  /** Each user file's module name, for as long as the session lasts. */
  names?: Map<string, string>;
}

/** One user file built as a module of its own. */
interface FileModule {
  /** The file's text it was built from. */
  text: string;
  code: string;
  /** The user files it imports (each a module of its own). */
  imports: string[];
  /** Other files it holds (JSON, say), with their `mtime:size` when it was built. */
  held: Map<string, string>;
  /** The files the build read: itself and those it holds. */
  inputs: string[];
}

/** The generation a build places its modules in: it makes each module's source map relative to that depth. */
const BUILD_GENERATION = 0;

/**
 * The config and the user files it imports, a module each, in a new directory: files
 * unchanged since the session's last load keep the module built then. Undefined when
 * the config needs one bundle after all: a user file written as CommonJS, one that
 * `require`s another, or a JSON file two files import.
 */
async function moduleFiles(input: LoadInput, session: LoadSession, dfcEntry: string): Promise<Prepared | { diagnostics: Diagnostic[]; inputs: string[] } | undefined> {
  session.base ??= join(tmpdir(), `dfc-load-${process.pid}-${randomBytes(4).toString('hex')}`);
  session.modules ??= new Map();
  session.names ??= new Map();
  const names = session.names;
  const nameOf = (file: string): string => {
    let name = names.get(file);
    if (name === undefined) {
      name = `${names.size}-${basename(file).replace(/\.[^.]*$/, '').replace(/[^A-Za-z0-9_-]/g, '_')}.mjs`;
      names.set(file, name);
    }
    return name;
  };
  const built = new Map<string, FileModule>();
  let wanted = [input.configFile];
  while (wanted.length > 0) {
    const batch = [...new Set(wanted)].filter((f) => !built.has(f));
    wanted = [];
    const results = await Promise.all(batch.map((file) => fileModule(file, input.configDir, session.modules!.get(file), dfcEntry, nameOf, session.base!)));
    for (let i = 0; i < batch.length; i++) {
      const result = results[i]!;
      if (result === undefined) return undefined;
      if ('diagnostics' in result) return { diagnostics: result.diagnostics, inputs: [...new Set([input.configFile, batch[i]!, ...built.keys()])].sort() };
      built.set(batch[i]!, result);
      wanted.push(...result.imports);
    }
  }
  // A file other than code (JSON) is held by the module importing it: held by two, it would
  // be two objects where the bundle has one.
  const held = new Set<string>();
  for (const m of built.values()) {
    for (const file of m.held.keys()) {
      if (held.has(file)) return undefined;
      held.add(file);
    }
  }
  session.modules = built;
  const generation = (session.generation ?? BUILD_GENERATION) + 1;
  session.generation = generation;
  const dir = `${session.base}-${generation}`;
  const files = [...built].map(([file, m]) => ({ path: join(dir, nameOf(file)), code: m.code }));
  return {
    dir,
    ownDir: true,
    files,
    entry: join(dir, nameOf(input.configFile)),
    sources: bundleSources(files.map((f) => bundleSource(pathToFileURL(f.path).href, f.code))),
    inputs: [...new Set([...built.values()].flatMap((m) => m.inputs))].sort(),
  };
}

/** A user file's module: the one built before when neither it nor a file it holds has changed, else built now. */
async function fileModule(
  file: string,
  configDir: string,
  before: FileModule | undefined,
  dfcEntry: string,
  nameOf: (file: string) => string,
  base: string,
): Promise<FileModule | { diagnostics: Diagnostic[] } | undefined> {
  let text: string | undefined;
  try {
    text = await readFile(file, 'utf8');
  } catch {
    // esbuild reports it, with where it was imported from.
  }
  if (before !== undefined && text === before.text && (await sameStamps(before.held))) return before;
  const imports = new Set<string>();
  let oneBundleNeeded = false;
  const built = await buildOne(file, configDir, join(`${base}-${BUILD_GENERATION}`, nameOf(file)), {
    name: 'dfc-file-module',
    setup(build) {
      build.onResolve({ filter: /.*/ }, async (args) => {
        if (args.kind === 'entry-point' || args.pluginData === 'dfc-inner') return undefined;
        if (DFC_SPECIFIERS.has(args.path)) return { path: pathToFileURL(dfcEntry).href, external: true };
        const resolved = await resolveElsewhere(build, args);
        if (typeof resolved !== 'string') return resolved;
        // Packages: imported by absolute URL, because the modules run from the temp directory.
        if (resolved.split('/').includes('node_modules')) return { path: pathToFileURL(resolved).href, external: true };
        // Anything but code (JSON, say) is held by the module that imports it.
        if (LOADERS[extname(resolved)] === undefined) return { path: resolved };
        if (args.kind === 'require-call' || args.kind === 'require-resolve') oneBundleNeeded = true;
        imports.add(resolved);
        return { path: `./${nameOf(resolved)}`, external: true };
      });
      build.onLoad({ filter: /\.[cm]?[jt]sx?$/ }, (args) => {
        const loader = LOADERS[extname(args.path)];
        if (!loader || args.path !== file || text === undefined) return undefined;
        return { contents: withImportMeta(args.path, text), loader, resolveDir: dirname(args.path) };
      });
    },
  });
  if ('diagnostics' in built) return built;
  const { inputs } = built;
  if (oneBundleNeeded || Object.values(built.metafile.inputs).some((i) => i.format === 'cjs')) return undefined;
  const held = new Map<string, string>();
  for (const f of inputs) if (f !== file) held.set(f, await stampOf(f));
  return { text: text ?? '', code: built.code, imports: [...imports], held, inputs };
}

async function stampOf(file: string): Promise<string> {
  try {
    const s = await stat(file);
    return `${s.mtimeMs}:${s.size}`;
  } catch {
    return 'missing';
  }
}

async function sameStamps(held: ReadonlyMap<string, string>): Promise<boolean> {
  for (const [file, stamp] of held) if ((await stampOf(file)) !== stamp) return false;
  return true;
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
        // Other packages stay external, imported by absolute URL because the bundle
        // runs from the temp directory, where nothing resolves.
        const resolved = await resolveElsewhere(build, args);
        return typeof resolved === 'string' ? { path: pathToFileURL(resolved).href, external: true } : resolved;
      });
      build.onLoad({ filter: /\.[cm]?[jt]sx?$/ }, async (args) => {
        const loader = LOADERS[extname(args.path)];
        if (!loader || args.path.split('/').includes('node_modules')) return undefined;
        // Per-file values for import.meta (the bundle runs from elsewhere).
        return { contents: withImportMeta(args.path, await readFile(args.path, 'utf8')), loader, resolveDir: dirname(args.path) };
      });
    },
  };
}
