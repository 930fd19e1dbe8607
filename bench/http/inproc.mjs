// The dfc request path in one process, without sockets: `app.inject` in a loop. For
// profiling (`node --cpu-prof`, `--trace-deopt`) and quick A/B of the handler code; the
// inject machinery adds its own fixed cost. Not part of `npm run bench`.
//
//   node bench/http/inproc.mjs [--n 20000] [--runtime path/to/dist/index.js] [--sqlite]
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { httpProject } from './project.mjs';

const { values: o } = parseArgs({ options: { n: { type: 'string', default: '20000' }, runtime: { type: 'string' }, sqlite: { type: 'boolean', default: false } } });
const { rows, env, dir, headers } = await httpProject('inproc');
const { createServer } = await import(o.runtime ? pathToFileURL(resolve(o.runtime)).href : '@dfc/runtime');
const decoded = rows.map((r) => ({ id: r.id, isPublic: r.isPublic === true || r.isPublic === 1, ownerId: r.ownerId, password: r.password, title: r.title }));
const memory = {
  dialect: 'sqlite',
  async select(t, q) {
    return memory.selectNow(t, q);
  },
  selectNow(_t, q) {
    return decoded.slice(0, q.limit).map((r) => (q.columns ? Object.fromEntries(q.columns.map((c) => [c, r[c]])) : { ...r }));
  },
  async count() {
    return decoded.length;
  },
  async transaction(fn) {
    return fn(memory);
  },
  async ping() {},
  async close() {},
};
const server = await createServer({ policy: join(dir, 'dist'), env, baseDir: dir, logger: false, admin: false, ...(o.sqlite ? {} : { openDataSource: () => memory }) });
await server.app.ready();
const url = '/api/v2/s0/_table/t0000';
const first = await server.app.inject({ method: 'GET', url, headers });
if (first.statusCode !== 200) throw new Error(first.body);
const N = Number(o.n);
for (let round = 0; round < 3; round++) {
  const t0 = performance.now();
  const c0 = process.cpuUsage();
  for (let i = 0; i < N; i++) await server.app.inject({ method: 'GET', url, headers });
  const cpu = process.cpuUsage(c0);
  // CPU time is steadier than wall time on a shared machine (time spent descheduled is not counted).
  console.log(`round ${round + 1}: ${(((performance.now() - t0) * 1000) / N).toFixed(1)} µs/request, CPU ${((cpu.user + cpu.system) / N).toFixed(1)} µs/request`);
}
await server.close();
