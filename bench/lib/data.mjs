// Rows for the benchmarks' tables, and the databases that hold them: an SQLite file
// per service next to the project, or a scratch PostgreSQL database dropped afterwards.
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { join } from 'node:path';
import { createTables, openDataSource, seed } from '@dfc/runtime';
import { scratch } from './fixtures.mjs';
import { syntheticPolicy, writeArtifact } from './policy.mjs';

export const PG_ADMIN_URL = process.env.DFC_BENCH_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

/**
 * The bench project's 10-table policy over a scratch PostgreSQL database (`pgReady`, a
 * `scratchPostgres()` started earlier, or a new one): its artifact in a scratch directory
 * `name`, `rows` in every table, `env.BENCH_PG_URL` set. `dir` is undefined when no
 * PostgreSQL answers; call `pgdb.drop()` (when present) at the end.
 */
export async function postgresProject(env, rows, name, pgReady = scratchPostgres()) {
  const pgdb = await pgReady;
  if (!pgdb.url) return { pgdb, dir: undefined };
  env.BENCH_PG_URL = pgdb.url;
  const dir = scratch(name);
  const policy = syntheticPolicy({ tables: 10, database: 'postgres' });
  await writeArtifact(join(dir, 'dist'), policy);
  await createAndFill(policy, { baseDir: dir, env, rows });
  return { pgdb, dir };
}

/** Ten rows of a bench table. */
export function benchRows(n = 10) {
  return Array.from({ length: n }, (_, i) => ({
    id: i + 1,
    ownerId: `u${i % 3}`,
    title: `post ${i + 1}`,
    isPublic: i % 2 === 0,
    password: `secret-${i + 1}`,
  }));
}

/** Create the tables of every service of `policy` and put `rows` into `t0000` of `s0`. */
export async function createAndFill(policy, { baseDir, env, rows }) {
  for (const [name, svc] of Object.entries(policy.services)) {
    const ds = openDataSource(svc, { baseDir, resolveSecret: (ref) => env[ref.$secret] });
    try {
      await createTables(ds, svc);
      if (name === 's0') await seed(ds, svc, { t0000: rows });
    } finally {
      await ds.close();
    }
  }
}

/** A scratch PostgreSQL database; `drop()` removes it. Undefined when no server answers. */
export async function scratchPostgres() {
  const name = `dfc_bench_${process.pid}_${randomBytes(3).toString('hex')}`;
  const admin = new pg.Client({ connectionString: PG_ADMIN_URL, connectionTimeoutMillis: 3000 });
  try {
    await admin.connect();
    await admin.query(`CREATE DATABASE ${name}`);
  } catch (e) {
    await admin.end().catch(() => {});
    return { error: e instanceof Error ? e.message : String(e) };
  }
  const url = new URL(PG_ADMIN_URL);
  url.pathname = `/${name}`;
  return {
    name,
    url: url.toString(),
    async drop() {
      try {
        await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      } finally {
        await admin.end();
      }
    },
  };
}
