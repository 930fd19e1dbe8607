/**
 * Load on loopback with autocannon, bounded in time. The standard run is short; the
 * issue's longer run is `DFC_LOAD_SECONDS=20 DFC_LOAD_CONNECTIONS=50`.
 */
// @ts-expect-error autocannon ships no type declarations
import autocannon from 'autocannon';

export const LOAD_SECONDS = Number(process.env.DFC_LOAD_SECONDS ?? 8);
export const LOAD_CONNECTIONS = Number(process.env.DFC_LOAD_CONNECTIONS ?? 16);

export interface LoadRequest {
  method?: string;
  path: string;
  headers?: Record<string, string>;
  body?: string;
}

export interface LoadResult {
  /** Responses by status code. */
  statuses: Record<string, number>;
  requests: number;
  /** Connection errors, including timeouts. */
  errors: number;
  timeouts: number;
  resets: number;
}

export interface LoadRun {
  /** Resolves when the run ends. */
  done: Promise<LoadResult>;
  /** Stop early. */
  stop(): void;
}

/**
 * Each connection sends `requests` in order, over and over, for `seconds`. The result
 * counts every response by status, and every error (refused, reset, timed out).
 */
export function load(url: string, requests: LoadRequest[], opts: { seconds?: number; connections?: number; timeoutSeconds?: number } = {}): LoadRun {
  const instance = autocannon(
    {
      url,
      connections: opts.connections ?? LOAD_CONNECTIONS,
      duration: opts.seconds ?? LOAD_SECONDS,
      timeout: opts.timeoutSeconds ?? 10,
      requests: requests.map((r) => ({ method: r.method ?? 'GET', path: r.path, headers: r.headers ?? {}, ...(r.body !== undefined ? { body: r.body } : {}) })),
    },
    () => {},
  );
  const done = new Promise<LoadResult>((resolve, reject) => {
    instance.on('done', (r: { statusCodeStats: Record<string, { count: number }>; errors: number; timeouts: number; resets: number; requests: { total: number } }) => {
      const statuses: Record<string, number> = {};
      for (const [k, v] of Object.entries(r.statusCodeStats ?? {})) statuses[k] = v.count;
      resolve({ statuses, requests: Object.values(statuses).reduce((a, b) => a + b, 0), errors: r.errors, timeouts: r.timeouts, resets: r.resets ?? 0 });
    });
    instance.on('error', reject);
  });
  return { done, stop: () => instance.stop() };
}

/** Samples a value every `ms` until stopped; the samples with their times. */
export function sampler<T>(ms: number, read: () => T): { stop(): { t: number; v: T }[] } {
  const out: { t: number; v: T }[] = [];
  const t0 = Date.now();
  const timer = setInterval(() => {
    try {
      out.push({ t: Date.now() - t0, v: read() });
    } catch {
      // the process is gone: the test notices through other checks
    }
  }, ms);
  return {
    stop() {
      clearInterval(timer);
      return out;
    },
  };
}

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0 ? NaN : s[Math.floor(s.length / 2)]!;
}
