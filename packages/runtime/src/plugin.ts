import type { Socket } from 'node:net';
import type { FastifyInstance, FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import { andWhere, findOf, type Json, type PolicyTable, type Verb, type Where } from '@dfc/schema';
import { createWebhookFetch } from '@dfc/rules';
import { readCredentials, type JwtVerifier, type VerifiedToken } from './auth.js';
import { DecisionMemo } from './decision-memo.js';
import { isJsonMediaType, parseJsonBody, DEFAULT_JSON_DEPTH } from './body.js';
import { preflight, sharedActualHeaders } from './cors.js';
import {
  DataError,
  FilterError,
  matchesWhere,
  parseCount,
  parseFields,
  parseFilter,
  parseId,
  parseIds,
  parseOrder,
  type DataSource,
  type Row,
  type SelectQuery,
  tableColumns,
} from './data/index.js';
import { applyResponseWork, decide, decideNow, processResponse, type Allowed, type DecideRequest, type DecideResult, type RequestArgs } from './decide.js';
import { DfcError, errorBody, isDfcError, q, type ErrorCode } from './errors.js';
import { explain, type Explanation } from './explain.js';
import { openApiFor } from './openapi.js';
import { matchesOperators, ruleFind } from './rule-query.js';
import type { ResponseAction, RuleContext } from './rule-types.js';
import { Runtime, type RuntimeOptions, type State } from './runtime.js';
import { rowsJson, type RowsJson } from './rows-json.js';

/**
 * The Fastify plugin: DreamFactory-style REST over the services of a compiled policy.
 *
 *   app.register(dfc, { policy: 'dist/' })
 *
 * Encapsulated: its content-type parser, error handler and not-found handler apply to
 * its own routes only. Request path: CORS → app (API key) → session (JWT) → role →
 * access → requirements → data rule → role filters and forced conditions ANDed into the
 * query → database → response rules → reply.
 */

export interface DfcPluginOptions extends Partial<RuntimeOptions> {
  /** A runtime already created (the standalone server shares one with its admin listener). */
  runtime?: Runtime;
  /** Deepest JSON nesting accepted in a body. @default 32 */
  jsonDepth?: number;
  /** Longest URL accepted (414 beyond). @default 8192 */
  maxUrlLength?: number;
  /** Send `Strict-Transport-Security` (set when the server terminates TLS). */
  hsts?: boolean;
  /**
   * Write successful reads (listings and records) straight to the Node response, past
   * Fastify's send path: hooks that change what is sent (`preSerialization`, `onSend`, e.g.
   * compression) do not see them, while `onRequest`/`onResponse` hooks and logging still
   * run; an answer someone else already put a header or status on goes the usual way.
   * `createServer` sets it; inside your own app it is off unless you set it.
   * @default false
   */
  directAnswers?: boolean;
}

const kState = Symbol('dfc.state');
const kIdentity = Symbol('dfc.identity');
const kStart = Symbol('dfc.start');
const kKind = Symbol('dfc.kind');
const kCors = Symbol('dfc.cors');

interface Identity {
  apiKey?: string;
  token?: string;
  claims: Readonly<Record<string, unknown>> | null;
}

/** The answer to a listing. */
interface ListBody {
  resource: Row[];
  meta?: { count: number };
  /** How to write `resource` when the answer is written directly (JSON.stringify leaves symbol keys out). */
  [kRowsJson]: RowsJson | undefined;
}

const kRowsJson = Symbol('dfc.rowsJson');

/** On a connection: the last `Authorization` value that passed the `Bearer` format check (a keep-alive client sends the same one again). */
const kBearer = Symbol('dfc.bearer');

/** On a connection: the last token verified for it, and by which verifier (a reload brings a new one). */
const kLastToken = Symbol('dfc.lastToken');
interface LastToken {
  jwt: JwtVerifier;
  entry: VerifiedToken;
}

type DfcRequest = FastifyRequest & { [kState]?: State; [kIdentity]?: Identity; [kStart]?: number; [kKind]?: string; [kCors]?: Readonly<Record<string, string>> };

const MAX_RECORDS = 1000;

/** A request's rule context: the policy's, plus where a `query` rule's database outage is noted. */
interface RequestContext extends RuleContext {
  outage: DataError | undefined;
}

/** One decided update, ready to run inside a transaction. */
interface UpdatePlan {
  where: Where;
  set: Row;
  writeCheck: Where;
  byId: boolean;
  idText: string;
}

export const dfcPlugin: FastifyPluginAsync<DfcPluginOptions> = async (app, opts) => {
  if (!opts.runtime && opts.policy === undefined) {
    throw new DfcError('DFC_ERR_SERVER_CONFIG', 'the dfc plugin needs `policy` (a directory with policy.json and policy.mjs) or `runtime`');
  }
  const runtime = opts.runtime ?? (await Runtime.create(opts as RuntimeOptions));
  if (!opts.runtime) app.addHook('onClose', async () => runtime.close());
  const jsonDepth = opts.jsonDepth ?? DEFAULT_JSON_DEPTH;
  const maxUrl = opts.maxUrlLength ?? 8192;
  const bodyLimit = runtime.state.compiled.policy.server.bodyLimit;
  const prefix = app.prefix;
  const contexts = new WeakMap<State, { ctx: RuleContext; query: RequestContext['query'] }>();
  const memo = new DecisionMemo();

  app.decorate('dfc', runtime);

  // Only JSON bodies, whatever the media type claims to be (no parser/validator mismatch).
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'string', bodyLimit }, (req, body, done) => {
    if (!isJsonMediaType(req.headers['content-type'])) {
      done(new DfcError('DFC_ERR_UNSUPPORTED_MEDIA_TYPE'), undefined);
      return;
    }
    try {
      // An empty body is no body (a DELETE by id with a JSON content type).
      done(null, (body as string).length === 0 ? undefined : parseJsonBody(body as string, jsonDepth));
    } catch (e) {
      done(e as Error, undefined);
    }
  });

  // Headers every answer of these routes carries, errors included: set as the answer is
  // sent (`onSend`, or by the direct writer), not up front, so that a direct answer never
  // pays for Fastify's header bookkeeping.
  const fixedHeaders: Readonly<Record<string, string>> = Object.freeze({
    'x-content-type-options': 'nosniff',
    'cache-control': 'no-store',
    ...(opts.hsts ? { 'strict-transport-security': 'max-age=31536000; includeSubDomains' } : {}),
  });
  const fixedList = Object.entries(fixedHeaders).flat();
  const direct = opts.directAnswers === true;

  /**
   * What every request starts with: the policy it keeps to the end, 414 for an over-long
   * URL, the CORS headers for its origin, a preflight's answer (true when it answered),
   * 400 for a repeated query parameter. The reads answered directly call it first thing
   * in their handlers; every other route has it as its own `onRequest` hook (a hook for
   * the whole plugin would cost every read a hook run), and the 404 handler calls it.
   */
  function begin(req: DfcRequest, reply: FastifyReply): boolean {
    req[kStart] = performance.now();
    const state = runtime.state; // invariant: a request keeps the policy it started with
    req[kState] = state;
    if (req.url.length > maxUrl) throw new DfcError('DFC_ERR_URI_TOO_LONG');
    const origin = req.headers.origin;
    if (origin === undefined) return checkQuery(req);
    const entry = corsEntry(state, req);
    if (req.method === 'OPTIONS' && req.headers['access-control-request-method'] !== undefined) {
      // Preflights are answered here, before any authentication.
      const a = preflight(entry, origin, String(req.headers['access-control-request-method']));
      req[kKind] = 'preflight';
      reply.headers(a.headers).code(a.status);
      if (a.status === 204) reply.send();
      else {
        const code: ErrorCode = a.status === 403 ? 'DFC_ERR_ACCESS_DENIED' : 'DFC_ERR_METHOD_NOT_ALLOWED';
        const message = a.status === 403 ? 'the origin is not allowed by the CORS policy' : 'the method is not allowed by the CORS policy';
        reply.send(errorBody(new DfcError(code, message), req.id, false));
      }
      return true;
    }
    req[kCors] = sharedActualHeaders(entry, origin);
    return checkQuery(req);
  }

  /** The CORS entry for the request's path (below the plugin's prefix). */
  function corsEntry(state: State, req: DfcRequest) {
    return state.cors.match(pathOf(req.url, prefix));
  }

  function checkQuery(req: DfcRequest): false {
    const query = req.query as Record<string, unknown>;
    for (const k in query) {
      if (Array.isArray(query[k])) throw new DfcError('DFC_ERR_DUPLICATE_PARAMETER', 'a query parameter is repeated', { note: 'send each parameter once' });
    }
    return false;
  }

  /** {@link begin} as a route's `onRequest` hook (callback style: no promise per request). */
  const beginHook = (req: DfcRequest, reply: FastifyReply, done: (err?: Error) => void): void => {
    let answered: boolean;
    try {
      answered = begin(req, reply);
    } catch (e) {
      return done(e as Error);
    }
    if (!answered) done();
  };

  // Every answer Fastify sends passes here (errors, preflights and 404s included); direct
  // answers do the same in `answer`. The request is counted and timed as it is answered,
  // which spares an `onResponse` hook per request.
  app.addHook('onSend', (req: DfcRequest, reply, payload, done) => {
    reply.header('x-request-id', req.id);
    reply.headers(fixedHeaders);
    // An error Fastify met before the request began (none known for the reads that begin
    // in their handlers) still carries the CORS headers.
    if (req[kState] === undefined && req.headers.origin !== undefined) req[kCors] = sharedActualHeaders(corsEntry(runtime.state, req), req.headers.origin);
    const cors = req[kCors];
    if (cors !== undefined) reply.headers(cors);
    // Whatever an outer hook added: the server does not advertise itself.
    reply.removeHeader('x-powered-by');
    answered(req, reply.statusCode);
    done(null, payload);
  });

  function answered(req: DfcRequest, status: number): void {
    const start = req[kStart];
    runtime.metrics.request(req[kKind] ?? 'other', status, start !== undefined ? (performance.now() - start) / 1000 : 0);
  }

  app.setErrorHandler(async (err, req: DfcRequest, reply) => {
    if (err instanceof ExplainAnswer) return reply.code(200).type('application/json; charset=utf-8').send({ explain: err.explanation });
    const state = req[kState] ?? runtime.state;
    const e = toDfcError(err);
    if (e.status >= 500) req.log.error({ err, code: e.code }, 'request failed');
    else req.log.info({ code: e.code }, 'request refused');
    if (e.status === 401 && runtime.limiter && (e.code === 'DFC_ERR_INVALID_API_KEY' || e.code === 'DFC_ERR_INVALID_TOKEN')) {
      await runtime.limiter.fail(req.ip);
    }
    if (e.status !== 404 || e.code !== 'DFC_ERR_NOT_FOUND') runtime.metrics.denied(e.code);
    if (e.headers) reply.headers(e.headers);
    return reply.code(e.status).type('application/json; charset=utf-8').send(errorBody(e, req.id, state.debug));
  });

  app.setNotFoundHandler(async (req: DfcRequest, reply) => {
    // No route answers OPTIONS: preflights come here.
    if (begin(req, reply)) return reply;
    req[kKind] = 'not_found';
    // The body never echoes the path (it may hold credentials in its query string).
    return reply.code(404).type('application/json; charset=utf-8').send(errorBody(new DfcError('DFC_ERR_NOT_FOUND'), req.id, false));
  });

  /** Fastify's header store on a reply, found once by its description (`getHeaders()` copies it and Node's into a new object). */
  let replyHeaders: symbol | null | undefined;
  function hasHeaders(reply: FastifyReply): boolean {
    if (replyHeaders === undefined) replyHeaders = Object.getOwnPropertySymbols(reply).find((k) => k.description === 'fastify.reply.headers') ?? null;
    const own = replyHeaders === null ? reply.getHeaders() : (reply as unknown as Record<symbol, Record<string, unknown>>)[replyHeaders];
    for (const _ in own) return true;
    return reply.raw.getHeaderNames().length > 0;
  }

  /**
   * The headers of a direct answer between the request id and the length, as the flat list
   * `writeHead` takes: the fixed ones, a CORS header set's (shared per entry and origin),
   * the content type. Made once per set; a request copies it into a list of its own size.
   */
  const jsonType = ['content-type', 'application/json; charset=utf-8'];
  const plainMiddle = [...fixedList, ...jsonType];
  const corsMiddles = new WeakMap<Readonly<Record<string, string>>, string[]>();

  /**
   * A successful read's answer: written to the Node response at once when `directAnswers`
   * allows it (returns undefined), else returned for Fastify to send. The direct answer
   * carries what `onSend` would have set; debug answers (`x-dfc-decision`) and replies that
   * already hold a header or another status go through Fastify.
   */
  function answer<T>(req: DfcRequest, reply: FastifyReply, body: T): T | undefined {
    if (!direct || req[kState]!.debug || reply.statusCode !== 200 || reply.sent) return body;
    if (hasHeaders(reply)) return body;
    const json = bodyJson(body);
    const cors = req[kCors];
    let middle = plainMiddle;
    if (cors !== undefined) {
      const known = corsMiddles.get(cors);
      if (known === undefined) corsMiddles.set(cors, (middle = [...fixedList, ...Object.entries(cors).flat(), ...jsonType]));
      else middle = known;
    }
    const head = new Array<string>(middle.length + 4);
    head[0] = 'x-request-id';
    head[1] = req.id;
    for (let i = 0; i < middle.length; i++) head[i + 2] = middle[i]!;
    head[middle.length + 2] = 'content-length';
    head[middle.length + 3] = String(Buffer.byteLength(json));
    reply.hijack();
    answered(req, 200);
    reply.raw.writeHead(200, head);
    // HEAD: the length of the body a GET would get, and no body.
    if (req.method === 'HEAD') reply.raw.end();
    else reply.raw.end(json);
    return undefined;
  }

  // -------------------------------------------------------------------------
  // identity and decisions

  /** The caller's credentials, verified; without a promise when nothing has to wait (a cached token, an in-process limiter). */
  function identify(req: DfcRequest, state: State): Identity | Promise<Identity> {
    const cached = req[kIdentity];
    if (cached) return cached;
    const wait = runtime.limiter ? runtime.limiter.blockedFor(req.ip) : 0;
    if (typeof wait !== 'number') return wait.then((w) => identified(req, state, w));
    return identified(req, state, wait);
  }

  function identified(req: DfcRequest, state: State, wait: number): Identity | Promise<Identity> {
    if (wait > 0) throw new DfcError('DFC_ERR_RATE_LIMITED', undefined, { headers: { 'retry-after': String(wait) } });
    const socket = req.raw.socket as (Socket & { [kLastToken]?: LastToken; [kBearer]?: string }) | null;
    const creds = readCredentials(req.raw.rawHeaders, req.query as Record<string, unknown>, {
      queryCredentials: state.compiled.policy.auth.queryCredentials,
      checkedBearer: socket?.[kBearer],
    });
    if (creds.bearer !== undefined && socket) socket[kBearer] = creds.bearer;
    const id: Identity = { claims: null };
    if (creds.apiKey !== undefined) id.apiKey = creds.apiKey;
    if (creds.token !== undefined) {
      id.token = creds.token;
      const jwt = state.jwt;
      if (!jwt) throw new DfcError('DFC_ERR_INVALID_TOKEN', 'this service does not accept session tokens');
      // A keep-alive client sends the same token on each request of its connection: the
      // connection keeps the last one this verifier verified, so a repeat skips the cache
      // lookup (the entry's expiry is still checked on every request).
      const last = socket?.[kLastToken];
      let hit = last !== undefined && last.jwt === jwt && last.entry.token === creds.token && jwt.live(last.entry) ? last.entry : undefined;
      if (hit === undefined) {
        hit = jwt.entry(creds.token);
        if (hit !== undefined && socket) socket[kLastToken] = { jwt, entry: hit };
      }
      if (hit === undefined) {
        return jwt.verify(creds.token).then((verified) => {
          id.claims = verified;
          req[kIdentity] = id;
          return id;
        });
      }
      id.claims = hit.claims;
    }
    req[kIdentity] = id;
    return id;
  }

  function ruleContext(state: State): RuleContext {
    return hostOf(state).ctx;
  }

  /** Per policy: the rule context, and the `query` every request's own context shares. */
  function hostOf(state: State): { ctx: RuleContext; query: RequestContext['query'] } {
    let host = contexts.get(state);
    if (!host) {
      const hooks = state.compiled.policy.webhooks;
      const ctx: RuleContext = {
        query: (service, table, find) => queryForRule(state, service, table, find),
        // Only URLs written in the policy are called; private targets need an explicit allow.
        fetch: createWebhookFetch({ allowHttp: hooks.allowHttp, allowPrivateHosts: hooks.allowPrivateHosts }),
        code: state.compiled.module.code,
      };
      if (state.crypto) ctx.crypto = state.crypto;
      // Called as a method of a request's context (the rule engine calls `ctx.query(…)`):
      // an outage is noted on that context, so one function serves every request.
      const query = async function (this: RequestContext | undefined, service: string, table: string, find: Record<string, Json>) {
        try {
          return await queryForRule(state, service, table, find);
        } catch (e) {
          if (e instanceof DataError && e.kind === 'unavailable' && this !== null && typeof this === 'object') this.outage = e;
          throw e;
        }
      };
      contexts.set(state, (host = { ctx, query }));
    }
    return host;
  }

  type Described = Omit<DecideRequest, 'apiKey' | 'claims' | 'token' | 'trace'>;

  /**
   * The caller's decision, allowed or thrown; without a promise when nothing had to wait.
   * `whole`: the request reads this whole table (no filter, no id), so the caller's
   * earlier decision for it may be reused ({@link DecisionMemo}).
   */
  function allow(req: DfcRequest, reply: FastifyReply, state: State, r: Described, whole?: PolicyTable): Allowed | Promise<Allowed> {
    const id = identify(req, state);
    return id instanceof Promise ? id.then((known) => allowFor(req, reply, state, r, known, whole)) : allowFor(req, reply, state, r, id, whole);
  }

  function allowFor(req: DfcRequest, reply: FastifyReply, state: State, r: Described, id: Identity, whole: PolicyTable | undefined): Allowed | Promise<Allowed> {
    const reuse = whole !== undefined && !state.debug;
    if (reuse) {
      const known = memo.get(state, id, whole);
      if (known !== undefined) return known;
    }
    // Every field written, in one order (absent ones as undefined, which decide reads as
    // absent): one object shape for every request. Built by spreading `r`, the object was
    // slow for decide to read (measured: +25 µs of server CPU per request).
    const full: DecideRequest = {
      service: r.service,
      component: r.component,
      table: r.table,
      id: r.id,
      verb: r.verb,
      operation: r.operation,
      args: r.args,
      listing: r.listing,
      app: r.app,
      requestor: r.requestor,
      claims: id.claims,
      apiKey: id.apiKey,
      token: id.token,
      trace: state.debug,
    };
    // A `query` rule that cannot read because the database is down still denies (fail
    // closed), but the caller is told the truth: 503, try again, not 403.
    const host = hostOf(state);
    const shared = host.ctx;
    const ctx: RequestContext = { query: host.query, fetch: shared.fetch!, code: shared.code!, outage: undefined };
    if (shared.crypto) ctx.crypto = shared.crypto;
    const d = decideNow(state.compiled, full, ctx);
    if (d instanceof Promise) return d.then((v) => allowed(req, reply, state, full, ctx, v));
    const a = allowed(req, reply, state, full, ctx, d);
    if (reuse) memo.set(state, id, whole, a);
    return a;
  }

  function allowed(req: DfcRequest, reply: FastifyReply, state: State, full: DecideRequest, ctx: RequestContext, d: DecideResult): Allowed {
    if (state.debug && d.trace) {
      // The header stays small: the values each rule compared are in `?explain`.
      const requirements = d.trace.requirements.map(({ events: _e, ...c }) => c);
      const rule = d.trace.rule && 'events' in d.trace.rule ? (({ events: _e, ...r }) => r)(d.trace.rule) : d.trace.rule;
      const head = { allow: d.allow, app: d.trace.app, role: d.trace.role, tier: d.trace.access?.tier };
      const detailed = JSON.stringify({ ...head, requirements, rule });
      // Always valid JSON: when the details would make the header too long, they are left
      // out and `?explain` has them.
      reply.header('x-dfc-decision', detailed.length <= 4000 ? detailed : JSON.stringify({ ...head, truncated: true }));
      // Debug only: `?explain` answers with the explanation instead of running the request.
      if (wantsExplanation(req)) {
        const origin = req.headers.origin;
        const cors = origin !== undefined ? { policy: state.cors, origin, path: pathOf(req.url, prefix) } : undefined;
        throw new ExplainAnswer(explain(d, full, cors ? { cors } : {}));
      }
    }
    if (!d.allow) throw ctx.outage ?? d.error;
    return d;
  }

  // -------------------------------------------------------------------------
  // routes

  const svcTable = (state: State, service: string, table: string) => {
    const def = state.compiled.policy.services[service]?.tables;
    return def && Object.hasOwn(def, table) ? def[table]! : undefined;
  };

  const sourceOf = (state: State, service: string): DataSource => {
    const ds = state.sources.get(service);
    if (!ds) throw new DfcError('DFC_ERR_SERVICE_NOT_FOUND', `unknown service ${q(service)}`);
    return ds;
  };

  type Params = { service: string; table?: string; id?: string };

  app.get('/api/v2/:service/_table', { onRequest: beginHook }, async (req: DfcRequest, reply) => {
    req[kKind] = 'tables';
    const state = req[kState]!;
    const { service } = req.params as Params;
    const d = await allow(req, reply, state, { service, component: '_table', verb: 'GET', listing: true });
    return { resource: (d.tables ?? []).map((name) => ({ name })) };
  });

  app.get('/api/v2/:service/_schema', { onRequest: beginHook }, async (req: DfcRequest, reply) => {
    req[kKind] = 'schema';
    const state = req[kState]!;
    const { service } = req.params as Params;
    const d = await allow(req, reply, state, { service, component: '_schema', verb: 'GET', listing: true });
    const tables = state.compiled.policy.services[service]!.tables;
    return { resource: (d.tables ?? []).map((name) => describeTable(name, tables[name]!)) };
  });

  app.get('/api/v2/:service/_schema/:table', { onRequest: beginHook }, async (req: DfcRequest, reply) => {
    req[kKind] = 'schema';
    const state = req[kState]!;
    const { service, table } = req.params as Required<Params>;
    await allow(req, reply, state, { service, table, component: `_schema/${table}`, verb: 'GET' });
    return describeTable(table, svcTable(state, service, table)!);
  });

  app.get('/api/v2/:service/_doc', { onRequest: beginHook }, async (req: DfcRequest, reply) => {
    req[kKind] = 'doc';
    const state = req[kState]!;
    const { service } = req.params as Params;
    const d = await allow(req, reply, state, { service, component: '_doc', verb: 'GET' });
    return openApiFor(state.compiled, service, d.role);
  });

  // records
  // Not an async function: a listing that did not wait is answered without a promise.
  const tableRoute = (method: Verb) => (req: DfcRequest, reply: FastifyReply) => {
    req[kKind] = 'records';
    const state = req[kState]!;
    const { service, table } = req.params as Required<Params>;
    const def = svcTable(state, service, table);
    if (method !== 'GET') requireJson(req, method === 'DELETE');
    if (!def) return unknownTable(req, reply, state, service, table, method);
    switch (method) {
      case 'GET': {
        const body = listRecords(req, reply, state, service, table, def);
        return body instanceof Promise ? body.then((b) => answer(req, reply, b)) : answer(req, reply, body);
      }
      case 'POST':
        return createRecords(req, reply, state, service, table, def);
      case 'PUT':
      case 'PATCH':
        return updateRecords(req, reply, state, service, table, def, method);
      case 'DELETE':
        return deleteRecords(req, reply, state, service, table, def);
    }
  };
  /** Identity and access first, so an unknown table does not answer before the key is checked; the decision then refuses the unknown table. */
  async function unknownTable(req: DfcRequest, reply: FastifyReply, state: State, service: string, table: string, method: Verb): Promise<never> {
    await identify(req, state);
    await allow(req, reply, state, { service, table, verb: method, args: {} });
    throw new DfcError('DFC_ERR_TABLE_NOT_FOUND', `unknown table ${q(table)} in service ${q(service)}`);
  }
  const recordRoute = (method: Verb) => async (req: DfcRequest, reply: FastifyReply) => {
    req[kKind] = 'record';
    const state = req[kState]!;
    const { service, table, id } = req.params as Required<Params>;
    const def = svcTable(state, service, table);
    if (method === 'PUT' || method === 'PATCH') requireJson(req, false);
    switch (method) {
      case 'GET':
        return answer(req, reply, await getRecord(req, reply, state, service, table, def, id));
      case 'PUT':
      case 'PATCH':
        return updateRecord(req, reply, state, service, table, def, id, method);
      case 'DELETE':
        return deleteRecord(req, reply, state, service, table, def, id);
      default:
        throw new DfcError('DFC_ERR_METHOD_NOT_ALLOWED', 'records are created on the table, not on a record id', {
          note: 'POST to `/_table/{table}` instead',
        });
    }
  };
  // The reads begin in their handlers (no hook run per read; a GET has no body to parse first).
  const listing = tableRoute('GET');
  const reading = recordRoute('GET');
  app.route({ method: 'GET', url: '/api/v2/:service/_table/:table', handler: (req: DfcRequest, reply) => (begin(req, reply), listing(req, reply)) });
  app.route({ method: 'GET', url: '/api/v2/:service/_table/:table/:id', handler: (req: DfcRequest, reply) => (begin(req, reply), reading(req, reply)) });
  for (const m of ['POST', 'PUT', 'PATCH', 'DELETE'] as const) {
    app.route({ method: m, url: '/api/v2/:service/_table/:table', onRequest: beginHook, handler: tableRoute(m) });
    app.route({ method: m, url: '/api/v2/:service/_table/:table/:id', onRequest: beginHook, handler: recordRoute(m) });
  }

  // -------------------------------------------------------------------------
  // handlers

  /** A page of rows; without a promise when the decision and the read did not wait. */
  function listRecords(req: DfcRequest, reply: FastifyReply, state: State, service: string, table: string, def: PolicyTable): ListBody | Promise<ListBody> {
    const query = req.query as Record<string, string | undefined>;
    // A filter that does not parse is answered only to a caller who may read the table.
    let clientWhere: Where | undefined;
    try {
      clientWhere = clientFilter(query, def);
    } catch (e) {
      return Promise.resolve(allow(req, reply, state, { service, table, verb: 'GET', args: {} })).then(() => {
        throw e;
      });
    }
    const find = clientWhere ? findOf(clientWhere) : undefined;
    const d = allow(req, reply, state, { service, table, verb: 'GET', args: find ? { find } : {} }, find ? undefined : def);
    return d instanceof Promise ? d.then((v) => listAllowed(state, service, table, def, query, clientWhere, v)) : listAllowed(state, service, table, def, query, clientWhere, d);
  }

  function listAllowed(state: State, service: string, table: string, tdef: PolicyTable, query: Record<string, string | undefined>, clientWhere: Where | undefined, d: Allowed): ListBody | Promise<ListBody> {
    const where = clientWhere ? andWhere([clientWhere, d.where]) : d.where;
    const { limit, offset } = paging(query, state, service);
    let columns: readonly string[] | undefined = query.fields !== undefined && query.fields !== '*' && query.fields !== '' ? fieldsOf(query.fields, tdef) : undefined;
    // Rows are written by a serializer compiled for their columns unless response work may
    // add or change fields (a removal only takes away what was not read).
    let plain = d.response === undefined;
    // The fields the work removes when it does nothing else: rows that hold none of them skip it.
    let removes: readonly string[] | undefined;
    const order = query.order !== undefined && query.order !== '' ? parse(() => parseOrder(query.order!, tdef)) : undefined;
    if (d.response) {
      // A field the rules remove from this caller's rows cannot be probed through filter or order.
      const plan = responsePlan(d.response);
      const hidden = plan.hidden;
      if (hidden.size > 0) {
        for (const c of clientWhere ? columnsOf(clientWhere) : []) {
          if (hidden.has(c)) throw new DfcError('DFC_ERR_BAD_FILTER', `invalid \`filter\`: field ${q(c)} is not readable by this caller`);
        }
        for (const o of order ?? []) {
          if (hidden.has(o.column)) throw new DfcError('DFC_ERR_BAD_PARAMETER', `invalid \`order\`: field ${q(o.column)} is not readable by this caller`);
        }
        // When the response work only removes top-level fields, those columns are not even
        // read (the work still runs on every row, and finds nothing left to remove).
        if (plan.removesOnly) {
          const kept = keptFields(plan, columns ?? tableColumns(tdef));
          if (kept.length > 0) columns = kept;
          plain = true;
          removes = plan.removed;
        }
      }
    }
    const ds = sourceOf(state, service);
    // Members set only when present (a source may tell an absent member from an undefined one), without spreading an object made for each.
    const select: SelectQuery = { where, limit, offset };
    if (columns) select.columns = columns;
    if (order) select.order = order;
    const json = plain ? rowsJson(columns ?? tableColumns(tdef)) : undefined;
    const rows = ds.selectNow?.(table, select);
    if (rows !== undefined) return listBody(state, ds, table, where, query, d, rows, json, removes);
    return ds.select(table, select).then((read) => listBody(state, ds, table, where, query, d, read, json, removes));
  }

  function listBody(
    state: State,
    ds: DataSource,
    table: string,
    where: Where,
    query: Record<string, string | undefined>,
    d: Allowed,
    rows: Row[],
    json: RowsJson | undefined,
    removes: readonly string[] | undefined,
  ): ListBody | Promise<ListBody> {
    const out = d.response && (removes === undefined || !lacksAll(rows, removes)) ? applyResponseWork(d, rows, ruleContext(state)) : rows;
    const body: ListBody = { resource: out, [kRowsJson]: json };
    if (!truthy(query.include_count)) return body;
    return ds.count(table, where).then((count) => {
      body.meta = { count };
      return body;
    });
  }

  async function getRecord(req: DfcRequest, reply: FastifyReply, state: State, service: string, table: string, def: PolicyTable | undefined, idText: string) {
    const id = def ? parse(() => parseId(idText, def)) : undefined;
    const pk = def?.primaryKey;
    const find = pk !== undefined ? { [pk]: id } : undefined;
    const d = await allow(req, reply, state, { service, table, verb: 'GET', id: idText, args: find ? { find, op: 'one' } : { op: 'one' } });
    const tdef = def!;
    const query = req.query as Record<string, string | undefined>;
    const columns = query.fields !== undefined && query.fields !== '*' && query.fields !== '' ? fieldsOf(query.fields, tdef) : undefined;
    const where = andWhere([idWhere(tdef, id as Json), d.where]);
    const rows = await sourceOf(state, service).select(table, { where, ...(columns ? { columns } : {}), limit: 1 });
    // invariant: another tenant's row answers exactly like a missing one.
    if (rows.length === 0) throw notFound(table, idText);
    return processResponse(d, rows[0]!, ruleContext(state));
  }

  async function createRecords(req: DfcRequest, reply: FastifyReply, state: State, service: string, table: string, def: PolicyTable | undefined) {
    const { records, wrapped } = recordsOf(req.body, def, table, false);
    if (records.length === 0) throw new DfcError('DFC_ERR_NO_RECORDS', 'the request body holds no records to create');
    const docs: Row[] = [];
    let check: Where | undefined;
    for (const doc of records) {
      const d = await allow(req, reply, state, { service, table, verb: 'POST', args: { doc, op: records.length > 1 ? 'all' : 'one' } });
      const after = d.args.doc ?? doc;
      checkColumns(after, def!, table);
      docs.push(after);
      check = d.writeCheck;
    }
    const tdef = def!;
    const ds = sourceOf(state, service);
    const stored = await ds.transaction(async (tx) => {
      const rows = await tx.insert(table, docs);
      for (const r of rows) if (!matchesWhere(check!, r, tdef)) throw writeCheckFailed(table);
      return rows;
    });
    reply.code(201);
    const ids = stored.map((r) => ({ [tdef.primaryKey]: r[tdef.primaryKey] }));
    return wrapped ? { resource: ids } : ids[0];
  }

  async function updateRecords(req: DfcRequest, reply: FastifyReply, state: State, service: string, table: string, def: PolicyTable | undefined, verb: 'PUT' | 'PATCH') {
    const query = req.query as Record<string, string | undefined>;
    if ((query.ids !== undefined && query.ids !== '') || (query.filter !== undefined && query.filter !== '')) {
      // One set of values applied to the rows named by `ids` or `filter`.
      const where = def ? await clientFilterFor(req, reply, state, service, table, def, verb, query) : undefined;
      if (def && !where) throw new DfcError('DFC_ERR_NO_RECORDS', 'the request names no records to update');
      await refuseHiddenFilter(req, state, service, table, where, query);
      const { records } = recordsOf(req.body, def, table, false);
      if (records.length === 0) throw new DfcError('DFC_ERR_NO_RECORDS', 'the request body holds no values to set');
      const ids = await updateWhere(req, reply, state, service, table, def, verb, where, records[0]!, false);
      return { resource: ids };
    }
    const { records, wrapped } = recordsOf(req.body, def, table, true);
    if (records.length === 0) {
      throw new DfcError('DFC_ERR_NO_RECORDS', 'the request names no records to update', {
        note: 'send records with their primary key, or use `ids` or `filter`',
      });
    }
    // Every record is decided first, then all are written in one transaction: one refused
    // or missing record leaves the table as it was (never a half-applied batch).
    const pk = def!.primaryKey;
    const plans: UpdatePlan[] = [];
    for (const r of records) {
      const { [pk]: id, ...values } = r;
      plans.push(await planUpdate(req, reply, state, service, table, def, verb, idWhere(def!, id as Json), values, true, String(id)));
    }
    const out = await runUpdates(state, service, table, def!, plans);
    return wrapped ? { resource: out } : out[0];
  }

  async function updateRecord(req: DfcRequest, reply: FastifyReply, state: State, service: string, table: string, def: PolicyTable | undefined, idText: string, verb: 'PUT' | 'PATCH') {
    const id = def ? parse(() => parseId(idText, def)) : undefined;
    const { records } = recordsOf(req.body, def, table, false);
    if (records.length !== 1) throw new DfcError('DFC_ERR_BAD_RECORD', 'the request body must be one record');
    const values = { ...records[0]! };
    if (def) delete values[def.primaryKey];
    const ids = await updateWhere(req, reply, state, service, table, def, verb, def ? idWhere(def, id as Json) : undefined, values, true, idText);
    return ids[0];
  }

  async function updateWhere(
    req: DfcRequest,
    reply: FastifyReply,
    state: State,
    service: string,
    table: string,
    def: PolicyTable | undefined,
    verb: 'PUT' | 'PATCH',
    clientWhere: Where | undefined,
    values: Row,
    byId: boolean,
    idText?: string,
  ): Promise<Row[]> {
    const plan = await planUpdate(req, reply, state, service, table, def, verb, clientWhere, values, byId, idText);
    return runUpdates(state, service, table, def!, [plan]);
  }

  /** Decides one update: the rows it may touch, the values after the rules ran, what written rows must satisfy. */
  async function planUpdate(
    req: DfcRequest,
    reply: FastifyReply,
    state: State,
    service: string,
    table: string,
    def: PolicyTable | undefined,
    verb: 'PUT' | 'PATCH',
    clientWhere: Where | undefined,
    values: Row,
    byId: boolean,
    idText?: string,
  ): Promise<UpdatePlan> {
    const find = clientWhere ? findOf(clientWhere) : undefined;
    const d = await allow(req, reply, state, {
      service,
      table,
      verb,
      ...(idText !== undefined && byId ? { id: idText } : {}),
      args: { ...(find ? { find } : {}), update: { $set: values }, op: byId ? 'one' : 'all' } satisfies RequestArgs,
    });
    const set = (d.args.update?.$set ?? {}) as Row;
    checkColumns(set, def!, table);
    return { where: andWhere([clientWhere, d.where]), set, writeCheck: d.writeCheck, byId, idText: idText ?? '' };
  }

  /** Applies decided updates in one transaction; returns the primary keys of the rows written. */
  async function runUpdates(state: State, service: string, table: string, tdef: PolicyTable, plans: readonly UpdatePlan[]): Promise<Row[]> {
    const rows = await sourceOf(state, service).transaction(async (tx) => {
      const out: Row[] = [];
      for (const p of plans) {
        const touched =
          Object.keys(p.set).length === 0
            ? await tx.select(table, { where: p.where, columns: [tdef.primaryKey], limit: MAX_RECORDS })
            : await tx.update(table, p.where, p.set);
        if (Object.keys(p.set).length > 0) for (const r of touched) if (!matchesWhere(p.writeCheck, r, tdef)) throw writeCheckFailed(table);
        // Thrown inside the transaction, so the records before this one are rolled back too.
        if (p.byId && touched.length === 0) throw notFound(table, p.idText);
        out.push(...touched);
      }
      return out;
    });
    return rows.map((r) => ({ [tdef.primaryKey]: r[tdef.primaryKey] }));
  }

  async function deleteRecords(req: DfcRequest, reply: FastifyReply, state: State, service: string, table: string, def: PolicyTable | undefined) {
    const query = req.query as Record<string, string | undefined>;
    let clientWhere: Where | undefined;
    if (def) {
      clientWhere = await clientFilterFor(req, reply, state, service, table, def, 'DELETE', query);
      await refuseHiddenFilter(req, state, service, table, clientWhere, query);
      if (!clientWhere && req.body !== undefined) {
        const { records } = recordsOf(req.body, def, table, true);
        if (records.length > 0) clientWhere = { kind: 'in', column: def.primaryKey, values: records.map((r) => r[def.primaryKey] as Json), negated: false };
      }
      if (!clientWhere) {
        throw new DfcError('DFC_ERR_NO_RECORDS', 'the request names no records to delete', {
          note: 'use `ids`, `filter`, or records with their primary key in the body',
        });
      }
    }
    const rows = await deleteWhere(req, reply, state, service, table, def, clientWhere, false);
    return { resource: rows };
  }

  async function deleteRecord(req: DfcRequest, reply: FastifyReply, state: State, service: string, table: string, def: PolicyTable | undefined, idText: string) {
    const id = def ? parse(() => parseId(idText, def)) : undefined;
    const rows = await deleteWhere(req, reply, state, service, table, def, def ? idWhere(def, id as Json) : undefined, true, idText);
    return rows[0];
  }

  async function deleteWhere(
    req: DfcRequest,
    reply: FastifyReply,
    state: State,
    service: string,
    table: string,
    def: PolicyTable | undefined,
    clientWhere: Where | undefined,
    byId: boolean,
    idText?: string,
  ): Promise<Row[]> {
    const find = clientWhere ? findOf(clientWhere) : undefined;
    const d = await allow(req, reply, state, {
      service,
      table,
      verb: 'DELETE',
      ...(idText !== undefined ? { id: idText } : {}),
      args: { ...(find ? { find } : {}), op: byId ? 'one' : 'all' },
    });
    const tdef = def!;
    const rows = await sourceOf(state, service).delete(table, andWhere([clientWhere, d.where]));
    if (byId && rows.length === 0) throw notFound(table, idText ?? '');
    return rows.map((r) => ({ [tdef.primaryKey]: r[tdef.primaryKey] }));
  }

  /**
   * The client's `ids` or `filter`. When they do not parse, the caller's access to the
   * table is decided first: a caller who may not use it learns nothing about its columns.
   */
  async function clientFilterFor(req: DfcRequest, reply: FastifyReply, state: State, service: string, table: string, def: PolicyTable, verb: Verb, query: Record<string, string | undefined>): Promise<Where | undefined> {
    try {
      return clientFilter(query, def);
    } catch (e) {
      await allow(req, reply, state, { service, table, verb, args: {} });
      throw e;
    }
  }

  /**
   * A write's `filter` may not name a column the read rule removes from this caller's
   * rows: the ids a write answers with would tell which rows hold a value it cannot read.
   */
  async function refuseHiddenFilter(req: DfcRequest, state: State, service: string, table: string, where: Where | undefined, query: Record<string, string | undefined>): Promise<void> {
    if (!where || query.filter === undefined || query.filter === '' || (query.ids !== undefined && query.ids !== '')) return;
    const id = await identify(req, state);
    const find = findOf(where);
    const r: DecideRequest = { service, table, verb: 'GET', claims: id.claims, args: find ? { find } : {} };
    if (id.apiKey !== undefined) r.apiKey = id.apiKey;
    if (id.token !== undefined) r.token = id.token;
    const d = await decide(state.compiled, r, ruleContext(state));
    if (!d.allow) return;
    const hidden = responsePlan(d.response).hidden;
    for (const c of columnsOf(where)) {
      if (hidden.has(c)) throw new DfcError('DFC_ERR_BAD_FILTER', `invalid \`filter\`: field ${q(c)} is not readable by this caller`);
    }
  }

  function clientFilter(query: Record<string, string | undefined>, def: PolicyTable): Where | undefined {
    if (query.ids !== undefined && query.ids !== '') return idsWhere(def, query.ids);
    if (query.filter === undefined || query.filter === '') return undefined;
    return parse(() => parseFilter(query.filter!, def));
  }

  function paging(query: Record<string, string | undefined>, state: State, service: string): { limit: number; offset: number } {
    const server = state.compiled.policy.server;
    const max = Math.min(server.maxPageSize, state.compiled.policy.services[service]?.maxRecords ?? server.maxPageSize);
    let limit = query.limit !== undefined && query.limit !== '' ? parse(() => parseCount(query.limit!, 'limit')) : 0;
    // DreamFactory: an absent (or zero) limit is the default page; above the cap is the cap.
    if (limit < 1) limit = Math.min(server.defaultPageSize, max);
    if (limit > max) limit = max;
    const offset = query.offset !== undefined && query.offset !== '' ? parse(() => parseCount(query.offset!, 'offset')) : 0;
    return { limit, offset };
  }

  async function queryForRule(state: State, service: string, table: string, find: Record<string, Json>): Promise<Record<string, unknown>[]> {
    const ds = state.sources.get(service);
    const def = svcTable(state, service, table);
    if (!ds || !def) throw new DfcError('DFC_ERR_INTERNAL', `a query rule names an unknown table ${q(`${service}.${table}`)}`);
    const f = ruleFind(find, def);
    const rows = await ds.select(table, { where: f.where, limit: MAX_RECORDS });
    return f.operators.length === 0 ? rows : rows.filter((r) => matchesOperators(r, f.operators));
  }
};

// ---------------------------------------------------------------------------
// helpers

/** Thrown (debug mode only) to answer a request with its explanation; nothing else runs. */
class ExplainAnswer extends Error {
  constructor(readonly explanation: Explanation) {
    super('explanation');
  }
}

/** A direct answer's text: a page of rows through its compiled serializer when it has one, else JSON.stringify. */
function bodyJson(body: unknown): string {
  const f = typeof body === 'object' && body !== null ? (body as Partial<ListBody>)[kRowsJson] : undefined;
  if (f !== undefined) {
    const list = body as ListBody;
    const rows = f(list.resource);
    if (rows !== undefined) return list.meta === undefined ? '{"resource":' + rows + '}' : '{"resource":' + rows + ',"meta":' + JSON.stringify(list.meta) + '}';
  }
  return JSON.stringify(body);
}

function wantsExplanation(req: FastifyRequest): boolean {
  const query = req.query as Record<string, unknown>;
  if (!Object.hasOwn(query, 'explain')) return false;
  const v = query.explain;
  return v !== 'false' && v !== '0';
}

function pathOf(url: string, prefix: string): string {
  const i = url.indexOf('?');
  const p = i < 0 ? url : url.slice(0, i);
  return prefix && p.startsWith(prefix) ? p.slice(prefix.length) : p;
}

function requireJson(req: FastifyRequest, optional: boolean): void {
  const ct = req.headers['content-type'];
  if (ct === undefined && optional) return;
  if (!isJsonMediaType(ct)) throw new DfcError('DFC_ERR_UNSUPPORTED_MEDIA_TYPE');
}

function truthy(v: string | undefined): boolean {
  return v === 'true' || v === '1';
}

function parse<T>(f: () => T): T {
  try {
    return f();
  } catch (e) {
    throw toDfcError(e);
  }
}

function idWhere(def: PolicyTable, id: Json): Where {
  return { kind: 'cmp', column: def.primaryKey, op: '=', value: id };
}

function idsWhere(def: PolicyTable, text: string): Where {
  const ids = parse(() => parseIds(text, def));
  return { kind: 'in', column: def.primaryKey, values: ids, negated: false };
}

/** What a decision's response work means for the select: made once per list of work (a reused decision keeps its list). */
interface ResponsePlan {
  /** Columns the work removes from every row for this caller. */
  readonly hidden: ReadonlySet<string>;
  /** The work only removes top-level fields. */
  readonly removesOnly: boolean;
  /** `hidden` as a list. */
  readonly removed: readonly string[];
}

const NO_WORK: ResponsePlan = Object.freeze({ hidden: new Set<string>(), removesOnly: true, removed: Object.freeze([]) });

/**
 * Plans by the first action's `segments` (a constant of the policy module, as every
 * action's is): a closure with several conditional `remove` sites hands out a new list
 * per decision, so lists are told apart by their actions' `op` and `segments`, all a plan
 * depends on, and no entry is made per request. At most 8 lists per first field.
 */
const responsePlans = new WeakMap<readonly string[], { work: readonly ResponseAction[]; plan: ResponsePlan }[]>();

function responsePlan(work: readonly ResponseAction[] | undefined): ResponsePlan {
  if (work === undefined || work.length === 0) return NO_WORK;
  const key = work[0]!.segments;
  let known = responsePlans.get(key);
  if (known !== undefined) {
    for (const k of known) if (k.work === work || sameWork(k.work, work)) return k.plan;
  } else responsePlans.set(key, (known = []));
  const hidden = new Set<string>();
  for (const a of work) if (a.op === 'remove' && a.segments.length === 1) hidden.add(a.segments[0]!);
  const plan: ResponsePlan = { hidden, removesOnly: work.length === hidden.size, removed: Object.freeze([...hidden]) };
  if (known.length < 8) known.push({ work, plan });
  return plan;
}

function sameWork(a: readonly ResponseAction[], b: readonly ResponseAction[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i]!.op !== b[i]!.op || a[i]!.segments !== b[i]!.segments) return false;
  return true;
}

/** At most this many `fields` texts per table are kept parsed (frozen, so the row decoder and serializer compiled for them are found again). */
const MAX_FIELD_LISTS = 64;
const fieldLists = new WeakMap<PolicyTable, Map<string, readonly string[]>>();

/** A `fields` parameter's columns (each once): parsed once per text and table, up to {@link MAX_FIELD_LISTS}; a text that does not parse is a 400 every time. */
function fieldsOf(text: string, table: PolicyTable): readonly string[] {
  let known = fieldLists.get(table);
  const hit = known?.get(text);
  if (hit !== undefined) return hit;
  const list = Object.freeze(parse(() => parseFields(text, table)));
  if (known === undefined) fieldLists.set(table, (known = new Map()));
  if (known.size < MAX_FIELD_LISTS) known.set(text, list);
  return list;
}

const keptLists = new WeakMap<ResponsePlan, WeakMap<readonly string[], readonly string[]>>();

/**
 * `columns` but those the plan hides; for a frozen list (a table's columns, a parsed
 * `fields`), one frozen answer per plan, so the row decoder and serializer compiled for it
 * are found by identity.
 */
function keptFields(plan: ResponsePlan, columns: readonly string[]): readonly string[] {
  if (!Object.isFrozen(columns)) return columns.filter((c) => !plan.hidden.has(c));
  let known = keptLists.get(plan);
  if (known === undefined) keptLists.set(plan, (known = new WeakMap()));
  let kept = known.get(columns);
  if (kept === undefined) known.set(columns, (kept = Object.freeze(columns.filter((c) => !plan.hidden.has(c)))));
  return kept;
}

/**
 * Whether every row is an object, not an array, that holds none of `fields`, own or
 * inherited: then work that only removes those fields would find nothing to do (most
 * often the fields were not even read), and the pass over every row is skipped.
 */
function lacksAll(rows: readonly unknown[], fields: readonly string[]): boolean {
  for (let i = 0; i < rows.length; i++) {
    const row = rows[i];
    if (typeof row !== 'object' || row === null || Array.isArray(row)) return false;
    for (let j = 0; j < fields.length; j++) if (fields[j]! in row) return false;
  }
  return true;
}

/** Every column a Where names. */
function columnsOf(where: Where): string[] {
  const out: string[] = [];
  const stack: Where[] = [where];
  while (stack.length > 0) {
    const w = stack.pop()!;
    if (w.kind === 'and' || w.kind === 'or') stack.push(...w.items);
    else if (w.kind === 'not') stack.push(w.item);
    else if (w.kind !== 'const') out.push(w.column);
  }
  return out;
}

function recordsOf(body: unknown, def: PolicyTable | undefined, table: string, needKey: boolean): { records: Row[]; wrapped: boolean } {
  if (body === undefined || body === null) return { records: [], wrapped: false };
  let list: unknown[];
  let wrapped = true;
  if (Array.isArray(body)) list = body;
  else if (typeof body === 'object' && Object.hasOwn(body, 'resource')) {
    const r = (body as { resource: unknown }).resource;
    if (!Array.isArray(r)) throw new DfcError('DFC_ERR_BAD_RECORD', '`resource` must be a list of records');
    list = r;
  } else {
    list = [body];
    wrapped = false;
  }
  if (list.length > MAX_RECORDS) throw new DfcError('DFC_ERR_BAD_RECORD', `a request may hold at most ${MAX_RECORDS} records`);
  const records = list.map((r, i) => {
    if (r === null || typeof r !== 'object' || Array.isArray(r)) throw new DfcError('DFC_ERR_BAD_RECORD', `record ${i} is not an object`);
    const row = r as Row;
    if (def) {
      checkColumns(row, def, table);
      if (needKey && !Object.hasOwn(row, def.primaryKey)) {
        throw new DfcError('DFC_ERR_BAD_RECORD', `record ${i} has no primary key ${q(def.primaryKey)}`);
      }
    }
    return row;
  });
  return { records, wrapped };
}

function checkColumns(row: Row, def: PolicyTable, table: string): void {
  for (const k of Object.keys(row)) {
    if (!Object.hasOwn(def.columns, k)) throw new DfcError('DFC_ERR_BAD_RECORD', `unknown field ${q(k)} in table ${q(table)}`);
  }
}

function describeTable(name: string, def: PolicyTable) {
  return {
    name,
    primary_key: def.primaryKey,
    field: Object.entries(def.columns).map(([n, c]) => ({ name: n, type: c.type, allow_null: c.nullable, is_primary_key: n === def.primaryKey })),
  };
}

function notFound(table: string, id: string): DfcError {
  return new DfcError('DFC_ERR_RECORD_NOT_FOUND', `no record ${q(id)} in table ${q(table)}`);
}

function writeCheckFailed(table: string): DfcError {
  return new DfcError('DFC_ERR_WRITE_CHECK_FAILED', `a written record of ${q(table)} would fall outside what the role may write`, {
    note: 'nothing was written',
  });
}

/** Any error as a DfcError whose message is safe for a client. */
export function toDfcError(err: unknown): DfcError {
  if (isDfcError(err)) return err;
  if (err instanceof FilterError) {
    const param = err.parameter;
    const pos = err.position !== undefined ? ` at character ${err.position}` : '';
    const code: ErrorCode = param === 'filter' ? 'DFC_ERR_BAD_FILTER' : 'DFC_ERR_BAD_PARAMETER';
    return new DfcError(code, `invalid \`${param}\`${pos}: ${err.message}`, err.note ? { note: err.note } : {});
  }
  if (err instanceof DataError) {
    switch (err.kind) {
      case 'unique':
        return new DfcError('DFC_ERR_CONFLICT', err.message);
      case 'invalid':
        return new DfcError('DFC_ERR_INVALID_DATA', err.message);
      case 'unavailable':
        return new DfcError('DFC_ERR_DB_UNAVAILABLE', undefined, { headers: { 'retry-after': '5' }, detail: err.message });
      case 'not_found':
        return new DfcError('DFC_ERR_TABLE_NOT_FOUND', err.message);
      default:
        return new DfcError('DFC_ERR_INTERNAL', undefined, { detail: err.message });
    }
  }
  const e = err as { code?: string; statusCode?: number; message?: string } | null;
  switch (e?.code) {
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return new DfcError('DFC_ERR_UNSUPPORTED_MEDIA_TYPE');
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return new DfcError('DFC_ERR_BODY_TOO_LARGE');
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
      return new DfcError('DFC_ERR_INVALID_JSON');
  }
  const status = e?.statusCode;
  if (typeof status === 'number' && status >= 400 && status < 500) {
    if (status === 413) return new DfcError('DFC_ERR_BODY_TOO_LARGE');
    if (status === 415) return new DfcError('DFC_ERR_UNSUPPORTED_MEDIA_TYPE');
    if (status === 404) return new DfcError('DFC_ERR_NOT_FOUND');
    return new DfcError('DFC_ERR_BAD_REQUEST');
  }
  return new DfcError('DFC_ERR_INTERNAL', undefined, { detail: e?.message ?? String(err) });
}

declare module 'fastify' {
  interface FastifyInstance {
    dfc?: Runtime;
  }
}

export type { FastifyInstance };
