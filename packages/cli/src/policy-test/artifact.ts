import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { loadArtifact, type Artifact } from '@dfc/runtime';
import type { CompileResult } from '@dfc/compiler';

type Policy = NonNullable<CompileResult['policy']>;

/** The specifier policy.mjs imports its helpers from. */
const RUNTIME_SPECIFIER = '@dfc/rules/runtime';

/**
 * Loads a policy built in memory exactly as the server loads one: policy.json and
 * policy.mjs are written to a fresh temp directory, read back by the runtime's
 * `loadArtifact` (schema, hash and module checks included) and deleted. policy.mjs
 * imports the rule helpers by package name; in the temp directory nothing resolves, so
 * the import names the helpers' file instead (the same file the server would load).
 */
export async function loadInMemory(policy: Policy, module: string): Promise<Artifact> {
  const dir = await mkdtemp(join(tmpdir(), 'dfc-test-'));
  try {
    const helpers = pathToFileURL(rulesRuntimeFile()).href;
    const text = module.split(JSON.stringify(RUNTIME_SPECIFIER)).join(JSON.stringify(helpers));
    await writeFile(join(dir, 'policy.json'), JSON.stringify(policy, null, 2) + '\n', { mode: 0o600 });
    await writeFile(join(dir, 'policy.mjs'), text, { mode: 0o600 });
    return await loadArtifact(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

let cached: string | undefined;

/** The file `@dfc/rules/runtime` names for the running dfc: built, or the source in an unbuilt checkout. */
function rulesRuntimeFile(): string {
  if (cached) return cached;
  const dir = findPackageDir('@dfc/rules', dirname(fileURLToPath(import.meta.url)));
  if (!dir) throw new Error('dfc is installed without @dfc/rules');
  const built = join(dir, 'dist', 'runtime', 'index.js');
  cached = existsSync(built) ? built : join(dir, 'src', 'runtime', 'index.ts');
  return cached;
}

/** Node's lookup (`node_modules/<name>` in each parent directory), and sibling workspaces in the monorepo. */
function findPackageDir(name: string, from: string): string | undefined {
  let dir = from;
  for (;;) {
    for (const candidate of [join(dir, 'node_modules', name), ...(dir.endsWith('/packages') ? [join(dir, name.replace(/^@dfc\//, ''))] : [])]) {
      try {
        if ((JSON.parse(readFileSync(join(candidate, 'package.json'), 'utf8')) as { name?: string }).name === name) return candidate;
      } catch {
        // not here
      }
    }
    const parent = dirname(dir);
    if (parent === dir) return undefined;
    dir = parent;
  }
}
