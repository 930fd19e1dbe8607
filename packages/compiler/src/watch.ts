import { watch as chokidarWatch, type FSWatcher } from 'chokidar';
import { runPipeline, type CompileOptions, type CompileResult, type CompilerSession } from './pipeline.js';

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
  const debounceMs = options.debounceMs ?? 50;
  let watcher: FSWatcher | undefined;
  let watched = new Set<string>();
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> | undefined;
  let again = false;
  let closed = false;
  const changed = new Set<string>();

  const run = async (): Promise<void> => {
    const files = [...changed].sort();
    changed.clear();
    const result = await runPipeline({ ...options, session }, mode);
    if (closed) return;
    // Keep watching what the last build read, plus what it read before (a file
    // that failed to parse still matters).
    const next = new Set(result.inputs);
    const add = [...next].filter((f) => !watched.has(f));
    if (result.inputs.length > 0) {
      const remove = [...watched].filter((f) => !next.has(f) && result.ok);
      if (!watcher) {
        watcher = chokidarWatch([...next], { ignoreInitial: true, awaitWriteFinish: false });
        watcher.on('all', (_event, path) => schedule(path));
        watched = next;
      } else {
        if (add.length > 0) watcher.add(add);
        if (remove.length > 0) watcher.unwatch(remove);
        watched = new Set([...[...watched].filter((f) => !remove.includes(f)), ...add]);
      }
    }
    onResult(result, files);
  };

  const start = (): void => {
    if (closed) return;
    if (running) {
      again = true;
      return;
    }
    running = run()
      .catch(() => {})
      .finally(() => {
        running = undefined;
        if (again && !closed) {
          again = false;
          start();
        }
      });
  };

  const schedule = (path: string): void => {
    changed.add(path);
    if (timer) clearTimeout(timer);
    timer = setTimeout(() => {
      timer = undefined;
      start();
    }, debounceMs);
  };

  start();
  const ready = running ?? Promise.resolve();
  return {
    ready: ready.then(() => {}),
    async close() {
      closed = true;
      if (timer) clearTimeout(timer);
      await running;
      await watcher?.close();
    },
  };
}
