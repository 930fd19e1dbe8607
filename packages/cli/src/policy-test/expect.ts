import type { PolicyTestExpect } from '@dfc/config';
import type { TraceEvent } from '@dfc/runtime';
import type { Actual } from './execute.js';
import { show } from '../output/format.js';

/** The step that decided a request, for messages and for `expect.rule`. */
export interface Decider {
  kind: 'app' | 'role' | 'access' | 'requirement' | 'rule' | 'response' | 'none';
  /** Config path of what decided: a rule node, a requirement collection, a role. */
  path?: string;
  /** The top-level rule the deciding node belongs to. */
  rule?: string;
  /** The deciding rule's (or its nearest enclosing rule's) `name`. */
  name?: string;
  /** Every name along the way to the deciding node (what `expect.rule` may say). */
  names?: string[];
  /** The values a deciding `match` compared, as `path` = value. */
  compared?: string[];
  /** The requirements that failed. */
  failed?: string[];
}

export function decider(actual: Actual): Decider {
  const t = actual.trace;
  const rule = t.rule;
  if (actual.error?.code === 'DFC_ERR_RESPONSE_REFUSED') {
    const d: Decider = { kind: 'response' };
    const action = t.response?.[0];
    if (action) {
      d.path = action.path;
      if (action.name !== undefined) d.name = action.name;
    }
    return d;
  }
  if (rule) {
    if (rule.key === null) return { kind: 'rule' };
    const d: Decider = { kind: 'rule', rule: rule.path, path: rule.decision.path ?? rule.path };
    if (rule.decision.name !== undefined) d.name = rule.decision.name;
    if (actual.decision === 'allow' && rule.events && rule.events.length > 0) {
      // An allowing rule: follow each `or` to the clause that held.
      const chain = allowChain(rule.events);
      const last = chain[chain.length - 1]!;
      d.path = last.path;
      const names = chain.map((e) => e.name).filter((n): n is string => n !== undefined);
      if (names.length > 0) {
        d.name = names[names.length - 1]!;
        d.names = names;
      }
    }
    if (actual.decision === 'deny') {
      const node = rule.events?.find((e) => e.path === d.path && e.outcome !== 'pass');
      const compared = node ? comparedValues(node) : [];
      if (compared.length > 0) d.compared = compared;
    }
    return d;
  }
  const failed = t.requirements.find((c) => !c.passed);
  if (failed) {
    const d: Decider = { kind: 'requirement', path: failed.path, failed: failed.failed };
    const node = failed.events?.find((e) => e.kind === 'match' && e.outcome !== 'pass');
    const compared = node ? comparedValues(node) : [];
    if (compared.length > 0) d.compared = compared;
    return d;
  }
  if (actual.decision === 'deny') {
    if (t.access && actual.role !== undefined) return { kind: 'access', path: `roles.${actual.role}` };
    if (actual.role !== undefined) return { kind: 'role', path: `roles.${actual.role}` };
    if (actual.app !== undefined) return { kind: 'app', path: `apps.${actual.app}` };
    return { kind: 'app' };
  }
  return { kind: 'none' };
}

/** The root of a rule that allowed, then through each `or` the clause that held. */
function allowChain(events: readonly TraceEvent[]): TraceEvent[] {
  const chain = [events[0]!];
  for (;;) {
    const at = chain[chain.length - 1]!;
    if (at.kind !== 'or') return chain;
    const next = events.find((e) => e.depth === at.depth + 1 && e.outcome === 'pass' && e.path.startsWith(at.path + '.clauses['));
    if (!next) return chain;
    chain.push(next);
  }
}

/** `args.auth.id = "alice"`, `args.find.userId = "bob"` for a traced `match`. */
export function comparedValues(e: TraceEvent): string[] {
  if (!e.match) return [];
  const side = (o: { expr: unknown; value?: unknown }): string | undefined => {
    if (typeof o.expr === 'string' && /^(args|utils)\./.test(o.expr)) return `${o.expr} = ${'value' in o ? show(o.value) : '(missing)'}`;
    return undefined;
  };
  return [side(e.match.f1), side(e.match.f2)].filter((s): s is string => s !== undefined);
}

/** How `{ $hash }` and `{ $encrypt }` expectations are checked: the run's hash and field key. */
export interface Matchers {
  hash(text: string): string;
  /** The plaintext of a field's ciphertext, or undefined when it is not one. */
  decrypt(value: string, field: string): string | undefined;
}

/** Each way `actual` differs from what the test expects, one message each (empty: the test passes). */
export function compare(expect: PolicyTestExpect, actual: Actual, matchers: Matchers): string[] {
  const out: string[] = [];
  const d = decider(actual);
  if (expect.decision !== actual.decision) {
    out.push(`expected ${expect.decision}, got ${actual.decision}`);
    return out; // the rest describes a decision that did not happen
  }
  if (expect.status !== undefined && expect.status !== actual.status) out.push(`expected status ${expect.status}, got ${actual.status}`);
  if (expect.error !== undefined && expect.error !== actual.error?.code) {
    out.push(`expected error \`${expect.error}\`, got ${actual.error ? `\`${actual.error.code}\`` : 'none'}`);
  }
  if (expect.reason !== undefined) {
    const message = actual.error?.message ?? '';
    const ok = typeof expect.reason === 'string' ? message.includes(expect.reason) : expect.reason.test(message);
    if (!ok) out.push(`expected a reason ${typeof expect.reason === 'string' ? `containing ${show(expect.reason)}` : `matching ${String(expect.reason)}`}, got ${show(message)}`);
  }
  if (expect.rule !== undefined) {
    const names = [d.path, d.rule, d.name, ...(d.names ?? [])].filter((s): s is string => s !== undefined);
    if (!names.includes(expect.rule)) {
      out.push(`expected rule \`${expect.rule}\` to decide, but ${d.path ? `\`${d.path}\`${d.name ? ` (\`${d.name}\`)` : ''}` : `no rule (${d.kind})`} decided`);
    }
  }
  if (expect.role !== undefined && expect.role !== actual.role) out.push(`expected role \`${expect.role}\`, got ${actual.role ? `\`${actual.role}\`` : 'none'}`);
  if (expect.failed !== undefined) {
    const got = d.failed ?? [];
    if (!sameList(expect.failed, got)) out.push(`expected failed requirements ${list(expect.failed)}, got ${list(got)}`);
  }
  if (expect.args !== undefined) {
    for (const key of ['find', 'doc', 'update'] as const) {
      const want = expect.args[key];
      if (want === undefined) continue;
      out.push(...partial(want, actual.args?.[key], `args.${key}`, matchers));
    }
  }
  if (expect.response !== undefined) {
    const got = actual.response;
    if (got === undefined) out.push('expected a response, but the test gives no `rows` (or the request was not allowed)');
    else {
      if (got.length !== expect.response.length) out.push(`expected ${expect.response.length} response row(s), got ${got.length}`);
      expect.response.forEach((row, i) => out.push(...partial(row, got[i], `response[${i}]`, matchers)));
    }
  }
  if (expect.where !== undefined && expect.where !== actual.where) {
    out.push(`expected where ${expect.where === null ? 'none' : show(expect.where)}, got ${actual.where === null || actual.where === undefined ? 'none' : show(actual.where)}`);
  }
  return out;
}

/** The fields `want` lists, compared with `got` (`undefined` in `want`: must be absent). */
function partial(want: unknown, got: unknown, path: string, m: Matchers): string[] {
  const marker = markerOf(want);
  if (marker) {
    const field = path.slice(path.lastIndexOf('.') + 1);
    if (marker.kind === '$hash') {
      return got === m.hash(marker.text) ? [] : [`${path}: expected the hash of ${show(marker.text)}, got ${got === undefined ? 'absent' : show(got)}`];
    }
    const plain = typeof got === 'string' ? m.decrypt(got, field) : undefined;
    if (plain === marker.text) return [];
    return [`${path}: expected a ciphertext of ${show(marker.text)}, got ${plain !== undefined ? `a ciphertext of ${show(plain)}` : got === undefined ? 'absent' : show(got)}`];
  }
  if (isRecord(want)) {
    if (!isRecord(got)) return [`${path}: expected an object, got ${show(got)}`];
    const out: string[] = [];
    for (const [k, v] of Object.entries(want)) {
      const here = `${path}.${k}`;
      const has = Object.hasOwn(got, k);
      if (v === undefined) {
        if (has) out.push(`${here}: expected absent, got ${show(got[k])}`);
        continue;
      }
      if (!has) {
        out.push(`${here}: expected ${show(v)}, got absent`);
        continue;
      }
      out.push(...partial(v, got[k], here, m));
    }
    return out;
  }
  return sameJson(want, got) ? [] : [`${path}: expected ${show(want)}, got ${got === undefined ? 'absent' : show(got)}`];
}

/** `{ $hash: text }` or `{ $encrypt: text }` (and nothing else). */
function markerOf(x: unknown): { kind: '$hash' | '$encrypt'; text: string } | undefined {
  if (!isRecord(x)) return undefined;
  const keys = Object.keys(x);
  if (keys.length !== 1) return undefined;
  const kind = keys[0];
  if ((kind === '$hash' || kind === '$encrypt') && typeof x[kind] === 'string') return { kind, text: x[kind] };
  return undefined;
}

function isRecord(x: unknown): x is Record<string, unknown> {
  return typeof x === 'object' && x !== null && !Array.isArray(x);
}

function sameJson(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

function sameList(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

function list(names: readonly string[]): string {
  return names.length === 0 ? 'none' : names.map((n) => `\`${n}\``).join(', ');
}

