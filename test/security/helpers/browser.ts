/**
 * A real browser for the CORS suite: Debian's Chromium (/usr/bin/chromium) driven by
 * playwright-core, headless, no network beyond loopback, never a downloaded browser.
 * And tiny static sites on 127.0.0.1 (each port its own origin) that serve one page and
 * record the requests they receive.
 */
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { chromium, type Browser } from 'playwright-core';

export const CHROMIUM = '/usr/bin/chromium';

export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-quic'],
  });
}

export interface Site {
  origin: string;
  /** Requests received: method, path and headers. */
  seen: { method: string; url: string; headers: IncomingHttpHeaders }[];
  close(): Promise<void>;
}

/** A site on 127.0.0.1 answering every GET with a blank HTML page (and `/echo` with text). */
export async function staticSite(): Promise<Site> {
  const seen: Site['seen'] = [];
  const server: Server = createServer((req, res) => {
    seen.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers });
    if (req.url?.startsWith('/echo')) {
      res.writeHead(200, { 'content-type': 'text/plain' }).end('echo');
      return;
    }
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end('<!doctype html><meta charset="utf-8"><title>page</title><body>page</body>');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    origin: `http://127.0.0.1:${port}`,
    seen,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
