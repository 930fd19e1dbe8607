/**
 * `@dfc/rules/runtime`: the helpers that generated rule modules (policy.mjs) import,
 * plus what a host needs around them (`applyResponse`, `lookupRule`, `allOf`).
 *
 * Everything here reads own properties only, never creates a property named by a
 * forbidden segment (rules are validated before they are compiled), and never throws
 * on request data: failures are return values that the generated code turns into
 * denials. This module shares no code with the reference interpreter, on purpose.
 */
import { createHash } from 'node:crypto';
import { msg, STATUS } from '../messages.js';
import type { CompiledRule, Decision, DenialCode, ResponseAction, RuleContext, RuleInput } from '../types.js';
import { addNanos, compareInstants, formatInstant, parseDate, parseDuration, truncateInstant, type Instant } from './dates.js';

export { addNanos, compareInstants, formatInstant, parseDate, parseDuration, truncateInstant };
export type { Instant };
export type { CompiledRule, Decision, DenialCode, ResponseAction, RuleContext, RuleInput };

/** The one allowing decision without response work (frozen, shared). */
export const ALLOW: Decision = Object.freeze({ allow: true });

const hasOwn = Object.hasOwn;
/** `Array.isArray`. */
export const isArray: (x: unknown) => x is unknown[] = Array.isArray;
const getPrototypeOf = Object.getPrototypeOf;

/**
 * `Object.prototype`, read by generated code at each property read (`baseProto["k"]`,
 * a fast monomorphic load) to know whether a plain object's `k` could be inherited.
 */
export const baseProto: Readonly<Record<string, unknown>> = Object.prototype as Readonly<Record<string, unknown>>;

/**
 * An own-property read made fast: generated code reads `v = p["k"]` directly (a
 * monomorphic load) and passes what `Object.prototype` has under `k`. The value counts
 * only if `p` owns it: certain for a plain or null-prototype object when
 * `Object.prototype` has no `k`; otherwise `Object.hasOwn` decides (arrays never own a
 * non-index key here). `p` is a non-null object.
 */
export function rd(p: object, v: unknown, k: string, inherited: unknown): unknown {
  if (v === undefined) return undefined;
  const proto: unknown = getPrototypeOf(p);
  if (proto === null || (proto === Object.prototype && inherited === undefined)) return v;
  return !isArray(p) && hasOwn(p, k) ? v : undefined;
}

/** A non-null, non-array object. */
export function isObj(x: unknown): x is Record<string, unknown> {
  return typeof x === 'object' && x !== null && !isArray(x);
}

function isRecord(x: unknown): x is Record<string, unknown> {
  return typeof x === 'object' && x !== null && !isArray(x);
}

/** `x[k]` when `x` is a non-array object that has `k` as an own property; otherwise undefined. */
export function own(x: unknown, k: string): unknown {
  return typeof x === 'object' && x !== null && !isArray(x) && hasOwn(x, k) ? (x as Record<string, unknown>)[k] : undefined;
}

/** For a segment that is a canonical index (`0`, `12`): an array's element, or an object's own property. */
export function at(x: unknown, k: string): unknown {
  if (isArray(x)) {
    const i = Number(k);
    return i < x.length ? (x[i] as unknown) : undefined;
  }
  return own(x, k);
}

const INDEX = /^(?:0|[1-9][0-9]{0,14})$/;

function isIndex(k: string): boolean {
  const c = k.charCodeAt(0);
  return c >= 48 && c <= 57 && INDEX.test(k);
}

/** Read one segment with the same rule as generated code (`at` for index segments, `own` otherwise). */
export function seg(x: unknown, k: string): unknown {
  return isIndex(k) ? at(x, k) : own(x, k);
}

/** Whether the request carries a session: `args.auth` is an object. */
export function authed(args: unknown): boolean {
  if (typeof args !== 'object' || args === null) return false;
  return isRecord(rd(args, (args as { auth?: unknown }).auth, 'auth', baseProto.auth));
}

/** A frozen denial; generated modules hoist one per place a rule can deny. */
export function denial(code: DenialCode, reason: string, path: string, name?: string, failed?: readonly string[]): Decision {
  const d: Decision = { allow: false, status: STATUS[code], code, reason, path };
  if (name !== undefined) d.name = name;
  if (failed !== undefined) d.failed = Object.freeze(failed.slice());
  return Object.freeze(d);
}

/** A frozen response action (remove/encrypt/decrypt/hash of a `res.` field). */
export function action(op: ResponseAction['op'], field: string, segments: readonly string[], path: string, name?: string): ResponseAction {
  const a: ResponseAction = { op, field, segments: Object.freeze(segments.slice()), path };
  if (name !== undefined) a.name = name;
  return Object.freeze(a);
}

/** A `force` action carrying the value resolved when the rule ran. */
export function forced(a: ResponseAction, value: unknown): ResponseAction {
  const out: ResponseAction = { op: a.op, field: a.field, segments: a.segments, value, path: a.path };
  if (a.name !== undefined) out.name = a.name;
  return Object.freeze(out);
}

/** Parse hoisted JSON data once, deeply frozen (JSON.parse keeps `__proto__` as an own key). */
export function json(text: string): unknown {
  return deepFreeze(JSON.parse(text) as unknown);
}

function deepFreeze<T>(v: T): T {
  if (typeof v === 'object' && v !== null) {
    for (const k of Object.keys(v)) deepFreeze((v as Record<string, unknown>)[k]);
    Object.freeze(v);
  }
  return v;
}

function define(o: Record<string, unknown>, k: string, v: unknown): void {
  // Plain assignment would call the `__proto__` setter; defineProperty makes an own key.
  if (k === '__proto__') Object.defineProperty(o, k, { value: v, writable: true, enumerable: true, configurable: true });
  else o[k] = v;
}

/** A copy of plain data (arrays and plain objects); other values as they are. */
export function clone(v: unknown): unknown {
  if (isArray(v)) {
    const out: unknown[] = [];
    for (let i = 0; i < v.length; i++) out.push(clone(v[i]));
    return out;
  }
  if (typeof v === 'object' && v !== null) {
    const proto = Object.getPrototypeOf(v);
    if (proto !== Object.prototype && proto !== null) return v;
    const out: Record<string, unknown> = {};
    for (const k of Object.keys(v)) define(out, k, clone((v as Record<string, unknown>)[k]));
    return out;
  }
  return v;
}

/** A plain object from entries (keys are data, so `__proto__` stays an own key). */
export function obj(entries: readonly (readonly [string, unknown])[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of entries) define(out, k, v);
  return out;
}

/** A Set for an `in` list of constants. */
export function set(values: readonly unknown[]): ReadonlySet<unknown> {
  return new Set(values);
}

/** An array whose elements are all strings (or numbers), else undefined. */
export function strings(v: unknown): readonly string[] | undefined {
  if (!isArray(v)) return undefined;
  for (let i = 0; i < v.length; i++) if (typeof v[i] !== 'string') return undefined;
  return v as string[];
}
export function numbers(v: unknown): readonly number[] | undefined {
  if (!isArray(v)) return undefined;
  for (let i = 0; i < v.length; i++) if (typeof v[i] !== 'number') return undefined;
  return v as number[];
}

/** A frozen null-prototype object of named entries (the module's exported tables). */
export function table<T>(entries: readonly (readonly [string, T])[]): Readonly<Record<string, T>> {
  const out = Object.create(null) as Record<string, T>;
  for (const [k, v] of entries) Object.defineProperty(out, k, { value: v, enumerable: true });
  return Object.freeze(out);
}

/** Mark a generated closure with whether it may return a promise, and freeze it. */
export function defineRule(fn: (input: RuleInput, ctx?: RuleContext) => Decision | Promise<Decision>, async: boolean): CompiledRule {
  Object.defineProperty(fn, 'async', { value: async, enumerable: true });
  return Object.freeze(fn) as CompiledRule;
}

// ---------------------------------------------------------------------------
// utils.*

/** `utils.length`: items of an array, keys of an object, UTF-8 bytes of a string. */
export function length(v: unknown): number | undefined {
  if (typeof v === 'string') return Buffer.byteLength(v, 'utf8');
  if (isArray(v)) return v.length;
  if (typeof v === 'object' && v !== null) return Object.keys(v).length;
  return undefined;
}

/** `utils.now()` from the host's clock (or the real one). */
export function now(ctx: RuleContext | undefined): string | undefined {
  const d = ctx !== undefined && typeof ctx.now === 'function' ? ctx.now() : new Date();
  const t = parseDate(d);
  return t === undefined ? undefined : formatInstant(t);
}

// ---------------------------------------------------------------------------
// Writing into args and rows

/**
 * Set a value below `root`, creating missing intermediate objects. False when an
 * intermediate exists but is not an object, or the last container cannot take the key.
 */
export function setPath(root: unknown, segments: readonly string[], value: unknown): boolean {
  try {
    return setPathUnguarded(root, segments, value);
  } catch {
    // A frozen or sealed object on the way: the write fails, the rule denies.
    return false;
  }
}

function setPathUnguarded(root: unknown, segments: readonly string[], value: unknown): boolean {
  if (!isRecord(root)) return false;
  let cur: unknown = root;
  const last = segments.length - 1;
  for (let i = 0; i < last; i++) {
    const k = segments[i]!;
    let next = seg(cur, k);
    if (next === undefined) {
      if (!isRecord(cur)) return false;
      next = {};
      define(cur, k, next);
    } else if (typeof next !== 'object' || next === null) {
      return false;
    }
    cur = next;
  }
  return put(cur, segments[last]!, value);
}

function put(container: unknown, k: string, value: unknown): boolean {
  if (isArray(container)) {
    if (!isIndex(k) || Number(k) >= container.length) return false;
    container[Number(k)] = value;
    return true;
  }
  if (!isRecord(container)) return false;
  define(container, k, value);
  return true;
}

/** Remove a field below `root`. Nothing to remove is fine; false only when the field sits in an array. */
export function removePath(root: unknown, segments: readonly string[]): boolean {
  let cur: unknown = root;
  const last = segments.length - 1;
  for (let i = 0; i < last; i++) {
    cur = seg(cur, segments[i]!);
    if (typeof cur !== 'object' || cur === null) return true;
  }
  if (isArray(cur)) return false;
  if (!isRecord(cur)) return true;
  const k = segments[last]!;
  try {
    // `delete` only ever removes an own property, so no ownership check is needed.
    delete cur[k];
  } catch {
    return false;
  }
  return true;
}

/** Result codes of `transformPath`. */
export const TRANSFORM_OK = 0;
export const TRANSFORM_NOT_STRING = 1;
export const TRANSFORM_NO_CRYPTO = 2;
export const TRANSFORM_FAILED = 3;

/** SHA-256 of the UTF-8 text, standard base64 (dfc's one `hash` encoding). */
export function hashString(s: string): string {
  return createHash('sha256').update(s, 'utf8').digest('base64');
}

/**
 * Encrypt, decrypt or hash a string field below `root` in place. A missing or null
 * field is left alone (there is nothing to protect); any other non-string is refused.
 */
export function transformPath(root: unknown, segments: readonly string[], op: 'encrypt' | 'decrypt' | 'hash', ctx: RuleContext | undefined): number {
  let cur: unknown = root;
  const last = segments.length - 1;
  for (let i = 0; i < last; i++) {
    cur = seg(cur, segments[i]!);
    if (typeof cur !== 'object' || cur === null) return TRANSFORM_OK;
  }
  const k = segments[last]!;
  const value = seg(cur, k);
  if (value === undefined || value === null) return TRANSFORM_OK;
  if (typeof value !== 'string') return TRANSFORM_NOT_STRING;
  let out: string;
  if (op === 'hash') out = hashString(value);
  else {
    const crypto = ctx?.crypto;
    if (crypto === undefined || crypto === null) return TRANSFORM_NO_CRYPTO;
    try {
      out = op === 'encrypt' ? crypto.encrypt(value, k) : crypto.decrypt(value, k);
    } catch {
      return TRANSFORM_FAILED;
    }
    if (typeof out !== 'string') return TRANSFORM_FAILED;
  }
  try {
    return put(cur, k, out) ? TRANSFORM_OK : TRANSFORM_FAILED;
  } catch {
    return TRANSFORM_FAILED;
  }
}

// ---------------------------------------------------------------------------
// Response work

/** The decision that ends a generated closure: allow, with `res` work applied or handed over. */
export function finish(input: RuleInput, ctx: RuleContext | undefined, acts: ResponseAction[]): Decision {
  if (acts.length === 0) return ALLOW;
  const res = typeof input === 'object' && input !== null ? rd(input, input.res, 'res', baseProto.res) : undefined;
  if (res !== undefined) return applyResponse(acts, res, ctx);
  return Object.freeze({ allow: true, response: Object.freeze(acts) });
}

/**
 * The decision of a generated closure whose `remove` work has no row to apply to (the
 * host applies `response` to the rows it reads): the actions that ran, in order, with
 * `false` for those that did not.
 */
export function respond(actions: readonly (ResponseAction | false)[]): Decision {
  const list = actions.filter((a): a is ResponseAction => a !== false);
  return list.length === 0 ? ALLOW : Object.freeze({ allow: true, response: Object.freeze(list) });
}

function responseDenial(reason: string, a: ResponseAction | undefined): Decision {
  return denial('response', reason, a?.path ?? '', a?.name);
}

/**
 * Apply response actions to a row or an array of rows, in place. Either every row is
 * processed or a denial (`code: 'response'`, status 500) says the reply must not be
 * sent: never a partially masked reply.
 */
export function applyResponse(actions: readonly ResponseAction[] | undefined, res: unknown, ctx?: RuleContext): Decision {
  if (actions === undefined || actions.length === 0 || res === null || res === undefined) return ALLOW;
  if (typeof res !== 'object') return responseDenial(msg.responseShape(), actions[0]);
  if (!isArray(res)) return applyRow(actions, res, ctx) ?? ALLOW;
  for (let i = 0; i < res.length; i++) {
    const d = applyRow(actions, res[i], ctx);
    if (d !== undefined) return d;
  }
  return ALLOW;
}

/** Apply every action to one row; a denial, or undefined when done. */
function applyRow(actions: readonly ResponseAction[], row: unknown, ctx: RuleContext | undefined): Decision | undefined {
  if (!isRecord(row)) return responseDenial(msg.responseRow(), actions[0]);
  for (let i = 0; i < actions.length; i++) {
    const a = actions[i]!;
    switch (a.op) {
      case 'remove':
        if (a.segments.length === 1) {
          // A top-level field of the row (the common case): `delete` removes only own
          // properties. Often the field was never read (the runtime leaves removed columns
          // out of its select): testing first is a fraction of a `delete` that finds nothing.
          const field = a.segments[0]!;
          if (Object.hasOwn(row, field)) {
            try {
              delete row[field];
            } catch {
              return responseDenial(msg.notRemovable(a.field), a);
            }
          }
        } else if (!removePath(row, a.segments)) return responseDenial(msg.notRemovable(a.field), a);
        break;
      case 'force':
        if (!setPath(row, a.segments, clone(a.value))) return responseDenial(msg.notSettable(a.field), a);
        break;
      default: {
        const r = transformPath(row, a.segments, a.op, ctx);
        if (r === TRANSFORM_NOT_STRING) return responseDenial(msg.notStringField(a.field), a);
        if (r === TRANSFORM_NO_CRYPTO) return responseDenial(msg.noCrypto(), a);
        if (r === TRANSFORM_FAILED) return responseDenial(a.op === 'decrypt' ? msg.notDecryptable(a.field) : msg.notEncryptable(a.field), a);
      }
    }
  }
  return undefined;
}

// ---------------------------------------------------------------------------
// I/O rules

/** Result codes of `query` and `webhook` besides their value. */
export const IO_MISSING = 0;
export const IO_FAILED = 1;
export const IO_TIMEOUT = 2;

/** Run a `query` rule's read through the host; rows, or IO_MISSING / IO_FAILED. */
export async function query(ctx: RuleContext | undefined, db: string, col: string, find: unknown): Promise<unknown[] | number> {
  const q = ctx?.query;
  if (typeof q !== 'function') return IO_MISSING;
  try {
    const rows: unknown = await q.call(ctx, db, col, find as Record<string, never>);
    return isArray(rows) ? rows : IO_FAILED;
  } catch {
    return IO_FAILED;
  }
}

/** The webhook body: `args` without the caller's raw token. */
function webhookBody(args: unknown): string {
  const body: Record<string, unknown> = {};
  if (isRecord(args)) for (const k of Object.keys(args)) if (k !== 'token') define(body, k, args[k]);
  return JSON.stringify(body);
}

/** Call a webhook through the host's fetch with a timeout; the answer, or IO_MISSING / IO_FAILED / IO_TIMEOUT. */
export async function webhook(
  ctx: RuleContext | undefined,
  url: string,
  args: unknown,
  timeoutMs: number,
): Promise<{ status: number; body: unknown } | number> {
  const f = ctx?.fetch;
  if (typeof f !== 'function') return IO_MISSING;
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    const body = webhookBody(args);
    const answer: unknown = await Promise.race([
      f.call(ctx, url, { body, timeoutMs }),
      new Promise((resolve) => {
        timer = setTimeout(() => resolve(TIMED_OUT), timeoutMs);
      }),
    ]);
    if (answer === TIMED_OUT) return IO_TIMEOUT;
    if (!isRecord(answer) || typeof answer.status !== 'number') return IO_FAILED;
    return { status: answer.status, body: answer.body };
  } catch {
    return IO_FAILED;
  } finally {
    if (timer !== undefined) clearTimeout(timer);
  }
}
const TIMED_OUT = Symbol('dfc.timeout');

/** Whether a status is 2xx. */
export function ok2xx(status: number): boolean {
  return status >= 200 && status < 300;
}

/** A `code` rule's function: the module's own, else the host's `ctx.code`. */
export function codeFn(
  table: Readonly<Record<string, unknown>>,
  ctx: RuleContext | undefined,
  id: string,
): ((args: unknown) => unknown) | undefined {
  const f = hasOwn(table, id) ? table[id] : ctx !== undefined ? own(ctx.code, id) : undefined;
  return typeof f === 'function' ? (f as (args: unknown) => unknown) : undefined;
}

/** A sync code rule that returned a promise denies; keep its rejection from going unhandled. */
export function settle(x: unknown): void {
  if (typeof x === 'object' && x !== null && typeof (x as { then?: unknown }).then === 'function') {
    (x as Promise<unknown>).then(undefined, () => undefined);
  }
}

// ---------------------------------------------------------------------------
// For hosts

/** The rule for an operation: the table's own, else the service's `default` table's (Space Cloud's fallback). */
export function lookupRule<T>(rules: Readonly<Record<string, T>>, service: string, table: string, operation: string): T | undefined {
  const own1 = `${service}/${table}/${operation}`;
  if (hasOwn(rules, own1)) return rules[own1];
  const fallback = `${service}/default/${operation}`;
  return hasOwn(rules, fallback) ? rules[fallback] : undefined;
}

/**
 * Requirement collections (or any closures) in order: the first denial wins; the
 * response work of all of them is concatenated.
 */
export function allOf(fns: readonly CompiledRule[]): CompiledRule {
  const list = fns.slice();
  const isAsync = list.some((f) => f.async);
  if (!isAsync) {
    return defineRule((input, ctx) => {
      let acts: ResponseAction[] | undefined;
      for (const f of list) {
        const d = f(input, ctx) as Decision;
        if (!d.allow) return d;
        if (d.response) (acts ??= []).push(...d.response);
      }
      return acts ? Object.freeze({ allow: true, response: Object.freeze(acts) }) : ALLOW;
    }, false);
  }
  return defineRule(async (input, ctx) => {
    let acts: ResponseAction[] | undefined;
    for (const f of list) {
      const d = await f(input, ctx);
      if (!d.allow) return d;
      if (d.response) (acts ??= []).push(...d.response);
    }
    return acts ? Object.freeze({ allow: true, response: Object.freeze(acts) }) : ALLOW;
  }, true);
}
