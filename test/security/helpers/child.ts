/**
 * Servers in child processes: `child-server.mjs` (a createServer with options the test
 * chooses) or the real `dfc serve`. Both use the built packages (`npm run build`).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO } from './project.js';

export const DFC_BIN = join(REPO, 'packages/cli/bin/dfc.js');
const CHILD = join(import.meta.dirname, 'child-server.mjs');

export interface Child {
  child: ChildProcess;
  pid: number;
  url: string;
  adminUrl: string;
  stdout(): string;
  stderr(): string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Whether the process is still running. */
  alive(): boolean;
  kill(): Promise<void>;
}

function start(args: string[], env: Record<string, string>, ready: RegExp, parse: (m: RegExpMatchArray) => { url: string; adminUrl: string }): Promise<Child> {
  const child = spawn(process.execPath, args, {
    cwd: REPO,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout!.on('data', (c: Buffer) => {
    out += c.toString('utf8');
    // Keep memory bounded on long runs: tests look at the recent lines.
    if (out.length > 8_000_000) out = out.slice(-4_000_000);
  });
  child.stderr!.on('data', (c: Buffer) => (err += c.toString('utf8')));
  let running = true;
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((done) =>
    child.on('exit', (code, signal) => {
      running = false;
      done({ code, signal });
    }),
  );
  return new Promise((resolve, reject) => {
    const timer = setInterval(() => {
      const m = err.match(ready);
      if (m) {
        clearInterval(timer);
        const a = parse(m);
        resolve({
          child,
          pid: child.pid!,
          ...a,
          stdout: () => out,
          stderr: () => err,
          exited,
          alive: () => running,
          async kill() {
            if (running) child.kill('SIGKILL');
            await exited;
          },
        });
      } else if (!running) {
        clearInterval(timer);
        reject(new Error(`the server exited before listening:\n${err}`));
      }
    }, 25);
  });
}

export interface ChildServerOptions {
  policy: string;
  baseDir: string;
  adminToken: string;
  logLevel?: string;
  authFailures?: { max: number; windowMs: number } | false;
  importTimeoutMs?: number;
  timeouts?: { request?: number; headers?: number; keepAlive?: number; connection?: number };
}

/** createServer in a child process; `env` holds the policy's secrets. */
export function startChildServer(opts: ChildServerOptions, env: Record<string, string>): Promise<Child> {
  return start([CHILD], { ...env, DFC_TEST_SERVER: JSON.stringify(opts) }, /DFC_READY (\{.*\})\n/, (m) => JSON.parse(m[1]!) as { url: string; adminUrl: string });
}

/** `dfc serve <dir> --port 0 --admin-port 0` in a child process. */
export function startDfcServe(dir: string, env: Record<string, string>, extra: string[] = []): Promise<Child> {
  return start(
    [DFC_BIN, 'serve', dir, '--port', '0', '--admin-port', '0', '--no-build', ...extra],
    env,
    /listening on (http:\/\/127\.0\.0\.1:\d+)[^\n]*\n[^\n]*admin endpoints on (http:\/\/127\.0\.0\.1:\d+)/,
    (m) => ({ url: m[1]!, adminUrl: m[2]! }),
  );
}

/** Resident memory of a process in bytes (Linux). */
export function rssOf(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const m = /VmRSS:\s+(\d+) kB/.exec(status);
  if (!m) throw new Error(`no VmRSS for ${pid}`);
  return Number(m[1]) * 1024;
}
