import type { RuleContext } from './rule-types.js';

/**
 * Value-level traces without a second source of truth. When a decision is traced, the
 * closures of policy.mjs still decide; the rule engine's reference interpreter then
 * replays each closure's input and records every node it evaluates and the values it
 * compared. The replay gets the answers the closure got (query rows, webhook answers,
 * in the same order) and the same clock, so it neither repeats I/O nor sees other data.
 * The decision trace says whether both agreed (they are tested to agree on every input).
 */

interface Call {
  kind: 'query' | 'fetch';
  key: string;
  /** Settles with the closure's answer; the replay hands out a copy. */
  answer: Promise<{ ok: true; value: unknown } | { ok: false; error: unknown }>;
}

export interface IoRecorder {
  /** The context the closures run with: the host's, with I/O recorded and the clock fixed. */
  readonly ctx: RuleContext;
  /** How many calls were recorded so far (a mark for `replay`). */
  readonly mark: number;
  /** A context that answers the calls recorded from `from` on, in order. */
  replay(from: number): { ctx: RuleContext; diverged(): boolean };
}

export function recordIo(host: RuleContext, code?: RuleContext['code']): IoRecorder {
  const calls: Call[] = [];
  // One instant for the whole decision, so `utils.now()` reads the same in both engines.
  const at = typeof host.now === 'function' ? host.now() : new Date();
  const ctx: RuleContext = { ...host, now: () => at };
  if (ctx.code === undefined && code !== undefined) ctx.code = code;
  const record = <T>(kind: Call['kind'], key: string, run: () => Promise<T>): Promise<T> => {
    const p = run();
    calls.push({
      kind,
      key,
      answer: p.then(
        (value) => ({ ok: true as const, value: copy(value) }),
        (error: unknown) => ({ ok: false as const, error }),
      ),
    });
    return p;
  };
  if (typeof host.query === 'function') {
    const query = host.query.bind(host);
    ctx.query = (service, table, find) => record('query', JSON.stringify([service, table, find]), () => query(service, table, find));
  }
  if (typeof host.fetch === 'function') {
    const fetch = host.fetch.bind(host);
    ctx.fetch = (url, init) => record('fetch', JSON.stringify([url, init.body]), () => fetch(url, init));
  }
  return {
    ctx,
    get mark() {
      return calls.length;
    },
    replay(from) {
      let next = from;
      let diverged = false;
      const answer = async (kind: Call['kind'], key: string): Promise<unknown> => {
        const call = calls[next++];
        if (!call || call.kind !== kind || call.key !== key) {
          diverged = true;
          throw new Error('the replay asked for I/O the decision did not do');
        }
        const a = await call.answer;
        if (!a.ok) throw a.error;
        return copy(a.value);
      };
      const replayCtx: RuleContext = { ...ctx };
      if (ctx.query) replayCtx.query = (service, table, find) => answer('query', JSON.stringify([service, table, find])) as Promise<Record<string, unknown>[]>;
      if (ctx.fetch) replayCtx.fetch = (url, init) => answer('fetch', JSON.stringify([url, init.body])) as Promise<{ status: number; body: unknown }>;
      return { ctx: replayCtx, diverged: () => diverged };
    },
  };
}

function copy<T>(value: T): T {
  try {
    return structuredClone(value);
  } catch {
    return value;
  }
}
