/**
 * Webhooks without SSRF: static checks of a webhook URL (used by the lint and again
 * before every call), and a host `fetch` for `webhook` rules built on node:http/https
 * that never follows redirects, caps the response size, times out, and checks at
 * connect time every address a name resolves to (so DNS rebinding cannot reach a
 * private address the static check did not see).
 */
import { lookup as dnsLookup, type LookupAddress, type LookupAllOptions, type LookupOneOptions } from 'node:dns';
import http from 'node:http';
import https from 'node:https';
import { BlockList, isIP, type LookupFunction } from 'node:net';
import type { RuleContext } from './types.js';

export interface WebhookPolicy {
  /** Allow `http:` URLs (otherwise only `https:`). */
  allowHttp?: boolean;
  /** Host names or IP literals that may be (or resolve to) private or loopback addresses. */
  allowPrivateHosts?: readonly string[];
}

export interface WebhookUrlIssue {
  id:
    | 'webhook-url-invalid'
    | 'webhook-url-scheme'
    | 'webhook-url-http'
    | 'webhook-url-userinfo'
    | 'webhook-url-fragment'
    | 'webhook-url-private';
  message: string;
  note?: string;
}

// Two lists: a BlockList checks IPv4 addresses against IPv6 rules too (as IPv4-mapped
// addresses), which would make `::ffff:0:0/96` block every IPv4 address.
const blocked4 = new BlockList();
const blocked6 = new BlockList();
for (const [net, bits] of [
  ['0.0.0.0', 8], // "this network", 0.0.0.0
  ['10.0.0.0', 8],
  ['100.64.0.0', 10], // CGNAT, includes Alibaba's metadata 100.100.100.200
  ['127.0.0.0', 8],
  ['169.254.0.0', 16], // link-local, cloud metadata 169.254.169.254
  ['172.16.0.0', 12],
  ['192.0.0.0', 24],
  ['192.0.2.0', 24],
  ['192.88.99.0', 24],
  ['192.168.0.0', 16],
  ['198.18.0.0', 15],
  ['198.51.100.0', 24],
  ['203.0.113.0', 24],
  ['224.0.0.0', 4], // multicast
  ['240.0.0.0', 4], // reserved, broadcast
] as const) {
  blocked4.addSubnet(net, bits, 'ipv4');
}
for (const [net, bits] of [
  ['::', 96], // unspecified, loopback and IPv4-compatible addresses
  ['::ffff:0:0', 96], // IPv4-mapped: never needed for a public webhook
  ['64:ff9b::', 96], // NAT64: embeds an IPv4 address
  ['64:ff9b:1::', 48],
  ['100::', 64], // discard
  ['2001::', 23], // IETF assignments, Teredo
  ['2001:db8::', 32], // documentation
  ['2002::', 16], // 6to4: embeds an IPv4 address
  ['fc00::', 7], // unique local, includes AWS's fd00:ec2::254
  ['fe80::', 10], // link-local
  ['fec0::', 10], // site-local (deprecated)
  ['ff00::', 8], // multicast
] as const) {
  blocked6.addSubnet(net, bits, 'ipv6');
}

/** Whether an IP address is loopback, private, link-local, CGNAT, multicast, reserved or metadata. */
export function isPrivateAddress(ip: string): boolean {
  const family = isIP(ip);
  if (family === 4) return blocked4.check(ip, 'ipv4');
  if (family === 6) return blocked6.check(ip, 'ipv6');
  return true; // not an address: refuse
}

/** Names that are private by definition or resolve to loopback by design. */
const PRIVATE_NAMES = [/^localhost$/, /\.localhost$/, /\.local$/, /\.internal$/, /^metadata$/, /^instance-data$/, /(^|\.)(nip|sslip|xip)\.io$/, /(^|\.)localtest\.me$/, /(^|\.)lvh\.me$/];

function bareHost(hostname: string): string {
  const h = hostname.toLowerCase();
  const unbracketed = h.startsWith('[') && h.endsWith(']') ? h.slice(1, -1) : h;
  return unbracketed.endsWith('.') ? unbracketed.slice(0, -1) : unbracketed;
}

function isAllowedPrivate(hostname: string, policy: WebhookPolicy): boolean {
  const h = bareHost(hostname);
  return (policy.allowPrivateHosts ?? []).some((a) => bareHost(a) === h);
}

/** Static problems of a webhook URL written in a config; empty when it may be called. */
export function checkWebhookUrl(url: string, policy: WebhookPolicy = {}): WebhookUrlIssue[] {
  const issues: WebhookUrlIssue[] = [];
  // Characters that parsers disagree about (or strip) are refused before parsing.
  if (typeof url !== 'string' || url === '' || /[\s\\\u0000-\u001f\u007f]/.test(url)) {
    return [{ id: 'webhook-url-invalid', message: 'the webhook URL is not a valid absolute URL', note: 'spaces, control characters and `\\` are not allowed' }];
  }
  // The authority must follow `//` as written (`https:///x` would be read as host `x`).
  if (/^(?:https?|wss?|ftp):/i.test(url) && !/^[a-z][a-z0-9+.-]*:\/\/[^/?#@]/i.test(url)) {
    return [{ id: 'webhook-url-invalid', message: 'the webhook URL is not a valid absolute URL' }];
  }
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return [{ id: 'webhook-url-invalid', message: 'the webhook URL is not a valid absolute URL' }];
  }
  if (u.protocol === 'http:') {
    if (!policy.allowHttp) {
      issues.push({ id: 'webhook-url-http', message: 'the webhook URL uses `http:`', note: 'use `https:`, or set `webhooks.allowHttp` for local development' });
    }
  } else if (u.protocol !== 'https:') {
    return [{ id: 'webhook-url-scheme', message: `the webhook URL uses \`${u.protocol}\``, note: 'only `https:` (and `http:` when allowed) can be called' }];
  }
  if (u.username !== '' || u.password !== '' || /^[a-z]+:\/\/[^/?#]*@/i.test(url)) {
    issues.push({ id: 'webhook-url-userinfo', message: 'the webhook URL holds a user name or password', note: 'credentials in URLs leak into logs; send them another way' });
  }
  if (url.includes('#')) issues.push({ id: 'webhook-url-fragment', message: 'the webhook URL has a fragment' });
  const host = bareHost(u.hostname);
  if (host === '') {
    issues.push({ id: 'webhook-url-invalid', message: 'the webhook URL has no host' });
  } else if (!isAllowedPrivate(u.hostname, policy)) {
    if (isIP(host) !== 0 ? isPrivateAddress(host) : PRIVATE_NAMES.some((re) => re.test(host))) {
      issues.push({
        id: 'webhook-url-private',
        message: `the webhook host \`${host}\` is a private, loopback or metadata address`,
        note: 'add it to `webhooks.allowPrivateHosts` if this is intended',
      });
    }
  }
  return issues;
}

export interface WebhookFetchOptions extends WebhookPolicy {
  /** Largest response body read, in bytes (default 64 KiB). */
  maxBytes?: number;
  /** Deepest JSON nesting accepted in a response (default 64). */
  maxDepth?: number;
  /** Extra request headers (e.g. a signature); the caller's credentials are never forwarded. */
  headers?: Readonly<Record<string, string>>;
  /** Name resolution (default `dns.lookup`); every address it returns is checked before connecting. */
  lookup?: (hostname: string, options: LookupAllOptions) => Promise<LookupAddress[]>;
}

type Fetch = NonNullable<RuleContext['fetch']>;

export class WebhookError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'WebhookError';
  }
}

function depthOf(value: unknown, limit: number): number {
  let max = 0;
  const stack: [unknown, number][] = [[value, 0]];
  while (stack.length) {
    const [v, d] = stack.pop()!;
    if (d > max) max = d;
    if (max > limit) return max;
    if (typeof v === 'object' && v !== null) for (const c of Object.values(v)) stack.push([c, d + 1]);
  }
  return max;
}

/** Parse a webhook answer: JSON without `__proto__` keys and not too deep; undefined otherwise. */
function parseAnswer(text: string, maxDepth: number): unknown {
  if (text.trim() === '') return undefined;
  try {
    const value: unknown = JSON.parse(text, (k, v: unknown) => {
      if (k === '__proto__' || k === 'constructor' || k === 'prototype') throw new Error('poisoned key');
      return v;
    });
    return depthOf(value, maxDepth) > maxDepth ? undefined : value;
  } catch {
    return undefined;
  }
}

/**
 * A `fetch` for `RuleContext`: POSTs the JSON body, answers `{ status, body }` (body
 * undefined unless it is JSON), and rejects on a refused URL, a private address at
 * connect time, a timeout, a network error or a response over the size cap. 3xx
 * answers are returned as they are (never followed), so the rule denies.
 */
export function createWebhookFetch(options: WebhookFetchOptions = {}): Fetch {
  const maxBytes = options.maxBytes ?? 64 * 1024;
  const maxDepth = options.maxDepth ?? 64;
  const resolveAll =
    options.lookup ??
    ((hostname: string, opts: LookupAllOptions) =>
      new Promise<LookupAddress[]>((resolve, reject) => dnsLookup(hostname, opts, (err, addresses) => (err ? reject(err) : resolve(addresses)))));

  const guardedLookup = (allowPrivate: boolean): LookupFunction =>
    ((hostname: string, opts: LookupOneOptions | LookupAllOptions, cb: (err: Error | null, address?: unknown, family?: number) => void) => {
      resolveAll(hostname, { ...(opts as object), all: true } as LookupAllOptions).then(
        (addresses) => {
          if (addresses.length === 0) return cb(new WebhookError(`\`${hostname}\` did not resolve`));
          if (!allowPrivate && addresses.some((a) => isPrivateAddress(a.address))) {
            return cb(new WebhookError(`\`${hostname}\` resolves to a private address`));
          }
          if ((opts as LookupAllOptions).all) cb(null, addresses);
          else cb(null, addresses[0]!.address, addresses[0]!.family);
        },
        (err: Error) => cb(err),
      );
    }) as LookupFunction;

  return (url, init) =>
    new Promise((resolve, reject) => {
      const issues = checkWebhookUrl(url, options);
      if (issues.length > 0) return reject(new WebhookError(issues[0]!.message));
      const u = new URL(url);
      const allowPrivate = isAllowedPrivate(u.hostname, options);
      const body = Buffer.from(init.body, 'utf8');
      const request = (u.protocol === 'https:' ? https : http).request(u, {
        method: 'POST',
        agent: false,
        lookup: guardedLookup(allowPrivate),
        headers: {
          ...options.headers,
          'content-type': 'application/json',
          accept: 'application/json',
          'content-length': String(body.length),
        },
      });
      let done = false;
      const finish = (err: Error | null, value?: { status: number; body: unknown }) => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        if (err) {
          request.destroy();
          reject(err);
        } else resolve(value!);
      };
      const timer = setTimeout(() => finish(new WebhookError('the webhook timed out')), init.timeoutMs);
      request.on('error', (err) => finish(err));
      request.on('response', (res) => {
        const status = res.statusCode ?? 0;
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (chunk: Buffer) => {
          size += chunk.length;
          if (size > maxBytes) {
            res.destroy();
            finish(new WebhookError('the webhook answer is too large'));
            return;
          }
          chunks.push(chunk);
        });
        res.on('error', (err) => finish(err));
        res.on('end', () => finish(null, { status, body: parseAnswer(Buffer.concat(chunks).toString('utf8'), maxDepth) }));
      });
      request.end(body);
    });
}
