// What run.mjs and ab.mjs share: the policies of each size, the two request mixes and
// the timed loop, so the A/B measures exactly what the benchmark does.
import { locate, scratch } from '../lib/fixtures.mjs';
import { syntheticPolicy, writeArtifact } from '../lib/policy.mjs';

/** The three policies: 10 and 1,000 tables, then 10,000 tables with ten roles (quick) or 100,000 tables. */
export function sizes(quick) {
  return [
    { label: '10 tables, 10 role entries, 10 rules', tables: 10, extraRoles: 0 },
    { label: '1,000 tables, 1,000 role entries, 1,000 rules', tables: 1000, extraRoles: 0 },
    quick
      ? { label: '10,000 tables, 100,000 role entries (10 roles), 10,000 rules', tables: 10_000, extraRoles: 9 }
      : { label: '100,000 tables, 100,000 role entries, 100,000 rules', tables: 100_000, extraRoles: 0 },
  ];
}

/** Writes the policy of `size` (policy.json and policy.mjs) into a scratch directory. */
export async function writeSize(size) {
  const dir = scratch(`size-${size.tables}`);
  const bytes = await writeArtifact(dir, syntheticPolicy({ tables: size.tables, ops: ['read'], extraRoles: size.extraRoles, perService: 100 }));
  return { dir, bytes };
}

/** Loads and compiles the artifact in `dir` with a runtime build (`@dfc/runtime`'s exports). */
export async function loadSize(runtime, dir, env) {
  const artifact = await runtime.loadArtifact(dir, { importTimeoutMs: 600_000 });
  return runtime.compilePolicy(artifact, { env });
}

export function requestMaker(apiKey) {
  const claims = Object.freeze(Object.assign(Object.create(null), { sub: 'u1', id: 'u1', role: 'member', iss: 'x', aud: 'bench', exp: 2e9, iat: 1.7e9 }));
  let seed = 0x2545f491;
  const rand = () => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff);
  /** `count` requests on tables picked by `pick(i)`. */
  const requests = (count, pick) =>
    Array.from({ length: count }, (_, i) => {
      const { service, table } = locate(pick(i), 100);
      return { apiKey, claims, service, table, verb: 'GET', args: {} };
    });
  return {
    /** `hot` cycles over 8 tables; `spread` picks tables uniformly from the whole policy. */
    mixes: {
      hot: (tables, count) => requests(count, (i) => i % 8),
      spread: (tables, count) => requests(count, () => Math.floor(rand() * tables)),
    },
  };
}

/** ns per decision over `reqs`, as the plugin calls `decideNow` (awaited only when it returns a promise). */
export async function timeDecisions(decideNow, compiled, reqs, ctx = {}) {
  let allowed = 0;
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < reqs.length; i++) {
    const d = decideNow(compiled, reqs[i], ctx);
    if ((d instanceof Promise ? await d : d).allow) allowed++;
  }
  const ns = Number(process.hrtime.bigint() - t0) / reqs.length;
  if (allowed !== reqs.length) throw new Error(`only ${allowed} of ${reqs.length} decisions allowed`);
  return ns;
}
