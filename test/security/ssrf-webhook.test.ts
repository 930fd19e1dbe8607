/**
 * Webhook SSRF (checklist §2.8), end to end:
 *
 * - build time: a config whose webhook rules name ≥ 40 SSRF-style URLs (private, loopback,
 *   link-local, CGNAT and metadata addresses in every notation, `[::]`, userinfo and
 *   parser tricks, other schemes, ports, trailing dots) fails to build with one DFC4018
 *   at each URL, even with `http:` allowed; the same URLs pass once their host is listed
 *   in `webhooks.allowPrivateHosts` only where that is what they are;
 * - run time, through the HTTP API: only the URL written in the policy is called (request
 *   data naming other URLs reaches nothing), the caller's credentials are not forwarded,
 *   a loopback target needs its explicit allow (a hand-edited artifact without it is
 *   refused at call time), a redirect is not followed (its target sees no connection),
 *   and slow, huge or endless answers deny.
 */
import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { lookup } from 'node:dns/promises';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { SignJWT } from 'jose';
import { isPrivateAddress } from '@dfc/rules';
import { createServer, type DfcServer } from '@dfc/runtime';
import { policyHash, prettyCanonicalJson, type Policy } from '@dfc/schema';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { buildProject, canary, seedProject, type Project } from './helpers/project.js';

// ---------------------------------------------------------------------------
// build time

/** SSRF-style webhook URLs; each must be refused by the build. */
const HOSTILE: string[] = [
  // loopback, every notation
  'http://127.0.0.1/hook',
  'http://127.0.0.2/hook',
  'http://127.255.255.254/hook',
  'http://localhost/hook',
  'http://localhost./hook',
  'http://LocalHost/hook',
  'http://api.localhost/hook',
  'http://[::1]/hook',
  'http://[0:0:0:0:0:0:0:1]/hook',
  'http://[::ffff:127.0.0.1]/hook',
  'http://[::ffff:7f00:1]/hook',
  'http://[::127.0.0.1]/hook',
  'http://2130706433/hook',
  'http://0x7f000001/hook',
  'http://0x7f.0x0.0x0.0x1/hook',
  'http://0177.0.0.1/hook',
  'http://0177.0000.0000.0001/hook',
  'http://127.1/hook',
  'http://%31%32%37.0.0.1/hook',
  'http://127%2E0%2E0%2E1/hook',
  'http://127。0。0。1/hook',
  'http://１２７.０.０.１/hook',
  'http://127.0.0.1./hook',
  // unspecified
  'http://0/hook',
  'http://0.0.0.0/hook',
  'http://[::]/hook',
  'http://[0:0:0:0:0:0:0:0]/hook',
  // cloud metadata
  'http://169.254.169.254/latest/meta-data/',
  'http://169.254.169.254./latest/meta-data/',
  'http://2852039166/latest/meta-data/',
  'http://0xa9fea9fe/latest/meta-data/',
  'http://[::ffff:169.254.169.254]/latest/meta-data/',
  'http://[64:ff9b::a9fe:a9fe]/latest/meta-data/',
  'http://[2002:a9fe:a9fe::]/latest/meta-data/',
  'http://169.254.170.2/v2/credentials',
  'http://[fd00:ec2::254]/latest/meta-data/',
  'http://metadata.google.internal/computeMetadata/v1/',
  'http://metadata.google.internal./computeMetadata/v1/',
  'http://metadata/computeMetadata/v1/',
  'http://instance-data/latest/',
  'http://100.100.100.200/latest/meta-data/',
  // private, CGNAT, benchmark, multicast, broadcast, reserved
  'http://10.0.0.1/hook',
  'http://012.0.0.1/hook',
  'http://10.1/hook',
  'http://172.16.0.1/hook',
  'http://172.31.255.255/hook',
  'http://192.168.0.1/hook',
  'http://3232235521/hook',
  'http://[::ffff:10.0.0.1]/hook',
  'http://100.64.0.1/hook',
  'http://100.127.255.254/hook',
  'http://198.18.0.1/hook',
  'http://192.0.0.1/hook',
  'http://224.0.0.1/hook',
  'http://239.255.255.250/hook',
  'http://255.255.255.255/hook',
  'http://240.0.0.1/hook',
  'http://[fe80::1]/hook',
  'http://[fe80::1%25eth0]/hook',
  'http://[fc00::1]/hook',
  'http://[fd12:3456::1]/hook',
  'http://[ff02::1]/hook',
  // names that exist to resolve to loopback, and local names
  'http://127.0.0.1.nip.io/hook',
  'http://a9fea9fe.sslip.io/hook',
  'http://localtest.me/hook',
  'http://app.lvh.me/hook',
  'http://printer.local/hook',
  'http://db.internal/hook',
  // ports on internal hosts
  'http://127.0.0.1:22/',
  'http://127.0.0.1:6379/',
  'http://[::1]:5432/',
  'http://10.0.0.1:2375/containers/json',
  // userinfo and parser confusion
  'https://hooks.example.com@127.0.0.1/hook',
  'https://user:password@hooks.example.com/hook',
  'https://hooks.example.com#@127.0.0.1/hook',
  'https://hooks.example.com\\@127.0.0.1/hook',
  'https:/\\127.0.0.1/hook',
  'http:127.0.0.1/hook',
  'https:///127.0.0.1/hook',
  'https://hooks.example.com /hook',
  'https://hooks.example.com/\r\nX-Injected: 1',
  // other schemes
  'file:///etc/passwd',
  'file://localhost/etc/passwd',
  'gopher://127.0.0.1:6379/_PING',
  'dict://127.0.0.1:11211/stat',
  'ftp://hooks.example.com/hook',
  'data:application/json,{"allow":true}',
  'javascript:alert(1)',
  'ws://hooks.example.com/hook',
  'ldap://127.0.0.1/',
  'jar:https://hooks.example.com/x.jar!/',
  '//hooks.example.com/hook',
  '/relative/hook',
];

/** A config whose `t.create` rule is an `and` of one webhook per URL, one clause per line. */
const webhookConfig = (urls: string[], webhooks: string) => `
import { defineConfig, defineRole, defineRule, defineService } from 'dfc';

export const hooks = defineService({
  name: 'hooks',
  database: { type: 'sqlite', file: './hooks.db' },
  tables: { t: { columns: { id: 'integer', v: 'string' }, primaryKey: 'id' } },
});
export const rules = defineRule(hooks, 't', {
  read: { rule: 'allow' },
  create: {
    rule: 'and',
    clauses: [
${urls.map((url) => `      { rule: 'webhook', url: ${JSON.stringify(url)} },`).join('\n')}
    ],
  },
});
export const writer = defineRole({ name: 'writer', access: [{ service: hooks, component: '_table/t', verbs: ['GET', 'POST'] }] });
export default defineConfig({ services: [hooks], rules: [rules], roles: [writer], webhooks: ${webhooks} });
`;
/** The line of the clause for URL number `i` in {@link webhookConfig}'s output. */
const CLAUSE_LINE = webhookConfig(['FIRST'], '{}').split('\n').findIndex((l) => l.includes('FIRST')) + 1;

/** Clause index → the lines of its DFC4018 diagnostics. */
function refusedClauses(p: Project): Map<number, number[]> {
  const byClause = new Map<number, number[]>();
  for (const d of p.result.diagnostics) {
    if (d.code !== 'DFC4018') continue;
    const m = /\.clauses\[(\d+)\]\.url$/.exec(String(d.path));
    expect(m, JSON.stringify(d)).not.toBeNull();
    const index = Number(m![1]);
    expect(d.severity).toBe('error');
    expect(d.line, 'a source position').toBeGreaterThan(0);
    byClause.set(index, [...(byClause.get(index) ?? []), d.line!]);
  }
  return byClause;
}

/** URLs a TypeScript config can even write as a webhook URL (the authoring type is `http://…` or `https://…`). */
const typed = (url: string) => /^https?:\/\//.test(url);

describe('build time', () => {
  test(`${HOSTILE.length} SSRF-style webhook URLs each fail the build with DFC4018 (JavaScript config: no type check in front), even with http allowed`, async () => {
    expect(HOSTILE.length).toBeGreaterThanOrEqual(40);
    const p = await buildProject('ssrf-js', { 'dfc.config.mjs': webhookConfig(HOSTILE, '{ allowHttp: true }') }, { expectErrors: true });
    try {
      expect(p.result.ok).toBe(false);
      const byClause = refusedClauses(p);
      expect(HOSTILE.filter((_, i) => !byClause.has(i)), 'URLs the build let through').toEqual([]);
      expect(existsSync(join(p.dist, 'policy.json')), 'nothing written').toBe(false);
      console.log(`ssrf: ${HOSTILE.length} hostile webhook URLs, ${byClause.size} refused at build time by the lint`);
    } finally {
      p.cleanup();
    }
  });

  test('in a TypeScript config: non-http URLs are type errors at their line, http(s) ones DFC4018 at their clause', async () => {
    const http = HOSTILE.filter(typed);
    const other = HOSTILE.filter((u) => !typed(u));
    expect(other.length).toBeGreaterThan(10);
    const a = await buildProject('ssrf-ts-types', { 'dfc.config.ts': webhookConfig(other, '{ allowHttp: true }') }, { expectErrors: true });
    try {
      const lines = new Set(a.result.diagnostics.filter((d) => d.code === 'DFC2003').map((d) => d.line));
      expect(other.filter((_, i) => !lines.has(CLAUSE_LINE + i)), 'URLs without a type error').toEqual([]);
    } finally {
      a.cleanup();
    }
    const b = await buildProject('ssrf-ts-lint', { 'dfc.config.ts': webhookConfig(http, '{ allowHttp: true }') }, { expectErrors: true });
    try {
      const byClause = refusedClauses(b);
      expect(http.filter((_, i) => !byClause.has(i)), 'URLs the build let through').toEqual([]);
      // each diagnostic points at its URL's line
      for (const [i, lines] of byClause) expect(lines, http[i]).toEqual(lines.map(() => CLAUSE_LINE + i));
    } finally {
      b.cleanup();
    }
  });

  test('a private or loopback target builds only with its explicit allow; other refusals stay', async () => {
    const allowed = ['http://127.0.0.1:8080/hook', 'http://localhost:8080/hook', 'http://10.0.0.1/hook', 'http://[::1]:8080/hook'];
    const still = ['http://169.254.169.254/latest/meta-data/', 'https://hooks.example.com@127.0.0.1/hook', 'http://127.0.0.2/hook', 'https://10.0.0.1@hooks.example.com/hook'];
    const hosts = "{ allowHttp: true, allowPrivateHosts: ['127.0.0.1', 'localhost', '10.0.0.1', '::1'] }";
    const p = await buildProject('ssrf-allow', { 'dfc.config.ts': webhookConfig([...allowed, ...still], hosts) }, { expectErrors: true });
    try {
      expect([...refusedClauses(p).keys()].sort((x, y) => x - y)).toEqual(still.map((_, i) => allowed.length + i));
    } finally {
      p.cleanup();
    }
    const ok = await buildProject('ssrf-allow-ok', { 'dfc.config.ts': webhookConfig(allowed, hosts) });
    try {
      expect(ok.result.ok).toBe(true);
      expect(ok.policy.webhooks.allowPrivateHosts).toEqual(['10.0.0.1', '127.0.0.1', '::1', 'localhost']);
    } finally {
      ok.cleanup();
    }
  });
});

// ---------------------------------------------------------------------------
// run time

interface Listener {
  server: Server;
  port: number;
  connections: number;
  requests: { url: string; headers: IncomingMessage['headers']; body: string }[];
}

async function listen(handler: (req: IncomingMessage, res: ServerResponse) => void = (_q, r) => r.end('{}')): Promise<Listener> {
  const l = { connections: 0, requests: [] } as unknown as Listener;
  l.server = createHttpServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString('utf8')));
    req.on('end', () => {
      l.requests.push({ url: req.url ?? '', headers: req.headers, body });
      handler(req, res);
    });
  });
  l.server.on('connection', () => l.connections++);
  await new Promise<void>((resolve) => l.server.listen(0, '127.0.0.1', resolve));
  l.port = (l.server.address() as AddressInfo).port;
  return l;
}
const stop = (l: Listener | undefined) =>
  l &&
  new Promise<void>((resolve) => {
    l.server.closeAllConnections();
    l.server.close(() => resolve());
  });

const KEY = canary('hookkey');
const JWT = canary('hookjwt');

const runtimeConfig = (port: number, otherHost: string) => `
import { defineApp, defineConfig, defineRole, defineRule, defineService, secret } from 'dfc';

const table = { columns: { id: 'integer', v: 'string', callback: { type: 'string', nullable: true } }, primaryKey: 'id' } as const;
export const hooks = defineService({
  name: 'hooks',
  database: { type: 'sqlite', file: './hooks.db' },
  tables: { ok: table, refused: table, redirect: table, slow: table, huge: table, endless: table, other: table },
  security: { anyone: { type: 'allowAnonymous' } },
});
export const ok = defineRule(hooks, 'ok', { read: { rule: 'allow' }, create: { rule: 'webhook', url: 'http://127.0.0.1:${port}/ok', timeout: 2000 } });
export const refused = defineRule(hooks, 'refused', { read: { rule: 'allow' }, create: { rule: 'webhook', url: 'http://127.0.0.1:${port}/no', timeout: 2000 } });
export const redirect = defineRule(hooks, 'redirect', { read: { rule: 'allow' }, create: { rule: 'webhook', url: 'http://127.0.0.1:${port}/redirect', timeout: 2000 } });
export const slow = defineRule(hooks, 'slow', { read: { rule: 'allow' }, create: { rule: 'webhook', url: 'http://127.0.0.1:${port}/slow', timeout: 300 } });
export const huge = defineRule(hooks, 'huge', { read: { rule: 'allow' }, create: { rule: 'webhook', url: 'http://127.0.0.1:${port}/huge', timeout: 2000 } });
export const endless = defineRule(hooks, 'endless', { read: { rule: 'allow' }, create: { rule: 'webhook', url: 'http://127.0.0.1:${port}/endless', timeout: 2000 } });
export const other = defineRule(hooks, 'other', { read: { rule: 'allow' }, create: { rule: 'webhook', url: 'http://${otherHost}/hook', timeout: 2000 } });
export const writer = defineRole({ name: 'writer', access: [{ service: hooks, component: '*', verbs: ['GET', 'POST'] }] });
export default defineConfig({
  services: [hooks],
  rules: [ok, refused, redirect, slow, huge, endless, other],
  roles: [writer],
  apps: [defineApp({ name: 'web', apiKey: secret('HOOK_KEY'), role: writer })],
  auth: { jwt: { secret: secret('HOOK_JWT'), algorithms: ['HS256'], issuer: 'https://id.hooks.test', audience: 'hooks' } },
  webhooks: { allowHttp: true, allowPrivateHosts: ['127.0.0.1', '${otherHost.split(':')[0]}'] },
});
`;

describe('run time, through the API', () => {
  let target: Listener;
  let elsewhere: Listener;
  let project: Project;
  let server: DfcServer;
  let api: string;
  let token: string;
  const env = { HOOK_KEY: KEY, HOOK_JWT: JWT };
  let nameHost: string;

  beforeAll(async () => {
    elsewhere = await listen();
    target = await listen((req, res) => {
      switch (req.url) {
        case '/ok':
          return res.writeHead(200, { 'content-type': 'application/json' }).end('{"allow": true}');
        case '/no':
          return res.writeHead(403, { 'content-type': 'application/json' }).end('{"allow": false}');
        case '/redirect':
          return res.writeHead(302, { location: `http://127.0.0.1:${elsewhere.port}/stolen` }).end();
        case '/slow':
          return void setTimeout(() => !res.writableEnded && res.end('{"allow": true}'), 5_000).unref();
        case '/huge':
          return res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ allow: true, pad: 'x'.repeat(4 * 2 ** 20) }));
        case '/endless': {
          res.writeHead(200, { 'content-type': 'application/json' });
          res.write('{"allow": true, "pad": "');
          const t = setInterval(() => (res.writableEnded || res.destroyed ? clearInterval(t) : res.write('x'.repeat(16_384))), 5);
          res.on('close', () => clearInterval(t));
          return;
        }
        default:
          return res.writeHead(404).end();
      }
    });
    // The machine's own name usually resolves to loopback (/etc/hosts): a host the static
    // check cannot see is private, which only the connect-time check can refuse.
    const own = hostname();
    const resolved = await lookup(own, { all: true }).catch(() => []);
    nameHost = resolved.length > 0 && resolved.every((a) => isPrivateAddress(a.address)) ? own : 'localhost';
    project = await buildProject('ssrf-run', { 'dfc.config.ts': runtimeConfig(target.port, `127.0.0.1:${elsewhere.port}`) });
    await seedProject(project, env);
    server = await createServer({ policy: project.dist, env, baseDir: project.dir, host: '127.0.0.1', port: 0, admin: false, logger: false });
    api = (await server.listen()).url;
    token = await new SignJWT({ id: 'u1' }).setProtectedHeader({ alg: 'HS256' }).setIssuer('https://id.hooks.test').setAudience('hooks').setExpirationTime('1h').sign(new TextEncoder().encode(JWT));
  });
  afterAll(async () => {
    await server?.close();
    await Promise.all([stop(target), stop(elsewhere)]);
    project?.cleanup();
  });

  let nextId = 1;
  const post = async (table: string, extra: { headers?: Record<string, string>; query?: string; doc?: Record<string, unknown> } = {}) => {
    const r = await fetch(`${api}/api/v2/hooks/_table/${table}${extra.query ?? ''}`, {
      method: 'POST',
      headers: { 'x-api-key': KEY, authorization: `Bearer ${token}`, 'content-type': 'application/json', ...extra.headers },
      body: JSON.stringify({ id: nextId++, v: 'x', ...extra.doc }),
    });
    return { status: r.status, body: await r.text() };
  };
  const count = async (table: string) => {
    const r = await fetch(`${api}/api/v2/hooks/_table/${table}?include_count=true`, { headers: { 'x-api-key': KEY } });
    return ((await r.json()) as { meta: { count: number } }).meta.count;
  };

  test('only the URL in the policy is called; request data naming other URLs reaches nothing; credentials stay home', async () => {
    const before = elsewhere.connections;
    const elsewhereUrl = `http://127.0.0.1:${elsewhere.port}/from-request`;
    const r = await post('ok', {
      doc: { callback: elsewhereUrl },
      query: `?url=${encodeURIComponent(elsewhereUrl)}&webhook=${encodeURIComponent(elsewhereUrl)}`,
      headers: { 'x-forwarded-host': `127.0.0.1:${elsewhere.port}`, referer: elsewhereUrl, forwarded: `host=127.0.0.1:${elsewhere.port}` },
    });
    expect(r.status).toBe(201);
    expect(elsewhere.connections).toBe(before);
    const call = target.requests.at(-1)!;
    expect(call.url).toBe('/ok');
    expect(new Set(target.requests.map((q) => q.url))).toEqual(new Set(['/ok']));
    // the caller's API key and session are not forwarded, in headers or body
    expect(call.headers.authorization).toBeUndefined();
    expect(call.headers['x-api-key']).toBeUndefined();
    expect(call.body).not.toContain(KEY);
    expect(call.body).not.toContain(token);
    // the webhook's answer is not reflected to the caller
    expect(r.body).not.toContain('allow');
  });

  test('redirects are not followed, refusals deny, slow, huge and endless answers deny', async () => {
    const elsewhereBefore = elsewhere.connections;
    for (const [table, why] of [
      ['refused', '403 answer'],
      ['redirect', '302 to another listener'],
      ['slow', 'answer after 5 s, timeout 300 ms'],
      ['huge', '4 MiB answer'],
      ['endless', 'answer that never ends'],
    ] as const) {
      const rows = await count(table);
      const r = await post(table);
      expect(r.status, `${table}: ${why}`).toBe(403);
      expect(JSON.parse(r.body).error.code, table).toBe('DFC_ERR_RULE_DENIED');
      // the client learns that a webhook denied, not where it lives or what it answered
      expect(r.body, table).not.toMatch(/stolen|xxxx|127\.0\.0\.1|:\d{4,5}\//);
      expect(await count(table), `${table}: nothing stored`).toBe(rows);
      expect(target.requests.at(-1)!.url, table).toBe({ refused: '/no', redirect: '/redirect', slow: '/slow', huge: '/huge', endless: '/endless' }[table]);
    }
    // the redirect's target never saw a connection
    expect(elsewhere.connections).toBe(elsewhereBefore);
    expect(elsewhere.requests.filter((q) => q.url === '/stolen')).toEqual([]);
  });

  test('a loopback target without its explicit allow is refused at call time, even in a hand-edited artifact', async () => {
    // the artifact says nothing about private hosts (re-hashed, so it loads), and one hook names a host that resolves to loopback
    const next = structuredClone(project.policy) as Policy;
    next.webhooks.allowPrivateHosts = [];
    const json = JSON.stringify(next.rules).split(`http://127.0.0.1:${elsewhere.port}/hook`).join(`http://${nameHost}:${elsewhere.port}/hook`);
    next.rules = JSON.parse(json) as Policy['rules'];
    next.hash = policyHash(next);
    const dir = join(project.dir, 'edited');
    mkdirSync(dir);
    writeFileSync(join(dir, 'policy.json'), prettyCanonicalJson(next));
    writeFileSync(join(dir, 'policy.mjs'), readFileSync(join(project.dist, 'policy.mjs'), 'utf8').split(project.policy.hash).join(next.hash).split(`http://127.0.0.1:${elsewhere.port}/hook`).join(`http://${nameHost}:${elsewhere.port}/hook`));
    const edited = await createServer({ policy: dir, env, baseDir: project.dir, host: '127.0.0.1', port: 0, admin: false, logger: false });
    const url = (await edited.listen()).url;
    try {
      const targetBefore = target.connections;
      const elsewhereBefore = elsewhere.connections;
      for (const table of ['ok', 'other']) {
        const r = await fetch(`${url}/api/v2/hooks/_table/${table}`, {
          method: 'POST',
          headers: { 'x-api-key': KEY, authorization: `Bearer ${token}`, 'content-type': 'application/json' },
          body: JSON.stringify({ id: nextId++, v: 'x' }),
        });
        expect(r.status, table).toBe(403);
      }
      expect(target.connections).toBe(targetBefore);
      expect(elsewhere.connections).toBe(elsewhereBefore);
    } finally {
      await edited.close();
    }
    // and with the allow (the built artifact), the same hook is called
    const r = await post('other');
    expect(r.status).toBe(201);
    expect(elsewhere.requests.at(-1)!.url).toBe('/hook');
  });
});
