import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import type { Policy } from '@dfc/schema';
import type { Row as SeedRow } from './data/index.js';
import { createTables, openDataSource, seed, type Row } from './data/index.js';
import { DfcError, q } from './errors.js';
import { createFieldCrypto } from './field-crypto.js';
import { rulesRuntime } from './rules-runtime.js';
import { secretResolver, type Env } from './secrets.js';

/**
 * Creating and seeding a service's SQLite file (what `dfc serve` does for the examples).
 * Seed values may be `{ "$encrypt": "text" }` (encrypted under the policy's crypto key,
 * bound to the column, as an `encrypt` rule would) or `{ "$hash": "text" }` (the rules'
 * `hash`), so seeded rows look exactly like rows written through the API.
 */

export interface SeedResult {
  service: string;
  file: string;
  /** False when the file already existed (it is never touched then). */
  created: boolean;
  rows: number;
}

export async function createAndSeedSqlite(policy: Policy, opts: { baseDir: string; env: Env }): Promise<SeedResult[]> {
  const resolveSecret = secretResolver(opts.env);
  const out: SeedResult[] = [];
  for (const [name, svc] of Object.entries(policy.services)) {
    const db = svc.database;
    if (db.type !== 'sqlite' || db.file === ':memory:') continue;
    const file = resolve(opts.baseDir, db.file);
    if (existsSync(file)) {
      out.push({ service: name, file, created: false, rows: 0 });
      continue;
    }
    let rows: Record<string, Row[]> = {};
    if (db.seed) {
      const seedFile = resolve(opts.baseDir, db.seed);
      try {
        rows = JSON.parse(await readFile(seedFile, 'utf8')) as Record<string, Row[]>;
      } catch (e) {
        throw new DfcError('DFC_ERR_SERVER_CONFIG', `the seed file ${q(seedFile)} of service ${q(name)} cannot be read`, {
          detail: e instanceof Error ? e.message : String(e),
        });
      }
    }
    const transform = await seedTransform(policy, opts.env);
    const ds = openDataSource(svc, { baseDir: opts.baseDir, resolveSecret: (ref) => resolveSecret(ref, `the database of service ${q(name)}`) });
    try {
      await createTables(ds, svc);
      await seed(ds, svc, rows, transform);
    } finally {
      await ds.close();
    }
    out.push({ service: name, file, created: true, rows: Object.values(rows).reduce((n, r) => n + r.length, 0) });
  }
  return out;
}

/**
 * The transform seed rows go through: `{ "$encrypt": text }` is encrypted under the
 * policy's crypto key bound to its column, `{ "$hash": text }` hashed as the `hash` rule
 * does; other values pass unchanged.
 */
export async function seedTransform(policy: Policy, env: Env): Promise<(table: string, row: SeedRow) => SeedRow> {
  const resolveSecret = secretResolver(env);
  const crypto = policy.crypto ? createFieldCrypto(resolveSecret(policy.crypto.key, 'the field encryption key')) : undefined;
  const rt = await rulesRuntime();
  return (_table: string, row: SeedRow): SeedRow => {
    const next: SeedRow = {};
    for (const [col, v] of Object.entries(row)) {
      if (v !== null && typeof v === 'object' && !Array.isArray(v)) {
        const o = v as Record<string, unknown>;
        if (typeof o.$encrypt === 'string' && Object.keys(o).length === 1) {
          if (!crypto) throw new DfcError('DFC_ERR_SERVER_CONFIG', `the seed encrypts ${q(col)} but the policy has no crypto key`);
          next[col] = crypto.encrypt(o.$encrypt, col);
          continue;
        }
        if (typeof o.$hash === 'string' && Object.keys(o).length === 1) {
          next[col] = rt.hashString(o.$hash);
          continue;
        }
      }
      next[col] = v;
    }
    return next;
  };
}
