/**
 * SSRF (checklist §2.8): static URL checks for ≥ 40 hostile URLs, and the webhook
 * fetch against real listeners on 127.0.0.1 — refused targets get no connection,
 * redirects are not followed, answers are capped, timed out and checked.
 */
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { compile } from './compile.js';
import { checkWebhookUrl, createWebhookFetch, isPrivateAddress, WebhookError } from './webhook.js';

interface Listener {
  server: Server;
  port: number;
  connections: number;
  requests: { headers: IncomingMessage['headers']; body: string; url: string }[];
}

async function listen(host: string, handler: (req: IncomingMessage, body: string, res: import('node:http').ServerResponse) => void): Promise<Listener> {
  const l = { connections: 0, requests: [] } as unknown as Listener;
  l.server = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString('utf8')));
    req.on('end', () => {
      l.requests.push({ headers: req.headers, body, url: req.url ?? '' });
      handler(req, body, res);
    });
  });
  l.server.on('connection', () => l.connections++);
  await new Promise<void>((resolve) => l.server.listen(0, host, resolve));
  l.port = (l.server.address() as AddressInfo).port;
  return l;
}

let target: Listener;
let other: Listener;
beforeAll(async () => {
  target = await listen('127.0.0.1', (req, _body, res) => {
    if (req.url === '/redirect') {
      res.writeHead(302, { location: `http://127.0.0.1:${other.port}/stolen` }).end('{}');
    } else if (req.url === '/big') {
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ pad: 'x'.repeat(200_000) }));
    } else if (req.url === '/text') {
      res.writeHead(200).end('<html>ok</html>');
    } else if (req.url === '/poison') {
      res.writeHead(200).end('{"__proto__": {"isAdmin": true}}');
    } else if (req.url === '/deep') {
      res.writeHead(200).end('['.repeat(100) + ']'.repeat(100));
    } else if (req.url === '/hang') {
      // never answers
    } else if (req.url === '/no') {
      res.writeHead(403).end('{"allow": false}');
    } else {
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"allow": true}');
    }
  });
  other = await listen('127.0.0.1', (_req, _body, res) => res.end('{}'));
});
afterAll(async () => {
  target.server.closeAllConnections();
  other.server.closeAllConnections();
  await Promise.all([new Promise((r) => target.server.close(r)), new Promise((r) => other.server.close(r))]);
});

/** URLs that must never be called, with the listener's port where they could reach it. */
function hostileUrls(port: number): string[] {
  return [
    `http://127.0.0.1:${port}/`,
    `https://127.0.0.1:${port}/`,
    `http://localhost:${port}/`,
    `http://localhost.:${port}/`,
    `http://LOCALHOST:${port}/`,
    `http://app.localhost:${port}/`,
    `http://[::1]:${port}/`,
    `http://[::ffff:127.0.0.1]:${port}/`,
    `http://[0:0:0:0:0:ffff:7f00:1]:${port}/`,
    `http://[::ffff:7f00:1]:${port}/`,
    `http://2130706433:${port}/`,
    `http://0x7f000001:${port}/`,
    `http://0177.0.0.1:${port}/`,
    `http://127.1:${port}/`,
    `http://0:${port}/`,
    `http://0.0.0.0:${port}/`,
    `http://[::]:${port}/`,
    `http://%31%32%37.0.0.1:${port}/`,
    `http://127。0。0。1:${port}/`,
    `http://127.0.0.1.nip.io:${port}/`,
    `http://7f000001.sslip.io:${port}/`,
    `http://allowed.example@127.0.0.1:${port}/`,
    `http://allowed.example#@127.0.0.1:${port}/`,
    `http://allowed.example\\@127.0.0.1:${port}/`,
    `http://127.0.0.1:22/`,
    'http://169.254.169.254/latest/meta-data/',
    'http://[fd00:ec2::254]/',
    'http://metadata.google.internal/computeMetadata/v1/',
    'http://metadata/',
    'http://100.100.100.200/',
    'http://10.0.0.1/',
    'http://172.16.0.1/',
    'http://192.168.0.1/',
    'http://100.64.0.1/',
    'http://198.18.0.1/',
    'http://224.0.0.1/',
    'http://255.255.255.255/',
    'http://[fe80::1%25lo]/',
    'http://[fe80::1]/',
    'http://[fc00::1]/',
    'http://[64:ff9b::7f00:1]/',
    'http://[2002:7f00:1::]/',
    'http://printer.local/',
    'http://db.internal/',
    'gopher://127.0.0.1:6379/_',
    'file:///etc/passwd',
    'ftp://example.com/x',
    'data:application/json,{}',
    'javascript:alert(1)',
    'ws://example.com/',
    'https://user:pass@example.com/hook',
    'https://example.com/hook#fragment',
    ' https://example.com/hook',
    'https://exa mple.com/',
    'https:///no-host',
    '/relative/path',
    '',
  ];
}

describe('static URL checks', () => {
  test('≥ 40 hostile URLs are refused, even with `http:` allowed', () => {
    const urls = hostileUrls(8080);
    expect(urls.length).toBeGreaterThanOrEqual(40);
    for (const url of urls) expect(checkWebhookUrl(url, { allowHttp: true }), url).not.toEqual([]);
  });

  test('plain public https URLs pass; http only when allowed; private hosts only when listed', () => {
    expect(checkWebhookUrl('https://hooks.example.com/dfc/moderate?x=1')).toEqual([]);
    expect(checkWebhookUrl('https://93.184.216.34/')).toEqual([]);
    expect(checkWebhookUrl('https://[2606:4700::1111]/')).toEqual([]);
    expect(checkWebhookUrl('http://hooks.example.com/').map((i) => i.id)).toEqual(['webhook-url-http']);
    expect(checkWebhookUrl('http://hooks.example.com/', { allowHttp: true })).toEqual([]);
    expect(checkWebhookUrl('http://localhost:8080/x', { allowHttp: true, allowPrivateHosts: ['localhost'] })).toEqual([]);
    expect(checkWebhookUrl('https://user@example.com/').map((i) => i.id)).toEqual(['webhook-url-userinfo']);
    expect(checkWebhookUrl('file:///etc/passwd').map((i) => i.id)).toEqual(['webhook-url-scheme']);
    expect(checkWebhookUrl('https://10.1.2.3/').map((i) => i.id)).toEqual(['webhook-url-private']);
  });

  test('address classification', () => {
    for (const ip of ['127.0.0.1', '10.9.8.7', '169.254.169.254', '100.100.100.200', '::1', '::ffff:7f00:1', 'fd00:ec2::254', '0.0.0.0', 'not-an-ip']) {
      expect(isPrivateAddress(ip), ip).toBe(true);
    }
    for (const ip of ['93.184.216.34', '8.8.8.8', '2606:4700::1111']) expect(isPrivateAddress(ip), ip).toBe(false);
  });
});

describe('createWebhookFetch against real listeners', () => {
  test('refused URLs never open a connection', async () => {
    const fetch = createWebhookFetch({ allowHttp: true });
    const before = target.connections;
    for (const url of hostileUrls(target.port)) {
      await expect(fetch(url, { body: '{}', timeoutMs: 1000 }), url).rejects.toThrow();
    }
    expect(target.connections).toBe(before);
  });

  test('a name that resolves to a private address is refused at connect time (DNS rebinding)', async () => {
    const rebinding = createWebhookFetch({
      allowHttp: true,
      lookup: async () => [
        { address: '93.184.216.34', family: 4 },
        { address: '127.0.0.1', family: 4 },
      ],
    });
    const before = target.connections;
    await expect(rebinding(`http://hooks.example.test:${target.port}/`, { body: '{}', timeoutMs: 1000 })).rejects.toThrow(WebhookError);
    expect(target.connections).toBe(before);
    // The same name listed as private-allowed connects: the listener sees it.
    const allowed = createWebhookFetch({ allowHttp: true, allowPrivateHosts: ['hooks.example.test'], lookup: async () => [{ address: '127.0.0.1', family: 4 }] });
    expect(await allowed(`http://hooks.example.test:${target.port}/`, { body: '{}', timeoutMs: 1000 })).toEqual({ status: 200, body: { allow: true } });
    expect(target.connections).toBe(before + 1);
  });

  const local = () => createWebhookFetch({ allowHttp: true, allowPrivateHosts: ['127.0.0.1'], maxBytes: 64 * 1024 });

  test('redirects are returned, not followed, and the rule denies', async () => {
    const before = other.connections;
    const fetch = local();
    expect(await fetch(`http://127.0.0.1:${target.port}/redirect`, { body: '{}', timeoutMs: 1000 })).toMatchObject({ status: 302 });
    const rule = compile({ rule: 'webhook', url: `http://127.0.0.1:${target.port}/redirect`, timeout: 2000 });
    expect(await rule({ args: { auth: { id: 'u1' } } }, { fetch })).toMatchObject({ allow: false, code: 'denied' });
    expect(other.connections).toBe(before);
  });

  test('answers: JSON is parsed; text, poisoned keys and deep nesting are not JSON; big answers are refused', async () => {
    const fetch = local();
    const call = (path: string) => fetch(`http://127.0.0.1:${target.port}${path}`, { body: '{}', timeoutMs: 2000 });
    expect(await call('/ok')).toEqual({ status: 200, body: { allow: true } });
    expect(await call('/no')).toEqual({ status: 403, body: { allow: false } });
    expect(await call('/text')).toEqual({ status: 200, body: undefined });
    expect(await call('/poison')).toEqual({ status: 200, body: undefined });
    expect(await call('/deep')).toEqual({ status: 200, body: undefined });
    await expect(call('/big')).rejects.toThrow('too large');
    expect(({} as Record<string, unknown>).isAdmin).toBeUndefined();
  });

  test('a hanging webhook times out and the rule denies', async () => {
    const rule = compile({ rule: 'webhook', url: `http://127.0.0.1:${target.port}/hang`, timeout: 150 });
    const d = await rule({ args: { auth: { id: 'u1' } } }, { fetch: local() });
    expect(d).toMatchObject({ allow: false, code: 'error' });
  });

  test("the request is a JSON POST of args without the caller's token or credentials", async () => {
    const rule = compile({ rule: 'webhook', url: `http://127.0.0.1:${target.port}/capture` });
    const n = target.requests.length;
    const d = await rule({ args: { auth: { id: 'u1' }, doc: { title: 't' }, token: 'eyJ.secret.jwt' } }, { fetch: local() });
    expect(d).toEqual({ allow: true });
    const req = target.requests[n]!;
    expect(req.headers['content-type']).toBe('application/json');
    expect(req.headers.authorization).toBeUndefined();
    expect(JSON.parse(req.body)).toEqual({ auth: { id: 'u1' }, doc: { title: 't' } });
    expect(req.body).not.toContain('eyJ');
  });
});
