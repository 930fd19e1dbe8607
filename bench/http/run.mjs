// Benchmark 3: the full dfc request path against hand-written Fastify routes serving the
// same rows, on loopback, under autocannon. Each server runs in its own process pinned to
// core 0; the load generator (this process) runs on core 1. Rounds interleave the servers
// (the order rotates each round); ratios are taken within a round, then the median.
//
//   node bench/http/run.mjs [--quick] [--rounds N] [--duration S] [--connections C]
//
// The dfc request: GET /api/v2/s0/_table/t0000 with an Origin the CORS policy allows, an
// API key, an HS256 session token (role `member` from its claim), the service's
// `authenticated` and the table's role requirement, the table's read rule (and/or/match)
// and its `remove` of `res.password`. The baselines answer the same JSON body.
import { join } from 'node:path';
import autocannon from 'autocannon';
import { benchArgs, finish, target } from '../lib/report.mjs';
import { API_KEY, ORIGIN, projectEnv, scratch } from '../lib/fixtures.mjs';
import { syntheticPolicy, writeArtifact } from '../lib/policy.mjs';
import { benchRows, createAndFill, postgresProject, scratchPostgres } from '../lib/data.mjs';
import { signer } from '../lib/tokens.mjs';
import { PINNING, pinSelf, startChild, startedTogether } from '../lib/proc.mjs';
import { median, summary, spread, table, fmt, times, sleep } from '../lib/stats.mjs';

const opts = benchArgs({ rounds: { type: 'string' }, duration: { type: 'string' }, connections: { type: 'string', default: '50' }, only: { type: 'string' } });
// Quick: three short rounds (a median of three, not two), a shorter warm-up.
const ROUNDS = Number(opts.rounds ?? (opts.quick ? 3 : 7));
const DURATION = Number(opts.duration ?? (opts.quick ? 1 : 10));
const WARMUP = opts.quick ? 0.5 : 5;
const CONNECTIONS = Number(opts.connections);
const SERVER = join(import.meta.dirname, 'server.mjs');
const ROUTE = '/api/v2/s0/_table/t0000';

const pinned = pinSelf(1);
const rows = benchRows(10);

// --- the policies: the bench project's, over SQLite and over PostgreSQL (set up side by side)
const env = projectEnv('hs256');
const sqliteDir = scratch('http-sqlite');
const sqlitePolicy = syntheticPolicy({ tables: 10 });
const pgReady = scratchPostgres();
await writeArtifact(join(sqliteDir, 'dist'), sqlitePolicy);
const sqliteFilled = createAndFill(sqlitePolicy, { baseDir: sqliteDir, env, rows });

const { pgdb, dir: pgDir } = await postgresProject(env, rows, 'http-pg', pgReady);
await sqliteFilled;

const [token] = await signer(env)({ id: 'u1', role: 'member' });
const headers = { origin: ORIGIN, 'x-api-key': API_KEY, authorization: `Bearer ${token}` };

const targets = [
  { name: 'bare-memory', label: 'Fastify, rows in memory', opts: { kind: 'bare-memory', rows } },
  { name: 'dfc-memory', label: 'dfc, rows in memory', opts: { kind: 'dfc', memory: true, rows, policy: join(sqliteDir, 'dist'), baseDir: sqliteDir, env } },
  { name: 'bare-sqlite', label: 'Fastify + better-sqlite3', opts: { kind: 'bare-sqlite', file: join(sqliteDir, 's0.db') } },
  { name: 'dfc-sqlite', label: 'dfc, SQLite', opts: { kind: 'dfc', policy: join(sqliteDir, 'dist'), baseDir: sqliteDir, env } },
  // The plain route above is the target's baseline; this one reads as dfc does (raw rows, a LIMIT SQLite does not re-plan), to show what of dfc's margin is the driver's.
  { name: 'bare-sqlite-tuned', label: 'Fastify + better-sqlite3, tuned', opts: { kind: 'bare-sqlite-tuned', file: join(sqliteDir, 's0.db') } },
  ...(pgDir
    ? [
        { name: 'bare-pg', label: 'Fastify + pg', opts: { kind: 'bare-pg', url: pgdb.url, schema: 's0' } },
        { name: 'dfc-pg', label: 'dfc, PostgreSQL', opts: { kind: 'dfc', policy: join(pgDir, 'dist'), baseDir: pgDir, env } },
      ]
    : []),
].filter((t) => !opts.only || opts.only.split(',').some((w) => t.name.includes(w)));
const PAIRS = [
  ['dfc-memory', 'bare-memory', 'from memory', { rps: 0.85, p99: 1.2 }],
  ['dfc-sqlite', 'bare-sqlite', 'from SQLite', { rps: 0.9, p99: 1.2 }],
  ['dfc-sqlite', 'bare-sqlite-tuned', 'from SQLite, against the tuned route', undefined],
  ['dfc-pg', 'bare-pg', 'from PostgreSQL', undefined],
];

const servers = new Map();
try {
  // Started together (start-up is not measured; each is pinned once it is ready).
  await startedTogether(Object.fromEntries(targets.map((t) => [t.name, startChild(SERVER, [JSON.stringify(t.opts)], { cpu: 0 })])), servers);
  for (const s of servers.values()) s.url = s.message.url + ROUTE;

  // Same status and body from every server.
  let expected;
  for (const t of targets) {
    const res = await fetch(servers.get(t.name).url, { headers });
    const body = await res.text();
    if (res.status !== 200) throw new Error(`${t.name} answered ${res.status}: ${body.slice(0, 300)}`);
    expected ??= body;
    if (body !== expected) throw new Error(`${t.name} answers a different body:\n${body}\nexpected\n${expected}`);
  }

  const cpuOf = async (t) => {
    const { cpu } = await servers.get(t.name).request({ cpu: true });
    return cpu.user + cpu.system;
  };
  // `sampleInt`: autocannon ends a run at its first sample after `duration` (one a second
  // by default), so a 0.5 s warm-up lasted a second; req/s below is requests ÷ the run's
  // own duration, which does not depend on it.
  const run = async (t, seconds, sampleInt = 1000) => {
    const before = await cpuOf(t);
    const r = await new Promise((resolve, reject) => {
      autocannon({ url: servers.get(t.name).url, connections: CONNECTIONS, duration: seconds, headers, pipelining: 1, sampleInt }, (err, res) => (err ? reject(err) : resolve(res)));
    });
    const cpu = (await cpuOf(t)) - before;
    if (r.non2xx > 0 || r.errors > 0) throw new Error(`${t.name}: ${r.non2xx} non-2xx answers, ${r.errors} errors`);
    // Server CPU per request: steadier than req/s on a shared machine.
    return { rps: r.requests.total / (r.duration || seconds), p99: r.latency.p99, p50: r.latency.p50, cpuUs: cpu / Math.max(1, r.requests.total) };
  };

  for (const t of targets) await run(t, WARMUP, 100);
  const samples = Object.fromEntries(targets.map((t) => [t.name, []]));
  for (let r = 0; r < ROUNDS; r++) {
    const order = targets.map((_, i) => targets[(i + r) % targets.length]);
    for (const t of order) {
      samples[t.name].push(await run(t, DURATION));
      await sleep(100);
    }
    process.stderr.write(`http: round ${r + 1}/${ROUNDS} done\n`);
  }

  // --- report
  const stat = (name, k) => summary(samples[name].map((s) => s[k]));
  const rowsOut = targets.map((t) => [t.label, spread(stat(t.name, 'rps')), spread(stat(t.name, 'p50'), ' ms'), spread(stat(t.name, 'p99'), ' ms'), spread(stat(t.name, 'cpuUs'), ' µs')]);
  const ratioRows = [];
  const checks = [];
  const data = { samples, ratios: {} };
  for (const [dfcName, bareName, what, goal] of PAIRS) {
    if (!samples[dfcName] || !samples[bareName]) continue;
    const rps = summary(samples[dfcName].map((s, i) => s.rps / samples[bareName][i].rps));
    const p99 = summary(samples[dfcName].map((s, i) => s.p99 / Math.max(samples[bareName][i].p99, 1)));
    const cpu = summary(samples[dfcName].map((s, i) => samples[bareName][i].cpuUs / s.cpuUs));
    data.ratios[what] = { rps, p99, cpu };
    ratioRows.push([`dfc ÷ Fastify ${what}`, `${spread(rps)} (${fmt(rps.median * 100)}%)`, spread(p99), `${spread(cpu)} (${fmt(cpu.median * 100)}%)`]);
    if (goal) {
      checks.push(target(`req/s ${what}, dfc ÷ bare`, rps.median, '>=', goal.rps));
      checks.push(target(`p99 ${what}, dfc ÷ bare`, p99.median, '<=', goal.p99));
    }
  }
  const markdown = [
    `GET ${ROUTE} (10 rows) on loopback: autocannon, ${CONNECTIONS} connections, ${ROUNDS} rounds × ${DURATION} s per server after a ${WARMUP} s warm-up, servers interleaved${opts.quick ? ' (a quick run: the full run takes 7 rounds × 10 s after 5 s)' : ''}.`,
    PINNING && pinned ? 'Servers pinned to core 0, the load generator to core 1 (`taskset`).' : 'Not pinned (`taskset` unavailable or fewer than two cores).',
    'dfc runs its full request path: CORS (allowed origin), API key, HS256 session (role from its claim, verified once then cached), role access, the service and table requirement collections, the read rule (and/or of two matches) and its `remove` of `password`. Request logging is off on every server.',
    '',
    table(['server', 'req/s median (min–max)', 'p50', 'p99', 'server CPU per request'], rowsOut),
    '',
    'Ratios (per round, then the median; p99 latencies under 1 ms count as 1 ms):',
    '',
    table(['comparison', 'req/s ratio', 'p99 ratio', 'CPU-per-request ratio (bare ÷ dfc)'], ratioRows),
    '',
    'p99 latency is rounded to whole milliseconds by autocannon, so small p99 ratios move in steps. The CPU ratio (server CPU time per request, bare ÷ dfc: the share of bare throughput dfc would reach if CPU were the only limit) is steadier than req/s when other processes compete for the cores.',
  ].join('\n');
  finish(opts, { title: '3. Runtime overhead: dfc vs hand-written Fastify routes', markdown, targets: checks, data });
} finally {
  for (const s of servers.values()) await s.stop();
  if (pgdb.drop) await pgdb.drop();
}
