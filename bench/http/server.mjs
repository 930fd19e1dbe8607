// One server under test, in its own process (bench/http/run.mjs pins it to a core).
//
//   node bench/http/server.mjs '<json options>'
//
// Kinds: `bare-memory`, `bare-sqlite`, `bare-sqlite-tuned`, `bare-pg` (hand-written Fastify routes answering
// what dfc answers for GET /api/v2/s0/_table/t0000), and `dfc` (the runtime with a built
// policy; `memory: true` puts the same rows behind an in-memory data source). Tells the
// parent its port over IPC and answers `{ memory: true }` messages with memoryUsage().
import { pathToFileURL } from 'node:url';
import Fastify from 'fastify';

const opts = JSON.parse(process.argv[2]);
const ROUTE = '/api/v2/s0/_table/t0000';
// What dfc selects for that route: every column, ordered by the key, the default page.
const COLUMNS = ['id', 'isPublic', 'ownerId', 'password', 'title'];
const LIMIT = 100;

/** The rows as dfc returns them to a `member`: declared column order, booleans decoded, password removed. */
function present(row) {
  return { id: Number(row.id), isPublic: row.isPublic === true || row.isPublic === 1, ownerId: row.ownerId, title: row.title };
}

let app;
let close = async () => app.close();
switch (opts.kind) {
  case 'bare-memory': {
    app = Fastify({ logger: false });
    const rows = opts.rows.map(present);
    app.get(ROUTE, async () => ({ resource: rows }));
    break;
  }
  case 'bare-sqlite': {
    const { default: Database } = await import('better-sqlite3');
    const db = new Database(opts.file, { readonly: true });
    const stmt = db.prepare(`SELECT ${COLUMNS.map((c) => `"${c}"`).join(', ')} FROM "t0000" ORDER BY "id" ASC NULLS LAST LIMIT ? OFFSET ?`);
    app = Fastify({ logger: false });
    app.get(ROUTE, async () => ({ resource: stmt.all(LIMIT, 0).map(present) }));
    close = async () => {
      await app.close();
      db.close();
    };
    break;
  }
  case 'bare-sqlite-tuned': {
    // The hand-written route with what dfc's own reads do: the columns the answer keeps,
    // rows as arrays, and a LIMIT that SQLite (built with STAT4) does not re-plan per bind.
    const { default: Database } = await import('better-sqlite3');
    const db = new Database(opts.file, { readonly: true });
    const stmt = db.prepare('SELECT "id", "isPublic", "ownerId", "title" FROM "t0000" ORDER BY "id" ASC NULLS LAST LIMIT cast(? as integer) OFFSET ?').raw(true);
    app = Fastify({ logger: false });
    app.get(ROUTE, async () => ({ resource: stmt.all(LIMIT, 0).map((r) => ({ id: r[0], isPublic: r[1] === 1, ownerId: r[2], title: r[3] })) }));
    close = async () => {
      await app.close();
      db.close();
    };
    break;
  }
  case 'bare-pg': {
    const { default: pg } = await import('pg');
    const pool = new pg.Pool({ connectionString: opts.url, max: 10 });
    const text = `SELECT ${COLUMNS.map((c) => `"${c}"`).join(', ')} FROM "${opts.schema}"."t0000" ORDER BY "id" ASC NULLS LAST LIMIT $1 OFFSET $2`;
    app = Fastify({ logger: false });
    app.get(ROUTE, async () => {
      const r = await pool.query({ name: 'list', text, values: [LIMIT, 0] });
      return { resource: r.rows.map(present) };
    });
    close = async () => {
      await app.close();
      await pool.end();
    };
    break;
  }
  case 'dfc': {
    // `runtime`: another build of the runtime (bench/http/ab.mjs compares two).
    const { createServer } = await import(opts.runtime ? pathToFileURL(opts.runtime).href : '@dfc/runtime');
    const memoryRows = opts.memory ? opts.rows : undefined;
    const server = await createServer({
      policy: opts.policy,
      env: opts.env,
      baseDir: opts.baseDir,
      logger: opts.logger ?? false,
      ...(opts.logger ? { logStream: { write() {} } } : {}),
      admin: false,
      ...(memoryRows ? { openDataSource: () => memorySource(memoryRows) } : {}),
    });
    app = server.app;
    close = async () => server.close();
    break;
  }
  default:
    throw new Error(`unknown server kind ${opts.kind}`);
}

/**
 * A data source over rows held in memory: `select` hands out fresh copies of the columns
 * asked for, built as a driver builds them (one row constructor per column list, made
 * once), not by a generic copy loop whose keyed stores would cost dfc what no driver does.
 */
function memorySource(rows) {
  const decoded = rows.map((r) => ({ id: r.id, isPublic: r.isPublic === true || r.isPublic === 1, ownerId: r.ownerId, password: r.password, title: r.title }));
  const makers = new Map();
  const byList = new WeakMap(); // the same column list comes back: skip the join
  const maker = (columns) => {
    let make = byList.get(columns);
    if (make !== undefined) return make;
    const key = columns.join('\0');
    make = makers.get(key);
    if (make === undefined) {
      make = new Function('r', `return { ${columns.map((c) => `${JSON.stringify(c)}: r[${JSON.stringify(c)}]`).join(', ')} };`);
      makers.set(key, make);
    }
    byList.set(columns, make);
    return make;
  };
  const ALL = Object.keys(decoded[0]);
  const no = async () => {
    throw new Error('the in-memory bench source only reads');
  };
  const ds = {
    dialect: 'sqlite',
    async select(table, q) {
      return ds.selectNow(table, q);
    },
    // Rows held in memory are there at once: read without a promise (DataSource.selectNow).
    selectNow(_table, q) {
      const n = Math.min(q.limit ?? decoded.length, decoded.length);
      const make = maker(q.columns ?? ALL);
      const out = new Array(n);
      for (let i = 0; i < n; i++) out[i] = make(decoded[i]);
      return out;
    },
    async count() {
      return decoded.length;
    },
    insert: no,
    update: no,
    delete: no,
    async transaction(fn) {
      return fn(ds);
    },
    async ping() {},
    async close() {},
  };
  return ds;
}

const address = await app.listen({ host: '127.0.0.1', port: 0 });
let session;
process.on('message', async (m) => {
  // CPU profiles of a stretch of the run only (bench/http/profile.mjs), without start-up.
  if (m && m.profile === 'start') {
    const { Session } = await import('node:inspector/promises');
    session = new Session();
    session.connect();
    await session.post('Profiler.enable');
    await session.post('Profiler.setSamplingInterval', { interval: 200 });
    await session.post('Profiler.start');
    process.send({ profiling: true });
  }
  if (m && m.profile === 'stop') {
    const { profile } = await session.post('Profiler.stop');
    const { writeFileSync } = await import('node:fs');
    writeFileSync(m.file, JSON.stringify(profile));
    process.send({ written: m.file });
  }
  if (m && m.cpu) process.send({ cpu: process.cpuUsage() });
  if (m && m.memory) {
    if (m.gc && global.gc) global.gc();
    process.send({ memory: process.memoryUsage() });
  }
  if (m && m.close) void close().then(() => process.exit(0));
});
// A benchmark that ends without stopping this server (it threw, or was killed) leaves no
// server behind: the IPC channel closes with it.
process.on('disconnect', () => process.exit(0));
process.send({ ready: true, url: address });
