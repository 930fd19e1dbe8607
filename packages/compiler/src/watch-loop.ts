import { statSync } from 'node:fs';
import { watch as chokidarWatch, type FSWatcher } from 'chokidar';

export interface WatchLoopOptions<R> {
  /** One run; `changed` lists the files whose change caused it (empty for the first). */
  run(changed: string[]): Promise<R>;
  /** The files a run read: they are watched from then on. */
  inputs(result: R): readonly string[];
  /** Whether files the run no longer read stop being watched (a failed run keeps them: a file that failed to parse still matters). */
  prune(result: R): boolean;
  /** Called once the run's files are watched, so an edit right after the report counts. */
  report(result: R, changed: string[], first: boolean): void;
  /** A run that threw; watching continues. */
  onError?(error: unknown): void;
  /**
   * Work to do once after the first report, unless a change is already waiting (a
   * warm-up for the runs to come); changes that arrive meanwhile run after it.
   */
  afterFirst?(): void | Promise<void>;
  /** Milliseconds to wait for more changes before running again. Default 50. */
  debounceMs?: number;
}

export interface WatchLoop {
  /** Resolves when the first run has been reported. */
  readonly ready: Promise<void>;
  /** Stops watching; resolves once the run in progress (if any) has finished. */
  close(): Promise<void>;
}

/**
 * Runs now and again whenever a file the last run read changes: runs never overlap,
 * changes during a run cause one more run after it, and changes are debounced. Shared
 * by `dfc build --watch` and `dfc test --watch`.
 */
export function watchLoop<R>(o: WatchLoopOptions<R>): WatchLoop {
  const debounceMs = o.debounceMs ?? 50;
  let watcher: FSWatcher | undefined;
  let watched = new Set<string>();
  let timer: NodeJS.Timeout | undefined;
  let recheckTimer: NodeJS.Timeout | undefined;
  let running: Promise<void> | undefined;
  let again = false;
  let closed = false;
  const changed = new Set<string>();

  const once = async (): Promise<void> => {
    const files = [...changed].sort();
    changed.clear();
    const before = stamps(watched);
    const result = await o.run(files);
    if (closed) return;
    const next = new Set(o.inputs(result));
    const first = !watcher;
    if (next.size > 0) {
      if (!watcher) {
        const w = chokidarWatch([...next], { ignoreInitial: true });
        watcher = w;
        w.on('all', (_event, path) => schedule(path));
        await new Promise<void>((resolve) => w.once('ready', () => resolve()));
        watched = next;
      } else {
        const add = [...next].filter((f) => !watched.has(f));
        const remove = o.prune(result) ? [...watched].filter((f) => !next.has(f)) : [];
        if (add.length > 0) watcher.add(add);
        if (remove.length > 0) watcher.unwatch(remove);
        watched = new Set([...[...watched].filter((f) => !remove.includes(f)), ...add]);
      }
    }
    if (closed) return;
    o.report(result, files, first);
    if (first) reported();
    // chokidar drops a second change to a file within 50 ms of the first; a file that
    // changed while this run went on, or just after, is caught by comparing stamps.
    recheck(before);
    if (first && o.afterFirst && !again && !timer && !closed) {
      // Off the report's tick, so that what the report started (a write to stdout) goes first.
      await new Promise<void>((resolve) => setImmediate(resolve));
      if (!again && !timer && !closed) {
        try {
          await o.afterFirst();
        } catch {
          // Only ever a warm-up: the runs to come do their work whatever it did.
        }
      }
    }
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
    running = once()
      .catch((e: unknown) => o.onError?.(e))
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

  let reported = () => {};
  const ready = new Promise<void>((resolve) => (reported = resolve));
  start();
  // A first run that threw reports nothing: ready once it is over.
  void running?.finally(() => reported());
  return {
    ready,
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
