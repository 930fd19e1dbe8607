// Generated dfc projects for the benchmarks: N tables in services of up to 100 tables
// each, every table with a rule per operation and a route-level requirement, one role
// entry per table, an app, CORS and JWT sessions. The same project serves the HTTP,
// memory and compile benchmarks, so they measure one kind of policy.
import { execFile } from 'node:child_process';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT } from './machine.mjs';

export const DFC_BIN = join(ROOT, 'packages', 'cli', 'bin', 'dfc.js');
export const TMP = join(ROOT, 'bench', '.tmp');

export const API_KEY = 'bench-web-key-0123456789abcdef0123456789';
export const ORIGIN = 'https://app.example.com';
export const ISSUER = 'https://id.example.com';
export const AUDIENCE = 'bench';

/** A fresh scratch directory under bench/.tmp (ignored by git), removed when the process ends unless `keep`. */
export function scratch(name, { keep = false } = {}) {
  const dir = join(TMP, `${name}-${process.pid}-${randomBytes(3).toString('hex')}`);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  // Policies, databases and projects of thousands of tables: gone when the process ends
  // (on its own or by a signal), unless a tool leaves something there to read.
  if (!keep) scratchDirs.push(dir);
  return dir;
}

const scratchDirs = [];
const removeScratch = () => {
  for (const dir of scratchDirs.splice(0)) rmSync(dir, { recursive: true, force: true });
};
process.on('exit', removeScratch);
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.once(signal, () => {
    removeScratch();
    process.kill(process.pid, signal);
  });
}

export const tableName = (i) => `t${String(i).padStart(4, '0')}`;
export const serviceName = (k) => `s${k}`;

/** Where table `i` lives. */
export function locate(i, perService = 100) {
  return { service: serviceName(Math.floor(i / perService)), table: tableName(i) };
}

const RULES = (svc, t) => `defineRule(${svc}, '${t}', {
  read: {
    rule: 'and',
    clauses: [
      {
        rule: 'or',
        clauses: [
          { rule: 'match', eval: 'in', type: 'string', f1: 'args.auth.role', f2: ['member', 'admin'] },
          { rule: 'match', eval: '==', type: 'string', f1: 'args.auth.id', f2: 'args.find.ownerId' },
        ],
      },
      { rule: 'remove', fields: ['res.password'], clause: { rule: 'match', eval: '!=', type: 'string', f1: 'args.auth.role', f2: 'admin' } },
    ],
  },
  create: { rule: 'and', clauses: [{ rule: 'authenticated' }, { rule: 'force', field: 'args.doc.ownerId', value: 'args.auth.id' }] },
  update: { rule: 'match', eval: '==', type: 'string', f1: 'args.auth.id', f2: 'args.find.ownerId' },
  delete: { rule: 'match', eval: 'in', type: 'string', f1: 'args.auth.role', f2: ['admin'] },
})`;

/** The secrets of a bench project: the app's API key and a fresh HS256 secret or ES256 key pair. */
export function projectEnv(jwt = 'hs256') {
  const env = { BENCH_WEB_KEY: API_KEY };
  if (jwt === 'hs256') {
    env.BENCH_JWT_SECRET = randomBytes(48).toString('base64');
  } else {
    const { publicKey, privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    env.BENCH_JWT_PUBLIC_KEY = publicKey.export({ type: 'spki', format: 'pem' });
    env.BENCH_JWT_PRIVATE_KEY = privateKey.export({ type: 'pkcs8', format: 'pem' });
  }
  return env;
}

/**
 * Write a project with `tables` tables. `database` is `sqlite` (one file per service)
 * or `postgres` (one schema per service in the database the `BENCH_PG_URL` secret names).
 * `jwt` is `hs256` or `es256`. Returns the env the project's secrets come from.
 */
export function writeProject(dir, { tables, perService = 100, database = 'sqlite', jwt = 'hs256' }) {
  const services = Math.ceil(tables / perService);
  mkdirSync(join(dir, 'services'), { recursive: true });
  const env = { BENCH_WEB_KEY: API_KEY };
  for (let k = 0; k < services; k++) {
    const svc = serviceName(k);
    const from = k * perService;
    const to = Math.min(tables, from + perService);
    const names = [];
    for (let i = from; i < to; i++) names.push(tableName(i));
    const db =
      database === 'sqlite'
        ? `{ type: 'sqlite', file: './${svc}.db' }`
        : `{ type: 'postgres', url: secret('BENCH_PG_URL'), schema: '${svc}', pool: { max: 10 } }`;
    const lines = [
      `import { defineRule, defineService${database === 'postgres' ? ', secret' : ''} } from 'dfc';`,
      '',
      `export const ${svc} = defineService({`,
      `  name: '${svc}',`,
      `  database: ${db},`,
      '  tables: {',
      ...names.map(
        (t) =>
          `    ${t}: { columns: { id: 'integer', ownerId: 'string', title: 'string', isPublic: 'bool', password: 'string' }, primaryKey: 'id', security: { members: { type: 'role', roles: ['member', 'admin'] } } },`,
      ),
      '  },',
      "  security: { signedIn: { type: 'authenticated' } },",
      '});',
      '',
      ...names.map((t) => `export const ${svc}_${t} = ${RULES(svc, t)};\n`),
      `export const ${svc}Rules = [${names.map((t) => `${svc}_${t}`).join(', ')}] as const;`,
      '',
    ];
    writeFileSync(join(dir, 'services', `${svc}.ts`), lines.join('\n'));
  }
  Object.assign(env, projectEnv(jwt));
  const jwtBlock =
    jwt === 'hs256'
      ? `{ secret: secret('BENCH_JWT_SECRET'), algorithms: ['HS256'], issuer: '${ISSUER}', audience: '${AUDIENCE}', roleClaim: 'role' }`
      : `{ publicKey: secret('BENCH_JWT_PUBLIC_KEY'), algorithms: ['ES256'], issuer: '${ISSUER}', audience: '${AUDIENCE}', roleClaim: 'role' }`;
  const svcs = Array.from({ length: services }, (_, k) => serviceName(k));
  const entries = [];
  for (let i = 0; i < tables; i++) {
    const { service, table } = locate(i, perService);
    entries.push(`    { service: ${service}, component: '_table/${table}', verbs: ['GET', 'POST', 'PATCH'] },`);
  }
  const config = [
    "import { defineApp, defineConfig, defineCors, defineRole, secret } from 'dfc';",
    ...svcs.map((s) => `import { ${s}, ${s}Rules } from './services/${s}.js';`),
    '',
    'export const member = defineRole({',
    "  name: 'member',",
    '  access: [',
    ...entries,
    '  ],',
    '});',
    '',
    "export const admin = defineRole({ name: 'admin', access: [{ service: '*', component: '*', verbs: ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'] }] });",
    '',
    "export const web = defineApp({ name: 'web', apiKey: secret('BENCH_WEB_KEY'), role: member, roles: [member, admin] });",
    '',
    'export default defineConfig({',
    `  services: [${svcs.join(', ')}],`,
    `  rules: [${svcs.map((s) => `...${s}Rules`).join(', ')}],`,
    '  roles: [member, admin],',
    '  apps: [web],',
    `  cors: [defineCors({ path: '/api/v2/*', origins: ['${ORIGIN}'], methods: ['GET', 'POST', 'PATCH', 'DELETE'], headers: ['Content-Type', 'Authorization', 'X-Api-Key'], exposedHeaders: [], maxAge: 600, supportsCredentials: true, enabled: true })],`,
    `  auth: { jwt: ${jwtBlock} },`,
    '});',
    '',
  ];
  writeFileSync(join(dir, 'dfc.config.ts'), config.join('\n'));
  return env;
}

/** Run `dfc build <dir> --format json` in a fresh process; resolves to its result and the wall time. */
export function dfcBuild(dir, { extraArgs = [], taskset } = {}) {
  const args = [DFC_BIN, 'build', dir, '--format', 'json', ...extraArgs];
  const [cmd, argv] = taskset ? ['taskset', ['-c', taskset, process.execPath, ...args]] : [process.execPath, args];
  const t0 = process.hrtime.bigint();
  return new Promise((resolve, reject) => {
    execFile(cmd, argv, { cwd: ROOT, maxBuffer: 64 << 20 }, (err, stdout, stderr) => {
      const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
      let result;
      try {
        result = JSON.parse(stdout);
      } catch {
        return reject(new Error(`dfc build ${dir} printed no JSON (exit ${err?.code}): ${stderr.slice(0, 2000)}`));
      }
      if (!result.ok) return reject(new Error(`dfc build ${dir} failed: ${JSON.stringify(result.diagnostics.slice(0, 5))}`));
      resolve({ seconds, result });
    });
  });
}
