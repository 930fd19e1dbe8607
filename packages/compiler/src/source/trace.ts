import { findSourceMap, type SourceMap, type SourceMapping } from 'node:module';
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

/** The first frame in one of the user's files. */
export function userFrame(stack: string | undefined, isUserFile: (file: string) => boolean): CallSite | undefined {
  return stackFrames(stack).find((f) => isUserFile(f.file));
}

export interface TraceRecorder {
  readonly sites: WeakMap<object, CallSite>;
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

/** The stack of the caller as V8's frames, unformatted. */
function callSites(): V8CallSite[] {
  const limit = Error.stackTraceLimit;
  const prepare = Error.prepareStackTrace;
  Error.stackTraceLimit = 64;
  Error.prepareStackTrace = (_error, frames) => frames;
  try {
    const holder: { stack?: unknown } = {};
    Error.captureStackTrace(holder, callSites);
    return holder.stack as V8CallSite[];
  } finally {
    Error.prepareStackTrace = prepare;
    Error.stackTraceLimit = limit;
  }
}

/**
 * The first frame in one of the user's files, through the source maps Node keeps for
 * the modules it loaded: what the stack text says when source maps are on, without
 * formatting every frame of the stack. Undefined when no frame is the user's, as when
 * a module runner that maps stacks itself (vitest's) ran the bundle: Node has no map
 * for it.
 */
function mappedUserFrame(frames: readonly V8CallSite[], isUserFile: (file: string) => boolean, maps: Map<string, SourceMap | undefined>): CallSite | undefined {
  for (const frame of frames) {
    const name = frame.getFileName();
    const line = frame.getLineNumber();
    const column = frame.getColumnNumber();
    if (!name || line === null || column === null) continue;
    let map = maps.get(name);
    if (map === undefined && !maps.has(name)) {
      map = findSourceMap(name);
      maps.set(name, map);
    }
    if (!map) {
      const file = name.startsWith('file://') ? fileURLToPath(name) : name;
      if (isUserFile(file)) return { file, line, column };
      continue;
    }
    // Source maps count lines and columns from 0, stacks from 1.
    const entry = map.findEntry(line - 1, column - 1) as Partial<SourceMapping>;
    if (entry.originalSource === undefined || entry.originalLine === undefined || entry.originalColumn === undefined) continue;
    const file = entry.originalSource.startsWith('file://') ? fileURLToPath(entry.originalSource) : entry.originalSource;
    if (isUserFile(file)) return { file, line: entry.originalLine + 1, column: entry.originalColumn + 1 };
  }
  return undefined;
}

export function createTraceRecorder(isUserFile: (file: string) => boolean): TraceRecorder {
  const sites = new WeakMap<object, CallSite>();
  const definitions: object[] = [];
  const maps = new Map<string, SourceMap | undefined>();
  const hook: TraceHook = (_kind, value) => {
    if (value === null || typeof value !== 'object' || sites.has(value)) return;
    definitions.push(value);
    let site = mappedUserFrame(callSites(), isUserFile, maps);
    if (!site) {
      const limit = Error.stackTraceLimit;
      Error.stackTraceLimit = 64;
      const stack = new Error().stack;
      Error.stackTraceLimit = limit;
      site = userFrame(stack, isUserFile);
    }
    if (site) sites.set(value, site);
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
