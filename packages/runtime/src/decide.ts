import { FALSE, TRUE, andWhere, type Json, type Operation, type PolicyAccess, type Rule, type Verb, type Where } from '@dfc/schema';
import { applyResponse, evaluate, evaluateRequirements } from '@dfc/rules';
import type { Decision, ResponseAction, RuleContext, RuleInput, TraceEvent } from './rule-types.js';
import { recordIo, type IoRecorder } from './replay.js';
import { verbBit, type AccessMatch, type Tier } from './access.js';
import { appForKey, type Collection, type CompiledPolicy, type CompiledService, type CompiledTable } from './compiled.js';
import { DfcError, q } from './errors.js';
import { entriesWhere } from './role-filter.js';

/**
 * The decision: a pure function of a loaded policy and a request description, with no
 * HTTP in it. The Fastify plugin, `dfc test` and `dfc explain` all call it, so what tests
 * and explanations show is what production does.
 *
 * app → role → role access → requirement collections → data rule → where conditions.
 */

export type RequestArgs = {
  find?: Record<string, unknown>;
  doc?: Record<string, unknown>;
  update?: Record<string, unknown>;
  op?: 'one' | 'all';
};

export interface DecideRequest {
  /** The raw API key the request carried (looked up by digest). */
  apiKey?: string;
  /** Or, for trusted callers (`dfc test`, `dfc explain`), the app by name. */
  app?: string;
  /** Verified JWT claims, or null/absent without a session. */
  claims?: Readonly<Record<string, unknown>> | null;
  /** The raw session token, made available to rules as `args.token`. */
  token?: string;
  service: string;
  /** `_table`, `_table/<t>`, `_schema`, `_schema/<t>`, `_doc`; derived from `table` when absent. */
  component?: string;
  table?: string;
  id?: string | number;
  verb: Verb;
  /** Derived from the verb when absent (GET read, POST create, PUT/PATCH update, DELETE delete). */
  operation?: Operation;
  args?: RequestArgs;
  requestor?: 'api' | 'script';
  /**
   * For `_table` and `_schema` (lists): allowed when the component itself is granted or
   * any table is readable; the result lists the tables the caller may read.
   */
  listing?: boolean;
  /**
   * Collect a trace of every step, with the values each rule compared (the rule engine's
   * reference interpreter replays what the closures did; see replay.ts).
   */
  trace?: boolean;
}

/** A requirement collection as a trace reports it. */
export interface TracedCollection {
  level: Collection['level'];
  key: string;
  /** Config path, e.g. `services.blog.security`. */
  path: string;
  passed: boolean;
  failed: string[];
  /** The collection, each requirement tried and each rule node evaluated, with values. */
  events?: TraceEvent[];
  /** False when the replay did not reach the closure's verdict (a bug in dfc: please report it). */
  agrees?: boolean;
}

/** A change a rule made to the request (`force`, `remove`, `encrypt`, `hash`). */
export interface Mutation {
  /** E.g. `args.doc.userId`. */
  path: string;
  /** Absent when the rule added the field. */
  before?: unknown;
  /** Absent when the rule removed the field. */
  after?: unknown;
}

export interface Trace {
  app?: string;
  role?: string;
  roleSource?: 'claim' | 'app default';
  /** The session's role claim when it named a role this app does not let it select. */
  ignoredRoleClaim?: unknown;
  access?: {
    component: string;
    verb: Verb;
    tier: Tier | null;
    matched: readonly PolicyAccess[];
    overridden: readonly PolicyAccess[];
    verbs: Verb[];
    /** Entries of the deciding tier that grant the verb (their filters apply). */
    granting: readonly PolicyAccess[];
  };
  requirements: TracedCollection[];
  rule?:
    | {
        key: string;
        /** Config path of the rule, e.g. `rules.blog.posts.read`. */
        path: string;
        decision: Decision;
        /** Every node evaluated, with values. */
        events?: TraceEvent[];
        /** False when the replay did not reach the closure's verdict (a bug in dfc: please report it). */
        agrees?: boolean;
      }
    | { key: null; decision: Decision };
  /** What the rule changed in `args.find`, `args.doc` and `args.update`. */
  mutations?: Mutation[];
  where?: Where;
  forced?: Record<string, Json>;
  /** `res.…` work left for the response. */
  response?: readonly ResponseAction[];
}

export interface Allowed {
  allow: true;
  app: string;
  role: string;
  operation: Operation;
  table?: CompiledTable;
  access: AccessMatch;
  /** Role filters ∧ conditions forced by rules: AND it with the client's filter on every query. */
  where: Where;
  /** What every written row must satisfy afterwards. */
  writeCheck: Where;
  /** Equality conditions rules forced on `args.find`. */
  forced: Record<string, Json>;
  /** The args after the rule ran (doc, update may have been changed by force/remove/encrypt/hash). */
  args: RuleInput['args'];
  /** For listings: the tables the caller may read, sorted. */
  tables?: string[];
  /** `res.…` work the rule left: run {@link processResponse} on the rows before replying. */
  response?: readonly ResponseAction[];
  trace?: Trace;
}

export interface Denied {
  allow: false;
  error: DfcError;
  app?: string;
  role?: string;
  trace?: Trace;
}

export type DecideResult = Allowed | Denied;

const OPERATION_OF: Record<Verb, Operation> = { GET: 'read', POST: 'create', PUT: 'update', PATCH: 'update', DELETE: 'delete' };

export function operationOf(verb: Verb): Operation {
  return OPERATION_OF[verb];
}

/** A decision, always as a promise (see {@link decideNow} for the form the HTTP plugin uses). */
export function decide(compiled: CompiledPolicy, req: DecideRequest, host: RuleContext = {}): Promise<DecideResult> {
  try {
    const d = decideNow(compiled, req, host);
    return d instanceof Promise ? d : Promise.resolve(d);
  } catch (e) {
    return Promise.reject(e);
  }
}

const GET = verbBit('GET');

/** Whether role number `roleNo` may read the table (list its rows). */
function readsTable(t: CompiledTable, roleNo: number): boolean {
  return (t.access[roleNo]!.verbBits & GET) !== 0;
}

/** A request that role access granted: what the steps after it (collections, rule) share. */
interface Granted {
  readonly compiled: CompiledPolicy;
  readonly req: DecideRequest;
  readonly trace: Trace | undefined;
  readonly io: IoRecorder | undefined;
  readonly ctx: RuleContext;
  readonly appName: string;
  readonly roleName: string;
  readonly claims: Readonly<Record<string, unknown>> | null;
  readonly service: CompiledService;
  readonly table: CompiledTable | undefined;
  readonly component: string;
  readonly operation: Operation;
  readonly access: AccessMatch;
  readonly args: RuleInput['args'];
  readonly tables: string[] | undefined;
}

function denied(trace: Trace | undefined, error: DfcError, app?: string, role?: string): Denied {
  const d: Denied = { allow: false, error };
  if (app !== undefined) d.app = app;
  if (role !== undefined) d.role = role;
  if (trace) d.trace = trace;
  return d;
}

/**
 * The decision without a promise when nothing has to wait: every step runs synchronously
 * until a requirement collection or the rule returns a promise (a `query` or `webhook`
 * rule), and only then does the rest continue asynchronously. A traced decision is a
 * promise (its rules are replayed through the interpreter).
 */
export function decideNow(compiled: CompiledPolicy, req: DecideRequest, host: RuleContext = {}): DecideResult | Promise<DecideResult> {
  const trace: Trace | undefined = req.trace ? { requirements: [] } : undefined;
  // Traced: the closures run with recorded I/O so the interpreter can replay them.
  const io = trace ? recordIo(host, compiled.module.code) : undefined;
  const ctx = io ? io.ctx : host;

  // app
  let appName: string | undefined;
  if (req.apiKey !== undefined) {
    appName = appForKey(compiled, req.apiKey);
    if (appName === undefined) return denied(trace, new DfcError('DFC_ERR_INVALID_API_KEY'));
  } else if (req.app !== undefined) {
    appName = compiled.apps.has(req.app) ? req.app : undefined;
    if (appName === undefined) return denied(trace, new DfcError('DFC_ERR_INVALID_API_KEY', `unknown app ${q(req.app)}`));
  } else {
    return denied(trace, new DfcError('DFC_ERR_NO_API_KEY', undefined, { note: 'send it in the `X-Api-Key` header' }));
  }
  const app = compiled.apps.get(appName)!;
  // invariant: an inactive app answers exactly like an unknown key (no oracle).
  if (!app.active) return denied(trace, new DfcError('DFC_ERR_INVALID_API_KEY'));
  if (trace) trace.app = appName;

  // role: from the configured claim when this app lists it, else the app's default
  const claims = req.claims ?? null;
  let roleName: string | null = null;
  const roleClaim = compiled.policy.auth.jwt?.roleClaim;
  if (claims && roleClaim && Object.hasOwn(claims, roleClaim)) {
    const wanted = claims[roleClaim];
    if (typeof wanted === 'string' && app.roles.includes(wanted) && compiled.roles.has(wanted)) {
      roleName = wanted;
      if (trace) trace.roleSource = 'claim';
    }
  }
  if (trace && roleName === null && claims && roleClaim && Object.hasOwn(claims, roleClaim)) trace.ignoredRoleClaim = claims[roleClaim];
  if (roleName === null && app.role !== null && compiled.roles.has(app.role)) {
    roleName = app.role;
    if (trace) trace.roleSource = 'app default';
  }
  if (roleName === null) {
    return denied(trace, new DfcError('DFC_ERR_NO_ROLE', `app ${q(appName)} grants this caller no role`), appName);
  }
  if (trace) trace.role = roleName;
  const role = compiled.roles.get(roleName)!;
  if (!role.active) return denied(trace, new DfcError('DFC_ERR_ROLE_INACTIVE', `role ${q(roleName)} is not active`), appName, roleName);

  // service, table, component
  const service = compiled.services.get(req.service);
  if (!service) return denied(trace, new DfcError('DFC_ERR_SERVICE_NOT_FOUND', `unknown service ${q(req.service)}`), appName, roleName);
  let table: CompiledTable | undefined;
  if (req.table !== undefined) {
    table = service.tables.get(req.table);
    if (!table) {
      return denied(trace, new DfcError('DFC_ERR_TABLE_NOT_FOUND', `unknown table ${q(req.table)} in service ${q(req.service)}`), appName, roleName);
    }
  }
  const component = req.component ?? (table ? table.component : '_table');
  const operation = req.operation ?? operationOf(req.verb);

  // role access
  const roleNo = compiled.roleIndex.get(roleName)!;
  const access = table && component === table.component ? table.access[roleNo] : compiled.access.get(roleName)?.get(service.name + '\0' + component);
  if (!access) {
    return denied(trace, new DfcError('DFC_ERR_NOT_FOUND', `unknown resource ${q(component)} in service ${q(service.name)}`), appName, roleName);
  }
  if (trace) {
    trace.access = {
      component,
      verb: req.verb,
      tier: access.tier,
      matched: access.matched,
      overridden: access.overridden,
      verbs: [...access.verbs],
      granting: access.granting.get(req.verb) ?? [],
    };
  }
  let granted = (access.verbBits & verbBit(req.verb)) !== 0;
  let tables: string[] | undefined;
  if (req.listing) {
    const roleAccess = compiled.access.get(roleName)!;
    tables = [...service.tables.values()]
      .filter((t) => readsTable(t, roleNo) || (component === '_schema' && roleAccess.get(`${service.name}\0_schema/${t.name}`)?.verbs.has('GET')))
      .map((t) => t.name)
      .sort();
    granted ||= req.verb === 'GET' && tables.length > 0;
  } else if (!granted && table && component === `_schema/${table.name}` && req.verb === 'GET') {
    // DreamFactory's fallback: a table's schema is readable by whoever may read the table.
    granted = readsTable(table, roleNo);
  }
  if (!granted) {
    const why =
      access.tier === null
        ? 'no access entry of the role matches it'
        : `the most specific matching entry (${access.tier === 'exact' ? 'exact component' : access.tier === 'component' ? 'component wildcard' : access.tier === 'service' ? 'service `*`' : 'all services'}) grants ${access.verbs.size ? [...access.verbs].map((v) => '`' + v + '`').join(', ') : 'no verb'}`;
    // DreamFactory: a denial without a session is a 401 when signing in could change the
    // role (the app lets sessions select roles); otherwise a 403.
    if (!claims && app.roles.length > 0) {
      return denied(
        trace,
        new DfcError('DFC_ERR_AUTH_REQUIRED', `${q(`${req.verb} ${service.name}/${component}`)} requires a session`, {
          note: `without a session the app's role ${q(roleName)} applies, and it may not do this`,
        }),
        appName,
        roleName,
      );
    }
    return denied(
      trace,
      new DfcError('DFC_ERR_ACCESS_DENIED', `role ${q(roleName)} may not ${q(req.verb)} ${q(`${service.name}/${component}`)}`, { note: why }),
      appName,
      roleName,
    );
  }

  const args: RuleInput['args'] = {};
  if (claims) args.auth = authOf(claims);
  if (req.token !== undefined) args.token = req.token;
  const inArgs = req.args ?? {};
  if (inArgs.find) args.find = { ...inArgs.find };
  if (inArgs.doc) args.doc = { ...inArgs.doc };
  if (inArgs.update) args.update = cloneUpdate(inArgs.update);
  args.op = inArgs.op ?? (req.id !== undefined ? 'one' : 'all');

  // requirement collections: service, then table, then each field present in the request
  // A table whose own collection allows anonymous callers is exempt from the service's
  // collection (the service's implied and explicit session requirements); see docs/access.md.
  const tableAnonymous = table?.anonymous ?? false;
  const collections: Collection[] = tableAnonymous ? [] : [service.security];
  if (table?.security) collections.push(table.security);
  if (table && table.fieldSecurity.size > 0) {
    const present = new Set<string>([...Object.keys(args.doc ?? {}), ...Object.keys(setOf(args.update))]);
    for (const [col, c] of table.fieldSecurity) if (present.has(col)) collections.push(c);
  }
  const s: Granted = { compiled, req, trace, io, ctx, appName, roleName, claims, service, table, component, operation, access, args, tables };
  return collectionsFrom(s, collections, 0);
}

/** Runs the collections from `i` on; synchronous until one returns a promise. */
function collectionsFrom(s: Granted, collections: readonly Collection[], i: number): DecideResult | Promise<DecideResult> {
  for (; i < collections.length; i++) {
    const c = collections[i]!;
    const r = runCollection(c, s.roleName, s.claims, s.args, s.ctx, s.io);
    if (r instanceof Promise) {
      const next = i + 1;
      return r.then((v) => collectionDenied(s, c, v) ?? collectionsFrom(s, collections, next));
    }
    const d = collectionDenied(s, c, r);
    if (d) return d;
  }
  return ruleStep(s);
}

/** Notes a collection's result in the trace; the denial when it failed. */
function collectionDenied(s: Granted, c: Collection, r: CollectionResult): Denied | undefined {
  if (s.trace) {
    const t: TracedCollection = { level: c.level, key: c.key, path: c.path, passed: r.passed, failed: r.failed };
    if (r.events) t.events = r.events;
    if (r.agrees !== undefined) t.agrees = r.agrees;
    s.trace.requirements.push(t);
  }
  if (r.passed) return undefined;
  const names = r.failed.map((n) => q(n)).join(', ');
  const what = c.level === 'service' ? `service ${q(c.key)}` : c.level === 'table' ? `table ${q(c.key)}` : `field ${q(c.key)}`;
  if (r.needsSession) {
    return denied(
      s.trace,
      new DfcError('DFC_ERR_AUTH_REQUIRED', `${what} requires a session`, {
        note: 'send a session token in the `Authorization: Bearer` header',
      }),
      s.appName,
      s.roleName,
    );
  }
  return denied(s.trace, new DfcError('DFC_ERR_REQUIREMENT_FAILED', `the requirements of ${what} failed: ${names}`), s.appName, s.roleName);
}

/** Role filters, then the data rule (table operations only). */
function ruleStep(s: Granted): DecideResult | Promise<DecideResult> {
  const { req, args, table, component, operation, trace } = s;
  // Role filters of the winning tier for this verb. Their equality conditions join
  // `args.find` (they constrain every row the request touches, so rules may rely on them).
  // invariant: an entry without filters makes entriesWhere TRUE, whatever the other entries.
  const roleWhere =
    s.access.unfilteredBits & verbBit(req.verb) ? TRUE : entriesWhere(s.access.granting.get(req.verb) ?? [], { claims: s.claims, role: s.roleName, app: s.appName });
  if (table && component.startsWith('_table') && operation !== 'create') {
    const eq = equalities(roleWhere);
    if (eq) {
      args.find ??= {};
      for (const [k, v] of Object.entries(eq)) if (!Object.hasOwn(args.find, k)) args.find[k] = v;
    }
  }
  if (!table || !component.startsWith('_table')) return allowed(s, roleWhere, undefined, undefined);
  const rule = table.rules[operation];
  if (!rule) {
    const decision: Decision = { allow: false, reason: `no rule allows ${q(operation)} on ${q(`${s.service.name}.${table.name}`)}` };
    if (trace) trace.rule = { key: null, decision };
    return denied(trace, new DfcError('DFC_ERR_RULE_DENIED', decision.reason!, { note: 'an operation with no rule is denied' }), s.appName, s.roleName);
  }
  const findBefore = args.find ? { ...args.find } : undefined;
  if (s.io) return tracedRule(s, rule, roleWhere, findBefore);
  const ran = runRule(rule.fn, { args, role: s.roleName }, s.ctx, rule.key);
  if (ran instanceof Promise) return ran.then((d) => ruleDecided(s, rule, d, roleWhere, findBefore));
  return ruleDecided(s, rule, ran, roleWhere, findBefore);
}

type TableRule = NonNullable<CompiledTable['rules']['read']>;

/** The rule run with its I/O recorded, then replayed through the interpreter for the trace. */
async function tracedRule(s: Granted, rule: TableRule, roleWhere: Where, findBefore: Record<string, unknown> | undefined): Promise<DecideResult> {
  const io = s.io!;
  const trace = s.trace!;
  const before = snapshot({ args: s.args, role: s.roleName });
  const mark = io.mark;
  const decision = await runRule(rule.fn, { args: s.args, role: s.roleName }, s.ctx, rule.key);
  trace.rule = { key: rule.key, path: rule.path, decision };
  const source = ruleSource(s.compiled, rule.key);
  if (before && source) {
    // Before the replay, which works on (and changes) the snapshot.
    trace.mutations = mutations(before.args, s.args);
    const events: TraceEvent[] = [];
    const replay = io.replay(mark);
    const again = await evaluate(source, before, replay.ctx, rule.path, { trace: events }).catch(() => undefined);
    trace.rule.events = events;
    trace.rule.agrees = again !== undefined && again.allow === decision.allow && !replay.diverged();
  }
  return ruleDecided(s, rule, decision, roleWhere, findBefore);
}

/** The rule's decision: a denial, or the conditions it forced and the response work it left. */
function ruleDecided(s: Granted, rule: TableRule, decision: Decision, roleWhere: Where, findBefore: Record<string, unknown> | undefined): DecideResult {
  if (!decision.allow) {
    let reason = decision.reason ?? `rule ${q(rule.key)} denied the request`;
    const opts: { note?: string; detail?: string } = decision.name ? { note: `rule ${q(decision.name)} decided` } : {};
    // A webhook's URL may carry a credential (a token in its path or query) and names an
    // internal host: the client learns that a webhook decided, the URL only with debug on.
    const decider = subRule(ruleSource(s.compiled, rule.key), rule.path, decision.path);
    if (decider?.rule === 'webhook' && decider.error === undefined) {
      opts.detail = reason;
      reason = decision.code === 'denied' ? 'the webhook refused the request' : 'the webhook could not be called';
    }
    if (decision.code === 'unauthenticated') return denied(s.trace, new DfcError('DFC_ERR_AUTH_REQUIRED', reason, opts), s.appName, s.roleName);
    return denied(s.trace, new DfcError('DFC_ERR_RULE_DENIED', reason, opts), s.appName, s.roleName);
  }
  const find = s.args.find;
  let forced: Record<string, Json> | undefined;
  if (find) {
    for (const [k, v] of Object.entries(find)) {
      if (!findBefore || !Object.hasOwn(findBefore, k) || !sameJson(findBefore[k], v)) (forced ??= Object.create(null) as Record<string, Json>)[k] = v as Json;
    }
  }
  return allowed(s, roleWhere, forced, decision.response && decision.response.length > 0 ? decision.response : undefined);
}

function allowed(s: Granted, roleWhere: Where, forced: Record<string, Json> | undefined, response: Allowed['response']): Allowed {
  // where: role filters of the winning tier for this verb, AND forced conditions
  const where = andWhere(forced ? [roleWhere, andWhere(Object.entries(forced).map(([k, v]) => forcedCondition(k, v, s.table)))] : [roleWhere]);
  const f = forced ?? (Object.create(null) as Record<string, Json>);
  if (s.trace) {
    s.trace.where = where;
    s.trace.forced = { ...f };
    if (response) s.trace.response = response;
  }
  const out: Allowed = {
    allow: true,
    app: s.appName,
    role: s.roleName,
    operation: s.operation,
    access: s.access,
    where,
    writeCheck: where,
    forced: f,
    args: s.args,
  };
  if (s.table) out.table = s.table;
  if (s.tables) out.tables = s.tables;
  if (response) out.response = response;
  if (s.trace) out.trace = s.trace;
  return out;
}

/** Plain copies of frozen claims (see {@link authOf}); an entry lives as long as its claims. */
const authTemplates = new WeakMap<object, Record<string, unknown>>();

/**
 * `args.auth` for one request: a plain copy of the claims, which rules may change.
 * Verified claims are frozen null-prototype objects shared by every request that carries
 * the same token, and spreading those is slow; each is spread once into a plain template
 * that requests then copy (same own properties, a fraction of the cost).
 */
function authOf(claims: Readonly<Record<string, unknown>>): Record<string, unknown> {
  if (!Object.isFrozen(claims)) return { ...claims };
  let template = authTemplates.get(claims);
  if (!template) authTemplates.set(claims, (template = { ...claims }));
  return { ...template };
}

/**
 * Apply the response work the rule left (remove, decrypt, force on `res.`) to the rows
 * about to be returned, with the rule engine's own `applyResponse`: every row is
 * processed, or the reply is refused (never a partially masked one).
 */
export async function processResponse<T>(decision: Allowed, rows: T, ctx: RuleContext = {}): Promise<T> {
  return applyResponseWork(decision, rows, ctx);
}

/** {@link processResponse} without a promise (the response work never waits). */
export function applyResponseWork<T>(decision: Allowed, rows: T, ctx: RuleContext = {}): T {
  if (!decision.response) return rows;
  let d: Decision;
  try {
    d = applyResponse(decision.response, rows, ctx);
  } catch (e) {
    throw new DfcError('DFC_ERR_RESPONSE_REFUSED', undefined, { detail: e instanceof Error ? e.message : String(e) });
  }
  if (!d.allow) throw new DfcError('DFC_ERR_RESPONSE_REFUSED', undefined, { detail: d.reason ?? 'response rule failed' });
  return rows;
}

/** A rule's decision; a promise only when the closure returned one. */
function runRule(fn: NonNullable<CompiledTable['rules']['read']>['fn'], input: RuleInput, ctx: RuleContext, key: string): Decision | Promise<Decision> {
  let d: Decision | Promise<Decision>;
  try {
    d = fn(input, ctx);
  } catch (e) {
    return ruleFailed(key, e);
  }
  if (d !== null && typeof d === 'object' && typeof (d as { then?: unknown }).then === 'function') {
    return Promise.resolve(d).then(
      (v) => checkedDecision(v, key),
      (e: unknown) => ruleFailed(key, e),
    );
  }
  return checkedDecision(d as Decision, key);
}

function checkedDecision(d: Decision | null | undefined, key: string): Decision {
  if (!d || typeof d.allow !== 'boolean') return { allow: false, reason: `rule ${q(key)} returned no decision` };
  return d;
}

/** invariant: a rule that throws (or rejects) denies (fail closed). */
function ruleFailed(key: string, e: unknown): Decision {
  return { allow: false, reason: `rule ${q(key)} failed`, ...(e instanceof Error ? { name: e.name } : {}) };
}

interface CollectionResult {
  passed: boolean;
  failed: string[];
  needsSession: boolean;
  events?: TraceEvent[];
  agrees?: boolean;
}

/** A collection's result; a promise only when its closure returned one or the run is traced. */
function runCollection(
  c: Collection,
  role: string,
  claims: Readonly<Record<string, unknown>> | null,
  args: RuleInput['args'],
  ctx: RuleContext,
  io?: IoRecorder,
): CollectionResult | Promise<CollectionResult> {
  if (c.fn) {
    // The module's closure evaluates the whole collection (implied `authenticated` included).
    // Requirements never change the request: a collection whose rules only read gets a
    // shallow copy (its generated closure writes nothing), any other a deep one.
    const input: RuleInput = { args: c.readOnly ? { ...args } : structuredClone(args), role };
    if (io) return tracedCollection(c, input, claims, ctx, io);
    const d = runRule(c.fn, input, ctx, c.key);
    return d instanceof Promise ? d.then((v) => collectionResult(c, v, claims)) : collectionResult(c, d, claims);
  }
  return builtinCollection(c, role, claims);
}

/** A passed collection, untraced (never changed: a traced run makes its own result). */
const PASSED: CollectionResult = Object.freeze({ passed: true, failed: Object.freeze([]) as unknown as string[], needsSession: false });

function collectionResult(c: Collection, d: Decision, claims: Readonly<Record<string, unknown>> | null, traced = false): CollectionResult {
  return d.allow
    ? traced
      ? { passed: true, failed: [], needsSession: false }
      : PASSED
    : { passed: false, failed: [...(d.failed ?? c.requirements.map((r) => r.name))], needsSession: d.code === 'unauthenticated' && !claims };
}

/** A collection run with its I/O recorded, then replayed through the interpreter for the trace. */
async function tracedCollection(c: Collection, input: RuleInput, claims: Readonly<Record<string, unknown>> | null, ctx: RuleContext, io: IoRecorder): Promise<CollectionResult> {
  const before = snapshot(input);
  const mark = io.mark;
  const d = await runRule(c.fn!, input, ctx, c.key);
  const out = collectionResult(c, d, claims, true);
  if (before) {
    const events: TraceEvent[] = [];
    const replay = io.replay(mark);
    const again = await evaluateRequirements(
      [{ collection: c.requirements, path: c.path, implicitAuthenticated: c.level === 'service' }],
      before,
      replay.ctx,
      { trace: events },
    ).catch(() => undefined);
    out.events = events;
    out.agrees = again !== undefined && again.allow === d.allow && !replay.diverged();
  }
  return out;
}

/** A collection without a closure: only allowAnonymous, authenticated and role requirements can pass. */
function builtinCollection(c: Collection, role: string, claims: Readonly<Record<string, unknown>> | null): CollectionResult {
  const pass = { passed: true, failed: [], needsSession: false };
  const failed: string[] = [];
  // Aptify: the endpoint collection holds an implied `authenticated` unless it allows anonymous.
  const implied = c.level === 'service' && !c.requirements.some((r) => r.type === 'allowAnonymous');
  let sessionWouldPass = implied;
  if (implied) {
    if (claims) return pass;
    failed.push('authenticated');
  }
  for (const r of c.requirements) {
    switch (r.type) {
      case 'allowAnonymous':
        return pass;
      case 'authenticated':
        if (claims) return pass;
        sessionWouldPass = true;
        break;
      case 'role':
        if (r.roles?.includes(role)) return pass;
        break;
      case 'rule':
        // invariant: without the module's closure a rule requirement cannot pass (fail closed).
        break;
    }
    failed.push(r.name);
  }
  // A 401 only when a session alone would have passed the collection.
  return { passed: false, failed, needsSession: !claims && sessionWouldPass };
}

/** The rule a compiled table rule was built from (`service/table/operation`, `default` for the fallback). */
function ruleSource(compiled: CompiledPolicy, key: string): Rule | undefined {
  const [service = '', table = '', op = ''] = key.split('/');
  const sets = compiled.policy.rules[service];
  const set = sets && Object.hasOwn(sets, table) ? sets[table] : undefined;
  return set && Object.hasOwn(set, op) ? set[op as Operation] : undefined;
}

/** The rule at config path `path` inside `rule` (whose own path is `base`), e.g. `….create.clauses[2]`. */
function subRule(rule: Rule | undefined, base: string, path: string | undefined): Rule | undefined {
  if (!rule || path === undefined || !path.startsWith(base)) return undefined;
  let cur: unknown = rule;
  const re = /\.([A-Za-z_$][\w$]*)|\[(\d+)\]/gy;
  const rest = path.slice(base.length);
  let m: RegExpExecArray | null;
  let at = 0;
  while (at < rest.length && (m = re.exec(rest)) !== null) {
    const k = m[1] ?? Number(m[2]);
    cur = cur !== null && typeof cur === 'object' && Object.hasOwn(cur, k) ? (cur as Record<string | number, unknown>)[k] : undefined;
    at = re.lastIndex;
  }
  return at === rest.length && cur !== null && typeof cur === 'object' && typeof (cur as { rule?: unknown }).rule === 'string' ? (cur as Rule) : undefined;
}

/** A copy of a rule input for the replay, or undefined when it cannot be copied. */
function snapshot(input: RuleInput): RuleInput | undefined {
  try {
    return structuredClone(input);
  } catch {
    return undefined;
  }
}

const MUTABLE_ARGS = ['find', 'doc', 'update'] as const;

/** What a rule changed in `args.find`, `args.doc` and `args.update`, field by field. */
export function mutations(before: RuleInput['args'], after: RuleInput['args']): Mutation[] {
  const out: Mutation[] = [];
  const walk = (a: unknown, b: unknown, path: string): void => {
    if (sameJson(a, b)) return;
    if (isRecord(a) && isRecord(b)) {
      const keys = [...new Set([...Object.keys(a), ...Object.keys(b)])].sort();
      for (const k of keys) walk(Object.hasOwn(a, k) ? a[k] : undefined, Object.hasOwn(b, k) ? b[k] : undefined, `${path}.${k}`);
      return;
    }
    const m: Mutation = { path };
    if (a !== undefined) m.before = a;
    if (b !== undefined) m.after = b;
    out.push(m);
  };
  for (const key of MUTABLE_ARGS) walk(before[key], after[key], `args.${key}`);
  return out;
}

function isRecord(x: unknown): x is Record<string, unknown> {
  return typeof x === 'object' && x !== null && !Array.isArray(x);
}

function forcedCondition(column: string, value: Json, table: CompiledTable | undefined): Where {
  // A forced condition on a column the table does not have cannot hold: nothing matches.
  if (table && !table.columns.has(column)) return FALSE;
  if (value === null) return { kind: 'null', column, negated: false };
  if (Array.isArray(value)) return { kind: 'in', column, values: value, negated: false };
  if (typeof value === 'object') return FALSE;
  return { kind: 'cmp', column, op: '=', value };
}

/** The `column = value` conditions at the top of a Where (what holds for every matching row). */
function equalities(where: Where): Record<string, unknown> | undefined {
  const items = where.kind === 'and' ? where.items : [where];
  let out: Record<string, unknown> | undefined;
  for (const w of items) {
    if (w.kind === 'cmp' && w.op === '=') (out ??= {})[w.column] = w.value;
  }
  return out;
}

function setOf(update: Record<string, unknown> | undefined): Record<string, unknown> {
  const s = update?.$set;
  return s && typeof s === 'object' && !Array.isArray(s) ? (s as Record<string, unknown>) : {};
}

function cloneUpdate(u: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(u)) out[k] = v && typeof v === 'object' && !Array.isArray(v) ? { ...(v as object) } : v;
  return out;
}

function sameJson(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  return JSON.stringify(a) === JSON.stringify(b);
}

