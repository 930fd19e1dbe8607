import {
  ARTIFACT_VERSION,
  DFC_VERSION,
  OPERATIONS,
  VERBS,
  canonicalJson,
  hashedPolicyJson,
  sha256Hex,
  type CodeRef,
  type Config,
  type ConfigAccess,
  type ConfigColumn,
  type Policy,
  type PolicyAccess,
  type PolicyApp,
  type PolicyCors,
  type PolicyDatabase,
  type PolicyJwt,
  type PolicyRequirement,
  type PolicyRole,
  type PolicyService,
  type PolicyTable,
  type RequirementBlock,
  type Rule,
  type SecretValue,
  type SourceRule,
  type TableRules,
  type Verb,
} from '@dfc/schema';
import { createPublicKey } from 'node:crypto';
import type { DiagnosticCode } from '../diagnostics/codes.js';
import { displayPath, type RawPath } from '../diagnostics/config-path.js';
import { diagnostic, type Diagnostic } from '../diagnostics/diagnostic.js';
import { analyzeCodeRule, type CodeRuleProblem } from '../source/code-rule.js';
import type { Locator } from '../source/locate.js';

export interface NormalizeInput {
  config: Config;
  /** The unparsed default export, for positions and display paths. */
  root: unknown;
  locator: Locator;
}

/** Where each named thing of the policy came from in the config, for diagnostics. */
export interface Origins {
  services: Map<string, RawPath>;
  roles: Map<string, RawPath>;
  apps: Map<string, RawPath>;
  /** `service/table` → the rule set's path. */
  ruleSets: Map<string, RawPath>;
  /** Index in `policy.cors` → the entry's path. */
  cors: RawPath[];
}

export interface CodeRuleEntry {
  /** A JavaScript expression evaluating to the function. */
  source: string;
  async: boolean;
}

export interface NormalizeOutput {
  diagnostics: Diagnostic[];
  policy?: Policy;
  /** policy.json's text (without its final line break), printed with the hash: the policy must not change after normalize. */
  policyJson?: string;
  /** Code rule functions by id, for codegen. */
  code: Record<string, CodeRuleEntry>;
  origins: Origins;
}

/** Defaults, documented in docs/authoring.md's reference. */
export const DEFAULTS = {
  environment: 'production',
  maxRecords: 1000,
  poolMax: 10,
  defaultPageSize: 100,
  maxPageSize: 1000,
  bodyLimit: 1_048_576,
  clockTolerance: 30,
  adminHost: '127.0.0.1',
  adminPort: 9180,
  requestor: ['api'],
  filterOp: 'AND',
} as const;

export const SCHEMA_REF = './policy.schema.json';

const VERB_ORDER = new Map<Verb, number>(VERBS.map((v, i) => [v, i]));
const HMAC = /^HS/;

function verbs(list: readonly Verb[]): Verb[] {
  return [...new Set(list)].sort((a, b) => VERB_ORDER.get(a)! - VERB_ORDER.get(b)!);
}

function sortedUnique(list: readonly string[]): string[] {
  return [...new Set(list)].sort();
}

function nameOf(ref: string | { name: string }): string {
  return typeof ref === 'string' ? ref : ref.name;
}

/**
 * Config → policy IR: references become names, defaults are filled, lists that mean
 * sets are sorted, maps are keyed by name. The result is independent of the order in
 * which the config wrote unordered things (security checklist C7).
 */
export function normalize(input: NormalizeInput): NormalizeOutput {
  const { config, root, locator } = input;
  const diagnostics: Diagnostic[] = [];
  const code: Record<string, CodeRuleEntry> = {};
  const origins: Origins = { services: new Map(), roles: new Map(), apps: new Map(), ruleSets: new Map(), cors: [] };
  const report = (c: DiagnosticCode, message: string, path: RawPath, notes: string[] = []) =>
    diagnostics.push(diagnostic(c, message, { path: displayPath(root, path), span: locator.locate(path), notes }));

  const rule = (r: SourceRule, path: RawPath): Rule => normalizeRule(r, path, code, report);
  const requirements = (block: RequirementBlock | undefined, path: RawPath): PolicyRequirement[] | undefined => {
    if (!block) return undefined;
    return Object.keys(block)
      .sort()
      .map((name) => {
        const req = block[name]!;
        const out: PolicyRequirement = { name, type: req.type };
        if (req.type === 'role') out.roles = sortedUnique(req.roles);
        if (req.type === 'rule') out.rule = rule(req.rule, [...path, name, 'rule']);
        return out;
      });
  };

  const services: Record<string, PolicyService> = {};
  config.services.forEach((s, i) => {
    origins.services.set(s.name, ['services', i]);
    const tables: Record<string, PolicyTable> = {};
    for (const [tableName, t] of Object.entries(s.tables)) {
      const columns: PolicyTable['columns'] = {};
      for (const [columnName, c] of Object.entries(t.columns)) {
        const col = column(c);
        const security = typeof c === 'object' ? requirements(c.security, ['services', i, 'tables', tableName, 'columns', columnName, 'security']) : undefined;
        columns[columnName] = security ? { ...col, security } : col;
      }
      const table: PolicyTable = { primaryKey: t.primaryKey, columns };
      const security = requirements(t.security, ['services', i, 'tables', tableName, 'security']);
      if (security) table.security = security;
      tables[tableName] = table;
    }
    services[s.name] = {
      database: database(s.database),
      maxRecords: s.maxRecords ?? DEFAULTS.maxRecords,
      tables,
      security: requirements(s.security, ['services', i, 'security']) ?? [],
    };
  });

  const rules: Policy['rules'] = {};
  (config.rules ?? []).forEach((set, i) => {
    origins.ruleSets.set(`${set.service}/${set.table}`, ['rules', i]);
    const table: TableRules = {};
    for (const op of OPERATIONS) {
      const r = set.rules[op];
      if (r) table[op] = rule(r, ['rules', i, 'rules', op]);
    }
    (rules[set.service] ??= {})[set.table] = table;
  });

  const roles: Record<string, PolicyRole> = {};
  (config.roles ?? []).forEach((r, i) => {
    origins.roles.set(r.name, ['roles', i]);
    const role: PolicyRole = {
      active: r.active ?? true,
      access: byCanonicalJson(r.access.map(access)),
    };
    if (r.description !== undefined) role.description = r.description;
    roles[r.name] = role;
  });

  const apps: Record<string, PolicyApp> = {};
  (config.apps ?? []).forEach((a, i) => {
    origins.apps.set(a.name, ['apps', i]);
    const app: PolicyApp = {
      // A plaintext key stays here only until analyze refuses it (DFC4002); such a
      // policy is never returned or written.
      apiKey: a.apiKey as SecretValue,
      role: a.role === undefined ? null : nameOf(a.role),
      roles: sortedUnique((a.roles ?? []).map(nameOf)),
      active: a.active ?? true,
    };
    if (a.description !== undefined) app.description = a.description;
    apps[a.name] = app;
  });

  const corsWithOrigin = (config.cors ?? []).map((c, i) => {
    const entry: PolicyCors = {
      path: c.path,
      origins: sortedUnique(c.origins),
      methods: verbs(c.methods),
      headers: sortedUnique(c.headers ?? []),
      exposedHeaders: sortedUnique(c.exposedHeaders ?? []),
      maxAge: c.maxAge ?? 0,
      supportsCredentials: c.supportsCredentials ?? false,
      enabled: c.enabled ?? true,
    };
    if (c.description !== undefined) entry.description = c.description;
    return { entry, path: ['cors', i] as RawPath };
  });
  corsWithOrigin.sort((a, b) => cmp(a.entry.path, b.entry.path) || cmp(canonicalJson(a.entry), canonicalJson(b.entry)));
  origins.cors = corsWithOrigin.map((c) => c.path);

  const auth: Policy['auth'] = { queryCredentials: config.auth?.queryCredentials ?? true };
  const jwt = config.auth?.jwt;
  if (jwt) {
    const out: PolicyJwt = {
      algorithms: jwt.algorithms ? [...new Set(jwt.algorithms)] : defaultAlgorithms(jwt),
      clockTolerance: jwt.clockTolerance ?? DEFAULTS.clockTolerance,
    };
    if (jwt.secret !== undefined) out.secret = jwt.secret as SecretValue;
    if (jwt.publicKey !== undefined) out.publicKey = jwt.publicKey;
    if (jwt.jwksUrl !== undefined) out.jwksUrl = jwt.jwksUrl;
    if (jwt.issuer !== undefined) out.issuer = jwt.issuer;
    if (jwt.audience !== undefined) out.audience = sortedUnique(typeof jwt.audience === 'string' ? [jwt.audience] : jwt.audience);
    if (jwt.roleClaim !== undefined) out.roleClaim = jwt.roleClaim;
    out.algorithms.sort();
    auth.jwt = out;
  }

  const server = config.server ?? {};
  const body: Omit<Policy, 'hash'> = {
    $schema: SCHEMA_REF,
    artifactVersion: ARTIFACT_VERSION,
    dfcVersion: DFC_VERSION,
    environment: config.environment ?? DEFAULTS.environment,
    debug: config.debug ?? false,
    services,
    rules,
    roles,
    apps,
    cors: corsWithOrigin.map((c) => c.entry),
    auth,
    server: {
      defaultPageSize: server.defaultPageSize ?? Math.min(DEFAULTS.defaultPageSize, server.maxPageSize ?? DEFAULTS.maxPageSize),
      maxPageSize: server.maxPageSize ?? DEFAULTS.maxPageSize,
      bodyLimit: server.bodyLimit ?? DEFAULTS.bodyLimit,
    },
    webhooks: {
      allowPrivateHosts: sortedUnique(config.webhooks?.allowPrivateHosts ?? []),
      allowHttp: config.webhooks?.allowHttp ?? false,
    },
  };
  if (config.crypto) body.crypto = { key: config.crypto.key as SecretValue };
  if (config.admin) {
    body.admin = {
      token: config.admin.token as SecretValue,
      host: config.admin.host ?? DEFAULTS.adminHost,
      port: config.admin.port ?? DEFAULTS.adminPort,
    };
  }
  const { hash, text } = hashedPolicyJson(body);
  const policy: Policy = { ...body, hash };
  return { diagnostics, policy, policyJson: text, code, origins };
}

/**
 * `HS256` with a secret; with a public key written in the config, the algorithm its
 * key type implies; otherwise (a key from a secret, or a JWKS) `RS256`.
 */
function defaultAlgorithms(jwt: NonNullable<NonNullable<Config['auth']>['jwt']>): PolicyJwt['algorithms'] {
  if (jwt.secret !== undefined) return ['HS256'];
  if (typeof jwt.publicKey === 'string') {
    try {
      const key = createPublicKey(jwt.publicKey);
      if (key.asymmetricKeyType === 'ec') {
        const curve = key.asymmetricKeyDetails?.namedCurve;
        return curve === 'secp384r1' ? ['ES384'] : curve === 'secp521r1' ? ['ES512'] : ['ES256'];
      }
      if (key.asymmetricKeyType === 'ed25519' || key.asymmetricKeyType === 'ed448') return ['EdDSA'];
      if (key.asymmetricKeyType === 'rsa-pss') return ['PS256'];
    } catch {
      // Not a parsable key: the runtime reports it when it loads the policy.
    }
  }
  return ['RS256'];
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function column(c: ConfigColumn): { type: PolicyTable['columns'][string]['type']; nullable: boolean } {
  if (typeof c === 'string') return { type: c, nullable: false };
  return { type: c.type, nullable: c.nullable ?? false };
}

function database(d: Config['services'][number]['database']): PolicyDatabase {
  switch (d.type) {
    case 'sqlite':
      return d.seed === undefined ? { type: 'sqlite', file: d.file } : { type: 'sqlite', file: d.file, seed: d.seed };
    case 'postgres': {
      const out: PolicyDatabase = { type: 'postgres', url: d.url as SecretValue, poolMax: d.pool?.max ?? DEFAULTS.poolMax };
      if (d.schema !== undefined) out.schema = d.schema;
      if (d.preparedStatements === false) out.preparedStatements = false;
      return out;
    }
    case 'mysql':
      return { type: 'mysql', url: d.url as SecretValue, poolMax: d.pool?.max ?? DEFAULTS.poolMax };
  }
}

/** `items` in the order of their canonical JSON (printed once each, not at every comparison). */
function byCanonicalJson<T>(items: readonly T[]): T[] {
  return items
    .map((item) => ({ item, key: canonicalJson(item) }))
    .sort((x, y) => cmp(x.key, y.key))
    .map((x) => x.item);
}

function access(a: ConfigAccess): PolicyAccess {
  return {
    service: nameOf(a.service),
    component: a.component,
    verbs: verbs(a.verbs),
    requestor: sortedUnique(a.requestor ?? DEFAULTS.requestor) as PolicyAccess['requestor'],
    // Filters combine with AND or OR, so their order means nothing: sorted for a stable hash.
    filters: byCanonicalJson(
      (a.filters ?? []).map((f) =>
        f.value === undefined ? { name: f.name, operator: f.operator } : { name: f.name, operator: f.operator, value: f.value },
      ),
    ),
    filterOp: a.filterOp ?? DEFAULTS.filterOp,
  };
}

type Report = (code: DiagnosticCode, message: string, path: RawPath, notes?: string[]) => void;

/** A rule with code functions replaced by references (their source goes to codegen). */
function normalizeRule(r: SourceRule, path: RawPath, code: Record<string, CodeRuleEntry>, report: Report): Rule {
  if (r.rule === 'code') {
    const analysis = analyzeCodeRule(r.fn);
    for (const p of analysis.problems) reportCodeProblem(p, [...path, 'fn'], report);
    const sourceHash = 'sha256:' + sha256Hex(analysis.source);
    // invariant: the id depends only on the source, so an unrelated edit does not rename it.
    const id = 'c' + sourceHash.slice(7, 23);
    code[id] = { source: analysis.source, async: analysis.async };
    const out: CodeRef = { rule: 'code', id, sourceHash, async: analysis.async };
    if (r.name !== undefined) out.name = r.name;
    if (r.error !== undefined) out.error = r.error;
    return out;
  }
  const out = { ...r } as Record<string, unknown>;
  if ('clauses' in r) out.clauses = r.clauses.map((c, i) => normalizeRule(c, [...path, 'clauses', i], code, report));
  if ('clause' in r && r.clause) out.clause = normalizeRule(r.clause, [...path, 'clause'], code, report);
  for (const key of Object.keys(out)) if (out[key] === undefined) delete out[key];
  return out as unknown as Rule;
}

function reportCodeProblem(p: CodeRuleProblem, path: RawPath, report: Report): void {
  const hint = 'a code rule is copied into policy.mjs as source text: it may use only its argument, its own variables and standard globals such as `Math` and `Date`';
  switch (p.kind) {
    case 'free':
      report('DFC3009', `code rule uses \`${p.name}\`, which is defined outside it`, path, [hint, `move \`${p.name}\` inside the function, or pass the value through the rule's input`]);
      return;
    case 'forbidden':
      report('DFC3009', `code rule uses \`${p.name}\`, which code rules may not use`, path, [hint]);
      return;
    case 'forbidden-property':
      report('DFC3009', `code rule reads the property \`${p.name}\`, which code rules may not use`, path, [hint]);
      return;
    case 'this':
      report('DFC3009', 'code rule uses `this`', path, [hint, 'read what you need from the argument instead']);
      return;
    case 'dynamic-import':
      report('DFC3009', 'code rule imports a module', path, [hint]);
      return;
    case 'not-a-function':
      report('DFC3010', `code rule function cannot be copied into policy.mjs: ${p.detail}`, path, [
        'write the function inline: `fn: (args) => args.auth?.role === \'admin\'`',
      ]);
  }
}

/** A role access entry as the policy stores it (for tools that map policy entries back to the config). */
export { access as normalizeAccess };
