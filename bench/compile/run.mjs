// Benchmark 5: compile time. Generated projects (fixtures.mjs: services of 100 tables,
// every table with four rules and a route requirement, one role entry per table) built
// cold by `dfc build` in a fresh process, and rebuilt by `dfc build --watch` after a
// one-line change to one rule. Also the stage breakdown of one cold build (in a fresh
// process, through the compiler's API), and a check that the 10-table policy is the one
// bench/lib/policy.mjs synthesises for the other benchmarks.
//
//   node bench/compile/run.mjs [--quick] [--rounds N] [--sizes 10,100,1000]
import { spawn, execFile } from 'node:child_process';
import { readFileSync, writeFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { benchArgs, finish, target } from '../lib/report.mjs';
import { DFC_BIN, dfcBuild, scratch, writeProject } from '../lib/fixtures.mjs';
import { checkAgainstBuild, syntheticPolicy } from '../lib/policy.mjs';
import { ROOT } from '../lib/machine.mjs';
import { PINNING } from '../lib/proc.mjs';
import { summary, spread, table, fmt, sleep } from '../lib/stats.mjs';

const opts = benchArgs({ rounds: { type: 'string' }, sizes: { type: 'string' }, edits: { type: 'string' } });
const ROUNDS = Number(opts.rounds ?? (opts.quick ? 1 : 3));
const SIZES = (opts.sizes ?? (opts.quick ? '10,100,1000' : '10,100,1000')).split(',').map(Number);
const EDITS = Number(opts.edits ?? (opts.quick ? 3 : 7));
// Quick: the watch rebuild of the 100-table project only, and no stage timings (each is
// one more cold build).
const WATCH_SIZES = opts.quick ? [100] : [100, 1000];
const STAGE_SIZES = opts.quick ? [] : SIZES;
const CPU = PINNING ? '0' : undefined;

/** Stage timings of a cold build through the API, in a fresh process. */
function stages(dir) {
  const code = `const c = await import('@dfc/compiler'); const t0 = performance.now(); const r = await c.build({ config: ${JSON.stringify(dir)} }); console.log(JSON.stringify({ ok: r.ok, ms: performance.now() - t0, sinceStart: performance.now(), timings: r.timings }));`;
  return new Promise((resolve, reject) => {
    const argv = ['--input-type=module', '-e', code];
    const [cmd, args] = CPU ? ['taskset', ['-c', CPU, process.execPath, ...argv]] : [process.execPath, argv];
    execFile(cmd, args, { cwd: ROOT, maxBuffer: 1 << 24 }, (err, stdout, stderr) => {
      if (err) return reject(new Error(stderr || String(err)));
      resolve(JSON.parse(stdout.trim().split('\n').pop()));
    });
  });
}

/** Start `dfc build --watch`; resolves to a handle whose `next()` resolves at the next result line. */
function startWatch(dir) {
  const argv = [DFC_BIN, 'build', dir, '--watch', '--format', 'json'];
  const [cmd, args] = CPU ? ['taskset', ['-c', CPU, process.execPath, ...argv]] : [process.execPath, argv];
  const child = spawn(cmd, args, { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  let buf = '';
  const waiters = [];
  const lines = [];
  child.stdout.on('data', (d) => {
    buf += d;
    let i;
    while ((i = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, i);
      buf = buf.slice(i + 1);
      if (!line.trim()) continue;
      const at = process.hrtime.bigint();
      const w = waiters.shift();
      if (w) w({ at, result: JSON.parse(line) });
      else lines.push({ at, result: JSON.parse(line) });
    }
  });
  let stderr = '';
  child.stderr.on('data', (d) => (stderr += d));
  return {
    next: (timeoutMs = 600_000) =>
      new Promise((resolve, reject) => {
        if (lines.length) return resolve(lines.shift());
        const t = setTimeout(() => reject(new Error(`no watch result within ${timeoutMs} ms: ${stderr.slice(-500)}`)), timeoutMs);
        waiters.push((x) => {
          clearTimeout(t);
          resolve(x);
        });
      }),
    stop: () =>
      new Promise((resolve) => {
        child.once('exit', resolve);
        child.kill('SIGINT');
        setTimeout(() => child.kill('SIGKILL'), 10_000).unref();
      }),
  };
}

const cold = {};
const stageRuns = {};
const projects = {};
for (const n of SIZES) {
  const dir = scratch(`compile-${n}`);
  writeProject(dir, { tables: n });
  projects[n] = dir;
  cold[n] = [];
}
for (let r = 0; r < ROUNDS; r++) {
  for (const n of SIZES) {
    rmSync(join(projects[n], 'dist'), { recursive: true, force: true });
    const { seconds, result } = await dfcBuild(projects[n], { taskset: CPU });
    cold[n].push(seconds);
    if (n === 10 && r === 0) {
      // The policy the other benchmarks synthesise is this one, byte for byte.
      const built = JSON.parse(readFileSync(join(projects[n], 'dist', 'policy.json'), 'utf8'));
      checkAgainstBuild(built, syntheticPolicyWithHash(n, built));
      if (result.hash !== built.hash) throw new Error('dfc build printed a different hash than it wrote');
    }
    process.stderr.write(`compile: ${n} tables cold in ${seconds.toFixed(1)} s\n`);
  }
}
for (const n of STAGE_SIZES) stageRuns[n] = await stages(projects[n]);

/** The synthetic policy for `n` tables with the version and hash filled in (policyHash over the same content). */
function syntheticPolicyWithHash(n, built) {
  const p = syntheticPolicy({ tables: n });
  p.dfcVersion = built.dfcVersion;
  return { ...p, hash: policyHashOf(p) };
}
import { policyHash as policyHashOf } from '@dfc/schema';

// --watch: one-line edits to one rule, alternating, timed from the write to the result line.
const watch = {};
for (const n of WATCH_SIZES.filter((s) => projects[s])) {
  const dir = projects[n];
  const file = join(dir, 'services', 's0.ts');
  const original = readFileSync(file, 'utf8');
  const from = "delete: { rule: 'match', eval: 'in', type: 'string', f1: 'args.auth.role', f2: ['admin'] },";
  const to = "delete: { rule: 'match', eval: 'in', type: 'string', f1: 'args.auth.role', f2: ['admin', 'owner'] },";
  if (!original.includes(from)) throw new Error('the edit target is missing');
  const w = startWatch(dir);
  try {
    const first = await w.next();
    if (!first.result.ok) throw new Error(`watch: the first build failed: ${JSON.stringify(first.result.diagnostics.slice(0, 3))}`);
    // The watcher reports a build once its file watcher is ready, and looks again 100 ms
    // after each report for changes its watcher missed: 200 ms lets that pass.
    await sleep(200);
    const times = [];
    let text = original;
    for (let e = 0; e < EDITS; e++) {
      text = e % 2 === 0 ? text.replace(from, to) : text.replace(to, from);
      const t0 = process.hrtime.bigint();
      writeFileSync(file, text);
      const { at, result } = await w.next();
      if (!result.ok) throw new Error(`watch: a rebuild failed: ${JSON.stringify(result.diagnostics.slice(0, 3))}`);
      times.push(Number(at - t0) / 1e9);
      await sleep(200);
    }
    watch[n] = times;
  } finally {
    await w.stop();
    writeFileSync(file, original);
  }
  process.stderr.write(`compile: --watch rebuilds of ${n} tables: ${watch[n].map((x) => x.toFixed(2)).join(', ')} s\n`);
}

const stageNames = ['resolve', 'typecheck', 'load', 'validate', 'normalize', 'analyze', 'codegen', 'emit'];
const withStages = STAGE_SIZES.length > 0;
const coldRows = SIZES.map((n) => [
  `${n.toLocaleString('en-US')} tables`,
  spread(summary(cold[n]), ' s'),
  ...(withStages ? stageNames.map((s) => (stageRuns[n] ? fmt((stageRuns[n].timings[s] ?? 0) / 1000) : '—')) : []),
]);
const growth = SIZES.slice(1).map((n, i) => `${SIZES[i]} → ${n} tables: × ${fmt(summary(cold[n]).median / summary(cold[SIZES[i]]).median)}`);
const watchRows = Object.entries(watch).map(([n, xs]) => [`${Number(n).toLocaleString('en-US')} tables`, spread(summary(xs), ' s'), String(xs.length)]);
const big = SIZES.includes(1000) ? summary(cold[1000]).median : NaN;
const markdown = [
  `Cold: \`dfc build <dir> --format json\` in a fresh process (${PINNING ? 'pinned to core 0' : 'not pinned'}), artifacts removed first, ${ROUNDS} round(s); wall time median (min–max). ${withStages ? "Stage columns: seconds per stage of one more cold build through the compiler's API in a fresh process." : 'A quick run: one round, and the time per stage is left to the full run.'}`,
  '',
  table(['config', 'dfc build (wall)', ...(withStages ? stageNames : [])], coldRows),
  '',
  `Growth: ${growth.join('; ')}.`,
  '',
  `Watch: \`dfc build --watch --format json\`, ${EDITS} one-line edits of one rule in \`services/s0.ts\` (a role list gains or loses an entry), each timed from the file write to the rebuilt result on stdout (chokidar's notice and the 50 ms debounce included).`,
  '',
  table(['config', 'rebuild after a one-line change', 'edits'], watchRows),
].join('\n');
finish(opts, {
  title: '5. Compile time',
  markdown,
  targets: [
    target('dfc build, 1,000 tables, cold', big, '<=', 10, ' s'),
    ...Object.entries(watch).map(([n, xs]) => target(`--watch rebuild after a one-line change, ${n} tables`, summary(xs).median, '<=', 1, ' s')),
  ],
  data: { cold, stages: stageRuns, watch },
});
