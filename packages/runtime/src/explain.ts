import type { Verb } from '@dfc/schema';
import { originAllowed, type CorsPolicy } from './cors.js';
import type { DecideRequest, DecideResult, Trace } from './decide.js';
import type { ErrorCode } from './errors.js';

/**
 * A decision explained, as data: what `dfc explain --format json` prints and what a
 * debug-mode runtime answers to `?explain` (instead of running the request). It is built
 * from `decide()`'s trace, so it shows exactly the path production takes.
 */
export interface Explanation {
  allow: boolean;
  /** The status production would answer the decision with (200 when allowed). */
  status: number;
  /** The refusal, as the client would get it. */
  error?: { code: ErrorCode; message: string; note?: string };
  request: {
    app?: string;
    service: string;
    component: string;
    verb: Verb;
    operation?: string;
    id?: string | number;
    /** Whether the caller had a session. */
    session: boolean;
  };
  /** The CORS entry for the path and whether the origin is allowed (when an origin was given). */
  cors?: { origin: string; path: string | null; allowed: boolean; credentials?: boolean };
  /** Every step: app, role, access, requirement collections, rule (with values), mutations, where. */
  trace: Trace;
}

export interface ExplainOptions {
  /** The request's `Origin` and the path CORS matched against (e.g. `/api/v2/blog/_table/posts`). */
  cors?: { policy: CorsPolicy; origin: string; path: string };
}

export function explain(result: DecideResult, request: DecideRequest, opts: ExplainOptions = {}): Explanation {
  const component = request.component ?? (request.table !== undefined ? `_table/${request.table}` : '_table');
  const out: Explanation = {
    allow: result.allow,
    status: result.allow ? 200 : result.error.status,
    request: { service: request.service, component, verb: request.verb, session: !!request.claims },
    trace: result.trace ?? { requirements: [] },
  };
  const app = result.app ?? (request.app !== undefined ? request.app : undefined);
  if (app !== undefined) out.request.app = app;
  if (request.operation !== undefined) out.request.operation = request.operation;
  else if (result.allow) out.request.operation = result.operation;
  if (request.id !== undefined) out.request.id = request.id;
  if (!result.allow) {
    const e: Explanation['error'] = { code: result.error.code, message: result.error.message };
    if (result.error.note !== undefined) e.note = result.error.note;
    out.error = e;
  }
  if (opts.cors) {
    const { policy, origin, path } = opts.cors;
    const entry = policy.match(path);
    out.cors = entry
      ? { origin, path: entry.entry.path, allowed: originAllowed(entry, origin), credentials: entry.credentials }
      : { origin, path: null, allowed: false };
  }
  return out;
}
