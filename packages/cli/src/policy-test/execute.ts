import {
  decide,
  isDfcError,
  matchesWhere,
  printFilter,
  processResponse,
  type Allowed,
  type CompiledPolicy,
  type DecideRequest,
  type DecideResult,
  type RuleInput,
  type Trace,
} from '@dfc/runtime';
import type { PolicyTest } from '@dfc/config';
import { createHost, type TestWorld } from './fixtures.js';

type Row = Record<string, unknown>;
type Where = Allowed['where'];
type Verb = DecideRequest['verb'];

/** What a policy test's request got: the decision as the server would answer it. */
export interface Actual {
  decision: 'allow' | 'deny';
  status: number;
  error?: { code: string; message: string; note?: string; detail?: string };
  app?: string;
  role?: string;
  /** The args after the rules ran. */
  args?: RuleInput['args'];
  /** The rows returned after the response rules (when the test gave `rows`). */
  response?: Row[];
  /** The final row condition as filter text, or null for none. */
  where?: string | null;
  trace: Trace;
  /** Webhooks the rules called. */
  webhooks: { url: string; body: unknown }[];
}

const VERB_OF = { read: 'GET', create: 'POST', update: 'PATCH', delete: 'DELETE' } as const;
const ENDPOINTS: ReadonlySet<string> = new Set(['_doc', '_schema', '_table']);

/** Runs one test's request through the runtime's `decide()` and, for rows, `processResponse()`. */
export async function execute(compiled: CompiledPolicy, world: TestWorld, test: PolicyTest): Promise<Actual> {
  const service = test.service.name;
  // `_doc`, `_schema` and `_table` are endpoints of the service, not tables.
  const endpoint = ENDPOINTS.has(test.table) ? test.table : undefined;
  const table = endpoint === undefined ? test.table : undefined;
  const r = test.request;
  const def = table !== undefined ? compiled.policy.services[service]?.tables[table] : undefined;
  const verb: Verb = r.verb ?? (r.operation ? VERB_OF[r.operation] : 'GET');

  const find: Row = { ...(r.find ?? {}) };
  let id: string | number | undefined = r.id;
  if (id !== undefined && def) {
    const type = def.columns[def.primaryKey]?.type;
    // The id as the server parses it from the URL.
    if ((type === 'integer' || type === 'number') && typeof id === 'string' && id.trim() !== '' && Number.isFinite(Number(id))) id = Number(id);
    find[def.primaryKey] = id;
  }
  const args: NonNullable<DecideRequest['args']> = { op: r.id !== undefined || verb === 'POST' ? 'one' : 'all' };
  if (Object.keys(find).length > 0) args.find = find;
  if (r.doc) args.doc = { ...r.doc };
  if (r.update) args.update = structuredClone(r.update) as Row;

  const data: Record<string, Row[]> = {};
  for (const [t, rows] of Object.entries(r.data ?? {})) if (rows) data[t] = world.store(t, rows as Row[]);
  const host = createHost({
    compiled,
    world,
    service,
    data,
    webhooks: r.webhooks ?? {},
    ...(r.now !== undefined ? { now: new Date(r.now) } : {}),
  });

  const appName = typeof r.app === 'string' ? r.app : r.app?.name;
  const request: DecideRequest = { service, verb, args, claims: r.claims ?? null, trace: true };
  if (table !== undefined) request.table = table;
  if (endpoint !== undefined) {
    request.component = endpoint;
    if (endpoint !== '_doc') request.listing = true;
  }
  if (appName !== undefined) request.app = appName;
  if (r.operation !== undefined) request.operation = r.operation;
  if (r.id !== undefined) request.id = r.id;

  const result = await decide(compiled, request, host.ctx);
  const actual = fromDecision(result, host.webhookCalls);
  if (!result.allow || !r.rows || !def || table === undefined) return actual;

  // The rows the database would return: the request's own conditions and the decision's.
  const stored = world.store(table, r.rows as Row[]);
  const where = and([...Object.entries(find).map(([k, v]) => equality(k, v)), result.where]);
  try {
    const read = stored.filter((row) => matchesWhere(where, row, def)).map((row) => structuredClone(row));
    actual.response = await processResponse(result, read, host.ctx);
  } catch (e) {
    // The server refuses to send a reply its response rules cannot process.
    actual.decision = 'deny';
    if (isDfcError(e)) {
      actual.status = e.status;
      actual.error = { code: e.code, message: e.message };
      if (e.detail !== undefined) actual.error.detail = e.detail;
    } else {
      actual.status = 500;
      actual.error = { code: 'DFC_ERR_INTERNAL', message: e instanceof Error ? e.message : String(e) };
    }
  }
  return actual;
}

function fromDecision(result: DecideResult, webhooks: Actual['webhooks']): Actual {
  const trace = result.trace ?? { requirements: [] };
  if (!result.allow) {
    const a: Actual = { decision: 'deny', status: result.error.status, error: { code: result.error.code, message: result.error.message }, trace, webhooks };
    if (result.error.note !== undefined) a.error!.note = result.error.note;
    if (result.app !== undefined) a.app = result.app;
    if (result.role !== undefined) a.role = result.role;
    return a;
  }
  const where = result.where;
  return {
    decision: 'allow',
    status: 200,
    app: result.app,
    role: result.role,
    args: result.args,
    where: where.kind === 'const' && where.value ? null : printFilter(where),
    trace,
    webhooks,
  };
}

function equality(column: string, value: unknown): Where {
  if (value === null) return { kind: 'null', column, negated: false };
  if (Array.isArray(value)) return { kind: 'in', column, values: value as never[], negated: false };
  return { kind: 'cmp', column, op: '=', value: value as never };
}

function and(items: Where[]): Where {
  const kept = items.filter((w) => !(w.kind === 'const' && w.value));
  if (kept.length === 0) return { kind: 'const', value: true };
  return kept.length === 1 ? kept[0]! : { kind: 'and', items: kept };
}
