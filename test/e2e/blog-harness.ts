/**
 * examples/blog, built by the real compiler and served by the real runtime over a real
 * database: SQLite (a temp file), or a fresh PostgreSQL / MariaDB database. For the
 * latter the built policy is rewritten so that service `blog` points at
 * `{ type, url: secret('BLOG_DB_URL') }` (policy.json's hash and policy.mjs's exported
 * hash are recomputed together, exactly as the runtime checks them).
 */
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';

import { join, resolve } from 'node:path';
import { parseEnv } from 'node:util';
import { SignJWT } from 'jose';
import { build } from '@dfc/compiler';
import { policyHash, prettyCanonicalJson, type Policy } from '@dfc/schema';
import { createServer, seedTransform, type DfcServer } from '@dfc/runtime';
import { createTables, openDataSource, seed, type DataSource } from '../../packages/runtime/src/data/index.js';
import { createTestDatabase, type DialectName, type TestDatabase } from './data-databases.js';

export const EXAMPLE = resolve(import.meta.dirname, '../../examples/blog');
/** Inside the repository, next to its node_modules, as a project would be. */
const TMP = resolve(import.meta.dirname, '../.tmp');
export const ENV = parseEnv(readFileSync(join(EXAMPLE, '.env'), 'utf8')) as Record<string, string>;
export const PARTNER_KEY = 'dev-partner-YWSRn6Wndw27i6OlH5yQEO-_aHIrx5QY';

export interface Blog {
  server: DfcServer;
  /** The artifact directory the server loaded (reload tests write next to it). */
  dist: string;
  env: Record<string, string>;
  /** A direct connection to the same database, to check what is stored. */
  ds: DataSource;
  policy: Policy;
  dialect: DialectName;
  token(id: string, role: string, extra?: Record<string, unknown>): Promise<string>;
  close(): Promise<void>;
}

let built: Promise<{ mjs: string; policy: Policy }> | undefined;

/** Build examples/blog once per test file into a temp directory. */
export function buildBlog(): Promise<{ mjs: string; policy: Policy }> {
  built ??= (async () => {
    // For working on the runtime while the config packages are mid-change: serve an
    // artifact built earlier instead (`DFC_BLOG_DIST=examples/blog/dist`).
    const prebuilt = process.env.DFC_BLOG_DIST;
    if (prebuilt) {
      const dist = resolve(prebuilt);
      return { mjs: readFileSync(join(dist, 'policy.mjs'), 'utf8'), policy: JSON.parse(readFileSync(join(dist, 'policy.json'), 'utf8')) as Policy };
    }
    const dir = (mkdirSync(TMP, { recursive: true }), mkdtempSync(join(TMP, 'blog-build-')));
    const r = await build({ config: EXAMPLE, outDir: join(dir, 'dist') });
    if (!r.ok || !r.policy) throw new Error('examples/blog did not build: ' + JSON.stringify(r.diagnostics.slice(0, 3)));
    const mjs = readFileSync(join(dir, 'dist', 'policy.mjs'), 'utf8');
    rmSync(dir, { recursive: true, force: true });
    return { mjs, policy: r.policy };
  })();
  return built;
}

export interface StartOptions {
  debug?: boolean;
  /** Rewrite the database URL the server uses (e.g. through a proxy a test can stop). */
  serverUrl?: (url: string) => string;
  /** Where the server logs go (default: no logging). */
  logStream?: { write(line: string): void };
  authFailures?: { max: number; windowMs: number };
  tls?: { cert: string; key: string };
}

export async function startBlog(dialect: DialectName, opts: StartOptions = {}): Promise<Blog> {
  const { mjs: builtMjs, policy: builtPolicy } = await buildBlog();
  const work = (mkdirSync(TMP, { recursive: true }), mkdtempSync(join(TMP, `blog-${dialect}-`)));
  const dist = join(work, 'dist');
  const env: Record<string, string> = { ...ENV };
  let db: TestDatabase | undefined;
  let policy = builtPolicy;
  rmSync(dist, { recursive: true, force: true });
  mkdirSync(dist);
  let mjs = builtMjs;
  if (dialect !== 'sqlite') {
    db = await createTestDatabase(dialect);
    env.BLOG_DB_URL = opts.serverUrl ? opts.serverUrl(db.url) : db.url;
    const database = dialect === 'postgres' ? { type: 'postgres' as const, url: { $secret: 'BLOG_DB_URL' }, poolMax: 4 } : { type: 'mysql' as const, url: { $secret: 'BLOG_DB_URL' }, poolMax: 4 };
    const next = structuredClone(builtPolicy) as Policy;
    next.services.blog!.database = database;
    next.hash = policyHash(next);
    if (!mjs.includes(builtPolicy.hash)) throw new Error('policy.mjs does not carry the policy hash');
    mjs = mjs.split(builtPolicy.hash).join(next.hash);
    policy = next;
  }
  writeFileSync(join(dist, 'policy.json'), prettyCanonicalJson(policy));
  writeFileSync(join(dist, 'policy.mjs'), mjs);
  copyFileSync(join(EXAMPLE, 'seed.json'), join(work, 'seed.json'));

  // Create and seed the database the way `dfc serve` does.
  const svc = policy.services.blog!;
  const ds = openDataSource(svc, { baseDir: work, resolveSecret: () => db?.url ?? '' });
  await createTables(ds, svc);
  await seed(ds, svc, JSON.parse(readFileSync(join(work, 'seed.json'), 'utf8')), await seedTransform(policy, env));

  const server = await createServer({
    policy: dist,
    env,
    baseDir: work,
    logger: opts.logStream ? { level: 'info' } : false,
    ...(opts.logStream ? { logStream: opts.logStream } : {}),
    ...(opts.tls ? { tls: opts.tls } : {}),
    host: '127.0.0.1',
    port: 0,
    admin: { port: 0, token: ENV.BLOG_ADMIN_TOKEN! },
    ...(opts.debug ? { debug: true, allowDebugInProduction: true } : {}),
    authFailures: opts.authFailures ?? { max: 50, windowMs: 60_000 },
  });
  await server.app.ready();
  const secret = new TextEncoder().encode(ENV.BLOG_JWT_SECRET!);
  return {
    server,
    dist,
    env,
    ds,
    policy,
    dialect,
    token: (id, role, extra = {}) =>
      new SignJWT({ id, role, ...extra })
        .setProtectedHeader({ alg: 'HS256' })
        .setIssuer('https://id.blog.example.com')
        .setAudience('blog')
        .setSubject(id)
        .setExpirationTime('1h')
        .sign(secret),
    async close() {
      await server.close();
      await ds.close();
      await db?.drop();
      rmSync(work, { recursive: true, force: true });
    },
  };
}

export const KEYS = {
  web: ENV.BLOG_WEB_KEY!,
  admin: ENV.BLOG_ADMIN_KEY!,
  docs: ENV.BLOG_DOCS_KEY!,
  partner: PARTNER_KEY,
};
