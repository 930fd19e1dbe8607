// A/B for the cost of one decision vs policy size: the policy-size benchmark's policies
// and request mixes, decided by two builds of the runtime in one process (rounds
// interleave builds and sizes; medians). Not part of `npm run bench`.
//
//   cp -r packages/runtime/dist bench/.tmp/ps-base   # before a change
//   npm run build                                    # after it
//   node bench/policy-size/ab.mjs --base bench/.tmp/ps-base [--after another/dist] [--rounds 7] [--decisions 20000] [--full]
//
// Prints ns per decision for each build, mix and size, each build's largest ÷ smallest
// ratio (the benchmark's target) and after ÷ before.
import { pathToFileURL } from 'node:url';
import { API_KEY, projectEnv } from '../lib/fixtures.mjs';
import { pinSelf } from '../lib/proc.mjs';
import { fmt, median, table } from '../lib/stats.mjs';
import { abArgs } from '../lib/ab.mjs';
import { loadSize, requestMaker, sizes, timeDecisions, writeSize } from './common.mjs';

const { values: o, builds: entries } = abArgs({
  rounds: { type: 'string', default: '7' },
  decisions: { type: 'string', default: '20000' },
  full: { type: 'boolean', default: false },
});
const ROUNDS = Number(o.rounds);
const N = Number(o.decisions);
pinSelf(0);

const builds = {};
for (const [name, index] of Object.entries(entries)) builds[name] = await import(pathToFileURL(index).href);

const env = projectEnv('hs256');
const SIZES = sizes(!o.full);
const loaded = [];
for (const size of SIZES) {
  const { dir } = await writeSize(size);
  const compiled = {};
  for (const [name, runtime] of Object.entries(builds)) compiled[name] = await loadSize(runtime, dir, env);
  loaded.push({ ...size, compiled });
  process.stderr.write(`ab: ${size.label} loaded\n`);
}

const { mixes } = requestMaker(API_KEY);
const names = Object.keys(builds);
const samples = {};
for (const mix of Object.keys(mixes)) {
  const reqs = loaded.map((s) => mixes[mix](s.tables, N));
  samples[mix] = Object.fromEntries(names.map((b) => [b, loaded.map(() => [])]));
  for (let r = -1; r < ROUNDS; r++) {
    for (let k = 0; k < loaded.length * names.length; k++) {
      const j = (k + Math.max(r, 0)) % (loaded.length * names.length);
      const b = names[j % names.length];
      const i = Math.floor(j / names.length);
      const ns = await timeDecisions(builds[b].decideNow, loaded[i].compiled[b], reqs[i]);
      if (r >= 0) samples[mix][b][i].push(ns); // round -1 warms every build and size up
    }
  }
}

const last = loaded.length - 1;
const rows = [];
for (const mix of Object.keys(mixes)) {
  for (const [i, s] of loaded.entries()) {
    const [before, after] = names.map((b) => median(samples[mix][b][i]));
    rows.push([mix, s.label, `${fmt(before)} ns`, `${fmt(after)} ns`, fmt(after / before)]);
  }
  const ratio = (b) => median(samples[mix][b][0].map((_, r) => samples[mix][b][last][r] / samples[mix][b][0][r]));
  rows.push([mix, '**largest ÷ smallest**', fmt(ratio('before')), fmt(ratio('after')), '']);
}
console.log(`${N.toLocaleString('en-US')} decisions per round, ${ROUNDS} rounds, builds and sizes interleaved, medians; pinned to core 0.\n`);
console.log(table(['mix', 'policy', 'before', 'after', 'after ÷ before'], rows));
