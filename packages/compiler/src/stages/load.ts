import { unlink, writeFile } from 'node:fs/promises';
import { pathToFileURL } from 'node:url';
import type ts from 'typescript';
export { bundleForImport, dfcPlugin, type Bundle } from '../source/bundle.js';
import { diagnostic, type Diagnostic, type SourceSpan } from '../diagnostics/diagnostic.js';
import { bundleForImport, type BundleResult } from '../source/bundle.js';
import { dfcConfigPackage } from '../source/dfc-package.js';
import { findDefaultExport, spanOfNode, type CallSite, type Locator } from '../source/locate.js';
import { bundleSource, createTraceRecorder, userFrame, type SiteLookup } from '../source/trace.js';

export interface LoadInput {
  configFile: string;
  configDir: string;
  /** To point at the default export; optional (load also works without a program). */
  sourceFile?: (file: string) => ts.SourceFile | undefined;
  /** The config's bundle, when it is already being made (`--watch`: in a worker, during the type check). */
  bundled?: Promise<BundleResult> | undefined;
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
  const bundled = await (input.bundled ?? bundleForImport(input.configFile, input.configDir, 'config'));
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
