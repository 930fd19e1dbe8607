import { runPipeline, warmUp, type CompileOptions, type CompileResult, type CompilerSession } from './pipeline.js';
import { watchLoop } from './watch-loop.js';

export interface WatchOptions extends CompileOptions {
  /** `build` (default) writes the artifacts after each change; `check` only reports. */
  mode?: 'build' | 'check';
  /** Milliseconds to wait for more changes before rebuilding. Default 50. */
  debounceMs?: number;
}

export interface WatchHandle {
  /** Stops watching; resolves once the build in progress (if any) has finished. */
  close(): Promise<void>;
  /** Resolves when the first build has been reported. */
  readonly ready: Promise<void>;
}

/**
 * Builds now and again whenever the config or a file it imports changes. Each
 * result goes to `onResult`, errors included: watching continues after a failed
 * build. Builds never overlap; changes during a build cause one more build after it.
 * A failed build leaves the previous artifacts in place (emit is atomic).
 */
export function watch(options: WatchOptions, onResult: (result: CompileResult, changed: string[]) => void): WatchHandle {
  const session: CompilerSession = options.session ?? {};
  const mode = options.mode ?? 'build';
  return watchLoop<CompileResult>({
    run: () => runPipeline({ ...options, session }, mode),
    inputs: (result) => result.inputs,
    prune: (result) => result.ok,
    report: (result, changed) => onResult(result, changed),
    // While the first edit is awaited: the first rebuild then runs as fast as later ones.
    afterFirst: () => warmUp({ ...options, session }),
    ...(options.debounceMs !== undefined ? { debounceMs: options.debounceMs } : {}),
  });
}
