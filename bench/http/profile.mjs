// Profile one server of the HTTP benchmark under load: the server runs with
// `--cpu-prof`, autocannon drives it, then the profile's heaviest functions (self time
// and inclusive time) are printed. Not part of `npm run bench`; a tool for the fast path.
//
//   node bench/http/profile.mjs [--kind dfc-memory|dfc-sqlite|bare-memory|bare-sqlite] [--seconds 10] [--top 40] [--runtime other/dist/index.js]
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import autocannon from 'autocannon';
import { httpProject } from './project.mjs';
import { pinSelf, startChild } from '../lib/proc.mjs';

const { values: o } = parseArgs({ options: { kind: { type: 'string', default: 'dfc-memory' }, seconds: { type: 'string', default: '10' }, top: { type: 'string', default: '40' }, tables: { type: 'string', default: '10' }, runtime: { type: 'string' } } });
pinSelf(1);
const { rows, env, dir, headers } = await httpProject('profile', { tables: Number(o.tables), keep: true });
const kinds = {
  'dfc-memory': { kind: 'dfc', memory: true, rows, policy: join(dir, 'dist'), baseDir: dir, env, ...(o.runtime ? { runtime: resolve(o.runtime) } : {}) },
  'dfc-sqlite': { kind: 'dfc', policy: join(dir, 'dist'), baseDir: dir, env, ...(o.runtime ? { runtime: resolve(o.runtime) } : {}) },
  'bare-memory': { kind: 'bare-memory', rows },
  'bare-sqlite': { kind: 'bare-sqlite', file: join(dir, 's0.db') },
};
const s = await startChild(join(import.meta.dirname, 'server.mjs'), [JSON.stringify(kinds[o.kind])], { cpu: 0 });
const url = s.message.url + '/api/v2/s0/_table/t0000';
await autocannon({ url, connections: 50, duration: 3, headers });
await s.request({ profile: 'start' });
const r = await autocannon({ url, connections: 50, duration: Number(o.seconds), headers });
const file = join(dir, `${o.kind}.cpuprofile`);
await s.request({ profile: 'stop', file });
console.log(`${o.kind}: ${Math.round(r.requests.average)} req/s, p99 ${r.latency.p99} ms, non-2xx ${r.non2xx}`);
await s.stop();

const prof = JSON.parse(readFileSync(file, 'utf8'));
const byId = new Map(prof.nodes.map((n) => [n.id, n]));
const self = new Map();
const dt = new Map();
prof.samples.forEach((id, i) => dt.set(id, (dt.get(id) ?? 0) + (prof.timeDeltas[i] ?? 0)));
const key = (n) => `${n.callFrame.functionName || '(anon)'} ${n.callFrame.url.replace(/^.*\/(node_modules|packages)\//, '$1/')}:${n.callFrame.lineNumber + 1}`;
for (const n of prof.nodes) self.set(key(n), (self.get(key(n)) ?? 0) + (dt.get(n.id) ?? 0));
const parent = new Map();
for (const n of prof.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
const incl = new Map();
for (const n of prof.nodes) {
  const t = dt.get(n.id) ?? 0;
  if (!t) continue;
  const seen = new Set();
  for (let id = n.id; id !== undefined; id = parent.get(id)) {
    const k = key(byId.get(id));
    if (seen.has(k)) continue;
    seen.add(k);
    incl.set(k, (incl.get(k) ?? 0) + t);
  }
}
const total = [...dt.values()].reduce((a, b) => a + b, 0);
const show = (m, title) => {
  console.log(`\n${title}`);
  for (const [k, v] of [...m].sort((a, b) => b[1] - a[1]).slice(0, Number(o.top))) console.log(`${((v / total) * 100).toFixed(1).padStart(5)}%  ${k}`);
};
show(self, 'self time');
show(incl, 'inclusive time');
console.log(`\nprofile: ${file}`);
