// Benchmark 6: memory. The runtime with the 1,000-table bench policy (SQLite, HS256
// sessions) in its own process: resident memory and heap once loaded, then under load
// for 60 s (6 s with --quick) with requests spread over every table and a pool of
// distinct session tokens larger than the verifier's cache (so the cache fills to its
// bound), sampled every second; after the run, a full GC and the same numbers again.
// Bare Fastify and dfc with the 10-table policy are measured the same way for scale
// (not with --quick).
//
//   node bench/memory/run.mjs [--quick] [--seconds S]
import { join } from 'node:path';
import autocannon from 'autocannon';
import { benchArgs, finish, target } from '../lib/report.mjs';
import { API_KEY, ORIGIN, locate, projectEnv, scratch } from '../lib/fixtures.mjs';
import { syntheticPolicy, writeArtifact } from '../lib/policy.mjs';
import { benchRows, createAndFill } from '../lib/data.mjs';
import { signer } from '../lib/tokens.mjs';
import { PINNING, pinSelf, startChild } from '../lib/proc.mjs';
import { table, fmt, sleep } from '../lib/stats.mjs';

const opts = benchArgs({ seconds: { type: 'string' }, tables: { type: 'string', default: '1000' } });
const SECONDS = Number(opts.seconds ?? (opts.quick ? 6 : 60));
const TABLES = Number(opts.tables);
const POOL = 12_000;
const SERVER = join(import.meta.dirname, '..', 'http', 'server.mjs');
pinSelf(1);

const env = projectEnv('hs256');
const rows = benchRows(10);
const mib = (b) => b / 2 ** 20;

async function project(tables) {
  const dir = scratch(`memory-${tables}`);
  const policy = syntheticPolicy({ tables });
  const sizes = await writeArtifact(join(dir, 'dist'), policy);
  await createAndFill(policy, { baseDir: dir, env, rows });
  return { dir, sizes };
}

const sign = signer(env);
const tokens = await sign({ n: POOL });
const big = await project(TABLES);
const small = opts.quick ? undefined : await project(10);

async function measure(name, serverOpts, tables, seconds) {
  const s = await startChild(SERVER, [JSON.stringify(serverOpts)], { cpu: 0, execArgv: ['--expose-gc'] });
  try {
    const mem = async (gc = false) => (await s.request({ memory: true, gc })).memory;
    const idle = await mem(true);
    let i = 0;
    const base = { origin: ORIGIN, 'x-api-key': API_KEY };
    const requests = [
      {
        setupRequest(req) {
          const { service, table } = locate(i % tables, 100);
          req.path = `/api/v2/${service}/_table/${table}`;
          req.headers = { ...base, authorization: `Bearer ${tokens[i++ % tokens.length]}` };
          return req;
        },
      },
    ];
    // Warm-up: every table and every token once, then a full GC: the baseline for growth.
    await autocannon({ url: s.message.url, connections: 50, amount: Math.max(POOL, tables) + 1000, headers: base, requests });
    const warm = await mem(true);
    const samples = [];
    let done = false;
    const run = new Promise((resolve, reject) =>
      autocannon({ url: s.message.url, connections: 50, duration: seconds, headers: base, requests }, (err, r) => {
        done = true;
        if (err) return reject(err);
        if (r.non2xx > 0 || r.errors > 0) return reject(new Error(`${name}: ${r.non2xx} non-2xx answers, ${r.errors} errors`));
        resolve(r);
      }),
    );
    const t0 = Date.now();
    // A third of the way in, a full GC under load: caches that fill once the run is under
    // way are full by then, so what the heap gains after it is growth.
    let mid;
    const ended = run.then(
      () => {},
      () => {},
    );
    while (!done) {
      // A sample a second, but no waiting out the second in which the run ends.
      await Promise.race([sleep(1000), ended]);
      const t = (Date.now() - t0) / 1000;
      if (done) break;
      if (mid === undefined && t >= seconds / 3) samples.push({ t, ...(mid = await mem(true)) });
      else samples.push({ t, ...(await mem(false)) });
    }
    const r = await run;
    const after = await mem(true);
    return { name, idle, warm, mid, after, samples, rps: r.requests.average, requests: r.requests.total };
  } finally {
    await s.stop();
  }
}

const results = [];
// The two servers for scale are left out of a quick run (the target is the large policy's growth).
if (!opts.quick) {
  results.push(await measure('bare Fastify (rows in memory)', { kind: 'bare-memory', rows }, 1, Math.min(SECONDS, 10)));
  results.push(await measure('dfc, 10-table policy', { kind: 'dfc', policy: join(small.dir, 'dist'), baseDir: small.dir, env }, 10, Math.min(SECONDS, 10)));
}
const main = await measure(`dfc, ${TABLES.toLocaleString('en-US')}-table policy`, { kind: 'dfc', policy: join(big.dir, 'dist'), baseDir: big.dir, env }, TABLES, SECONDS);
results.push(main);

/** Least-squares slope of y over t, per minute. */
function slopePerMinute(points) {
  const n = points.length;
  if (n < 3) return NaN;
  const mt = points.reduce((a, p) => a + p.t, 0) / n;
  const my = points.reduce((a, p) => a + p.y, 0) / n;
  const num = points.reduce((a, p) => a + (p.t - mt) * (p.y - my), 0);
  const den = points.reduce((a, p) => a + (p.t - mt) ** 2, 0);
  return (num / den) * 60;
}
const half = main.samples.slice(Math.floor(main.samples.length / 2));
const rssSlope = slopePerMinute(half.map((x) => ({ t: x.t, y: mib(x.rss) })));
const heapGrowth = mib(main.after.heapUsed - main.mid.heapUsed);
const heapFill = mib(main.after.heapUsed - main.warm.heapUsed);
const rssGrowth = mib(main.after.rss - main.warm.rss);
const peak = Math.max(...main.samples.map((x) => x.rss));

const rowsOut = results.map((r) => [
  r.name,
  `${fmt(mib(r.idle.rss))} / ${fmt(mib(r.idle.heapUsed))}`,
  `${fmt(mib(r.warm.rss))} / ${fmt(mib(r.warm.heapUsed))}`,
  `${fmt(mib(Math.max(...r.samples.map((x) => x.rss))))}`,
  `${fmt(mib(r.after.rss))} / ${fmt(mib(r.after.heapUsed))}`,
  fmt(r.rps),
]);
const markdown = [
  `Each server in its own process (${PINNING ? 'core 0; autocannon on core 1' : 'not pinned'}), started with \`--expose-gc\`. "Loaded": after start-up and a full GC. "Warm": after one request to every table with each of ${POOL.toLocaleString('en-US')} distinct session tokens (more than the verifier's 10,000-entry cache), then a full GC. "Under load": the highest of the per-second samples during the run (${SECONDS} s for the ${TABLES.toLocaleString('en-US')}-table policy, at most 10 s for the others), requests spread over all tables, tokens cycling through the pool. "After": at the end, after a full GC. Figures in MiB: RSS / heap used. The ${TABLES.toLocaleString('en-US')}-table policy.mjs is ${fmt(mib(big.sizes.moduleBytes))} MiB, policy.json ${fmt(mib(big.sizes.policyBytes))} MiB.`,
  '',
  table(['server', 'loaded', 'warm', 'under load (RSS peak)', 'after', 'req/s'], rowsOut),
  '',
  ...(opts.quick ? [`A quick run measures the large policy only, for ${SECONDS} s; the full run also measures bare Fastify and dfc with the 10-table policy for scale, and runs the large policy for 60 s.`, ''] : []),
  `Growth over the ${SECONDS} s run (${TABLES.toLocaleString('en-US')} tables): heap after GC ${heapFill >= 0 ? '+' : ''}${fmt(heapFill)} MiB from warm to the end, ${heapGrowth >= 0 ? '+' : ''}${fmt(heapGrowth)} MiB from a third of the way in (a full GC under load) to the end, RSS after GC ${rssGrowth >= 0 ? '+' : ''}${fmt(rssGrowth)} MiB; RSS trend over the second half of the run ${fmt(rssSlope)} MiB/min (peak ${fmt(mib(peak))} MiB). ${main.requests.toLocaleString('en-US')} requests.`,
].join('\n');
finish(opts, {
  title: '6. Memory',
  markdown,
  targets: [target(`heap growth after GC, from a third of a ${SECONDS} s run under load to its end${opts.quick ? ' (quick; the full run: 60 s)' : ''}`, heapGrowth, '<=', 1, ' MiB')],
  data: { results: results.map(({ samples, ...r }) => ({ ...r, samples: samples.map((x) => ({ t: x.t, rss: x.rss, heapUsed: x.heapUsed })) })), heapGrowth, heapFill, rssGrowth, rssSlope },
});
