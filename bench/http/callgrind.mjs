// Instructions per request of one server of the HTTP benchmark, counted by callgrind:
// repeatable whatever else runs on the machine, so two builds can be compared without
// interleaved timing rounds. The server runs under `valgrind --tool=callgrind` with
// collection off; autocannon (this process) warms it up, instrumentation is switched on for a
// fixed number of requests, then the main thread's counts are dumped. JIT code is named from the
// server's `--perf-basic-prof` map. Not part of `npm run bench`; a tool for the fast path.
//
//   node bench/http/callgrind.mjs [--kind dfc-memory|bare-memory] [--runtime other/dist/index.js] [--warmup 4000] [--requests 2000] [--top 40] [--sim]
//
// Prints instructions per request in all, then the functions with the most instructions
// per request (self, then inclusive). `--sim` also simulates the caches and branch
// predictors (callgrind's model of them, not this CPU's) and prints their misses per
// request. Needs valgrind (`apt-get install valgrind`).
import { execFileSync, fork } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import autocannon from 'autocannon';
import { httpProject } from './project.mjs';

const { values: o } = parseArgs({
  options: {
    kind: { type: 'string', default: 'dfc-memory' },
    runtime: { type: 'string' },
    warmup: { type: 'string', default: '4000' },
    requests: { type: 'string', default: '2000' },
    connections: { type: 'string', default: '10' },
    top: { type: 'string', default: '40' },
    out: { type: 'string' },
    sim: { type: 'boolean', default: false },
  },
});
const { rows, env, dir, headers } = await httpProject('callgrind', { keep: true });
const kinds = {
  'dfc-memory': { kind: 'dfc', memory: true, rows, policy: join(dir, 'dist'), baseDir: dir, env, ...(o.runtime ? { runtime: resolve(o.runtime) } : {}) },
  'bare-memory': { kind: 'bare-memory', rows },
};
const out = resolve(o.out ?? join(dir, `${o.kind}.callgrind`));
const child = fork(join(import.meta.dirname, 'server.mjs'), [JSON.stringify(kinds[o.kind])], {
  execPath: 'valgrind',
  execArgv: [
    '--tool=callgrind',
    '--instr-atstart=no',
    '--separate-threads=yes',
    ...(o.sim ? ['--cache-sim=yes', '--branch-sim=yes'] : []),
    `--callgrind-out-file=${out}`,
    process.execPath,
    '--perf-basic-prof',
  ],
  stdio: ['ignore', 'inherit', 'ignore', 'ipc'],
  cwd: dir, // where V8 writes the log that --perf-basic-prof turns on
});
const ready = await new Promise((res, rej) => {
  child.once('message', res);
  child.once('exit', (code) => rej(new Error(`the server exited with ${code}`)));
});
const url = ready.url + '/api/v2/s0/_table/t0000';
const load = async (amount) => {
  const r = await autocannon({ url, connections: Number(o.connections), amount, headers, timeout: 60 });
  if (r.non2xx > 0 || r.errors > 0 || r.timeouts > 0) throw new Error(`${r.non2xx} non-2xx answers, ${r.errors} errors, ${r.timeouts} timeouts`);
};
const control = (...args) => execFileSync('callgrind_control', [...args, String(child.pid)], { stdio: 'ignore' });
try {
  await load(Number(o.warmup));
  control('-i', 'on');
  await load(Number(o.requests));
  control('-d');
  control('-i', 'off');
} finally {
  await new Promise((res) => {
    child.once('exit', res);
    child.send({ close: true });
  });
}

// The main thread's part of the dump written by `-d` (`.1-01`; the final one, at exit, holds
// nothing: instrumentation was off). V8's compiler threads are left out: under valgrind
// they are still optimising long after the warm-up, which a server at full speed is not.
const file = `${out}.1-01`;
const perfMap = `/tmp/perf-${child.pid}.map`;
const symbols = existsSync(perfMap)
  ? readFileSync(perfMap, 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((l) => {
        const m = /^([0-9a-f]+) ([0-9a-f]+) (.*)$/.exec(l);
        return { start: parseInt(m[1], 16), end: parseInt(m[1], 16) + parseInt(m[2], 16), name: m[3] };
      })
      .sort((a, b) => a.start - b.start)
  : [];
const nameOf = (fn) => {
  const m = /^0x([0-9a-f]+)$/.exec(fn);
  if (!m) return fn;
  const addr = parseInt(m[1], 16);
  let lo = 0;
  let hi = symbols.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (symbols[mid].end <= addr) lo = mid + 1;
    else if (symbols[mid].start > addr) hi = mid - 1;
    else return symbols[mid].name;
  }
  return fn;
};
const text = execFileSync('callgrind_annotate', ['--threshold=100', '--show=Ir', '--inclusive=no', file], { maxBuffer: 1 << 28 }).toString();
const incl = execFileSync('callgrind_annotate', ['--threshold=100', '--show=Ir', '--inclusive=yes', file], { maxBuffer: 1 << 28 }).toString();
const n = Number(o.requests);
// Every event's total (instructions; with --sim, data reads and writes and the simulated misses too).
const counts = readFileSync(file, 'utf8');
const events = /^events:\s*(.*)$/m.exec(counts)?.[1].trim().split(/\s+/) ?? [];
const totals = /^(?:summary|totals):\s*(.*)$/m.exec(counts)?.[1].trim().split(/\s+/).map(Number) ?? [];
const total = totals[events.indexOf('Ir')] ?? NaN;
console.log(`${o.kind}: ${Math.round(total / n).toLocaleString('en')} instructions per request (${n} requests)`);
if (o.sim) console.log(events.map((e, i) => `${e} ${Math.round(totals[i] / n).toLocaleString('en')}`).join(', ') + ' (per request)');
const rowsOf = (t) => {
  const m = new Map();
  for (const line of t.split('\n')) {
    const r = /^\s*([\d,]+) \([\s\d.]+%\)\s+(.*?)(?: \[[^\]]*\])?$/.exec(line);
    if (!r || line.includes('PROGRAM TOTALS')) continue;
    // `file:function`: the file (or `???`) has no spaces, a C++ function name may.
    const name = nameOf(r[2].replace(/^(\?\?\?|[^\s:]*\/[^\s:]*):/, ''));
    m.set(name, (m.get(name) ?? 0) + Number(r[1].replace(/,/g, '')));
  }
  return [...m].sort((a, b) => b[1] - a[1]).slice(0, Number(o.top));
};
for (const [title, t] of [
  ['self', text],
  ['inclusive', incl],
]) {
  console.log(`\n${title}, instructions per request`);
  for (const [name, ir] of rowsOf(t)) console.log(`${Math.round(ir / n).toString().padStart(8)}  ${name}`);
}
console.log(`\ncounts: ${file}`);
