// The framework's share of dfc's request path: bare Fastify answering the HTTP
// benchmark's route, then with each piece of what dfc's plugin does around its own code
// added in turn (no dfc code at all), in one run (interleaved rounds, medians). What
// variant 6 (how dfc answers a read now) costs over the first is the part of dfc ÷ bare
// that no change inside the runtime's decision and data code can win back. Not part of
// `npm run bench`.
//
//   node bench/http/floor.mjs [--rounds 8] [--duration 3] [--variants 1,2,3,4,5,6,7]
//
// 1 bare: a static route, an async handler returning the rows
// 2 + dfc's routes: parametric `/api/v2/:service/_table/:table` (and `/:id`) for five methods
// 3 + dfc's response headers, set in an `onRequest` hook (request id, nosniff, no-store, CORS for an allowed origin)
// 4 + an `onSend` hook (dfc removes `x-powered-by` there)
// 5 + an `onResponse` hook (dfc counts and times requests there)
//   (3 to 5: how the plugin answered reads before direct answers)
// 6 how reads are answered now: dfc's routes, an `onSend` hook registered (direct answers
//   skip it), no other hook, the handler writes status, dfc's headers and the JSON itself
// 7 plain node:http (no framework) writing what 6 writes
import { parseArgs } from 'node:util';

const ROUTE = '/api/v2/s0/_table/t0000';
const rows = Array.from({ length: 10 }, (_, i) => ({ id: i + 1, isPublic: i % 2 === 0, ownerId: `u${i % 3}`, title: `Post number ${i + 1} with a title` }));

if (process.argv[2]?.startsWith('{')) {
  // server mode (started by the driver below, pinned to core 0)
  const { default: Fastify } = await import('fastify');
  const v = JSON.parse(process.argv[2]).variant;
  const fixed = { 'x-content-type-options': 'nosniff', 'cache-control': 'no-store' };
  const cors = { 'access-control-allow-origin': 'https://app.example.com', 'access-control-allow-credentials': 'true', vary: 'Origin' };
  const headList = [...Object.entries(fixed).flat(), ...Object.entries(cors).flat()];
  /** What a direct answer writes: status, the request id, dfc's headers, the JSON. */
  const writeRows = (res, id) => {
    const body = JSON.stringify({ resource: rows.map((r) => ({ ...r })) });
    res.writeHead(200, ['x-request-id', String(id), ...headList, 'content-type', 'application/json; charset=utf-8', 'content-length', String(Buffer.byteLength(body))]);
    res.end(body);
  };
  if (v === 7) {
    const { createServer } = await import('node:http');
    let n = 0;
    const server = createServer((_req, res) => writeRows(res, ++n));
    await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
    process.on('message', (m) => {
      if (m.cpu) process.send({ cpu: process.cpuUsage() });
      if (m.close) server.close(() => process.exit(0));
    });
    process.send({ ready: true, url: `http://127.0.0.1:${server.address().port}` });
  } else {
    const app = Fastify({ logger: false });
    if (v >= 3 && v <= 5) {
      app.addHook('onRequest', (req, reply, done) => {
        reply.header('x-request-id', req.id);
        reply.headers(fixed);
        reply.headers(cors);
        done();
      });
    }
    if (v >= 4) {
      app.addHook('onSend', (_req, reply, payload, done) => {
        reply.removeHeader('x-powered-by');
        done(null, payload);
      });
    }
    if (v === 5) app.addHook('onResponse', (_req, _reply, done) => done());
    const handler =
      v === 6
        ? (req, reply) => {
            reply.hijack();
            writeRows(reply.raw, req.id);
          }
        : async () => ({ resource: rows.map((r) => ({ ...r })) });
    if (v >= 2) {
      for (const method of ['GET', 'POST', 'PUT', 'PATCH', 'DELETE']) {
        app.route({ method, url: '/api/v2/:service/_table/:table', handler });
        app.route({ method, url: '/api/v2/:service/_table/:table/:id', handler });
      }
    } else {
      app.get(ROUTE, handler);
    }
    const url = await app.listen({ host: '127.0.0.1', port: 0 });
    process.on('message', (m) => {
      if (m.cpu) process.send({ cpu: process.cpuUsage() });
      if (m.close) app.close().then(() => process.exit(0));
    });
    process.send({ ready: true, url });
  }
} else {
  const { default: autocannon } = await import('autocannon');
  const { pinSelf, startChild } = await import('../lib/proc.mjs');
  const { median, sleep } = await import('../lib/stats.mjs');
  const { API_KEY, ORIGIN } = await import('../lib/fixtures.mjs');
  const { values: o } = parseArgs({ options: { rounds: { type: 'string', default: '8' }, duration: { type: 'string', default: '3' }, variants: { type: 'string', default: '1,2,3,4,5,6,7' } } });
  pinSelf(1);
  // The HTTP benchmark's request headers (a session token of about its length).
  const headers = { origin: ORIGIN, 'x-api-key': API_KEY, authorization: `Bearer ${'x'.repeat(250)}` };
  const servers = [];
  for (const variant of o.variants.split(',').map(Number)) servers.push({ variant, s: await startChild(new URL(import.meta.url).pathname, [JSON.stringify({ variant })], { cpu: 0 }), samples: [] });
  const cpu = async (s) => {
    const { cpu: c } = await s.request({ cpu: true });
    return c.user + c.system;
  };
  const run = async (x, seconds) => {
    const c0 = await cpu(x.s);
    const r = await autocannon({ url: x.s.message.url + ROUTE, connections: 50, duration: seconds, headers });
    if (r.non2xx > 0 || r.errors > 0) throw new Error(`variant ${x.variant}: ${r.non2xx} non-2xx answers, ${r.errors} errors`);
    return { rps: r.requests.total / seconds, us: ((await cpu(x.s)) - c0) / r.requests.total };
  };
  try {
    for (const x of servers) await run(x, 1);
    for (let r = 0; r < Number(o.rounds); r++) {
      for (const x of r % 2 === 0 ? servers : [...servers].reverse()) {
        x.samples.push(await run(x, Number(o.duration)));
        await sleep(100);
      }
    }
    const first = servers[0];
    for (const x of servers) {
      const ratio = median(x.samples.map((s, i) => first.samples[i].us / s.us));
      console.log(`variant ${x.variant}: ${Math.round(median(x.samples.map((s) => s.rps)))} req/s, ${median(x.samples.map((s) => s.us)).toFixed(1)} µs CPU/req, CPU ratio variant ${first.variant} ÷ this ${ratio.toFixed(3)}`);
    }
  } finally {
    for (const x of servers) await x.s.stop();
  }
}
