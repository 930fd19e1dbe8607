import { createHash, hash, timingSafeEqual } from 'node:crypto';
import type { Operation, Policy, PolicyApp, PolicyRequirement, PolicyRole, PolicyService, Rule } from '@dfc/schema';
import { precomputeAccess, type AccessMatch } from './access.js';
import type { Artifact, PolicyModule, RuleFn } from './artifact.js';
import { secretResolver, type Env, type SecretResolver } from './secrets.js';

/**
 * A loaded policy with everything a request needs looked up ahead of time: API key
 * digests, access per (role, service, component), the rule closure per table operation
 * and the requirement collections per service, table and column.
 */
export interface CompiledPolicy {
  readonly policy: Policy;
  readonly module: PolicyModule;
  readonly hash: string;
  /** Directory of the artifact. */
  readonly dir: string;
  readonly resolveSecret: SecretResolver;
  /** sha256(api key) hex → app name. */
  readonly keyDigests: ReadonlyMap<string, { app: string; digest: Buffer }>;
  readonly apps: ReadonlyMap<string, PolicyApp>;
  readonly roles: ReadonlyMap<string, PolicyRole>;
  /** Role → its number: the index into each table's {@link CompiledTable.access}. */
  readonly roleIndex: ReadonlyMap<string, number>;
  readonly services: ReadonlyMap<string, CompiledService>;
  /** role → `service\0component` → access. */
  readonly access: ReadonlyMap<string, ReadonlyMap<string, AccessMatch>>;
  /** Raw API keys that matched an app before (see {@link appForKey}). */
  readonly [kKnownKeys]: Map<string, string>;
}

const kKnownKeys = Symbol('dfc.knownKeys');

export interface CompiledService {
  name: string;
  def: PolicyService;
  /** Implied `authenticated` is part of this collection unless it holds `allowAnonymous`. */
  security: Collection;
  tables: ReadonlyMap<string, CompiledTable>;
}

export interface CompiledTable {
  name: string;
  service: string;
  primaryKey: string;
  columns: ReadonlySet<string>;
  security: Collection | null;
  fieldSecurity: ReadonlyMap<string, Collection>;
  /** `_table/<name>`, made once at load. */
  component: string;
  /**
   * Access to `_table/<name>` by role number ({@link CompiledPolicy.roleIndex}): the same
   * objects as {@link CompiledPolicy.access}, found by an index into the table's own short
   * array instead of a string key in a Map of every component of the policy (a request on
   * a table seldom used touches a few cache lines, not that Map's buckets and keys).
   */
  access: readonly AccessMatch[];
  /** Its own collection allows anonymous callers (then the service's collection does not apply). */
  anonymous: boolean;
  /** The rule per operation (the table's own, else the service's `default` table's). */
  rules: Partial<Record<Operation, { key: string; fn: RuleFn; path: string }>>;
  /**
   * A read's decision depends on nothing but the caller (app, role, claims, token), the
   * request and this policy: its rule and the collections that apply hold no I/O, code
   * or clock (see {@link deterministic}). Such a decision may be reused for the same caller.
   */
  pureRead: boolean;
}

export interface Collection {
  level: 'service' | 'table' | 'field';
  key: string;
  /** Config path of the collection, e.g. `services.blog.tables.posts.security`. */
  path: string;
  requirements: PolicyRequirement[];
  /** The module's closure for the collection's `rule` requirements, if it exports one. */
  fn?: RuleFn;
  /**
   * No requirement holds a rule that can write to its input (only allow, deny,
   * authenticated, match, and, or): the closure needs no deep copy of the request's args.
   */
  readOnly: boolean;
  /** Every requirement is decided by the caller and the request alone (see {@link deterministic}). */
  pure: boolean;
}

export interface CompileOptions {
  env?: Env;
  /**
   * Resolve the apps' API keys (from `env`) so requests can name their app by key.
   * Trusted callers that name apps directly (`dfc test`, `dfc explain --app`) pass
   * false and need none of the keys' secrets. @default true
   */
  resolveApiKeys?: boolean;
}

export function compilePolicy(artifact: Artifact, opts: CompileOptions = {}): CompiledPolicy {
  const { policy, module } = artifact;
  const resolveSecret = secretResolver(opts.env ?? process.env);

  const keyDigests = new Map<string, { app: string; digest: Buffer }>();
  for (const [name, app] of opts.resolveApiKeys === false ? [] : Object.entries(policy.apps)) {
    const hex =
      'sha256' in app.apiKey
        ? app.apiKey.sha256
        : createHash('sha256').update(resolveSecret(app.apiKey, `the api key of app ${JSON.stringify(name)}`)).digest('hex');
    keyDigests.set(hex, { app: name, digest: Buffer.from(hex, 'hex') });
  }

  const access = precomputeAccess(policy);
  const roleNames = Object.keys(policy.roles);
  const services = new Map<string, CompiledService>();
  for (const [sname, svc] of Object.entries(policy.services)) {
    const tables = new Map<string, CompiledTable>();
    const svcRules = policy.rules[sname] ?? {};
    const svcSecurity = collection('service', sname, svc.security, module);
    for (const [tname, table] of Object.entries(svc.tables)) {
      const rules: CompiledTable['rules'] = {};
      for (const op of ['create', 'read', 'update', 'delete'] as const) {
        const own = svcRules[tname]?.[op];
        const fallback = svcRules['default']?.[op];
        const ownKey = `${sname}/${tname}/${op}`;
        const defKey = `${sname}/default/${op}`;
        const key = own ? ownKey : fallback ? defKey : undefined;
        if (!key) continue;
        // The module may key a fallback under the table itself or under `default`.
        const fn = module.rules[key] ?? (own ? undefined : module.rules[ownKey]);
        if (!fn) continue; // no closure: the operation is denied
        rules[op] = { key, fn, path: configPath(['rules', ...key.split('/')]) };
      }
      const fieldSecurity = new Map<string, Collection>();
      for (const [cname, col] of Object.entries(table.columns)) {
        if (col.security && col.security.length > 0) {
          const key = `${sname}/${tname}/${cname}`;
          fieldSecurity.set(cname, collection('field', key, col.security, module));
        }
      }
      const security = table.security && table.security.length > 0 ? collection('table', `${sname}/${tname}`, table.security, module) : null;
      const anonymous = security?.requirements.some((r) => r.type === 'allowAnonymous') ?? false;
      const readRule = svcRules[tname]?.read ?? svcRules['default']?.read;
      tables.set(tname, {
        name: tname,
        service: sname,
        primaryKey: table.primaryKey,
        columns: new Set(Object.keys(table.columns)),
        component: `_table/${tname}`,
        // invariant: precomputeAccess resolves every component of every service for every role.
        access: roleNames.map((role) => access.get(role)!.get(`${sname}\0_table/${tname}`)!),
        anonymous,
        security,
        fieldSecurity,
        rules,
        pureRead: readRule !== undefined && rules.read !== undefined && deterministic(readRule) && (anonymous || svcSecurity.pure) && (security?.pure ?? true),
      });
    }
    services.set(sname, { name: sname, def: svc, security: svcSecurity, tables });
  }

  return Object.freeze({
    policy,
    module,
    hash: policy.hash,
    dir: artifact.dir,
    resolveSecret,
    keyDigests,
    apps: new Map(Object.entries(policy.apps)),
    roles: new Map(Object.entries(policy.roles)),
    roleIndex: new Map(roleNames.map((role, i) => [role, i])),
    services,
    access,
    [kKnownKeys]: new Map<string, string>(),
  });
}

function collection(level: Collection['level'], key: string, requirements: PolicyRequirement[], module: PolicyModule): Collection {
  const [service = '', table, column] = key.split('/');
  const segments = ['services', service, ...(table !== undefined ? ['tables', table] : []), ...(column !== undefined ? ['columns', column] : []), 'security'];
  const c: Collection = {
    level,
    key,
    path: configPath(segments),
    requirements,
    readOnly: requirements.every((r) => r.rule === undefined || readsOnly(r.rule)),
    pure: requirements.every((r) => r.rule === undefined || deterministic(r.rule)),
  };
  const fn = module.requirements[key];
  if (fn) c.fn = fn;
  return c;
}

/** Rule kinds that only read their input; every other kind (force, remove, query, code, …) may write to it. */
const READING_RULES: ReadonlySet<string> = new Set(['allow', 'deny', 'authenticated', 'match']);

/** True when no rule in `rule` can write to its input (decided at load, so a request needs no defensive copy). */
export function readsOnly(rule: Rule): boolean {
  const r = rule as { rule: string; clauses?: readonly Rule[]; clause?: Rule };
  if (r.rule === 'and' || r.rule === 'or') return (r.clauses ?? []).every(readsOnly) && (r.clause === undefined || readsOnly(r.clause));
  return READING_RULES.has(r.rule) && r.clause === undefined;
}

/** Rule kinds decided by their input alone: no I/O (query, webhook), no user code, no randomness (encrypt). */
const DETERMINISTIC_RULES: ReadonlySet<string> = new Set(['allow', 'deny', 'authenticated', 'match', 'and', 'or', 'remove', 'force']);

/**
 * True when `rule` decides the same way, and asks for the same response work, whenever it
 * sees the same input: only deterministic kinds, and no operand reads the clock
 * (`utils.now()`, also inside `utils.addDuration(…)` and `utils.roundUpDate(…)`).
 */
export function deterministic(rule: Rule): boolean {
  const r = rule as { rule: string; clauses?: readonly Rule[]; clause?: Rule } & Record<string, unknown>;
  if (!DETERMINISTIC_RULES.has(r.rule)) return false;
  for (const [k, v] of Object.entries(r)) {
    if (k === 'clauses' || k === 'clause') continue;
    if (readsClock(v)) return false;
  }
  return (r.clauses ?? []).every(deterministic) && (r.clause === undefined || deterministic(r.clause));
}

function readsClock(v: unknown): boolean {
  if (typeof v === 'string') return v.includes('utils.now');
  if (Array.isArray(v)) return v.some(readsClock);
  if (v !== null && typeof v === 'object') return Object.values(v).some(readsClock);
  return false;
}

const IDENTIFIER = /^[A-Za-z_$][A-Za-z0-9_$]*$/;

/** A config path as dfc prints it (`rules.blog.posts.read`, `services["my-api"].security`). */
export function configPath(segments: readonly string[]): string {
  return segments.map((s, i) => (IDENTIFIER.test(s) ? (i === 0 ? s : '.' + s) : '[' + JSON.stringify(s) + ']')).join('');
}

/**
 * Look up an API key: digest, Map, then a constant-time comparison of the fixed-length
 * digests. A key that matched once is remembered by its raw text, so a repeat costs one
 * Map lookup instead of a digest (the digest was most of a decision's cost). Bounded:
 * only keys that matched are kept, one per app digest; an unknown key always takes the
 * digest path.
 */
export function appForKey(compiled: CompiledPolicy, apiKey: string): string | undefined {
  const known = compiled[kKnownKeys].get(apiKey);
  if (known !== undefined) return known;
  // One-shot `hash` (no Hash object per request): a quarter of createHash's cost.
  const hex = hash('sha256', apiKey, 'hex');
  const hit = compiled.keyDigests.get(hex);
  if (!hit || !timingSafeEqual(Buffer.from(hex, 'hex'), hit.digest)) return undefined;
  compiled[kKnownKeys].set(apiKey, hit.app);
  return hit.app;
}
