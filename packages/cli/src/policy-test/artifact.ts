import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadArtifact, type Artifact } from '@dfc/runtime';
import type { CompileResult } from '@dfc/compiler';

type Policy = NonNullable<CompileResult['policy']>;

/**
 * Loads a policy built in memory exactly as the server loads one: policy.json and
 * policy.mjs (self-contained: the rule helpers are bundled into it) are written to a
 * fresh temp directory, read back by the runtime's `loadArtifact` (schema, hash and
 * module checks included) and deleted.
 */
export async function loadInMemory(policy: Policy, module: string): Promise<Artifact> {
  const dir = await mkdtemp(join(tmpdir(), 'dfc-test-'));
  try {
    await writeFile(join(dir, 'policy.json'), JSON.stringify(policy, null, 2) + '\n', { mode: 0o600 });
    await writeFile(join(dir, 'policy.mjs'), module, { mode: 0o600 });
    return await loadArtifact(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
