/**
 * examples/blog as an artifact on disk for servers in child processes: built once (the
 * security fixtures' build cache), written to a temp directory, its database
 * created and seeded (SQLite file, or a fresh PostgreSQL database whose URL the server
 * reads from `BLOG_DB_URL`, which a test may point at a proxy).
 */
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { SignJWT } from 'jose';
import { policyHash, prettyCanonicalJson, type Policy } from '@dfc/schema';
import { seedTransform } from '@dfc/runtime';
import { createTables, openDataSource, seed, type DataSource } from '../../../packages/runtime/src/data/index.js';
import { ENV, EXAMPLE } from '../../e2e/blog-harness.js';
import { buildConfig } from '../fixtures/harness.js';
import { createTestDatabase, type TestDatabase } from '../../e2e/data-databases.js';
import { workDir } from './project.js';

export { ENV, KEYS } from '../../e2e/blog-harness.js';

export interface BlogFiles {
  /** The config directory (relative database files resolve here). */
  work: string;
  dist: string;
  policy: Policy;
  mjs: string;
  env: Record<string, string>;
  /** A direct connection to the database. */
  ds: DataSource;
  db: TestDatabase | undefined;
  token(id: string, role: string): Promise<string>;
  cleanup(): Promise<void>;
}

export async function prepareBlog(dialect: 'sqlite' | 'postgres'): Promise<BlogFiles> {
  // built once across test files while nothing it depends on changes
  const { mjs: builtMjs, policy: builtPolicy } = await buildConfig(EXAMPLE);
  const w = workDir(`blog-${dialect}`);
  const dist = join(w.dir, 'dist');
  mkdirSync(dist);
  const env: Record<string, string> = { ...ENV };
  let policy = builtPolicy;
  let mjs = builtMjs;
  let db: TestDatabase | undefined;
  if (dialect === 'postgres') {
    db = await createTestDatabase('postgres');
    env.BLOG_DB_URL = db.url;
    const next = structuredClone(builtPolicy) as Policy;
    next.services.blog!.database = { type: 'postgres', url: { $secret: 'BLOG_DB_URL' }, poolMax: 4 };
    next.hash = policyHash(next);
    mjs = mjs.split(builtPolicy.hash).join(next.hash);
    policy = next;
  }
  writeFileSync(join(dist, 'policy.json'), prettyCanonicalJson(policy));
  writeFileSync(join(dist, 'policy.mjs'), mjs);
  copyFileSync(join(EXAMPLE, 'seed.json'), join(w.dir, 'seed.json'));
  const svc = policy.services.blog!;
  const ds = openDataSource(svc, { baseDir: w.dir, resolveSecret: () => db?.url ?? '' });
  await createTables(ds, svc);
  await seed(ds, svc, JSON.parse(readFileSync(join(w.dir, 'seed.json'), 'utf8')), await seedTransform(policy, env));
  const secret = new TextEncoder().encode(ENV.BLOG_JWT_SECRET!);
  return {
    work: w.dir,
    dist,
    policy,
    mjs,
    env,
    ds,
    db,
    token: (id, role) =>
      new SignJWT({ id, role })
        .setProtectedHeader({ alg: 'HS256' })
        .setIssuer('https://id.blog.example.com')
        .setAudience('blog')
        .setSubject(id)
        .setExpirationTime('1h')
        .sign(secret),
    async cleanup() {
      await ds.close();
      await db?.drop();
      w.cleanup();
    },
  };
}
