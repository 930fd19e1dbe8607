// The machine and software a run measured: CPU, cores, load, Node and library versions.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { cpus, loadavg, totalmem } from 'node:os';
import { join } from 'node:path';

export const ROOT = join(import.meta.dirname, '..', '..');
const require = createRequire(join(ROOT, 'package.json'));

/** The installed version of a package, resolved from the repository root (or from a workspace). */
export function versionOf(name, from = ROOT) {
  for (const base of [from, join(ROOT, 'packages', 'runtime'), join(ROOT, 'packages', 'compiler')]) {
    try {
      const r = createRequire(join(base, 'package.json'));
      let dir = r.resolve(name);
      // Walk up to the package's own package.json.
      for (let i = 0; i < 6; i++) {
        dir = join(dir, '..');
        try {
          const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));
          if (pkg.name === name) return pkg.version;
        } catch {}
      }
    } catch {}
  }
  try {
    return JSON.parse(readFileSync(join(ROOT, 'node_modules', name, 'package.json'), 'utf8')).version;
  } catch {
    return 'not installed';
  }
}

export function cpuModel() {
  try {
    const info = readFileSync('/proc/cpuinfo', 'utf8');
    const m = /^model name\s*:\s*(.+)$/m.exec(info);
    if (m) return m[1].trim();
  } catch {}
  return cpus()[0]?.model ?? 'unknown';
}

export function gitCommit() {
  try {
    const head = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: ROOT, encoding: 'utf8' }).trim();
    const dirty = execFileSync('git', ['status', '--porcelain', '--', 'packages', 'bench'], { cwd: ROOT, encoding: 'utf8' }).trim() !== '';
    return dirty ? `${head} (with uncommitted changes in the tree)` : head;
  } catch {
    return 'unknown';
  }
}

/** Can processes be pinned to cores here (`taskset`)? */
export function canPin() {
  if (cpus().length < 2) return false;
  try {
    execFileSync('taskset', ['-c', '0', 'true'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

export const LIBRARIES = [
  'fastify', 'kysely', 'better-sqlite3', 'pg', 'jose', 'lru-cache', 'autocannon', 'typescript', 'esbuild', 'zod',
  '@casl/ability', 'casbin', '@cedar-policy/cedar-wasm',
];

export function machine() {
  const [l1, l5, l15] = loadavg();
  return {
    cpu: cpuModel(),
    cores: cpus().length,
    memoryGiB: +(totalmem() / 2 ** 30).toFixed(1),
    load: [l1, l5, l15].map((x) => +x.toFixed(2)),
    node: process.version,
    platform: `${process.platform} ${process.arch}`,
    date: new Date().toISOString(),
    commit: gitCommit(),
    libraries: Object.fromEntries(LIBRARIES.map((n) => [n, versionOf(n)])),
  };
}
