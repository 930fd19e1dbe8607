// The policy `dfc build` emits for a project written by fixtures.mjs, produced
// directly (no TypeScript): the decision-size benchmark needs policies far larger than
// is reasonable to type-check. `checkAgainstBuild` compares the two at a small size,
// so the synthetic policy is the real one.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { policyHash } from '@dfc/schema';
import { ROOT } from './machine.mjs';
import { AUDIENCE, ISSUER, ORIGIN, locate, serviceName, tableName } from './fixtures.mjs';

const { codegen } = await import(pathToFileURL(join(ROOT, 'packages', 'compiler', 'dist', 'stages', 'codegen.js')).href);

const col = (type) => ({ nullable: false, type });
const TABLE = () => ({
  columns: { id: col('integer'), isPublic: col('bool'), ownerId: col('string'), password: col('string'), title: col('string') },
  primaryKey: 'id',
  security: [{ name: 'members', roles: ['admin', 'member'], type: 'role' }],
});
const RULES = () => ({
  create: { clauses: [{ rule: 'authenticated' }, { field: 'args.doc.ownerId', rule: 'force', value: 'args.auth.id' }], rule: 'and' },
  delete: { eval: 'in', f1: 'args.auth.role', f2: ['admin'], rule: 'match', type: 'string' },
  read: {
    clauses: [
      {
        clauses: [
          { eval: 'in', f1: 'args.auth.role', f2: ['member', 'admin'], rule: 'match', type: 'string' },
          { eval: '==', f1: 'args.auth.id', f2: 'args.find.ownerId', rule: 'match', type: 'string' },
        ],
        rule: 'or',
      },
      { clause: { eval: '!=', f1: 'args.auth.role', f2: 'admin', rule: 'match', type: 'string' }, fields: ['res.password'], rule: 'remove' },
    ],
    rule: 'and',
  },
  update: { eval: '==', f1: 'args.auth.id', f2: 'args.find.ownerId', rule: 'match', type: 'string' },
});

/**
 * The policy of `writeProject(dir, { tables, perService, database, jwt })`. `ops` limits the rules written per table (the size benchmark keeps
 * `read` only at 100,000 tables, where four closures per table would make a module of
 * several hundred megabytes).
 */
export function syntheticPolicy({ tables, perService = 100, ops = ['create', 'read', 'update', 'delete'], database = 'sqlite', extraRoles = 0, jwt = 'hs256' }) {
  const services = {};
  const rules = {};
  const access = [];
  const nServices = Math.ceil(tables / perService);
  for (let k = 0; k < nServices; k++) {
    const s = serviceName(k);
    const db = database === 'sqlite' ? { file: `./${s}.db`, type: 'sqlite' } : { poolMax: 10, schema: s, type: 'postgres', url: { $secret: 'BENCH_PG_URL' } };
    services[s] = { database: db, maxRecords: 1000, security: [{ name: 'signedIn', type: 'authenticated' }], tables: {} };
    rules[s] = {};
  }
  for (let i = 0; i < tables; i++) {
    const { service, table } = locate(i, perService);
    services[service].tables[table] = TABLE();
    const all = RULES();
    rules[service][table] = Object.fromEntries(ops.map((op) => [op, all[op]]));
    access.push({ component: `_table/${table}`, filterOp: 'AND', filters: [], requestor: ['api'], service, verbs: ['GET', 'POST', 'PATCH'] });
  }
  const policy = {
    $schema: './policy.schema.json',
    apps: { web: { active: true, apiKey: { $secret: 'BENCH_WEB_KEY' }, role: 'member', roles: ['admin', 'member'] } },
    artifactVersion: 1,
    auth: {
      jwt:
        jwt === 'hs256'
          ? { algorithms: ['HS256'], audience: [AUDIENCE], clockTolerance: 30, issuer: ISSUER, roleClaim: 'role', secret: { $secret: 'BENCH_JWT_SECRET' } }
          : { algorithms: ['ES256'], audience: [AUDIENCE], clockTolerance: 30, issuer: ISSUER, publicKey: { $secret: 'BENCH_JWT_PUBLIC_KEY' }, roleClaim: 'role' },
      queryCredentials: true,
    },
    cors: [
      {
        enabled: true,
        exposedHeaders: [],
        headers: ['Authorization', 'Content-Type', 'X-Api-Key'],
        maxAge: 600,
        methods: ['GET', 'POST', 'PATCH', 'DELETE'],
        origins: [ORIGIN],
        path: '/api/v2/*',
        supportsCredentials: true,
      },
    ],
    debug: false,
    dfcVersion: '',
    environment: 'production',
    hash: '',
    roles: {
      admin: { access: [{ component: '*', filterOp: 'AND', filters: [], requestor: ['api'], service: '*', verbs: ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'] }], active: true },
      member: { access, active: true },
      // More roles with the same entries: the size benchmark's 100,000 role entries.
      ...Object.fromEntries(Array.from({ length: extraRoles }, (_, i) => [`member${i + 1}`, { access, active: true }])),
    },
    rules,
    server: { bodyLimit: 1048576, defaultPageSize: 100, maxPageSize: 1000 },
    services,
    webhooks: { allowHttp: false, allowPrivateHosts: [] },
  };
  return policy;
}

/** Fill in version and hash, write policy.json and policy.mjs into `dir`. */
export async function writeArtifact(dir, policy) {
  const { DFC_VERSION } = await import('@dfc/schema');
  policy.dfcVersion = DFC_VERSION;
  policy.hash = policyHash(policy);
  const out = await codegen({ policy, code: {} });
  if (!out.module) throw new Error(`codegen failed: ${JSON.stringify(out.diagnostics)}`);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'policy.json'), JSON.stringify(policy));
  writeFileSync(join(dir, 'policy.mjs'), out.module);
  return { policyBytes: Buffer.byteLength(JSON.stringify(policy)), moduleBytes: Buffer.byteLength(out.module) };
}

/** Throws unless the synthetic policy is byte for byte what `dfc build` wrote (same hash). */
export function checkAgainstBuild(built, synthetic) {
  if (built.hash !== synthetic.hash) throw new Error(`the synthetic policy (${synthetic.hash}) differs from what dfc build wrote (${built.hash})`);
}
