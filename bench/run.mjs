// `npm run bench`: every benchmark of bench/, one after the other, each in its own
// process; prints each section with its ratios and targets, and (without --quick)
// writes bench/RESULTS.md. `npm run bench -- --quick` takes under two minutes on an idle
// 2-core machine. Benchmarks are not tests: nothing here fails a build on a number.
//
//   node bench/run.mjs [--quick] [--only decision,http,…] [--no-build] [--out file]
import { execFileSync, spawn } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { ROOT, machine } from './lib/machine.mjs';
import { PINNING } from './lib/proc.mjs';
import { TMP } from './lib/fixtures.mjs';

const { values: opts } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    only: { type: 'string' },
    'no-build': { type: 'boolean', default: false },
    out: { type: 'string' },
  },
});

const BENCHES = [
  { name: 'decision', script: 'lib/decision.mjs' },
  { name: 'policy-size', script: 'policy-size/run.mjs' },
  { name: 'http', script: 'http/run.mjs' },
  { name: 'jwt', script: 'jwt/run.mjs' },
  { name: 'compile', script: 'compile/run.mjs' },
  { name: 'memory', script: 'memory/run.mjs' },
];
const chosen = opts.only ? BENCHES.filter((b) => opts.only.split(',').includes(b.name)) : BENCHES;

const started = Date.now();
const info = machine();
const say = (s) => process.stdout.write(s + '\n');
say(`dfc benchmarks${opts.quick ? ' (quick)' : ''}: ${info.cpu}, ${info.cores} cores, load average ${info.load.join(' ')}, Node ${info.node}, ${info.date}`);
if (info.load[0] > 1.5) say(`note: the load average is ${info.load[0]}: other work shares these cores, so absolute numbers are noisy; ratios are taken within each run`);

if (!opts['no-build']) {
  say('building the packages (tsc -b)…');
  execFileSync(process.execPath, [join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-b', join(ROOT, 'packages', 'cli', 'tsconfig.json')], { cwd: ROOT, stdio: 'inherit' });
}

mkdirSync(TMP, { recursive: true });
const sections = [];
for (const b of chosen) {
  const json = join(TMP, `result-${b.name}-${process.pid}.json`);
  const t0 = Date.now();
  say(`\n▶ ${b.name}`);
  const code = await new Promise((resolve) => {
    const child = spawn(process.execPath, [join(ROOT, 'bench', b.script), ...(opts.quick ? ['--quick'] : []), '--json', json], { cwd: ROOT, stdio: ['ignore', 'inherit', 'inherit'] });
    child.on('exit', (c) => resolve(c ?? 1));
  });
  const seconds = (Date.now() - t0) / 1000;
  try {
    const r = JSON.parse(readFileSync(json, 'utf8'));
    sections.push({ name: b.name, seconds, ...r });
  } catch {
    sections.push({ name: b.name, seconds, failed: true, title: b.name, markdown: `The \`${b.name}\` benchmark failed (exit code ${code}); see the run's output.`, targets: [] });
  }
  rmSync(json, { force: true });
  say(`(${b.name}: ${seconds.toFixed(0)} s)`);
}
const total = (Date.now() - started) / 1000;

// Summary of every target.
say('\nTargets');
for (const s of sections) for (const t of s.targets ?? []) say(`  ${t.met ? 'met    ' : 'NOT met'}  ${t.text.replace(/ (met|NOT met)$/, '')}`);
const failed = sections.filter((s) => s.failed).map((s) => s.name);
if (failed.length) say(`failed benchmarks: ${failed.join(', ')}`);
say(`total ${total.toFixed(0)} s`);

if (!opts.quick || opts.out) {
  const loadEnd = machine().load;
  const lib = Object.entries(info.libraries).map(([k, v]) => `${k} ${v}`).join(', ');
  const doc = [
    '# dfc benchmark results',
    '',
    '<!-- written by `npm run bench` (bench/run.mjs); the fast-path section comes from bench/fast-path.md -->',
    '',
    `- Date: ${info.date}`,
    `- Machine: ${info.cpu}, ${info.cores} cores, ${info.memoryGiB} GiB, ${info.platform}; load average at start ${info.load.join(' / ')} (1 / 5 / 15 min), at the end ${loadEnd.join(' / ')}`,
    `- Node ${info.node}; ${lib}`,
    `- Commit ${info.commit}`,
    `- Pinning: ${PINNING ? 'with `taskset`: servers and single-threaded benchmarks on core 0, load generators on core 1' : 'none (`taskset` unavailable or one core)'}`,
    `- Command: \`npm run bench${opts.quick ? ' -- --quick' : ''}\`, ${total.toFixed(0)} s in all${info.load[0] > 1.5 ? '. The machine was shared with other work during the run (see the load average): absolute times are inflated and noisy; every comparison is made within one run, as ratios per round, then the median' : ''}`,
    '',
    '## Targets',
    '',
    '| benchmark | target | measured | |',
    '|---|---|---:|---|',
    ...sections.flatMap((s) => (s.targets ?? []).map((t) => `| ${s.name} | ${t.name} ${t.op} ${fmtGoal(t)} | ${fmtVal(t)} | ${t.met ? 'met' : '**not met**'} |`)),
    '',
    ...sections.flatMap((s) => [`## ${s.title}`, '', `(${s.seconds.toFixed(0)} s)`, '', s.markdown.trim(), '']),
    readFileSync(join(ROOT, 'bench', 'fast-path.md'), 'utf8').trim(),
    '',
  ].join('\n');
  const file = opts.out ?? join(ROOT, 'bench', 'RESULTS.md');
  writeFileSync(file, doc);
  say(`wrote ${file}`);
}

function fmtVal(t) {
  return `${Number.isFinite(t.value) ? +t.value.toPrecision(3) : t.value}${t.unit}`;
}
function fmtGoal(t) {
  return `${t.goal}${t.unit}`;
}
