import { SourceMap, type SourceMapPayload, type SourceMapping } from 'node:module';
import { fileURLToPath } from 'node:url';
import type { CallSite } from './locate.js';

/**
 * The hook that define* functions call (`globalThis[Symbol.for('dfc.trace')]?.(kind, value)`)
 * so the compiler can tell where in the source each config object was made. It is
 * installed only while the config module loads.
 */
export const TRACE_KEY: unique symbol = Symbol.for('dfc.trace') as never;

export type TraceHook = (kind: string, value: unknown) => void;

/** `at fn (file:line:col)` or `at file:line:col`, with or without `file://`. */
const FRAME = /\(?((?:file:\/\/)?\/[^():]+|[A-Za-z]:\\[^():]+):(\d+):(\d+)\)?\s*$/;

/** Stack frames of an Error, as positions (source-mapped when Node's source maps are on). */
export function stackFrames(stack: string | undefined): CallSite[] {
  if (!stack) return [];
  const out: CallSite[] = [];
  for (const line of stack.split('\n')) {
    if (!/^\s+at /.test(line)) continue;
    const m = FRAME.exec(line);
    if (!m) continue;
    let file = m[1]!;
    if (file.startsWith('file://')) file = decodeURIComponent(new URL(file).pathname);
    out.push({ file, line: Number(m[2]), column: Number(m[3]) });
  }
  return out;
}

/**
 * The first frame in one of the user's files; frames in the modules that ran the
 * user's code (when given) are read through their source maps.
 */
export function userFrame(stack: string | undefined, isUserFile: (file: string) => boolean, sources?: BundleSources): CallSite | undefined {
  const frames = stackFrames(stack);
  if (!sources) return frames.find((f) => isUserFile(f.file));
  return mappedUserFrame(
    frames.map((f) => ({ name: f.file, line: f.line, column: f.column })),
    sources,
    isUserFile,
  );
}

/** A module that ran the user's code, and its source map, parsed when first needed. */
export interface BundleSource {
  /** Its `file:` URL, as V8 names it in stacks. */
  readonly url: string;
  map(): SourceMap | undefined;
}

export function bundleSource(url: string, code: string): BundleSource {
  let map: SourceMap | undefined | null = null;
  return {
    url,
    map() {
      if (map === null) map = inlineSourceMap(code, url);
      return map;
    },
  };
}

/** The modules that ran the user's code (one bundle, or a module per file). */
export interface BundleSources {
  /** By a name a stack gives it: its URL or its path. */
  get(name: string): BundleSource | undefined;
  /**
   * By its URL only: how V8 names a module Node ran. A module runner that ran it instead
   * (vitest's) names it by path, has changed its code, and maps its stacks itself.
   */
  ran(url: string): BundleSource | undefined;
}

export function bundleSources(list: readonly BundleSource[]): BundleSources {
  const byUrl = new Map<string, BundleSource>();
  const byName = new Map<string, BundleSource>();
  for (const source of list) {
    byUrl.set(source.url, source);
    byName.set(source.url, source);
    byName.set(fileURLToPath(source.url), source);
  }
  return { get: (name) => byName.get(name), ran: (url) => byUrl.get(url) };
}

/** Where each traced config object was made, by the object. */
export interface SiteLookup {
  get(value: object): CallSite | undefined;
}

export interface TraceRecorder {
  readonly sites: SiteLookup;
  /** Every object a define* call returned, in the order they ran. */
  readonly definitions: object[];
  /** Installs the hook; returns a function that removes it. */
  install(): () => void;
}

/** V8's structured stack frames (`Error.prepareStackTrace`'s second argument). */
interface V8CallSite {
  getFileName(): string | undefined | null;
  getLineNumber(): number | null;
  getColumnNumber(): number | null;
}

/** A frame as V8 reported it: a position in the module that ran (the bundle). */
interface RawFrame {
  name: string;
  line: number;
  column: number;
}

/**
 * The stack below `below` as V8's frames, unformatted, at most `depth` of them. V8
 * spends about a microsecond and a half on each frame it captures, and a config makes
 * a define* call for every table.
 */
function callSites(below: (...args: never[]) => unknown, depth: number): V8CallSite[] {
  const limit = Error.stackTraceLimit;
  const prepare = Error.prepareStackTrace;
  Error.stackTraceLimit = depth;
  Error.prepareStackTrace = (_error, frames) => frames;
  try {
    const holder: { stack?: unknown } = {};
    Error.captureStackTrace(holder, below);
    return holder.stack as V8CallSite[];
  } finally {
    Error.prepareStackTrace = prepare;
    Error.stackTraceLimit = limit;
  }
}

/** Frames a define* call's stack usually needs: the hook's caller (`trace`), the define* function, and the user's code calling it. */
const SHALLOW = 8;

/** The source map inlined at the end of a bundle, its sources resolved against the bundle's URL as Node resolves them. */
function inlineSourceMap(code: string, url: string): SourceMap | undefined {
  const at = code.lastIndexOf('//# sourceMappingURL=data:application/json;base64,');
  if (at < 0) return undefined;
  const payload = JSON.parse(Buffer.from(code.slice(code.indexOf(',', at) + 1).trim(), 'base64').toString('utf8')) as SourceMapPayload;
  payload.sources = payload.sources.map((source) => new URL((payload.sourceRoot ?? '') + source, url).href);
  payload.sourceRoot = '';
  return new SourceMap(payload);
}

/**
 * The first frame in one of the user's files, through the source maps of the modules
 * that ran: what the stack text says when Node's source maps are on (only those modules
 * hold user code), without Node keeping every module's map for the rest of the process.
 */
function mappedUserFrame(frames: readonly RawFrame[], sources: BundleSources, isUserFile: (file: string) => boolean): CallSite | undefined {
  for (const frame of frames) {
    const bundle = sources.get(frame.name);
    if (bundle === undefined) {
      const file = frame.name.startsWith('file://') ? fileURLToPath(frame.name) : frame.name;
      if (isUserFile(file)) return { file, line: frame.line, column: frame.column };
      continue;
    }
    // Source maps count lines and columns from 0, stacks from 1.
    const entry = bundle.map()?.findEntry(frame.line - 1, frame.column - 1) as Partial<SourceMapping> | undefined;
    if (entry?.originalSource === undefined || entry.originalLine === undefined || entry.originalColumn === undefined) continue;
    const file = entry.originalSource.startsWith('file://') ? fileURLToPath(entry.originalSource) : entry.originalSource;
    if (isUserFile(file)) return { file, line: entry.originalLine + 1, column: entry.originalColumn + 1 };
  }
  return undefined;
}

/**
 * Records where each define* call ran. With the modules that run (`sources`), a call
 * made from one keeps V8's frames, and they are mapped to the user's files only
 * when a diagnostic asks (a build without any parses no source map). A call whose
 * stack holds none of those modules, as when a module runner that maps stacks
 * itself (vitest's) ran it, is placed through the stack text at once.
 */
export function createTraceRecorder(isUserFile: (file: string) => boolean, sources?: BundleSources): TraceRecorder {
  const placed = new WeakMap<object, CallSite | undefined>();
  const pending = new WeakMap<object, RawFrame[]>();
  const definitions: object[] = [];
  const framesBelow = (depth: number): RawFrame[] => {
    const frames: RawFrame[] = [];
    for (const f of callSites(hook, depth)) {
      const name = f.getFileName();
      const line = f.getLineNumber();
      const column = f.getColumnNumber();
      if (name && line !== null && column !== null) frames.push({ name, line, column });
    }
    return frames;
  };
  const hook: TraceHook = (_kind, value) => {
    if (value === null || typeof value !== 'object' || placed.has(value) || pending.has(value)) return;
    definitions.push(value);
    if (sources) {
      // A few frames first; all of them when the user's code is further down (a
      // define* call in a helper of the user's, in a package).
      let frames = framesBelow(SHALLOW);
      if (!frames.some((f) => sources.ran(f.name) !== undefined || isUserFile(f.name))) frames = framesBelow(64);
      if (frames.some((f) => sources.ran(f.name) !== undefined)) {
        pending.set(value, frames);
        return;
      }
    }
    const limit = Error.stackTraceLimit;
    Error.stackTraceLimit = 64;
    const stack = new Error().stack;
    Error.stackTraceLimit = limit;
    placed.set(value, userFrame(stack, isUserFile));
  };
  const sites: SiteLookup = {
    get(value) {
      if (placed.has(value)) return placed.get(value);
      const frames = pending.get(value);
      if (!frames || !sources) return undefined;
      const site = mappedUserFrame(frames, sources, isUserFile);
      pending.delete(value);
      placed.set(value, site);
      return site;
    },
  };
  return {
    sites,
    definitions,
    install() {
      const g = globalThis as Record<symbol, unknown>;
      const previous = g[TRACE_KEY];
      g[TRACE_KEY] = hook;
      return () => {
        if (previous === undefined) delete g[TRACE_KEY];
        else g[TRACE_KEY] = previous;
      };
    },
  };
}
