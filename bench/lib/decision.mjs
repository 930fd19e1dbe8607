// Benchmark 1 for bench/run.mjs: runs bench/decision/run.mjs (one process, an engine per
// worker, interleaved rounds), reads every round's time per engine, and reports spreads,
// ratios and the targets.
//
//   node bench/lib/decision.mjs [--quick] [--json out.json]
import { execFile } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { benchArgs, finish, target } from './report.mjs';
import { ROOT, versionOf } from './machine.mjs';
import { PINNING } from './proc.mjs';
import { TMP } from './fixtures.mjs';
import { summary, spread, table, fmt } from './stats.mjs';
import { mkdirSync } from 'node:fs';

const opts = benchArgs();
mkdirSync(TMP, { recursive: true });
const out = join(TMP, `decision-${process.pid}.json`);
// Quick: fewer inputs and passes, fewer rounds. Cedar takes 100–250 µs a decision, and
// decides every input once to check it, once per pass to warm up and once per pass in
// each round: with 4,096 inputs × 2 passes that was 53,000 decisions, most of the run.
const args = [join(ROOT, 'bench', 'decision', 'run.mjs'), ...(opts.quick ? ['--rounds', '5', '--inputs', '2048', '--passes', '1'] : ['--rounds', '15'])];
// One core: the engines' workers take turns, so pinning them together changes nothing but
// noise. Pinned once the workers are ready, so that they start on both cores.
if (PINNING) args.push('--pin', '0');
await new Promise((resolve, reject) =>
  execFile(process.execPath, args, { cwd: ROOT, env: { ...process.env, DFC_BENCH_JSON: out }, maxBuffer: 1 << 24 }, (err, _stdout, stderr) => (err ? reject(new Error(stderr || String(err))) : resolve())),
);
const r = JSON.parse(readFileSync(out, 'utf8'));
rmSync(out, { force: true });

const by = (prefix) => r.engines.find((e) => e.name.startsWith(prefix));
const hand = by('hand-written');
const compiled = by('dfc compiled');
// Ratios of the medians (each engine's rounds ran in its own worker, one after another,
// so a round's times are not paired closely enough for per-round ratios).
const med = (e) => summary(e.ns).median;
const per = (a, b) => med(a) / med(b);
const rows = r.engines.map((e) => [e.name, spread(summary(e.ns), ' ns'), fmt(per(e, hand)), fmt(per(e, compiled))]);
const ratio = (prefix) => per(by(prefix), compiled);
const markdown = [
  `${opts.quick ? 'A quick run (the full run: 4,096 inputs × 4 passes × 15 rounds). ' : ''}One policy (owner check, role in a list, public-and-verified, and/or nesting, \`password\` removed for non-admins) decided by every engine in one process (an engine per worker thread, rounds interleaving the engines${PINNING ? ', pinned to core 0' : ''}): ${r.inputs.toLocaleString('en-US')} inputs × ${r.passes} passes (${r.fastPasses} for the hand-written and dfc closures, so that their rounds last milliseconds) × ${r.rounds} rounds, ${(r.allowedShare * 100).toFixed(0)}% allowed; inputs are built as the runtime builds request arguments (parsed JSON); each engine is first checked to decide and mask every input as the hand-written closure does. Median (min–max over rounds) per decision; ratios of the medians. Versions: @casl/ability ${versionOf('@casl/ability')}, casbin ${versionOf('casbin')}, @cedar-policy/cedar-wasm ${versionOf('@cedar-policy/cedar-wasm')}. Method: bench/decision/README.md.`,
  '',
  table(['engine', 'ns per decision', '÷ hand-written', '÷ dfc compiled'], rows),
].join('\n');
finish(opts, {
  title: '1. Decision latency: dfc vs the hand-written closure, its interpreter and other engines',
  markdown,
  targets: [
    target('dfc compiled ÷ hand-written closure', per(compiled, hand), '<=', 1.5),
    target('dfc policy.mjs ÷ hand-written closure', per(by('dfc policy.mjs'), hand), '<=', 1.5),
    target('interpreter ÷ dfc compiled', ratio('dfc interpreter'), '>=', 40),
    target('@casl/ability ÷ dfc compiled', ratio('@casl'), '>=', 20),
    target('casbin ÷ dfc compiled', ratio('casbin'), '>=', 100),
    target('cedar-wasm ÷ dfc compiled', ratio('@cedar'), '>=', 1000),
  ],
  data: r,
});
