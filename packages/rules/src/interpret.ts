/**
 * The reference interpreter: Space Cloud's rule semantics with dfc's differences,
 * written to be read, not to be fast. It shares no evaluation code with the generator
 * or the runtime helpers (only the message texts), so that the differential tests
 * compare two independent implementations of one specification (docs/rules.md).
 */
import { createHash } from 'node:crypto';
import { FORBIDDEN_SEGMENTS, type Json, type PolicyRequirement, type Rule } from '@dfc/schema';
import { DEFAULT_WEBHOOK_TIMEOUT, msg, show, STATUS } from './messages.js';
import type { RequirementCollection } from './generate.js';
import type { Decision, DenialCode, EvaluateOptions, ResponseAction, RuleContext, RuleInput, TraceEvent, TracedOperand } from './types.js';
import { assertRequirements, assertRule } from './validate.js';

type AnyRule = Rule & { rule: string; name?: string; error?: string; clause?: AnyRule; clauses?: AnyRule[] };

/** Where a failure is reported from: the rule's config path, the outermost `error` and the nearest `name`. */
interface Site {
  path: string;
  override?: string;
  name?: string;
}

type Outcome = { ok: true } | { ok: false; decision: Decision };
const PASS: Outcome = { ok: true };

/** Per-evaluation state: the input, the host context and the response work collected so far. */
interface State {
  input: RuleInput;
  args: unknown;
  ctx: RuleContext | undefined;
  actions: ResponseAction[];
  /** Where traced events go (`EvaluateOptions.trace`); absent when not tracing. */
  trace?: TraceEvent[];
  /** The event of the node being evaluated, and its depth. */
  event?: TraceEvent;
  depth: number;
}

// ---------------------------------------------------------------------------
// Public API

/**
 * Evaluate a table rule (Space Cloud's top-level semantics: anything but `allow` needs a
 * session). With `options.trace`, every node evaluated is recorded there.
 */
export async function evaluate(rule: Rule, input: RuleInput, ctx?: RuleContext, path = 'rule', options: EvaluateOptions = {}): Promise<Decision> {
  assertRule(rule);
  const state = newState(input, ctx, options);
  const r = rule as AnyRule;
  if (r.rule !== 'allow' && !hasSession(state.args)) {
    const name = nonEmpty(r.name);
    const denial = makeDenial('unauthenticated', msg.unauthenticated(), path, name);
    // The root was reached: its session precondition decided.
    if (state.trace) settle(open(state, path, kindOf(r), name), { ok: false, decision: denial });
    return denial;
  }
  const outcome = await evalRule(r, enter({ path }, r, path), state);
  if (!outcome.ok) return outcome.decision;
  return conclude(state);
}

/** Evaluate requirement collections in order: all must pass; within one, any requirement passes it. */
export async function evaluateRequirements(
  collections: readonly RequirementCollection[],
  input: RuleInput,
  ctx?: RuleContext,
  options: EvaluateOptions = {},
): Promise<Decision> {
  for (const c of collections) assertRequirements(c.collection);
  const state = newState(input, ctx, options);
  for (const c of collections) {
    const event = state.trace ? open(state, c.path, 'collection') : undefined;
    state.depth++;
    const outcome = await evalCollection(c, state);
    state.depth--;
    if (event) settle(event, outcome);
    if (!outcome.ok) return outcome.decision;
  }
  return conclude(state);
}

/**
 * The interpreter's own application of response work to a row or rows (the runtime
 * has an independent `applyResponse`; the differential tests compare the two).
 */
export function applyResponseReference(actions: readonly ResponseAction[] | undefined, res: unknown, ctx?: RuleContext): Decision {
  if (!actions || actions.length === 0 || res === null || res === undefined) return { allow: true };
  let rows: unknown[];
  if (Array.isArray(res)) rows = res;
  else if (typeof res === 'object') rows = [res];
  else return makeDenial('response', msg.responseShape(), actions[0]!.path, actions[0]!.name);
  for (const row of rows) {
    if (!isPlainRecord(row)) return makeDenial('response', msg.responseRow(), actions[0]!.path, actions[0]!.name);
    for (const action of actions) {
      const problem = applyAction(action, row, ctx);
      if (problem !== undefined) return makeDenial('response', problem, action.path, action.name);
    }
  }
  return { allow: true };
}

// ---------------------------------------------------------------------------
// Decisions

function makeDenial(code: DenialCode, reason: string, path: string, name?: string, failed?: string[]): Decision {
  const d: Decision = { allow: false, status: STATUS[code], code, reason, path };
  if (name !== undefined) d.name = name;
  if (failed !== undefined) d.failed = failed;
  return d;
}

function fail(site: Site, code: DenialCode, reason: string): Outcome {
  return { ok: false, decision: makeDenial(code, site.override ?? reason, site.path, site.name) };
}

const isError = (o: Outcome) => !o.ok && o.decision.code === 'error';

function nonEmpty(s: unknown): string | undefined {
  return typeof s === 'string' && s !== '' ? s : undefined;
}

function enter(parent: Site, rule: AnyRule, path: string): Site {
  const site: Site = { path };
  const override = parent.override ?? nonEmpty(rule.error);
  if (override !== undefined) site.override = override;
  const name = nonEmpty(rule.name) ?? parent.name;
  if (name !== undefined) site.name = name;
  return site;
}

function newState(input: RuleInput, ctx: RuleContext | undefined, options: EvaluateOptions = {}): State {
  const args = isObjectLike(input) && Object.hasOwn(input, 'args') ? input.args : undefined;
  const state: State = { input, args, ctx, actions: [], depth: 0 };
  if (Array.isArray(options.trace)) state.trace = options.trace;
  return state;
}

// ---------------------------------------------------------------------------
// Tracing (EvaluateOptions.trace): records what ran; never changes an outcome.

function kindOf(rule: AnyRule): TraceEvent['kind'] {
  return (typeof rule.rule === 'string' ? rule.rule : 'unknown') as TraceEvent['kind'];
}

/** Append an event for a node about to be evaluated (outcome filled in by `settle`). */
function open(state: State, path: string, kind: TraceEvent['kind'], name?: string): TraceEvent {
  const event: TraceEvent = { path, depth: state.depth, kind, outcome: 'pass' };
  if (name !== undefined) event.name = name;
  state.trace!.push(event);
  return event;
}

function settle(event: TraceEvent, outcome: Outcome): void {
  if (outcome.ok) return;
  event.outcome = outcome.decision.code ?? 'denied';
  if (outcome.decision.reason !== undefined) event.reason = outcome.decision.reason;
}

/** A value as a trace keeps it: dates and other non-JSON values as their JSON form. */
function traced(value: unknown): unknown {
  if (value === undefined || value === null || typeof value !== 'object') return value;
  try {
    return JSON.parse(JSON.stringify(value)) as unknown;
  } catch {
    return String(value);
  }
}

/** The end of a passing evaluation: apply response work to `input.res`, or hand it over. */
function conclude(state: State): Decision {
  if (state.actions.length === 0) return { allow: true };
  const res = Object.hasOwn(state.input, 'res') ? state.input.res : undefined;
  if (res !== undefined) return applyResponseReference(state.actions, res, state.ctx);
  return { allow: true, response: state.actions };
}

// ---------------------------------------------------------------------------
// Values

function isObjectLike(x: unknown): x is Record<string, unknown> {
  return typeof x === 'object' && x !== null;
}

function isPlainRecord(x: unknown): x is Record<string, unknown> {
  return isObjectLike(x) && !Array.isArray(x);
}

function hasSession(args: unknown): boolean {
  return isPlainRecord(args) && Object.hasOwn(args, 'auth') && isPlainRecord(args.auth);
}

function isIndex(segment: string): boolean {
  return /^(0|[1-9][0-9]{0,14})$/.test(segment);
}

/** One step down a path: array elements by index, own properties of objects; undefined when absent. */
function step(value: unknown, segment: string): unknown {
  if (Array.isArray(value)) {
    if (!isIndex(segment)) return undefined;
    const i = Number(segment);
    return i < value.length ? value[i] : undefined;
  }
  if (isPlainRecord(value) && Object.hasOwn(value, segment)) return value[segment];
  return undefined;
}

function walk(root: unknown, segments: readonly string[]): unknown {
  let value = root;
  for (const s of segments) value = step(value, s);
  return value;
}

function segmentsOf(path: string, scope: 'args' | 'res'): string[] {
  return path.slice(scope.length + 1).split('.');
}

function touchesPrototype(segments: readonly string[]): boolean {
  return segments.some((s) => FORBIDDEN_SEGMENTS.has(s));
}

function isReference(v: unknown): v is string {
  return typeof v === 'string' && (v.startsWith('args.') || v.startsWith('utils.') || v.startsWith('res.'));
}

/** A copy of plain data; `__proto__` keys stay own keys. */
function copy(value: unknown): unknown {
  if (Array.isArray(value)) {
    const out: unknown[] = [];
    for (let i = 0; i < value.length; i++) out.push(copy(value[i]));
    return out;
  }
  if (isObjectLike(value)) {
    const proto = Object.getPrototypeOf(value);
    if (proto !== Object.prototype && proto !== null) return value;
    const out: Record<string, unknown> = {};
    for (const key of Object.keys(value)) {
      Object.defineProperty(out, key, { value: copy(value[key]), writable: true, enumerable: true, configurable: true });
    }
    return out;
  }
  return value;
}

/**
 * Resolve a reference: `args.…` (must exist), `utils.…` (a helper), `res.…` (not
 * available when rules run). The result or a failure.
 */
function resolve(ref: string, site: Site, state: State): { value: unknown } | { failure: Outcome } {
  if (ref.startsWith('res.')) return { failure: fail(site, 'error', msg.resInRule(ref)) };
  if (ref.startsWith('utils.')) return helper(ref, site, state);
  const segments = segmentsOf(ref, 'args');
  if (touchesPrototype(segments)) return { failure: fail(site, 'error', msg.forbidden(ref)) };
  const value = walk(state.args, segments);
  if (value === undefined) return { failure: fail(site, 'error', msg.missing(ref)) };
  return { value };
}

// ---------------------------------------------------------------------------
// Dates (epoch nanoseconds as BigInt; the offset in minutes is kept for output)

interface When {
  ns: bigint;
  offset: number;
}

const NS_PER_MS = 1_000_000n;
const NS_PER_S = 1_000_000_000n;

function utcMillis(y: number, mo: number, d: number, h = 0, mi = 0, s = 0): number | undefined {
  const date = new Date(0);
  date.setUTCFullYear(y, mo - 1, d);
  date.setUTCHours(h, mi, s, 0);
  const same =
    date.getUTCFullYear() === y && date.getUTCMonth() === mo - 1 && date.getUTCDate() === d &&
    date.getUTCHours() === h && date.getUTCMinutes() === mi && date.getUTCSeconds() === s;
  return same ? date.getTime() : undefined;
}

function readDate(value: unknown): When | undefined {
  if (value instanceof Date) {
    const ms = value.getTime();
    return Number.isNaN(ms) ? undefined : { ns: BigInt(ms) * NS_PER_MS, offset: 0 };
  }
  if (typeof value !== 'string') return undefined;
  const dateOnly = /^(\d{4})-(\d{2})-(\d{2})$/.exec(value);
  if (dateOnly) {
    const ms = utcMillis(Number(dateOnly[1]), Number(dateOnly[2]), Number(dateOnly[3]));
    return ms === undefined ? undefined : { ns: BigInt(ms) * NS_PER_MS, offset: 0 };
  }
  const full = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})$/.exec(value);
  if (!full) return undefined;
  const [, y, mo, d, h, mi, s, frac, zone] = full;
  const ms = utcMillis(Number(y), Number(mo), Number(d), Number(h), Number(mi), Number(s));
  if (ms === undefined) return undefined;
  let offset = 0;
  if (zone !== 'Z') {
    const oh = Number(zone!.slice(1, 3));
    const om = Number(zone!.slice(4, 6));
    if (oh > 23 || om > 59) return undefined;
    offset = (zone![0] === '-' ? -1 : 1) * (oh * 60 + om);
  }
  const nanos = frac ? BigInt(frac.slice(1).padEnd(9, '0')) : 0n;
  return { ns: BigInt(ms) * NS_PER_MS + nanos - BigInt(offset) * 60n * NS_PER_S, offset };
}

function floorDiv(a: bigint, b: bigint): bigint {
  const q = a / b;
  return a % b !== 0n && a < 0n !== b < 0n ? q - 1n : q;
}

function writeDate(when: When): string | undefined {
  const wall = when.ns + BigInt(when.offset) * 60n * NS_PER_S;
  const seconds = floorDiv(wall, NS_PER_S);
  const nanos = wall - seconds * NS_PER_S;
  const date = new Date(Number(seconds) * 1000);
  const year = date.getUTCFullYear();
  if (!(year >= 0 && year <= 9999)) return undefined;
  const two = (n: number) => String(n).padStart(2, '0');
  let text =
    String(year).padStart(4, '0') + '-' + two(date.getUTCMonth() + 1) + '-' + two(date.getUTCDate()) +
    'T' + two(date.getUTCHours()) + ':' + two(date.getUTCMinutes()) + ':' + two(date.getUTCSeconds());
  if (nanos !== 0n) text += '.' + nanos.toString().padStart(9, '0').replace(/0+$/, '');
  if (when.offset === 0) return text + 'Z';
  const a = Math.abs(when.offset);
  return text + (when.offset < 0 ? '-' : '+') + two(Math.floor(a / 60)) + ':' + two(a % 60);
}

function truncateDate(when: When, unit: string): When | undefined {
  const wall = when.ns + BigInt(when.offset) * 60n * NS_PER_S;
  const date = new Date(Number(floorDiv(wall, NS_PER_S)) * 1000);
  switch (unit) {
    case 'year':
      date.setUTCMonth(0, 1);
      date.setUTCHours(0, 0, 0, 0);
      break;
    case 'month':
      date.setUTCDate(1);
      date.setUTCHours(0, 0, 0, 0);
      break;
    case 'day':
      date.setUTCHours(0, 0, 0, 0);
      break;
    case 'hour':
      date.setUTCMinutes(0, 0, 0);
      break;
    case 'minute':
      date.setUTCSeconds(0, 0);
      break;
    case 'second':
      date.setUTCMilliseconds(0);
      break;
    default:
      return undefined;
  }
  return { ns: BigInt(date.getTime()) * NS_PER_MS - BigInt(when.offset) * 60n * NS_PER_S, offset: when.offset };
}

const UNIT_NANOS: ReadonlyMap<string, bigint> = new Map([
  ['h', 3600n * NS_PER_S],
  ['m', 60n * NS_PER_S],
  ['s', NS_PER_S],
  ['ms', NS_PER_MS],
  ['us', 1000n],
  ['µs', 1000n],
  ['μs', 1000n],
  ['ns', 1n],
]);

/** Go's duration syntax, e.g. `1h30m`, `-1.5h`, `250ms`; nanoseconds. */
function readDuration(text: unknown): bigint | undefined {
  if (typeof text !== 'string') return undefined;
  const m = /^([+-]?)(.*)$/s.exec(text)!;
  const negative = m[1] === '-';
  const body = m[2]!;
  if (body === '0') return 0n;
  if (body === '') return undefined;
  const parts = body.match(/(\d*)(\.(\d*))?([^\d.]+)/g);
  if (!parts || parts.join('') !== body) return undefined;
  let total = 0n;
  for (const part of parts) {
    const [, whole, dot, fraction, unit] = /^(\d*)(\.(\d*))?([^\d.]+)$/.exec(part)!;
    const factor = UNIT_NANOS.get(unit!);
    if (factor === undefined || (whole === '' && (fraction ?? '') === '')) return undefined;
    void dot;
    total += BigInt(whole || '0') * factor;
    if (fraction) total += (BigInt(fraction) * factor) / 10n ** BigInt(fraction.length);
    if (total > 9_223_372_036_854_775_807n + (negative ? 1n : 0n)) return undefined;
  }
  return negative ? -total : total;
}

// ---------------------------------------------------------------------------
// utils.*

function helper(text: string, site: Site, state: State): { value: unknown } | { failure: Outcome } {
  const bad = (reason: string) => ({ failure: fail(site, 'error', reason) });
  const open = text.indexOf('(');
  const close = open < 0 ? -1 : text.indexOf(')', open);
  if (open < 0 || close !== text.length - 1) return bad(msg.badHelper(text));
  const fn = text.slice('utils.'.length, open);
  const inner = text.slice(open + 1, close);
  const params = inner.trim() === '' ? [] : inner.split(',').map((p) => stripQuotes(p.trim()));
  for (const p of params) if (p.startsWith('utils.') || p.startsWith('res.')) return bad(msg.badHelperArgs(text));
  for (const p of params) if (p.startsWith('args.') && touchesPrototype(segmentsOf(p, 'args'))) return bad(msg.forbidden(p));
  /** A parameter's value: an `args.` path (must exist) or the text itself. */
  const param = (p: string): { value: unknown } | { failure: Outcome } =>
    p.startsWith('args.') ? resolve(p, site, state) : { value: p };

  switch (fn) {
    case 'exists': {
      if (params.length !== 1 || !params[0]!.startsWith('args.')) return bad(msg.badHelperArgs(text));
      return { value: walk(state.args, segmentsOf(params[0]!, 'args')) !== undefined };
    }
    case 'length': {
      if (params.length !== 1 || !params[0]!.startsWith('args.')) return bad(msg.badHelperArgs(text));
      const r = resolve(params[0]!, site, state);
      if ('failure' in r) return r;
      const v = r.value;
      if (typeof v === 'string') return { value: new TextEncoder().encode(v).length };
      if (Array.isArray(v)) return { value: v.length };
      if (isObjectLike(v)) return { value: Object.keys(v).length };
      return bad(msg.noLength(params[0]!));
    }
    case 'now': {
      if (params.length !== 0) return bad(msg.badHelperArgs(text));
      const clock = state.ctx && typeof state.ctx.now === 'function' ? state.ctx.now() : new Date();
      const when = readDate(clock);
      const out = when && writeDate(when);
      return out === undefined ? bad(msg.noClock()) : { value: out };
    }
    case 'addDuration':
    case 'roundUpDate': {
      if (params.length !== 2) return bad(msg.badHelperArgs(text));
      const [dateParam, other] = params as [string, string];
      // Literal parameters are checked before any path is read (they are part of the rule).
      if (!dateParam.startsWith('args.') && readDate(dateParam) === undefined) return bad(msg.badDate(dateParam));
      if (!other.startsWith('args.')) {
        if (fn === 'addDuration' && readDuration(other) === undefined) return bad(msg.badDuration(other));
        if (fn === 'roundUpDate' && truncateDate({ ns: 0n, offset: 0 }, other) === undefined) return bad(msg.badUnit(other));
      }
      const d = param(dateParam);
      if ('failure' in d) return d;
      const when = readDate(d.value);
      if (when === undefined) return bad(msg.badDate(dateParam));
      const o = param(other);
      if ('failure' in o) return o;
      let result: When | undefined;
      if (fn === 'addDuration') {
        const nanos = readDuration(o.value);
        if (nanos === undefined) return bad(msg.badDuration(other));
        result = { ns: when.ns + nanos, offset: when.offset };
      } else {
        result = typeof o.value === 'string' ? truncateDate(when, o.value) : undefined;
        if (result === undefined) return bad(msg.badUnit(other));
      }
      const out = writeDate(result);
      return out === undefined ? bad(msg.dateRange(text)) : { value: out };
    }
    default:
      return bad(msg.badHelper(text));
  }
}

function stripQuotes(p: string): string {
  if (p.length >= 2 && (p.startsWith("'") || p.startsWith('"')) && p.endsWith(p[0]!)) return p.slice(1, -1);
  return p;
}

// ---------------------------------------------------------------------------
// Rules

async function evalRule(rule: AnyRule, site: Site, state: State): Promise<Outcome> {
  if (!state.trace) return evalNode(rule, site, state);
  const event = open(state, site.path, kindOf(rule), nonEmpty(rule.name));
  const parent = state.event;
  state.event = event;
  state.depth++;
  try {
    const outcome = await evalNode(rule, site, state);
    settle(event, outcome);
    return outcome;
  } finally {
    state.depth--;
    state.event = parent;
  }
}

async function evalNode(rule: AnyRule, site: Site, state: State): Promise<Outcome> {
  switch (rule.rule) {
    case 'allow':
      return PASS;
    case 'deny':
      return fail(site, 'denied', msg.denied());
    case 'authenticated':
      return hasSession(state.args) ? PASS : fail(site, 'unauthenticated', msg.unauthenticated());
    case 'and': {
      const clauses = rule.clauses ?? [];
      if (clauses.length === 0) return fail(site, 'error', msg.empty('and'));
      for (const [i, clause] of clauses.entries()) {
        const o = await evalRule(clause, enter(site, clause, `${site.path}.clauses[${i}]`), state);
        if (!o.ok) return o;
      }
      return PASS;
    }
    case 'or': {
      const clauses = rule.clauses ?? [];
      if (clauses.length === 0) return fail(site, 'error', msg.empty('or'));
      let lastFailure: Outcome = PASS;
      let lastError: Outcome | undefined;
      for (const [i, clause] of clauses.entries()) {
        const mark = state.actions.length;
        const o = await evalRule(clause, enter(site, clause, `${site.path}.clauses[${i}]`), state);
        if (o.ok) return PASS;
        // Only the passing clause's response work counts (Space Cloud), and an `or`
        // whose clauses all fail reports an error if any clause erred (fail closed).
        state.actions.length = mark;
        lastFailure = o;
        if (isError(o)) lastError = o;
      }
      return lastError ?? lastFailure;
    }
    case 'match':
      return evalMatch(rule as AnyRule & Extract<Rule, { rule: 'match' }>, site, state);
    case 'remove':
    case 'force':
    case 'encrypt':
    case 'decrypt':
    case 'hash':
      return evalTransform(rule, site, state);
    case 'query':
      return evalQuery(rule as AnyRule & Extract<Rule, { rule: 'query' }>, site, state);
    case 'webhook':
      return evalWebhook(rule as AnyRule & Extract<Rule, { rule: 'webhook' }>, site, state);
    case 'code':
      return evalCode(rule as AnyRule & Extract<Rule, { rule: 'code' }>, site, state);
    default:
      return fail(site, 'error', msg.unknownRule((rule as { rule: unknown }).rule));
  }
}

const EVALS_BY_TYPE: Record<string, readonly string[]> = {
  string: ['==', '!=', 'in', 'notIn'],
  number: ['==', '!=', '>', '>=', '<', '<=', 'in', 'notIn'],
  bool: ['==', '!='],
  date: ['==', '!=', '>', '>=', '<', '<='],
};
const PLURAL: Record<string, string> = { string: 'strings', number: 'numbers', bool: 'booleans', date: 'dates' };
const TYPE_WORD: Record<string, 'string' | 'number' | 'boolean' | 'date'> = {
  string: 'string',
  number: 'number',
  bool: 'boolean',
  date: 'date',
};

/** A scalar operand of `type` (for dates, a parsed instant), or a failure. `seen` gets the value as read. */
function scalarOperand(operand: Json, type: string, site: Site, state: State, seen: { value?: unknown } = {}): { value: unknown } | { failure: Outcome } {
  const word = TYPE_WORD[type]!;
  if (isReference(operand)) {
    const r = resolve(operand, site, state);
    if ('failure' in r) return r;
    seen.value = r.value;
    if (type === 'date') {
      const when = readDate(r.value);
      return when ? { value: when } : { failure: fail(site, 'error', msg.badDate(operand)) };
    }
    const jsType = type === 'bool' ? 'boolean' : type;
    return typeof r.value === jsType ? r : { failure: fail(site, 'error', msg.notA(operand, word)) };
  }
  seen.value = operand;
  if (type === 'date') {
    if (typeof operand !== 'string') return { failure: fail(site, 'error', msg.notA(operand, 'date')) };
    const when = readDate(operand);
    return when ? { value: when } : { failure: fail(site, 'error', msg.badDate(operand)) };
  }
  const jsType = type === 'bool' ? 'boolean' : type;
  if (typeof operand === jsType) return { value: operand };
  if (typeof operand === 'string' && type !== 'string') return { failure: fail(site, 'error', msg.notVariable(operand, word)) };
  return { failure: fail(site, 'error', msg.notA(operand, word)) };
}

/** The list operand of `in`/`notIn`. `seen` gets the list as read. */
function listOperand(operand: Json, op: string, type: 'string' | 'number', site: Site, state: State, seen: { value?: unknown } = {}): { list: unknown[] } | { failure: Outcome } {
  if (Array.isArray(operand)) {
    const list: unknown[] = [];
    const done = (): { list: unknown[] } => {
      seen.value = list;
      return { list };
    };
    for (const element of operand) {
      if (isReference(element)) {
        const r = resolve(element, site, state);
        if ('failure' in r) return r;
        if (typeof r.value !== type) return { failure: fail(site, 'error', msg.notA(element, type)) };
        list.push(r.value);
      } else if (typeof element === type) {
        list.push(element);
      } else if (typeof element === 'string') {
        return { failure: fail(site, 'error', msg.notVariable(element, type)) };
      } else {
        return { failure: fail(site, 'error', msg.notA(element, type)) };
      }
    }
    return done();
  }
  if (isReference(operand)) {
    const r = resolve(operand, site, state);
    if ('failure' in r) return r;
    seen.value = r.value;
    if (!Array.isArray(r.value) || !r.value.every((x) => typeof x === type)) {
      return { failure: fail(site, 'error', msg.notA(operand, type === 'string' ? 'list of strings' : 'list of numbers')) };
    }
    return { list: r.value };
  }
  return { failure: fail(site, 'error', msg.needsList(op, operand)) };
}

function compare(op: string, a: number | string | boolean | bigint, b: number | string | boolean | bigint): boolean {
  switch (op) {
    case '==':
      return a === b;
    case '!=':
      return a !== b;
    case '<':
      return a < b;
    case '<=':
      return a <= b;
    case '>':
      return a > b;
    case '>=':
      return a >= b;
  }
  return false;
}

async function evalMatch(rule: Extract<Rule, { rule: 'match' }>, site: Site, state: State): Promise<Outcome> {
  const { type, f1, f2 } = rule;
  const op = rule.eval;
  if (!Object.hasOwn(EVALS_BY_TYPE, type)) return fail(site, 'error', msg.unknownType(type));
  if (!['==', '!=', '>', '>=', '<', '<=', 'in', 'notIn'].includes(op)) return fail(site, 'error', msg.unknownEval(op));
  if (!EVALS_BY_TYPE[type]!.includes(op)) return fail(site, 'error', msg.cannotCompare(op, PLURAL[type]!));
  // The operands' values as read, for a trace (an operand that could not be read has none).
  const seen1: { value?: unknown } = {};
  const seen2: { value?: unknown } = {};
  try {
    const a = scalarOperand(f1, type, site, state, seen1);
    if ('failure' in a) return a.failure;
    let holds: boolean;
    if (op === 'in' || op === 'notIn') {
      const l = listOperand(f2, op, type as 'string' | 'number', site, state, seen2);
      if ('failure' in l) return l.failure;
      const member = l.list.includes(a.value);
      holds = op === 'in' ? member : !member;
    } else {
      const b = scalarOperand(f2, type, site, state, seen2);
      if ('failure' in b) return b.failure;
      if (type === 'date') holds = compare(op, (a.value as When).ns, (b.value as When).ns);
      else holds = compare(op, a.value as number, b.value as number);
    }
    return holds ? PASS : fail(site, 'denied', msg.mismatch(f1, op, f2));
  } finally {
    if (state.event) state.event.match = { eval: op, type, f1: tracedOperand(f1, seen1), f2: tracedOperand(f2, seen2) };
  }
}

function tracedOperand(expr: Json, seen: { value?: unknown }): TracedOperand {
  return Object.hasOwn(seen, 'value') ? { expr, value: traced(seen.value) } : { expr };
}

// ---------------------------------------------------------------------------
// Transforms

/** Run a transform's `clause`: undefined to go ahead, PASS to skip the transform, a failure to deny. */
async function checkClause(rule: AnyRule, site: Site, state: State): Promise<Outcome | undefined> {
  if (rule.clause === undefined) return undefined;
  const mark = state.actions.length;
  const o = await evalRule(rule.clause, enter(site, rule.clause, `${site.path}.clause`), state);
  if (o.ok) return undefined;
  if (isError(o)) return o;
  // A clause that does not hold skips the transform (and drops its own response work).
  state.actions.length = mark;
  return PASS;
}

function target(field: string, site: Site): { res: boolean; segments: string[] } | { failure: Outcome } {
  const res = field.startsWith('res.');
  if (!res && !field.startsWith('args.')) return { failure: fail(site, 'error', msg.badField(field)) };
  const segments = segmentsOf(field, res ? 'res' : 'args');
  if (touchesPrototype(segments)) return { failure: fail(site, 'error', msg.forbidden(field)) };
  return { res, segments };
}

function makeAction(op: ResponseAction['op'], field: string, segments: string[], site: Site, value?: { v: unknown }): ResponseAction {
  const a: ResponseAction = { op, field, segments, path: site.path };
  if (value) a.value = value.v;
  if (site.name !== undefined) a.name = site.name;
  return a;
}

function setOwn(container: Record<string, unknown> | unknown[], key: string, value: unknown): boolean {
  if (Array.isArray(container)) {
    if (!isIndex(key) || Number(key) >= container.length) return false;
    container[Number(key)] = value;
    return true;
  }
  Object.defineProperty(container, key, { value, writable: true, enumerable: true, configurable: true });
  return true;
}

/** Store a value, creating missing intermediate objects; false when the path is blocked. */
function store(root: unknown, segments: readonly string[], value: unknown): boolean {
  return attempt(() => storeUnguarded(root, segments, value));
}

function storeUnguarded(root: unknown, segments: readonly string[], value: unknown): boolean {
  if (!isPlainRecord(root)) return false;
  let here: unknown = root;
  for (const s of segments.slice(0, -1)) {
    let next = step(here, s);
    if (next === undefined) {
      if (!isPlainRecord(here)) return false;
      next = {};
      setOwn(here, s, next);
    } else if (!isObjectLike(next)) {
      return false;
    }
    here = next;
  }
  if (!isObjectLike(here)) return false;
  return setOwn(here as Record<string, unknown>, segments[segments.length - 1]!, value);
}

/** Delete a field; absent is fine, a field inside an array cannot be removed. */
function erase(root: unknown, segments: readonly string[]): boolean {
  const container = walk(root, segments.slice(0, -1));
  if (!isObjectLike(container)) return true;
  if (Array.isArray(container)) return false;
  const key = segments[segments.length - 1]!;
  return attempt(() => {
    if (Object.hasOwn(container, key)) delete container[key];
    return true;
  });
}

/** Encrypt/decrypt/hash a string field in place; a message on failure. */
function rewrite(root: unknown, segments: readonly string[], field: string, op: 'encrypt' | 'decrypt' | 'hash', ctx: RuleContext | undefined): string | undefined {
  const container = walk(root, segments.slice(0, -1));
  if (!isObjectLike(container)) return undefined;
  const key = segments[segments.length - 1]!;
  const value = step(container, key);
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string') return msg.notStringField(field);
  let out: unknown;
  if (op === 'hash') {
    out = createHash('sha256').update(Buffer.from(value, 'utf8')).digest().toString('base64');
  } else {
    if (!ctx?.crypto) return msg.noCrypto();
    try {
      out = op === 'encrypt' ? ctx.crypto.encrypt(value, key) : ctx.crypto.decrypt(value, key);
    } catch {
      out = undefined;
    }
    if (typeof out !== 'string') return op === 'decrypt' ? msg.notDecryptable(field) : msg.notEncryptable(field);
  }
  const written = attempt(() => setOwn(container as Record<string, unknown>, key, out));
  return written ? undefined : op === 'decrypt' ? msg.notDecryptable(field) : msg.notEncryptable(field);
}

/** Run a write; a frozen or sealed target makes it fail rather than throw. */
function attempt(write: () => boolean): boolean {
  try {
    return write();
  } catch {
    return false;
  }
}

function applyAction(action: ResponseAction, row: Record<string, unknown>, ctx: RuleContext | undefined): string | undefined {
  switch (action.op) {
    case 'remove':
      return erase(row, action.segments) ? undefined : msg.notRemovable(action.field);
    case 'force':
      return store(row, action.segments, copy(action.value)) ? undefined : msg.notSettable(action.field);
    default:
      return rewrite(row, action.segments, action.field, action.op, ctx);
  }
}

async function evalTransform(rule: AnyRule, site: Site, state: State): Promise<Outcome> {
  const event = state.event;
  const gate = await checkClause(rule, site, state);
  if (gate !== undefined) {
    if (event && gate.ok) event.applied = false;
    return gate;
  }
  if (event) event.applied = true;
  if (rule.rule === 'force') {
    const r = rule as Extract<Rule, { rule: 'force' }>;
    const t = target(r.field, site);
    if ('failure' in t) return t.failure;
    let value: unknown;
    if (isReference(r.value)) {
      const v = resolve(r.value, site, state);
      if ('failure' in v) return v.failure;
      value = r.value.startsWith('args.') ? copy(v.value) : v.value;
    } else {
      value = copy(r.value);
    }
    if (t.res) {
      state.actions.push(makeAction('force', r.field, t.segments, site, { v: value }));
      return PASS;
    }
    return store(state.args, t.segments, value) ? PASS : fail(site, 'error', msg.notSettable(r.field));
  }
  const op = rule.rule as 'remove' | 'encrypt' | 'decrypt' | 'hash';
  for (const field of (rule as { fields: string[] }).fields) {
    const t = target(field, site);
    if ('failure' in t) return t.failure;
    if (t.res) {
      state.actions.push(makeAction(op, field, t.segments, site));
      continue;
    }
    if (op === 'remove') {
      if (!erase(state.args, t.segments)) return fail(site, 'error', msg.notRemovable(field));
      continue;
    }
    const problem = rewrite(state.args, t.segments, field, op, state.ctx);
    if (problem !== undefined) return fail(site, 'error', problem);
  }
  return PASS;
}

// ---------------------------------------------------------------------------
// query, webhook, code

function storeTarget(storePath: string | undefined, site: Site): { segments: string[] } | { failure: Outcome } {
  const where = storePath ?? 'args.result';
  if (!where.startsWith('args.')) return { failure: fail(site, 'error', msg.badStore(where)) };
  const segments = segmentsOf(where, 'args');
  if (touchesPrototype(segments)) return { failure: fail(site, 'error', msg.forbidden(where)) };
  return { segments };
}

/** A `find` with every `args.`/`utils.` string replaced by its value (depth first, in key order). */
function resolveFind(value: Json, site: Site, state: State): { value: unknown } | { failure: Outcome } {
  if (isReference(value)) return resolve(value, site, state);
  if (Array.isArray(value)) {
    const out: unknown[] = [];
    for (const v of value) {
      const r = resolveFind(v, site, state);
      if ('failure' in r) return r;
      out.push(r.value);
    }
    return { value: out };
  }
  if (isObjectLike(value)) {
    const out: Record<string, unknown> = {};
    for (const key of Object.keys(value)) {
      const r = resolveFind((value as Record<string, Json>)[key]!, site, state);
      if ('failure' in r) return r;
      setOwn(out, key, r.value);
    }
    return { value: out };
  }
  return { value };
}

async function evalQuery(rule: Extract<Rule, { rule: 'query' }>, site: Site, state: State): Promise<Outcome> {
  const where = storeTarget(rule.store, site);
  if ('failure' in where) return where.failure;
  const event = state.event;
  if (event) event.query = { db: rule.db, col: rule.col };
  const find = resolveFind(rule.find, site, state);
  if ('failure' in find) return find.failure;
  if (event?.query) event.query.find = traced(find.value);
  if (typeof state.ctx?.query !== 'function') return fail(site, 'error', msg.noQuery());
  let rows: unknown;
  try {
    rows = await state.ctx.query(rule.db, rule.col, find.value as Record<string, Json>);
  } catch {
    return fail(site, 'error', msg.queryFailed(rule.db, rule.col));
  }
  if (!Array.isArray(rows)) return fail(site, 'error', msg.queryFailed(rule.db, rule.col));
  if (event?.query) event.query.rows = rows.length;
  if (!store(state.args, where.segments, rows)) return fail(site, 'error', msg.notSettable(rule.store ?? 'args.result'));
  if (rule.clause !== undefined) {
    const clause = rule.clause as AnyRule;
    return evalRule(clause, enter(site, clause, `${site.path}.clause`), state);
  }
  // Without a clause the rule holds when a row was found (Space Cloud's code would crash).
  return rows.length > 0 ? PASS : fail(site, 'denied', msg.queryEmpty(rule.db, rule.col));
}

async function evalWebhook(rule: Extract<Rule, { rule: 'webhook' }>, site: Site, state: State): Promise<Outcome> {
  const where = storeTarget(rule.store, site);
  if ('failure' in where) return where.failure;
  const event = state.event;
  if (event) event.webhook = { url: rule.url };
  const fetcher = state.ctx?.fetch;
  if (typeof fetcher !== 'function') return fail(site, 'error', msg.noFetch());
  const timeoutMs = typeof rule.timeout === 'number' ? rule.timeout : DEFAULT_WEBHOOK_TIMEOUT;
  let answer: unknown;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timedOut = Symbol('timed out');
  try {
    // The body is `args` without the caller's raw token.
    const body: Record<string, unknown> = {};
    if (isPlainRecord(state.args)) {
      for (const key of Object.keys(state.args)) if (key !== 'token') setOwn(body, key, state.args[key]);
    }
    const call = fetcher.call(state.ctx, rule.url, { body: JSON.stringify(body), timeoutMs });
    answer = await Promise.race([call, new Promise((resolve) => (timer = setTimeout(() => resolve(timedOut), timeoutMs)))]);
  } catch {
    return fail(site, 'error', msg.webhookFailed(rule.url));
  } finally {
    clearTimeout(timer);
  }
  if (answer === timedOut) return fail(site, 'error', msg.webhookTimeout(rule.url));
  if (!isPlainRecord(answer) || typeof answer.status !== 'number') return fail(site, 'error', msg.webhookFailed(rule.url));
  if (event?.webhook) event.webhook.status = answer.status;
  if (!(answer.status >= 200 && answer.status < 300)) return fail(site, 'denied', msg.webhookRefused(rule.url));
  if (answer.body === undefined) return fail(site, 'error', msg.webhookNotJson(rule.url));
  if (!store(state.args, where.segments, answer.body)) return fail(site, 'error', msg.notSettable(rule.store ?? 'args.result'));
  if (rule.clause !== undefined) {
    const clause = rule.clause as AnyRule;
    return evalRule(clause, enter(site, clause, `${site.path}.clause`), state);
  }
  return PASS;
}

async function evalCode(rule: Extract<Rule, { rule: 'code' }>, site: Site, state: State): Promise<Outcome> {
  const table = state.ctx?.code;
  const fn = isObjectLike(table) && Object.hasOwn(table, rule.id) ? table[rule.id] : undefined;
  if (typeof fn !== 'function') return fail(site, 'error', msg.codeMissing());
  let result: unknown;
  try {
    result = fn(state.args as Record<string, unknown>);
    if (rule.async) result = await result;
  } catch {
    return fail(site, 'error', msg.codeFailed());
  }
  if (result === true) return PASS;
  // A synchronous rule that returned a promise is not `true`: deny, and keep its rejection quiet.
  if (!rule.async && isObjectLike(result) && typeof (result as { then?: unknown }).then === 'function') {
    (result as unknown as Promise<unknown>).then(undefined, () => undefined);
  }
  return fail(site, 'denied', msg.codeDenied());
}

// ---------------------------------------------------------------------------
// Requirement collections

async function evalCollection(c: RequirementCollection, state: State): Promise<Outcome> {
  const requirements: PolicyRequirement[] = [...c.collection];
  const implied = c.implicitAuthenticated && !requirements.some((r) => r.type === 'allowAnonymous');
  if (implied) requirements.unshift({ name: 'authenticated', type: 'authenticated' });
  if (requirements.length === 0) return { ok: false, decision: makeDenial('error', msg.emptyCollection(), c.path) };
  let erred = false;
  for (const [i, req] of requirements.entries()) {
    // The implied requirement is reported at the collection's path (it has no name of its own).
    const event = state.trace ? requirementEvent(state, c, req, implied && i === 0) : undefined;
    const failed = (code: DenialCode, reason: string) => {
      if (event) {
        event.outcome = code;
        event.reason = reason;
      }
    };
    switch (req.type) {
      case 'allowAnonymous':
        return PASS;
      case 'authenticated':
        if (hasSession(state.args)) return PASS;
        failed('unauthenticated', msg.unauthenticated());
        break;
      case 'role': {
        const role = Object.hasOwn(state.input, 'role') ? state.input.role : undefined;
        if (typeof role === 'string' && (req.roles ?? []).includes(role)) return PASS;
        failed('denied', typeof role === 'string' ? `role \`${show(role)}\` is not one of the roles listed` : 'the caller has no role');
        break;
      }
      case 'rule': {
        const rule = req.rule as AnyRule;
        const path = `${c.path}.${req.name}.rule`;
        const mark = state.actions.length;
        state.depth++;
        const o = await evalRule(rule, enter({ path }, rule, path), state);
        state.depth--;
        if (o.ok) return PASS;
        failed(o.decision.code ?? 'denied', o.decision.reason ?? msg.denied());
        state.actions.length = mark;
        if (isError(o)) erred = true;
        break;
      }
    }
  }
  const names = requirements.map((r) => r.name);
  const needsSession = requirements.some((r) => r.type === 'authenticated');
  const code: DenialCode = needsSession && !hasSession(state.args) ? 'unauthenticated' : erred ? 'error' : 'denied';
  return { ok: false, decision: makeDenial(code, msg.requirementsFailed(names), c.path, undefined, names) };
}

function requirementEvent(state: State, c: RequirementCollection, req: PolicyRequirement, implied: boolean): TraceEvent {
  const event = open(state, implied ? c.path : `${c.path}.${req.name}`, 'requirement', req.name);
  event.requirement = implied ? { type: req.type, implied: true } : req.roles ? { type: req.type, roles: req.roles } : { type: req.type };
  return event;
}
