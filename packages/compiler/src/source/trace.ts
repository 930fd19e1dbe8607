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

export function createTraceRecorder(isUserFile: (file: string) => boolean): TraceRecorder {
  const sites = new WeakMap<object, CallSite>();
  const definitions: object[] = [];
  const hook: TraceHook = (_kind, value) => {
    if (value === null || typeof value !== 'object' || sites.has(value)) return;
    definitions.push(value);
    const limit = Error.stackTraceLimit;
    Error.stackTraceLimit = 64;
    const stack = new Error().stack;
    Error.stackTraceLimit = limit;
    const site = userFrame(stack, isUserFile);
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
