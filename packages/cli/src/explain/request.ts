import { parseFilter, parseId, type CompiledPolicy, type DecideRequest } from '@dfc/runtime';
import { findOf, type Where } from '@dfc/schema';

type Verb = DecideRequest['verb'];

/**
 * A request to explain, as flags or a JSON file give it (the HTTP request, without
 * HTTP): who calls (app or API key, claims or token), what (verb and path, or service,
 * table and id), with which body and filter, from which origin.
 */
export interface ExplainInput {
  app?: string;
  apiKey?: string;
  claims?: Record<string, unknown>;
  token?: string;
  verb?: string;
  /** `/api/v2/<service>/_table/<table>[/<id>]`, `/api/v2/<service>/_doc`…, optionally with `?filter=`. */
  path?: string;
  service?: string;
  table?: string;
  id?: string | number;
  body?: unknown;
  filter?: string;
  origin?: string;
}

export const INPUT_KEYS = ['app', 'apiKey', 'claims', 'token', 'verb', 'path', 'service', 'table', 'id', 'body', 'filter', 'origin'] as const;

/** A request problem the user can fix: the message names the flag. */
export class RequestError extends Error {}

const VERBS: readonly Verb[] = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'];

export interface ResolvedRequest {
  request: Omit<DecideRequest, 'apiKey' | 'app' | 'claims' | 'token' | 'trace'>;
  /** The path CORS entries match, e.g. `/api/v2/blog/_table/posts/1`. */
  path: string;
}

/** What `decide()` gets for an input, checked against the policy's services and tables. */
export function resolveRequest(input: ExplainInput, compiled: CompiledPolicy): ResolvedRequest {
  const verb = (input.verb ?? 'GET').toUpperCase() as Verb;
  if (!VERBS.includes(verb)) throw new RequestError(`\`--verb\` must be one of ${VERBS.map((v) => `\`${v}\``).join(', ')}, not \`${input.verb}\``);

  let service = input.service;
  let component: string | undefined;
  let table = input.table;
  let id = input.id !== undefined ? String(input.id) : undefined;
  let filter = input.filter;
  if (input.path !== undefined) {
    const url = new URL(input.path, 'http://dfc.invalid');
    const m = /^\/api\/v2\/([^/]+)(?:\/(.*))?$/.exec(url.pathname);
    if (!m) throw new RequestError(`\`--path\` must look like \`/api/v2/<service>/_table/<table>\`, not \`${input.path}\``);
    service = decodeURIComponent(m[1]!);
    const rest = (m[2] ?? '').replace(/\/+$/, '').split('/').filter((s) => s !== '').map(decodeURIComponent);
    if (rest[0] === '_table' || rest[0] === '_schema') {
      table = rest[1];
      id = rest[0] === '_table' ? rest[2] : undefined;
      component = table === undefined ? rest[0] : `${rest[0]}/${table}`;
    } else {
      component = rest.join('/');
    }
    const f = url.searchParams.get('filter');
    if (f !== null && filter === undefined) filter = f;
  }
  if (service === undefined) throw new RequestError('give the request with `--path`, or with `--service` (and `--table`)');
  const svc = compiled.policy.services[service];
  const def = svc && table !== undefined && Object.hasOwn(svc.tables, table) ? svc.tables[table] : undefined;

  const out: ResolvedRequest['request'] = { service, verb };
  if (table !== undefined) out.table = table;
  if (component !== undefined && component !== (table !== undefined ? `_table/${table}` : '')) out.component = component;
  if (out.component === '_table' || out.component === '_schema') out.listing = true;
  const args: NonNullable<DecideRequest['args']> = {};
  // What the server makes of the filter: its equalities are what rules see as `args.find`.
  if (filter !== undefined && filter !== '' && def) {
    let where: Where;
    try {
      where = parseFilter(filter, def);
    } catch (e) {
      throw new RequestError(`invalid \`--filter\`: ${e instanceof Error ? e.message : String(e)}`);
    }
    const find = findOf(where);
    if (find) args.find = find;
  }
  if (id !== undefined) {
    out.id = id;
    if (def) {
      let value: unknown;
      try {
        value = parseId(id, def);
      } catch (e) {
        throw new RequestError(`invalid \`--id\`: ${e instanceof Error ? e.message : String(e)}`);
      }
      args.find = { ...(args.find ?? {}), [def.primaryKey]: value };
    }
    args.op = 'one';
  }
  if (input.body !== undefined && verb !== 'GET' && verb !== 'DELETE') {
    const record = firstRecord(input.body);
    if (verb === 'POST') {
      args.doc = record;
      args.op = 'one';
    } else {
      const values = { ...record };
      if (def && Object.hasOwn(values, def.primaryKey)) {
        if (id === undefined) args.find = { ...(args.find ?? {}), [def.primaryKey]: values[def.primaryKey] };
        delete values[def.primaryKey];
      }
      args.update = { $set: values };
    }
  }
  if (Object.keys(args).length > 0) out.args = args;
  const path = input.path !== undefined ? new URL(input.path, 'http://dfc.invalid').pathname : `/api/v2/${service}/${out.component ?? (table !== undefined ? `_table/${table}${id !== undefined ? `/${id}` : ''}` : '')}`;
  return { request: out, path };
}

/** The first record of a body: an object, a list of them, or `{ "resource": [...] }`. */
function firstRecord(body: unknown): Record<string, unknown> {
  let r = body;
  if (r !== null && typeof r === 'object' && !Array.isArray(r) && Array.isArray((r as { resource?: unknown }).resource)) r = (r as { resource: unknown[] }).resource;
  if (Array.isArray(r)) r = r[0];
  if (r === null || typeof r !== 'object' || Array.isArray(r)) throw new RequestError('`--body` must be a JSON object (a record), a list of records or `{ "resource": [...] }`');
  return { ...(r as Record<string, unknown>) };
}

/** A JSON option's value, or a RequestError naming the flag. */
export function parseJsonOption(text: string, flag: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch (e) {
    throw new RequestError(`\`${flag}\` is not valid JSON: ${e instanceof Error ? e.message : String(e)}`);
  }
}
