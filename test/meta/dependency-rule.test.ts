import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';

// DESIGN.md: dependencies point one way (config ← schema ← rules ← compiler ← cli;
// schema, rules ← runtime). The runtime never reaches the compiler, typescript or
// esbuild, and config depends on nothing.
const root = join(import.meta.dirname, '..', '..');
const workspaceDirs: Record<string, string> = {
  '@dfc/config': 'config',
  '@dfc/schema': 'schema',
  '@dfc/rules': 'rules',
  '@dfc/compiler': 'compiler',
  '@dfc/runtime': 'runtime',
  dfc: 'cli',
};

interface Manifest {
  name: string;
  version?: string;
  dependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
  optionalDependencies?: Record<string, string>;
}

function manifestOf(name: string): Manifest | undefined {
  const dir = workspaceDirs[name];
  const path = dir ? join(root, 'packages', dir, 'package.json') : join(root, 'node_modules', name, 'package.json');
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as Manifest;
  } catch {
    return undefined;
  }
}

/** Every package reachable through production dependencies (hoisted node_modules layout). */
function closure(name: string): Set<string> {
  const seen = new Set<string>();
  const queue = [name];
  while (queue.length > 0) {
    const current = queue.pop()!;
    const m = manifestOf(current);
    if (!m) continue;
    for (const dep of Object.keys({ ...m.dependencies, ...m.optionalDependencies, ...m.peerDependencies })) {
      if (!seen.has(dep)) {
        seen.add(dep);
        queue.push(dep);
      }
    }
  }
  return seen;
}

describe('dependency rule', () => {
  test('@dfc/config depends on nothing', () => {
    const m = manifestOf('@dfc/config')!;
    expect(Object.keys(m.dependencies ?? {})).toEqual([]);
  });

  test('the runtime never reaches the compiler, typescript or esbuild', () => {
    const reach = closure('@dfc/runtime');
    expect(reach.size).toBeGreaterThan(10); // the walk really followed the tree
    for (const banned of ['@dfc/compiler', 'dfc', 'typescript', 'esbuild']) {
      expect(reach.has(banned), `runtime reaches ${banned}`).toBe(false);
    }
  });

  test('workspace packages only depend downstream', () => {
    const allowed: Record<string, string[]> = {
      '@dfc/config': [],
      '@dfc/schema': ['@dfc/config'],
      '@dfc/rules': ['@dfc/config', '@dfc/schema'],
      '@dfc/compiler': ['@dfc/config', '@dfc/schema', '@dfc/rules'],
      '@dfc/runtime': ['@dfc/config', '@dfc/schema', '@dfc/rules'],
      dfc: ['@dfc/config', '@dfc/schema', '@dfc/rules', '@dfc/compiler', '@dfc/runtime'],
    };
    for (const [name, ok] of Object.entries(allowed)) {
      const deps = Object.keys(manifestOf(name)!.dependencies ?? {}).filter((d) => d in workspaceDirs);
      for (const d of deps) expect(ok, `${name} may not depend on ${d}`).toContain(d);
    }
  });

  test('no source file imports across the rule', () => {
    // The manifest check above is only as good as the manifests; also scan imports.
    const banned: Record<string, RegExp> = {
      runtime: /from ['"](@dfc\/compiler|dfc|typescript|esbuild)['"/]/,
      config: /from ['"](?!\.)[^'"]+['"]/,
      schema: /from ['"](@dfc\/(rules|compiler|runtime)|dfc)['"/]/,
      rules: /from ['"](@dfc\/(compiler|runtime)|dfc|typescript|esbuild)['"/]/,
    };
    for (const [dir, pattern] of Object.entries(banned)) {
      for (const file of sourceFiles(join(root, 'packages', dir, 'src'))) {
        const text = readFileSync(file, 'utf8');
        const hit = text.split('\n').find((line) => /^\s*(import|export)\b/.test(line) && pattern.test(line));
        expect(hit, `${file}`).toBeUndefined();
      }
    }
  });
});

function sourceFiles(dir: string): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(dir)) {
    const p = join(dir, entry);
    if (statSync(p).isDirectory()) out.push(...sourceFiles(p));
    else if (/\.ts$/.test(entry) && !/\.test\.ts$/.test(entry)) out.push(p);
  }
  return out;
}
