/**
 * Throw-away dfc projects for the security suites: a config written to a temp directory
 * inside the repository (next to its node_modules, as a project would be), built by the
 * real compiler, with its SQLite files created and seeded the way `dfc serve` does it.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { build, type CompileResult } from '@dfc/compiler';
import type { Policy } from '@dfc/schema';
import { createAndSeedSqlite } from '@dfc/runtime';

export const REPO = resolve(import.meta.dirname, '../../..');
export const TMP = join(REPO, 'test/.tmp');

/** A fresh directory under test/.tmp, removed by `cleanup`. */
export function workDir(prefix: string): { dir: string; cleanup(): void } {
  mkdirSync(TMP, { recursive: true });
  const dir = mkdtempSync(join(TMP, `security-${prefix}-`));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** A distinctive random string that no code path would produce by chance. */
export function canary(label: string): string {
  return `CANARY${label}${randomBytes(12).toString('hex')}`;
}

/** Base64 of 32 random bytes (a master key or a field key). */
export function randomKey(): string {
  return randomBytes(32).toString('base64');
}

export interface Project {
  dir: string;
  dist: string;
  result: CompileResult;
  policy: Policy;
  cleanup(): void;
}

/**
 * Write `files` (at least `dfc.config.ts`) into a fresh directory and build it. Throws
 * when the build has errors unless `expectErrors`; the result is returned either way.
 */
export async function buildProject(prefix: string, files: Record<string, string>, opts: { expectErrors?: boolean; env?: Record<string, string> } = {}): Promise<Project> {
  const w = workDir(prefix);
  for (const [name, text] of Object.entries(files)) writeFileSync(join(w.dir, name), text);
  const dist = join(w.dir, 'dist');
  const saved: Record<string, string | undefined> = {};
  // The compiler runs the config in this process: secrets it might read come from here.
  for (const [k, v] of Object.entries(opts.env ?? {})) {
    saved[k] = process.env[k];
    process.env[k] = v;
  }
  let result: CompileResult;
  try {
    result = await build({ config: w.dir, outDir: dist });
  } finally {
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  }
  if (!result.ok && !opts.expectErrors) {
    w.cleanup();
    throw new Error(`${prefix}: the config did not build: ${JSON.stringify(result.diagnostics.filter((d) => d.severity === 'error').slice(0, 5))}`);
  }
  return { dir: w.dir, dist, result, policy: result.policy as Policy, cleanup: w.cleanup };
}

/** Create and seed the project's SQLite files, as `dfc serve` does. */
export async function seedProject(p: Project, env: Record<string, string>): Promise<void> {
  await createAndSeedSqlite(p.policy, { baseDir: p.dir, env });
}
