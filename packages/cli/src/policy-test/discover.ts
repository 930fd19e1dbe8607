import { readdirSync } from 'node:fs';
import { join } from 'node:path';

/** Policy test files: `*.policy.test.ts` (or `.mts`, `.js`, `.mjs`). */
export const TEST_FILE = /\.policy\.test\.(?:[cm]?ts|[cm]?js)$/;

/** Directories never searched: dependencies, build output, hidden directories. */
const SKIP = new Set(['node_modules', 'dist']);

/** The policy test files under `dir`, sorted (depth first, at most 8 levels down). */
export function findTestFiles(dir: string, depth = 8): string[] {
  const out: string[] = [];
  const walk = (at: string, level: number): void => {
    let entries;
    try {
      entries = readdirSync(at, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) {
      if (e.name.startsWith('.')) continue;
      const path = join(at, e.name);
      if (e.isDirectory()) {
        if (!SKIP.has(e.name) && level < depth) walk(path, level + 1);
      } else if (e.isFile() && TEST_FILE.test(e.name)) {
        out.push(path);
      }
    }
  };
  walk(dir, 0);
  return out.sort();
}
