import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * Where the running dfc's own `@dfc/config` lives. A config imports `dfc` (or
 * `@dfc/config`); typecheck and load both map that import to this copy, so a config
 * in a fresh directory with no node_modules still builds, and the functions a config
 * calls are always the ones this compiler understands.
 */
export interface DfcConfigPackage {
  /** The package directory. */
  dir: string;
  /** Declarations for the type checker: `dist/index.d.ts`, or the TypeScript source. */
  types: string;
  /** The module the loaded config imports: `dist/index.js`, or the TypeScript source. */
  entry: string;
}

/** Specifiers that mean "the dfc authoring API". */
export const DFC_SPECIFIERS: ReadonlySet<string> = new Set(['dfc', '@dfc/config']);

let cached: DfcConfigPackage | undefined;

export function dfcConfigPackage(): DfcConfigPackage {
  if (cached) return cached;
  const dir = findPackageDir('@dfc/config', dirname(fileURLToPath(import.meta.url)));
  if (!dir) throw new Error('dfc is installed without @dfc/config');
  const pick = (built: string, source: string) => (existsSync(join(dir, built)) ? join(dir, built) : join(dir, source));
  cached = { dir, types: pick('dist/index.d.ts', 'src/index.ts'), entry: pick('dist/index.js', 'src/index.ts') };
  return cached;
}

/** Node's lookup (`node_modules/<name>` in each parent directory), without `exports` conditions. */
function findPackageDir(name: string, from: string): string | undefined {
  let dir = from;
  for (;;) {
    const candidate = join(dir, 'node_modules', name);
    if (isPackage(candidate, name)) return candidate;
    // Inside the monorepo, the package is also a sibling workspace.
    const sibling = join(dir, name.replace(/^@dfc\//, ''));
    if (dir.endsWith('/packages') && isPackage(sibling, name)) return sibling;
    const parent = dirname(dir);
    if (parent === dir) return undefined;
    dir = parent;
  }
}

function isPackage(dir: string, name: string): boolean {
  try {
    return (JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { name?: string }).name === name;
  } catch {
    return false;
  }
}
