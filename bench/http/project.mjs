// The project the HTTP tools (ab, callgrind, inproc, profile) serve: the bench policy over
// SQLite in a scratch directory, ten rows in every table, and the headers of a signed-in
// member calling through the web app (API key, JWT, CORS origin).
import { join } from 'node:path';
import { API_KEY, ORIGIN, projectEnv, scratch } from '../lib/fixtures.mjs';
import { syntheticPolicy, writeArtifact } from '../lib/policy.mjs';
import { benchRows, createAndFill } from '../lib/data.mjs';
import { signer } from '../lib/tokens.mjs';

/**
 * `name` names the scratch directory; `keep` leaves it in place when the process ends
 * (for a tool whose output is read afterwards). The artifact is in `dir/dist`.
 */
export async function httpProject(name, { tables = 10, keep = false } = {}) {
  const rows = benchRows(10);
  const env = projectEnv('hs256');
  const dir = scratch(name, { keep });
  const policy = syntheticPolicy({ tables });
  await writeArtifact(join(dir, 'dist'), policy);
  await createAndFill(policy, { baseDir: dir, env, rows });
  const [token] = await signer(env)({ id: 'u1', role: 'member' });
  const headers = { origin: ORIGIN, 'x-api-key': API_KEY, authorization: `Bearer ${token}` };
  return { rows, env, dir, policy, headers };
}
