import {
  OPERATIONS,
  VERBS,
  canonicalJson,
  matchAccess,
  type Policy,
  type PolicyAccess,
  type PolicyRequirement,
  type PolicyRole,
  type Rule,
  type Verb,
} from '@dfc/schema';
import { describeRule } from './describe.js';
import { compareRules, removedResponseFields, sameRule } from './rules.js';
import type { ChangeArea, ChangeClass, PolicyChange, PolicyDiff } from './types.js';

/**
 * What changed in meaning between two policies. Works on the normalized artifacts, so
 * formatting, key order and the order of roles, apps or CORS entries never show up;
 * every change is classed as broadening, narrowing or neutral.
 */
export function diffPolicies(before: Policy, after: Policy): PolicyDiff {
  const out = new Changes();
  diffAccess(before, after, out);
  diffApps(before, after, out);
  diffRules(before, after, out);
  diffRequirements(before, after, out);
  diffCors(before, after, out);
  diffAuth(before, after, out);
  diffServices(before, after, out);
  diffSettings(before, after, out);
  const changes = out.list.sort(
    (a, b) => CLASS_ORDER[a.class] - CLASS_ORDER[b.class] || AREA_ORDER[a.area] - AREA_ORDER[b.area] || cmp(a.subject, b.subject) || cmp(a.message, b.message),
  );
  const summary = { broadens: 0, narrows: 0, neutral: 0 };
  for (const c of changes) summary[c.class]++;
  return { changes, summary };
}

const CLASS_ORDER: Record<ChangeClass, number> = { broadens: 0, narrows: 1, neutral: 2 };
const AREA_ORDER: Record<ChangeArea, number> = { role: 0, app: 1, rule: 2, requirement: 3, cors: 4, auth: 5, service: 6, settings: 7 };
const cmp = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
const q = (s: string) => '`' + s + '`';
const list = (xs: Iterable<string>) => [...xs].map(q).join(', ');
const union = <T>(...sets: Iterable<T>[]) => {
  const out = new Set<T>();
  for (const s of sets) for (const x of s) out.add(x);
  return [...out];
};
const keys = (o: object | undefined) => Object.keys(o ?? {});

class Changes {
  list: PolicyChange[] = [];
  add(klass: ChangeClass, area: ChangeArea, subject: string, message: string, uncertain = false): void {
    this.list.push(uncertain ? { class: klass, area, subject, message, uncertain } : { class: klass, area, subject, message });
  }
}

// ---------------------------------------------------------------------------
// roles: compare what each role can do on every component, verb by verb

function components(before: Policy, after: Policy): { service: string; component: string }[] {
  const out: { service: string; component: string }[] = [];
  for (const service of union(keys(before.services), keys(after.services)).sort()) {
    out.push({ service, component: '_table' }, { service, component: '_schema' }, { service, component: '_doc' });
    const tables = union(keys(before.services[service]?.tables), keys(after.services[service]?.tables)).sort();
    for (const t of tables) out.push({ service, component: `_table/${t}` });
  }
  return out;
}

/** The filters a grant carries, as comparable text (one entry per granting access entry). */
function grantFilters(granting: PolicyAccess[]): string[] {
  return granting.map((e) => canonicalJson({ filters: e.filters, filterOp: e.filterOp })).sort();
}

function diffAccess(before: Policy, after: Policy, out: Changes): void {
  const comps = components(before, after);
  for (const name of union(keys(before.roles), keys(after.roles)).sort()) {
    const b = before.roles[name];
    const a = after.roles[name];
    const subject = `role ${q(name)}`;
    if (!b) out.add('neutral', 'role', subject, 'added');
    if (!a) out.add('neutral', 'role', subject, 'removed');
    if (b && a && b.active !== a.active) {
      out.add(a.active ? 'broadens' : 'narrows', 'role', subject, a.active ? 'activated' : 'deactivated');
    }
    for (const { service, component } of comps) {
      const gains: Verb[] = [];
      const losses: Verb[] = [];
      // Filter changes are grouped across verbs: one line per distinct change.
      const filterChanges = new Map<string, { change: FilterChange; verbs: Verb[] }>();
      for (const verb of VERBS) {
        const mb = b && b.active ? matchAccess(b.access, { service, component, verb }) : undefined;
        const ma = a && a.active ? matchAccess(a.access, { service, component, verb }) : undefined;
        const wasAllowed = mb?.allowed ?? false;
        const isAllowed = ma?.allowed ?? false;
        if (!wasAllowed && isAllowed) gains.push(verb);
        else if (wasAllowed && !isAllowed) losses.push(verb);
        else if (wasAllowed && isAllowed) {
          const change = rowFilterChange(mb!.granting, ma!.granting);
          if (!change) continue;
          const key = canonicalJson(change);
          const seen = filterChanges.get(key);
          if (seen) seen.verbs.push(verb);
          else filterChanges.set(key, { change, verbs: [verb] });
        }
      }
      const where = q(`${service}/${component}`);
      if (gains.length) out.add('broadens', 'role', subject, `gains ${gains.join(', ')} on ${where}`);
      if (losses.length) out.add('narrows', 'role', subject, `loses ${losses.join(', ')} on ${where}`);
      for (const { change, verbs } of filterChanges.values()) {
        out.add(change.klass, 'role', subject, `row filter for ${verbs.join(', ')} on ${where} ${change.text}`, change.uncertain);
      }
    }
  }
}

interface FilterChange {
  klass: ChangeClass;
  text: string;
  uncertain: boolean;
}

/** How the row filters of a still-allowed grant changed, if they did. */
function rowFilterChange(bEntries: PolicyAccess[], aEntries: PolicyAccess[]): FilterChange | undefined {
  if (canonicalJson(grantFilters(bEntries)) === canonicalJson(grantFilters(aEntries))) return undefined;
  // One AND-combined entry on each side: more conditions narrow, fewer broaden.
  const only = (es: PolicyAccess[]) => (es.length === 1 && es[0]!.filterOp === 'AND' ? es[0]!.filters.map((f) => canonicalJson(f)) : undefined);
  const b = only(bEntries);
  const a = only(aEntries);
  if (b && a) {
    const added = a.filter((f) => !b.includes(f));
    const removed = b.filter((f) => !a.includes(f));
    if (removed.length === 0) return { klass: 'narrows', text: `gains ${added.join(', ')}`, uncertain: false };
    if (added.length === 0) return { klass: 'broadens', text: `drops ${removed.join(', ')}`, uncertain: false };
  }
  return { klass: 'broadens', text: 'changes; review whether it admits more rows', uncertain: true };
}

// ---------------------------------------------------------------------------
// apps

function grantsOf(role: PolicyRole | undefined, comps: { service: string; component: string }[]): Set<string> {
  const out = new Set<string>();
  if (!role || !role.active) return out;
  for (const { service, component } of comps) {
    for (const verb of VERBS) if (matchAccess(role.access, { service, component, verb }).allowed) out.add(`${verb} ${service}/${component}`);
  }
  return out;
}

function diffApps(before: Policy, after: Policy, out: Changes): void {
  const comps = components(before, after);
  for (const name of union(keys(before.apps), keys(after.apps)).sort()) {
    const b = before.apps[name];
    const a = after.apps[name];
    const subject = `app ${q(name)}`;
    if (!b && a) {
      out.add('broadens', 'app', subject, `added${a.role ? ` with default role ${q(a.role)}` : ''}`);
      continue;
    }
    if (b && !a) {
      out.add('narrows', 'app', subject, 'removed; its API key no longer works');
      continue;
    }
    if (!a || !b) continue;
    if (a.active !== b.active) out.add(a.active ? 'broadens' : 'narrows', 'app', subject, a.active ? 'activated' : 'deactivated');
    if (canonicalJson(a.apiKey) !== canonicalJson(b.apiKey)) out.add('neutral', 'app', subject, 'API key changes (rotation)');
    if (a.role !== b.role) {
      const gb = grantsOf(b.role ? before.roles[b.role] : undefined, comps);
      const ga = grantsOf(a.role ? after.roles[a.role] : undefined, comps);
      const gained = [...ga].filter((g) => !gb.has(g));
      const lost = [...gb].filter((g) => !ga.has(g));
      const klass: ChangeClass = gained.length ? 'broadens' : lost.length ? 'narrows' : 'neutral';
      out.add(klass, 'app', subject, `default role changes from ${b.role ? q(b.role) : 'none'} to ${a.role ? q(a.role) : 'none'}${gained.length ? ` (gains ${gained.join(', ')})` : ''}`);
    }
    const addedRoles = a.roles.filter((r) => !b.roles.includes(r));
    const removedRoles = b.roles.filter((r) => !a.roles.includes(r));
    if (addedRoles.length) out.add('broadens', 'app', subject, `sessions may now select role ${list(addedRoles)}`);
    if (removedRoles.length) out.add('narrows', 'app', subject, `sessions may no longer select role ${list(removedRoles)}`);
  }
}

// ---------------------------------------------------------------------------
// rules: the effective rule of every service/table/operation (with `default`)

function effectiveRule(p: Policy, service: string, table: string, op: (typeof OPERATIONS)[number]): Rule | undefined {
  const rules = p.rules[service];
  return rules?.[table]?.[op] ?? rules?.['default']?.[op];
}

function diffRules(before: Policy, after: Policy, out: Changes): void {
  for (const service of union(keys(before.services), keys(after.services), keys(before.rules), keys(after.rules)).sort()) {
    const tables = union(
      keys(before.services[service]?.tables),
      keys(after.services[service]?.tables),
      keys(before.rules[service]),
      keys(after.rules[service]),
    )
      .filter((t) => t !== 'default')
      .sort();
    for (const table of tables) {
      for (const op of OPERATIONS) {
        const b = effectiveRule(before, service, table, op);
        const a = effectiveRule(after, service, table, op);
        if (sameRule(b, a)) {
          if (b && a && (canonicalJson([b.name, b.error]) !== canonicalJson([a.name, a.error]))) {
            out.add('neutral', 'rule', `rule ${q(`${service}.${table}.${op}`)}`, 'name or error message changes');
          }
          continue;
        }
        const subject = `rule ${q(`${service}.${table}.${op}`)}`;
        const verdict = compareRules(b, a);
        const change = `${q(describeRule(b))} replaced by ${q(describeRule(a))}`;
        const exposed = [...removedResponseFields(b)].filter((f) => !removedResponseFields(a).has(f));
        if (exposed.length) out.add('broadens', 'rule', subject, `no longer removes ${list(exposed)} from responses`);
        if (verdict === 'unknown') out.add('broadens', 'rule', subject, `${change}; not provably narrower`, true);
        else out.add(verdict, 'rule', subject, change);
      }
    }
  }
}

// ---------------------------------------------------------------------------
// requirement collections (any-of within, all-of across)

function collections(p: Policy): Map<string, PolicyRequirement[]> {
  const out = new Map<string, PolicyRequirement[]>();
  for (const [s, svc] of Object.entries(p.services)) {
    out.set(`service ${q(s)}`, svc.security);
    for (const [t, table] of Object.entries(svc.tables)) {
      if (table.security) out.set(`table ${q(`${s}.${t}`)}`, table.security);
      for (const [c, col] of Object.entries(table.columns)) if (col.security) out.set(`field ${q(`${s}.${t}.${c}`)}`, col.security);
    }
  }
  return out;
}

function diffRequirements(before: Policy, after: Policy, out: Changes): void {
  const cb = collections(before);
  const ca = collections(after);
  for (const key of union(cb.keys(), ca.keys()).sort()) {
    const b = cb.get(key) ?? [];
    const a = ca.get(key) ?? [];
    const subject = `requirements of ${key}`;
    const isService = key.startsWith('service ');
    // An empty service collection still implies `authenticated`; an empty table or field one passes.
    if (!isService && b.length === 0 && a.length > 0) {
      out.add('narrows', 'requirement', subject, `collection added: ${list(a.map((r) => r.name))}`);
      continue;
    }
    if (!isService && a.length === 0 && b.length > 0) {
      out.add('broadens', 'requirement', subject, `collection removed: ${list(b.map((r) => r.name))}`);
      continue;
    }
    const bByName = new Map(b.map((r) => [r.name, r]));
    const aByName = new Map(a.map((r) => [r.name, r]));
    for (const name of union(bByName.keys(), aByName.keys()).sort()) {
      const rb = bByName.get(name);
      const ra = aByName.get(name);
      if (rb && ra && canonicalJson(rb) === canonicalJson(ra)) continue;
      if (!rb) out.add('broadens', 'requirement', subject, `alternative ${q(name)} (${ra!.type}) added`);
      else if (!ra) out.add('narrows', 'requirement', subject, `alternative ${q(name)} (${rb.type}) removed`);
      else out.add('broadens', 'requirement', subject, `requirement ${q(name)} changes; not provably narrower`, true);
    }
  }
}

// ---------------------------------------------------------------------------
// CORS, keyed by path

function diffCors(before: Policy, after: Policy, out: Changes): void {
  const byPath = (p: Policy) => new Map(p.cors.map((c) => [c.path, c]));
  const mb = byPath(before);
  const ma = byPath(after);
  for (const path of union(mb.keys(), ma.keys()).sort()) {
    const b = mb.get(path);
    const a = ma.get(path);
    const subject = `CORS ${q(path)}`;
    if (!b || !b.enabled) {
      if (a && a.enabled) out.add('broadens', 'cors', subject, `${b ? 'enabled' : 'entry added'}: origins ${list(a.origins)}, methods ${a.methods.join(', ')}${a.supportsCredentials ? ', with credentials' : ''}`);
      else if (a && !b) out.add('neutral', 'cors', subject, 'disabled entry added');
      else if (!a && b) out.add('neutral', 'cors', subject, 'disabled entry removed');
      continue;
    }
    if (!a || !a.enabled) {
      out.add('narrows', 'cors', subject, a ? 'disabled' : 'entry removed');
      continue;
    }
    setChange(out, subject, 'origin', b.origins, a.origins);
    setChange(out, subject, 'method', b.methods, a.methods);
    setChange(out, subject, 'allowed header', b.headers, a.headers, (s) => s.toLowerCase());
    setChange(out, subject, 'exposed header', b.exposedHeaders, a.exposedHeaders, (s) => s.toLowerCase());
    if (a.supportsCredentials !== b.supportsCredentials) {
      out.add(a.supportsCredentials ? 'broadens' : 'narrows', 'cors', subject, a.supportsCredentials ? 'now allows credentials' : 'no longer allows credentials');
    }
    if (a.maxAge !== b.maxAge) out.add('neutral', 'cors', subject, `preflight max age ${b.maxAge} → ${a.maxAge} s`);
    if ((a.description ?? '') !== (b.description ?? '')) out.add('neutral', 'cors', subject, 'description changes');
  }
}

function setChange(out: Changes, subject: string, what: string, before: string[], after: string[], norm = (s: string) => s): void {
  const b = new Set(before.map(norm));
  const a = new Set(after.map(norm));
  const added = [...a].filter((x) => !b.has(x)).sort();
  const removed = [...b].filter((x) => !a.has(x)).sort();
  if (added.length) out.add('broadens', 'cors', subject, `${what}${added.length > 1 ? 's' : ''} ${list(added)} added`);
  if (removed.length) out.add('narrows', 'cors', subject, `${what}${removed.length > 1 ? 's' : ''} ${list(removed)} removed`);
}

// ---------------------------------------------------------------------------
// sessions, services, settings

function diffAuth(before: Policy, after: Policy, out: Changes): void {
  const subject = 'sessions';
  const b = before.auth.jwt;
  const a = after.auth.jwt;
  if (!b && a) out.add('broadens', 'auth', subject, 'JWT sessions enabled');
  else if (b && !a) out.add('narrows', 'auth', subject, 'JWT sessions disabled');
  else if (a && b) {
    const addedAlgs = a.algorithms.filter((x) => !b.algorithms.includes(x));
    const removedAlgs = b.algorithms.filter((x) => !a.algorithms.includes(x));
    if (addedAlgs.length) out.add('broadens', 'auth', subject, `algorithm ${list(addedAlgs)} accepted`);
    if (removedAlgs.length) out.add('narrows', 'auth', subject, `algorithm ${list(removedAlgs)} no longer accepted`);
    if (b.audience && !a.audience) out.add('broadens', 'auth', subject, 'audience no longer checked');
    else if (a.audience) {
      const added = a.audience.filter((x) => !(b.audience ?? []).includes(x));
      const removed = (b.audience ?? []).filter((x) => !a.audience!.includes(x));
      if (!b.audience) out.add('narrows', 'auth', subject, `audience ${list(a.audience)} now required`);
      else {
        if (added.length) out.add('broadens', 'auth', subject, `audience ${list(added)} accepted`);
        if (removed.length) out.add('narrows', 'auth', subject, `audience ${list(removed)} no longer accepted`);
      }
    }
    if (a.issuer !== b.issuer) {
      out.add(a.issuer ? (b.issuer ? 'broadens' : 'narrows') : 'broadens', 'auth', subject, `issuer ${b.issuer ? q(b.issuer) : 'unchecked'} → ${a.issuer ? q(a.issuer) : 'unchecked'}`, Boolean(a.issuer && b.issuer));
    }
    if (a.roleClaim !== b.roleClaim) out.add('broadens', 'auth', subject, `role claim ${b.roleClaim ? q(b.roleClaim) : 'none'} → ${a.roleClaim ? q(a.roleClaim) : 'none'}`, true);
    if (a.clockTolerance > b.clockTolerance) out.add('broadens', 'auth', subject, `clock tolerance ${b.clockTolerance} → ${a.clockTolerance} s`);
    else if (a.clockTolerance < b.clockTolerance) out.add('narrows', 'auth', subject, `clock tolerance ${b.clockTolerance} → ${a.clockTolerance} s`);
    const keyOf = (j: typeof a) => canonicalJson([j.secret, j.publicKey, j.jwksUrl]);
    if (keyOf(a) !== keyOf(b)) out.add('neutral', 'auth', subject, 'verification key changes');
  }
  if (after.auth.queryCredentials !== before.auth.queryCredentials) {
    out.add(after.auth.queryCredentials ? 'broadens' : 'narrows', 'auth', 'credentials', after.auth.queryCredentials ? 'accepted in the query string' : 'no longer accepted in the query string');
  }
}

function diffServices(before: Policy, after: Policy, out: Changes): void {
  for (const name of union(keys(before.services), keys(after.services)).sort()) {
    const b = before.services[name];
    const a = after.services[name];
    const subject = `service ${q(name)}`;
    if (!b || !a) {
      out.add('neutral', 'service', subject, b ? 'removed' : 'added');
      continue;
    }
    if (canonicalJson(a.database) !== canonicalJson(b.database)) out.add('neutral', 'service', subject, 'database connection changes');
    if (a.maxRecords !== b.maxRecords) out.add('neutral', 'service', subject, `page size cap ${b.maxRecords} → ${a.maxRecords}`);
    for (const t of union(keys(b.tables), keys(a.tables)).sort()) {
      const tb = b.tables[t];
      const ta = a.tables[t];
      if (!tb || !ta) {
        out.add('neutral', 'service', subject, `table ${q(t)} ${tb ? 'removed' : 'added'}`);
        continue;
      }
      const cols = (x: typeof ta) => Object.entries(x.columns).map(([c, d]) => `${c}:${d.type}${d.nullable ? '?' : ''}`);
      const cb = cols(tb);
      const ca = cols(ta);
      const added = ca.filter((c) => !cb.includes(c));
      const removed = cb.filter((c) => !ca.includes(c));
      if (added.length || removed.length || tb.primaryKey !== ta.primaryKey) {
        out.add('neutral', 'service', subject, `table ${q(t)} columns change${added.length ? `; added ${list(added)}` : ''}${removed.length ? `; removed ${list(removed)}` : ''}`);
      }
    }
  }
}

function diffSettings(before: Policy, after: Policy, out: Changes): void {
  if (before.environment !== after.environment) {
    out.add(after.environment === 'development' ? 'broadens' : 'narrows', 'settings', 'environment', `${before.environment} → ${after.environment}`);
  }
  if (before.debug !== after.debug) {
    out.add(after.debug ? 'broadens' : 'narrows', 'settings', 'debug', after.debug ? 'error details and decision traces shown to callers' : 'error details hidden');
  }
  const wb = before.webhooks;
  const wa = after.webhooks;
  const hosts = wa.allowPrivateHosts.filter((h) => !wb.allowPrivateHosts.includes(h));
  if (hosts.length) out.add('broadens', 'settings', 'webhooks', `private host ${list(hosts)} allowed`);
  if (wa.allowHttp && !wb.allowHttp) out.add('broadens', 'settings', 'webhooks', 'plain `http:` URLs allowed');
  const sb = before.server;
  const sa = after.server;
  for (const k of ['defaultPageSize', 'maxPageSize', 'bodyLimit'] as const) {
    if (sb[k] !== sa[k]) out.add('neutral', 'settings', 'server', `${k} ${sb[k]} → ${sa[k]}`);
  }
  if (canonicalJson(before.crypto) !== canonicalJson(after.crypto)) out.add('neutral', 'settings', 'crypto', 'field encryption key changes');
  if (canonicalJson(before.admin) !== canonicalJson(after.admin)) out.add('neutral', 'settings', 'admin', 'admin listener changes');
}

