import { statSync } from 'node:fs';
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
  let recheckTimer: NodeJS.Timeout | undefined;
  let running: Promise<void> | undefined;
  let again = false;
  let closed = false;
  const changed = new Set<string>();

  const run = async (): Promise<void> => {
    const files = [...changed].sort();
    changed.clear();
    const before = stamps(watched);
    const result = await runPipeline({ ...options, session }, mode);
    if (closed) return;
    // Keep watching what the last build read, plus what it read before (a file
    // that failed to parse still matters).
    const next = new Set(result.inputs);
    const add = [...next].filter((f) => !watched.has(f));
    if (result.inputs.length > 0) {
      const remove = [...watched].filter((f) => !next.has(f) && result.ok);
      if (!watcher) {
        const w = chokidarWatch([...next], { ignoreInitial: true });
        watcher = w;
        w.on('all', (_event, path) => schedule(path));
        // Report only once changes are seen: an edit right after the first result must count.
        await new Promise<void>((resolve) => w.once('ready', () => resolve()));
        watched = next;
      } else {
        if (add.length > 0) watcher.add(add);
        if (remove.length > 0) watcher.unwatch(remove);
        watched = new Set([...[...watched].filter((f) => !remove.includes(f)), ...add]);
      }
    }
    onResult(result, files);
    // chokidar drops a second change to a file within 50 ms of the first; a file that
    // changed while this build ran, or just after, is caught by comparing stamps.
    recheck(before);
  };

  const recheck = (before: Map<string, string>): void => {
    const differs = () => [...stamps(watched)].filter(([f, stamp]) => before.has(f) && before.get(f) !== stamp).map(([f]) => f);
    const now = differs();
    if (now.length > 0) {
      now.forEach((f) => changed.add(f));
      again = true;
      return;
    }
    if (recheckTimer) clearTimeout(recheckTimer);
    recheckTimer = setTimeout(() => {
      recheckTimer = undefined;
      if (closed || running || timer) return;
      const later = differs();
      if (later.length > 0) later.forEach((f) => schedule(f));
    }, 100);
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
      if (recheckTimer) clearTimeout(recheckTimer);
      await running;
      await watcher?.close();
    },
  };
}

/** mtime and size of each file ('' when it is missing). */
function stamps(files: Iterable<string>): Map<string, string> {
  const out = new Map<string, string>();
  for (const f of files) {
    try {
      const s = statSync(f);
      out.set(f, `${s.mtimeMs}:${s.size}`);
    } catch {
      out.set(f, '');
    }
  }
  return out;
}
