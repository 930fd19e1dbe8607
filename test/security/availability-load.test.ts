/**
 * Availability under load (checklist §2.7 V2, V5): examples/blog served by a server in its
 * own process, driven by autocannon on loopback with a mixed workload of allowed and
 * denied requests. Every response has the status its request calls for, no connection
 * fails, memory does not keep growing, and bad artifacts pushed through the admin
 * `POST /reload` while the load runs are all refused with the old policy still serving.
 *
 * Standard run: DFC_LOAD_SECONDS (8) seconds per scenario, DFC_LOAD_CONNECTIONS (16)
 * connections; the long run is DFC_LOAD_SECONDS=20 DFC_LOAD_CONNECTIONS=50.
 */
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { encryptSecret } from '@dfc/runtime';
import { policyHash, prettyCanonicalJson, type Policy } from '@dfc/schema';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { prepareBlog, ENV, KEYS, type BlogFiles } from './helpers/blog.js';
import { rssOf, startChildServer, type Child } from './helpers/child.js';
import { LOAD_CONNECTIONS, LOAD_SECONDS, load, median, sampler, type LoadRequest, type LoadResult } from './helpers/load.js';
import { randomKey } from './helpers/project.js';

const MASTER_KEY = randomKey();

let blog: BlogFiles;
let server: Child;
let mix: { request: LoadRequest; status: number }[];

const admin = (path: string, init: RequestInit = {}) =>
  fetch(server.adminUrl + path, { ...init, headers: { authorization: `Bearer ${ENV.BLOG_ADMIN_TOKEN}`, 'content-type': 'application/json', ...(init.headers ?? {}) } });

beforeAll(async () => {
  blog = await prepareBlog('sqlite');
  server = await startChildServer(
    { policy: blog.dist, baseDir: blog.work, adminToken: ENV.BLOG_ADMIN_TOKEN!, authFailures: false, importTimeoutMs: 1000 },
    // the environment the reload variants below need: a master key, a too-short JWT secret
    { ...blog.env, DFC_MASTER_KEY: MASTER_KEY, SHORT_JWT_SECRET: 'too-short' },
  );
  const alice = await blog.token('alice', 'editor');
  const web = { 'x-api-key': KEYS.web };
  // What each request must get, checked first one by one, then counted under load.
  mix = [
    { request: { path: '/api/v2/blog/_table/posts', headers: web }, status: 200 },
    { request: { path: '/api/v2/blog/_table/posts?filter=' + encodeURIComponent('(isPublic = true) or (title like "%a%")') + '&order=id%20desc&limit=5', headers: { ...web, authorization: `Bearer ${alice}` } }, status: 200 },
    { request: { path: '/api/v2/blog/_table/users/alice', headers: { ...web, authorization: `Bearer ${alice}` } }, status: 200 },
    { request: { path: '/api/v2/blog/_table/profiles/bob', headers: { ...web, authorization: `Bearer ${alice}` } }, status: 200 },
    { request: { path: '/api/v2/blog/_table/posts', headers: { 'x-api-key': 'not-a-key-' + 'x'.repeat(30) } }, status: 401 },
    { request: { path: '/api/v2/blog/_table/posts', headers: { ...web, authorization: 'Bearer not.a.token' } }, status: 401 },
    { request: { method: 'DELETE', path: '/api/v2/blog/_table/posts/1', headers: { ...web, authorization: `Bearer ${alice}` } }, status: 403 },
    { request: { path: '/api/v2/blog/_table/users', headers: { 'x-api-key': KEYS.docs } }, status: 403 },
  ];
  for (const m of mix) {
    const r = await fetch(server.url + m.request.path, { method: m.request.method ?? 'GET', headers: m.request.headers ?? {} });
    expect(r.status, m.request.path).toBe(m.status);
  }
});

afterAll(async () => {
  await server?.kill();
  await blog?.cleanup();
});

/** Every response has one of the statuses the mix calls for, in the mix's proportions; nothing failed. */
function expectClean(r: LoadResult) {
  expect(r.errors, 'connection errors').toBe(0);
  expect(r.timeouts, 'timeouts').toBe(0);
  expect(r.requests).toBeGreaterThan(mix.length * LOAD_CONNECTIONS);
  const expected: Record<string, number> = {};
  for (const m of mix) expected[m.status] = (expected[m.status] ?? 0) + 1;
  expect(Object.keys(r.statuses).sort()).toEqual(Object.keys(expected).sort());
  // Each connection cycles through the mix in order, so each status's share is fixed up
  // to the requests each connection had in hand when the run stopped.
  for (const [status, n] of Object.entries(expected)) {
    const want = (r.requests * n) / mix.length;
    expect(Math.abs(r.statuses[status]! - want), `responses with status ${status}`).toBeLessThanOrEqual(LOAD_CONNECTIONS * mix.length);
  }
}

describe('load', () => {
  test('a mixed allowed/denied workload: every answer as expected, no connection error, no 5xx, memory stable', async () => {
    const rss = sampler(200, () => rssOf(server.pid));
    const r = await load(server.url, mix.map((m) => m.request)).done;
    const samples = rss.stop();
    console.log(`load: ${LOAD_SECONDS} s, ${LOAD_CONNECTIONS} connections, ${r.requests} responses ${JSON.stringify(r.statuses)}, ${r.errors} errors`);
    expectClean(r);
    expect(server.alive()).toBe(true);
    // Memory: the median RSS of the last fifth of the run against the middle fifth.
    const span = samples.at(-1)!.t;
    const window = (from: number, to: number) => median(samples.filter((s) => s.t >= span * from && s.t <= span * to).map((s) => s.v));
    const middle = window(0.4, 0.6);
    const end = window(0.8, 1);
    console.log(`load: RSS middle ${(middle / 2 ** 20).toFixed(1)} MiB, end ${(end / 2 ** 20).toFixed(1)} MiB (${samples.length} samples)`);
    expect(samples.length).toBeGreaterThan(10);
    expect(end).toBeLessThan(middle * 1.2 + 16 * 2 ** 20);
  });
});

describe('reload under load', () => {
  /** A bad artifact: its name, the files to write, and the error code that must refuse it. */
  type Variant = { name: string; code: string; make(dir: string): void };
  let variants: Variant[];

  beforeAll(() => {
    const json = prettyCanonicalJson(blog.policy);
    const mjs = blog.mjs;
    const pair = (dir: string, j: string | undefined, m: string | undefined) => {
      if (j !== undefined) writeFileSync(join(dir, 'policy.json'), j);
      if (m !== undefined) writeFileSync(join(dir, 'policy.mjs'), m);
    };
    /** A policy edited and re-hashed, with policy.mjs carrying the new hash: only the edit is wrong. */
    const rehashed = (dir: string, edit: (p: Policy & Record<string, unknown>) => void) => {
      const next = structuredClone(blog.policy) as Policy & Record<string, unknown>;
      edit(next);
      next.hash = policyHash(next);
      pair(dir, prettyCanonicalJson(next), mjs.split(blog.policy.hash).join(next.hash));
    };
    const tampered = (() => {
      const parts = encryptSecret(ENV.BLOG_JWT_SECRET!, Buffer.from(MASTER_KEY, 'base64')).split(':');
      parts[4] = (parts[4]![0] === 'A' ? 'B' : 'A') + parts[4]!.slice(1);
      return parts.join(':');
    })();
    variants = [
      { name: 'policy.json that is not JSON', code: 'DFC_ERR_ARTIFACT_JSON', make: (d) => pair(d, 'this is not json', mjs) },
      { name: 'truncated policy.json', code: 'DFC_ERR_ARTIFACT_JSON', make: (d) => pair(d, json.slice(0, Math.floor(json.length / 2)), mjs) },
      { name: 'empty policy.json', code: 'DFC_ERR_ARTIFACT_JSON', make: (d) => pair(d, '', mjs) },
      { name: 'policy.json edited after the build (hash not matching)', code: 'DFC_ERR_ARTIFACT_HASH', make: (d) => pair(d, json.replace('"maxRecords": 500', '"maxRecords": 5000'), mjs) },
      { name: 'policy.mjs built from another policy.json', code: 'DFC_ERR_ARTIFACT_HASH', make: (d) => pair(d, json, mjs.split(blog.policy.hash).join('sha256:' + 'e'.repeat(64))) },
      { name: 'another artifact version', code: 'DFC_ERR_ARTIFACT_VERSION', make: (d) => pair(d, json.replace('"artifactVersion": 1', '"artifactVersion": 99'), mjs) },
      { name: 'schema violation (re-hashed)', code: 'DFC_ERR_ARTIFACT_SCHEMA', make: (d) => rehashed(d, (p) => ((p as { environment: string }).environment = 'staging')) },
      { name: 'unknown top-level key (re-hashed)', code: 'DFC_ERR_ARTIFACT_SCHEMA', make: (d) => rehashed(d, (p) => (p.backdoor = { allow: true })) },
      { name: 'policy.mjs that throws on import', code: 'DFC_ERR_ARTIFACT_MODULE', make: (d) => pair(d, json, `export const hash = ${JSON.stringify(blog.policy.hash)};\nthrow new Error('boom');\n`) },
      { name: 'policy.mjs with a syntax error', code: 'DFC_ERR_ARTIFACT_MODULE', make: (d) => pair(d, json, mjs.slice(0, Math.floor(mjs.length / 2))) },
      { name: 'policy.mjs without its exports', code: 'DFC_ERR_ARTIFACT_HASH', make: (d) => pair(d, json, 'export const nothing = 1;\n') },
      { name: 'policy.mjs whose rules are not functions', code: 'DFC_ERR_ARTIFACT_MODULE', make: (d) => pair(d, json, `export const hash = ${JSON.stringify(blog.policy.hash)};\nexport const rules = { 'blog/posts/read': 'allow' };\n`) },
      { name: 'policy.mjs whose import never finishes', code: 'DFC_ERR_ARTIFACT_MODULE', make: (d) => pair(d, json, `export const hash = ${JSON.stringify(blog.policy.hash)};\nawait new Promise(() => {});\n`) },
      { name: 'policy.mjs missing', code: 'DFC_ERR_ARTIFACT_MISSING', make: (d) => pair(d, json, undefined) },
      { name: 'policy.json missing', code: 'DFC_ERR_ARTIFACT_MISSING', make: (d) => pair(d, undefined, mjs) },
      { name: 'policy.json is a directory', code: 'DFC_ERR_ARTIFACT_MISSING', make: (d) => (mkdirSync(join(d, 'policy.json')), pair(d, undefined, mjs)) },
      { name: 'policy.json is a device that never ends', code: 'DFC_ERR_ARTIFACT_MISSING', make: (d) => (symlinkSync('/dev/zero', join(d, 'policy.json')), pair(d, undefined, mjs)) },
      { name: 'huge policy.json (64 MiB)', code: 'DFC_ERR_ARTIFACT_', make: (d) => pair(d, json.replace('{', `{"padding": "${'x'.repeat(64 * 2 ** 20)}",`), mjs) },
      { name: 'a secret the environment does not set (re-hashed)', code: 'DFC_ERR_SECRET_MISSING', make: (d) => rehashed(d, (p) => (p.auth.jwt!.secret = { $secret: 'NOT_SET_ANYWHERE' })) },
      { name: 'a tampered $encrypted secret (re-hashed)', code: 'DFC_ERR_SECRET_DECRYPT', make: (d) => rehashed(d, (p) => (p.auth.jwt!.secret = { $encrypted: tampered })) },
      { name: 'a JWT secret under 32 bytes (re-hashed)', code: 'DFC_ERR_JWT_CONFIG', make: (d) => rehashed(d, (p) => (p.auth.jwt!.secret = { $secret: 'SHORT_JWT_SECRET' })) },
    ];
  });

  test('≥ 12 kinds of bad artifact are refused while the old policy keeps serving and no request fails', async () => {
    const before = (await (await admin('/policy')).json()) as { hash: string; generation: number };
    expect(before.hash).toBe(blog.policy.hash);
    // The load runs until every variant has been pushed (bounded), then a little longer.
    const run = load(server.url, mix.map((m) => m.request), { seconds: 120 });
    const root = mkdtempSync(join(blog.work, 'bad-'));
    const refused: string[] = [];
    const t0 = Date.now();
    try {
      // let the load settle in, then push every variant while it runs
      await new Promise((r) => setTimeout(r, 500));
      for (const [i, v] of variants.entries()) {
        const dir = join(root, String(i));
        mkdirSync(dir);
        v.make(dir);
        const r = await admin('/reload', { method: 'POST', body: JSON.stringify({ dir }) });
        const body = (await r.json()) as { error: { code: string; message: string }; hash: string };
        expect(r.status, v.name).toBe(422);
        expect(body.error.code, v.name).toMatch(new RegExp('^' + v.code));
        // a clear message: lowercase, no final period, nothing internal
        expect(body.error.message, v.name).toMatch(/^[a-z`].*[^.]$/);
        expect(body.error.message, v.name).not.toMatch(/Error:|at .*\.m?js:\d+|boom/);
        expect(body.hash, v.name).toBe(before.hash);
        expect((await (await admin('/policy')).json()).hash, v.name).toBe(before.hash);
        refused.push(v.name);
        rmSync(dir, { recursive: true, force: true });
      }
      await new Promise((r) => setTimeout(r, 500));
    } finally {
      run.stop();
      const r = await run.done;
      rmSync(root, { recursive: true, force: true });
      console.log(`reload: ${refused.length} bad artifacts refused in ${Date.now() - t0} ms under load; ${r.requests} responses ${JSON.stringify(r.statuses)}, ${r.errors} errors`);
      expectClean(r);
    }
    expect(refused.length).toBeGreaterThanOrEqual(12);
    const after = (await (await admin('/policy')).json()) as { hash: string; generation: number };
    expect(after).toMatchObject({ hash: before.hash, generation: before.generation });
    const metrics = await (await admin('/metrics')).text();
    expect(metrics).toContain(`dfc_policy_reload_failures_total ${variants.length}`);
    expect(metrics).toContain(`dfc_policy_info{hash="${before.hash}"} 1`);
    // and a good artifact is still taken: the refusals were about the artifacts
    const ok = await admin('/reload', { method: 'POST', body: JSON.stringify({ dir: blog.dist }) });
    expect(ok.status).toBe(200);
    expect(((await ok.json()) as { generation: number }).generation).toBe(before.generation + 1);
    expect(server.alive()).toBe(true);
  });
});
