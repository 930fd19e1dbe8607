// A/B for the fast path: the same dfc request served by two builds of the runtime, in
// one run (interleaved rounds, medians). Not part of `npm run bench`.
//
//   cp -r packages/runtime/dist bench/.tmp/ab-base   # before a change
//   npm run build                                    # after it
//   node bench/http/ab.mjs --base bench/.tmp/ab-base [--after another/dist] [--kinds memory,sqlite,postgres] [--rounds 5] [--duration 3]
//
// Prints req/s and server CPU per request for each build and the after ÷ before ratios.
import { join } from 'node:path';
import autocannon from 'autocannon';
import { postgresProject } from '../lib/data.mjs';
import { httpProject } from './project.mjs';
import { pinSelf, startChild } from '../lib/proc.mjs';
import { median, sleep } from '../lib/stats.mjs';
import { abArgs } from '../lib/ab.mjs';

const { values: o, builds } = abArgs({
  kinds: { type: 'string', default: 'memory,sqlite' },
  rounds: { type: 'string', default: '5' },
  duration: { type: 'string', default: '3' },
  connections: { type: 'string', default: '50' },
});
const ROUTE = '/api/v2/s0/_table/t0000';
pinSelf(1);
const { rows, env, dir, headers } = await httpProject('ab');
// `postgres`: the same policy over a scratch database on the local server.
const { pgdb, dir: pgDir } = o.kinds.split(',').includes('postgres') ? await postgresProject(env, rows, 'ab-pg') : {};
if (pgdb && !pgDir) throw new Error('no PostgreSQL to measure against');
const targets = [];
for (const kind of o.kinds.split(',')) {
  for (const [build, runtime] of Object.entries(builds)) {
    const base = kind === 'postgres' ? { policy: join(pgDir, 'dist'), baseDir: pgDir } : { policy: join(dir, 'dist'), baseDir: dir };
    const opts = { kind: 'dfc', runtime, ...base, env, ...(kind === 'memory' ? { memory: true, rows } : {}) };
    targets.push({ name: `${kind} ${build}`, kind, build, opts });
  }
}
const servers = new Map();
try {
  for (const t of targets) {
    const s = await startChild(join(import.meta.dirname, 'server.mjs'), [JSON.stringify(t.opts)], { cpu: 0 });
    servers.set(t.name, { ...s, url: s.message.url + ROUTE });
  }
  const bodies = new Map();
  for (const t of targets) {
    const res = await fetch(servers.get(t.name).url, { headers });
    const body = await res.text();
    if (res.status !== 200) throw new Error(`${t.name} answered ${res.status}: ${body.slice(0, 300)}`);
    const other = bodies.get(t.kind);
    if (other !== undefined && other !== body) throw new Error(`${t.name} answers a different body:\n${body}\nexpected\n${other}`);
    bodies.set(t.kind, body);
  }
  const cpuOf = async (t) => {
    const { cpu } = await servers.get(t.name).request({ cpu: true });
    return cpu.user + cpu.system;
  };
  const run = async (t, seconds) => {
    const before = await cpuOf(t);
    const r = await autocannon({ url: servers.get(t.name).url, connections: Number(o.connections), duration: seconds, headers });
    const cpu = (await cpuOf(t)) - before;
    if (r.non2xx > 0 || r.errors > 0) throw new Error(`${t.name}: ${r.non2xx} non-2xx answers, ${r.errors} errors`);
    return { rps: r.requests.total / (r.duration || seconds), cpuUs: cpu / Math.max(1, r.requests.total), p99: r.latency.p99 };
  };
  for (const t of targets) await run(t, 2);
  const samples = Object.fromEntries(targets.map((t) => [t.name, []]));
  for (let r = 0; r < Number(o.rounds); r++) {
    const order = r % 2 === 0 ? targets : [...targets].reverse();
    for (const t of order) {
      samples[t.name].push(await run(t, Number(o.duration)));
      await sleep(100);
    }
  }
  for (const kind of o.kinds.split(',')) {
    const b = samples[`${kind} before`];
    const a = samples[`${kind} after`];
    const m = (xs, k) => median(xs.map((x) => x[k]));
    const ratio = (k) => median(a.map((x, i) => x[k] / b[i][k]));
    console.log(
      `${kind}: before ${Math.round(m(b, 'rps'))} req/s, ${m(b, 'cpuUs').toFixed(1)} µs/req, p99 ${m(b, 'p99')} ms | after ${Math.round(m(a, 'rps'))} req/s, ${m(a, 'cpuUs').toFixed(1)} µs/req, p99 ${m(a, 'p99')} ms | after ÷ before: req/s ${ratio('rps').toFixed(3)}, CPU ${ratio('cpuUs').toFixed(3)}`,
    );
  }
} finally {
  for (const s of servers.values()) await s.stop();
  if (pgdb?.drop) await pgdb.drop();
}
