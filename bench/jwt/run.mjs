// Benchmark 4: session tokens. In one process, for HS256 and ES256: jose's jwtVerify on
// every call (what verifying per request costs), dfc's verifier on tokens it has not
// seen (a cache miss: jose plus dfc's checks and the cache insert), and on a token it has
// (a cache hit). Then over HTTP: the dfc server (rows in memory) with one repeated token
// against a rotating pool larger than the verifier's cache (every request a miss), next
// to bare Fastify.
//
//   node bench/jwt/run.mjs [--quick] [--http] [--rounds N]
import { join } from 'node:path';
import { createPublicKey } from 'node:crypto';
import autocannon from 'autocannon';
import { jwtVerify } from 'jose';
import { createJwtVerifier, secretResolver } from '@dfc/runtime';
import { benchArgs, finish, target } from '../lib/report.mjs';
import { API_KEY, AUDIENCE, ISSUER, ORIGIN, projectEnv, scratch } from '../lib/fixtures.mjs';
import { syntheticPolicy, writeArtifact } from '../lib/policy.mjs';
import { benchRows } from '../lib/data.mjs';
import { signer } from '../lib/tokens.mjs';
import { PINNING, pinSelf, startChild, startedTogether } from '../lib/proc.mjs';
import { summary, spread, table, fmt, sleep } from '../lib/stats.mjs';

const opts = benchArgs({ rounds: { type: 'string' }, duration: { type: 'string' }, http: { type: 'boolean', default: false } });
const ROUNDS = Number(opts.rounds ?? (opts.quick ? 3 : 7));
const DURATION = Number(opts.duration ?? (opts.quick ? 1 : 5));
const WARMUP = opts.quick ? 0.5 : 1;
// Over HTTP: not in a quick run unless --http (these rows carry no target, and took a
// third of the quick run's time for one round), then one round.
const OVER_HTTP = !opts.quick || opts.http;
const HTTP_ROUNDS = opts.quick ? 1 : ROUNDS;
const MICRO = { HS256: opts.quick ? 2000 : 10_000, ES256: opts.quick ? 300 : 1500 };
// More distinct tokens than the verifier caches (10,000): cycling through them in order
// evicts each before it comes round again, so every request verifies.
const POOL = 12_000;

const algs = {
  HS256: { env: projectEnv('hs256'), jwt: 'hs256' },
  ES256: { env: projectEnv('es256'), jwt: 'es256' },
};

// ---------------------------------------------------------------------------
// in-process

pinSelf(0);
const micro = {};
for (const [alg, a] of Object.entries(algs)) {
  const policy = syntheticPolicy({ tables: 1, jwt: a.jwt });
  const cfg = policy.auth.jwt;
  const resolve = secretResolver(a.env);
  const key = alg === 'HS256' ? new TextEncoder().encode(a.env.BENCH_JWT_SECRET) : createPublicKey(a.env.BENCH_JWT_PUBLIC_KEY);
  const joseOptions = { algorithms: [alg], issuer: ISSUER, audience: AUDIENCE, requiredClaims: ['exp'], clockTolerance: 30 };
  const sign = signer(a.env);
  const n = MICRO[alg];
  const rounds = [];
  for (let r = 0; r < ROUNDS + 1; r++) {
    const fresh = await sign({ n, offset: r * n });
    const [one] = await sign({});
    const v = createJwtVerifier(cfg, resolve);
    let t0 = process.hrtime.bigint();
    for (const t of fresh) await jwtVerify(t, key, joseOptions);
    const jose = Number(process.hrtime.bigint() - t0) / n;
    t0 = process.hrtime.bigint();
    for (const t of fresh) await v.verify(t);
    const miss = Number(process.hrtime.bigint() - t0) / n;
    await v.verify(one);
    t0 = process.hrtime.bigint();
    for (let i = 0; i < n * 10; i++) await v.verify(one);
    const hit = Number(process.hrtime.bigint() - t0) / (n * 10);
    if (r > 0) rounds.push({ jose, miss, hit }); // the first round warms up
  }
  micro[alg] = {
    jose: summary(rounds.map((x) => x.jose / 1000)),
    miss: summary(rounds.map((x) => x.miss / 1000)),
    hit: summary(rounds.map((x) => x.hit / 1000)),
    missOverJose: summary(rounds.map((x) => x.miss / x.jose)),
    hitSpeedup: summary(rounds.map((x) => x.miss / x.hit)),
  };
}

// ---------------------------------------------------------------------------
// over HTTP

const ROUTE = '/api/v2/s0/_table/t0000';
const http = {};
if (OVER_HTTP) await overHttp();

async function overHttp() {
  pinSelf(1);
  const rows = benchRows(10);
  const servers = new Map();
  try {
    // The three servers start together (start-up is not measured).
    const SERVER = join(import.meta.dirname, '..', 'http', 'server.mjs');
    // A server that fails while the others are still being set up is reported by
    // startedTogether below, not as an unhandled rejection.
    const quiet = (p) => (p.catch(() => {}), p);
    const starting = { bare: quiet(startChild(SERVER, [JSON.stringify({ kind: 'bare-memory', rows })], { cpu: 0 })) };
    const pools = {};
    for (const [alg, a] of Object.entries(algs)) {
      const dir = scratch(`jwt-${alg}`);
      await writeArtifact(join(dir, 'dist'), syntheticPolicy({ tables: 1, jwt: a.jwt }));
      starting[alg] = quiet(startChild(SERVER, [JSON.stringify({ kind: 'dfc', memory: true, rows, policy: join(dir, 'dist'), baseDir: dir, env: a.env })], { cpu: 0 }));
    }
    for (const [alg, a] of Object.entries(algs)) {
      const sign = signer(a.env);
      pools[alg] = { one: (await sign({}))[0], many: await sign({ n: POOL }) };
    }
    await startedTogether(starting, servers);
    // `sampleInt`: autocannon ends a run at its first sample after `duration` (one a second
    // by default); req/s is requests ÷ the run's own duration, which does not depend on it.
    const load = (server, tokens, seconds) =>
      new Promise((resolve, reject) => {
        let i = 0;
        const base = { origin: ORIGIN, 'x-api-key': API_KEY };
        const requests = [
          {
            setupRequest(req) {
              req.headers = { ...base, authorization: `Bearer ${tokens[i++ % tokens.length]}` };
              return req;
            },
          },
        ];
        autocannon({ url: server.message.url + ROUTE, connections: 50, duration: seconds, sampleInt: 100, headers: base, requests }, (err, r) => {
          if (err) return reject(err);
          if (r.non2xx > 0 || r.errors > 0) return reject(new Error(`${r.non2xx} non-2xx answers, ${r.errors} errors`));
          resolve(r.requests.total / (r.duration || seconds));
        });
      });
    const cases = [
      ['bare Fastify (no token checked)', servers.get('bare'), [pools.HS256.one]],
      ['dfc, HS256, one token (cached)', servers.get('HS256'), [pools.HS256.one]],
      ['dfc, HS256, a new token each request', servers.get('HS256'), pools.HS256.many],
      ['dfc, ES256, one token (cached)', servers.get('ES256'), [pools.ES256.one]],
      ['dfc, ES256, a new token each request', servers.get('ES256'), pools.ES256.many],
    ];
    for (const [, s, t] of cases) await load(s, t, WARMUP);
    for (const [name] of cases) http[name] = [];
    for (let r = 0; r < HTTP_ROUNDS; r++) {
      for (const [name, s, t] of cases) {
        http[name].push(await load(s, t, DURATION));
        await sleep(100);
      }
    }
  } finally {
    for (const s of servers.values()) await s.stop();
  }
}

const microRows = [];
for (const [alg, m] of Object.entries(micro)) {
  microRows.push([`${alg}: jose \`jwtVerify\` every call`, spread(m.jose, ' µs'), '1']);
  microRows.push([`${alg}: dfc, first-seen token`, spread(m.miss, ' µs'), spread(m.missOverJose)]);
  microRows.push([`${alg}: dfc, cached token`, spread(m.hit, ' µs'), fmt(m.hit.median / m.jose.median)]);
}
const bareRps = http['bare Fastify (no token checked)'] ?? [];
const httpRows = Object.entries(http).map(([name, xs]) => [name, spread(summary(xs)), spread(summary(xs.map((x, i) => x / bareRps[i])))]);
const markdown = [
  `In one process (pinned to core 0): ${ROUNDS} rounds after a warm-up round; each round verifies ${MICRO.HS256.toLocaleString('en-US')} (HS256) or ${MICRO.ES256.toLocaleString('en-US')} (ES256) tokens never seen before, then one token ${(MICRO.HS256 * 10).toLocaleString('en-US')} / ${(MICRO.ES256 * 10).toLocaleString('en-US')} times. Median (min–max) per verification.`,
  '',
  table(['verification', 'time', '× jose'], microRows),
  '',
  table(['cache effect', 'first-seen ÷ cached'], Object.entries(micro).map(([alg, m]) => [alg, spread(m.hitSpeedup)])),
  '',
  ...(OVER_HTTP
    ? [
        `Over HTTP: GET ${ROUTE} (10 rows in memory), autocannon 50 connections, ${HTTP_ROUNDS} round(s) × ${DURATION} s after a ${WARMUP} s warm-up${opts.quick ? ' (a quick run: the full run takes 7 rounds × 5 s)' : ''}, ${PINNING ? 'server on core 0, load generator on core 1' : 'not pinned'}. "A new token each request" cycles through ${POOL.toLocaleString('en-US')} tokens, more than the verifier caches (10,000), so every request verifies a signature.`,
        '',
        table(['server and tokens', 'req/s', '÷ bare Fastify'], httpRows),
      ]
    : ['Over HTTP (req/s with one cached token and with a new token each request, next to bare Fastify): in the full run, not a quick one (`node bench/jwt/run.mjs --quick --http` adds it).']),
].join('\n');
finish(opts, {
  title: '4. JWT: first-seen vs cached tokens',
  markdown,
  targets: [
    target('HS256 cached verification faster than first-seen', micro.HS256.hitSpeedup.median, '>=', 1),
    target('ES256 cached verification faster than first-seen', micro.ES256.hitSpeedup.median, '>=', 1),
  ],
  data: { micro, http },
});
