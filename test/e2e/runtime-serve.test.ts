/**
 * `dfc serve examples/blog` as a user runs it: the built CLI in a child process, on a copy
 * of the example with no artifact and no database. It must build, create and seed the
 * SQLite file, listen, print the development keys and tokens, answer requests, and stop
 * cleanly on SIGTERM. Also: a broken artifact is refused with its code and exit status 1.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { secretResolver } from '@dfc/runtime';
import { EXAMPLE } from './blog-harness.js';

const ROOT = resolve(import.meta.dirname, '../..');
const BIN = join(ROOT, 'packages/cli/dist/bin.js');
const TMP = resolve(import.meta.dirname, '../.tmp');
const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

function copyExample(): string {
  mkdirSync(TMP, { recursive: true });
  const dir = mkdtempSync(join(TMP, 'serve-'));
  dirs.push(dir);
  for (const f of ['dfc.config.ts', 'seed.json', '.env']) copyFileSync(join(EXAMPLE, f), join(dir, f));
  return dir;
}

function run(args: string[], env: Record<string, string> = {}): { child: ChildProcess; stderr: () => string; exited: Promise<number | null> } {
  const child = spawn(process.execPath, [BIN, ...args], {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let err = '';
  child.stderr!.on('data', (c) => (err += c));
  child.stdout!.resume();
  const exited = new Promise<number | null>((done) => child.on('exit', (code) => done(code)));
  return { child, stderr: () => err, exited };
}

async function waitFor(get: () => string, pattern: RegExp, exited: Promise<unknown>): Promise<RegExpMatchArray> {
  let done = false;
  void exited.then(() => (done = true));
  for (;;) {
    const m = get().match(pattern);
    if (m) return m;
    if (done) throw new Error('the process exited: ' + get());
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('dfc serve', () => {
  test('builds, seeds, listens, prints credentials, serves, and stops on SIGTERM', async () => {
    const dir = copyExample();
    const p = run(['serve', dir, '--port', '0', '--admin-port', '0', '--log-level', 'warn']);
    try {
      const [, url] = await waitFor(p.stderr, /listening on (http:\/\/127\.0\.0\.1:\d+)/, p.exited);
      // The credentials are separate writes after that line: wait for the last one.
      await waitFor(p.stderr, /try: curl .*\n/, p.exited);
      const out = p.stderr();
      expect(out).toMatch(/dfc build: .* → .*dist \(written/);
      expect(out).toMatch(/created .*blog\.db for service `blog` with 15 seed rows/);
      expect(existsSync(join(dir, 'dist', 'policy.json'))).toBe(true);
      const key = /app web +role reader +X-Api-Key: (\S+)/.exec(out)![1]!;
      const alice = /alice +role editor +Authorization: Bearer (\S+)/.exec(out)![1]!;
      expect(out).toContain('(only its SHA-256 is stored)');
      const posts = await fetch(`${url}/api/v2/blog/_table/posts`, { headers: { 'x-api-key': key } });
      expect(posts.status).toBe(200);
      expect((await posts.json()).resource).toHaveLength(3);
      const me = await fetch(`${url}/api/v2/blog/_table/users/alice`, { headers: { 'x-api-key': key, authorization: `Bearer ${alice}` } });
      expect(await me.json()).toMatchObject({ id: 'alice', email: 'alice@example.com' });
      p.child.kill('SIGTERM');
      expect(await p.exited).toBe(0);
      expect(p.stderr()).toContain('stopping');
    } finally {
      p.child.kill('SIGKILL');
    }
  });

  test('a broken artifact is refused with its code and exit status 1', async () => {
    const dir = copyExample();
    mkdirSync(join(dir, 'dist'));
    writeFileSync(join(dir, 'dist', 'policy.json'), '{"artifactVersion": 1');
    writeFileSync(join(dir, 'dist', 'policy.mjs'), 'export const hash = "x";');
    const p = run(['serve', join(dir, 'dist'), '--port', '0']);
    expect(await p.exited).toBe(1);
    expect(p.stderr()).toContain('DFC_ERR_ARTIFACT_JSON');
  });

  test('DFC_HOST/DFC_PORT; a missing secret stops startup naming the variable, never a value', async () => {
    const dir = copyExample();
    // DFC_HOST and DFC_PORT choose the address when no flag does
    const first = run(['serve', dir, '--admin-port', '0', '--log-level', 'silent'], { DFC_HOST: '127.0.0.1', DFC_PORT: '0' });
    const [, port] = await waitFor(first.stderr, /listening on http:\/\/127\.0\.0\.1:(\d+)/, first.exited);
    expect(port).not.toBe('8080');
    first.child.kill('SIGTERM');
    await first.exited;
    // serve the built artifact from a directory with no .env, so nothing fills in the secrets
    const bare = mkdtempSync(join(TMP, 'bare-'));
    dirs.push(bare);
    mkdirSync(join(bare, 'policy'));
    for (const f of ['policy.json', 'policy.mjs']) copyFileSync(join(dir, 'dist', f), join(bare, 'policy', f));
    copyFileSync(join(dir, 'seed.json'), join(bare, 'seed.json'));
    const p = run(['serve', join(bare, 'policy'), '--port', '0'], { BLOG_WEB_KEY: 'k-0123456789abcdef' });
    expect(await p.exited).toBe(1);
    expect(p.stderr()).toMatch(/DFC_ERR_SECRET_MISSING: the environment variable `BLOG_\w+` is not set/);
    expect(p.stderr()).not.toContain('k-0123456789abcdef');
  });
});

describe('dfc encrypt', () => {
  const out = async (args: string[], env: Record<string, string>) => {
    const child = spawn(process.execPath, [BIN, ...args], { cwd: ROOT, env: { PATH: process.env.PATH ?? '', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c) => (stdout += c));
    child.stderr.on('data', (c) => (stderr += c));
    const code = await new Promise<number | null>((done) => child.on('exit', done));
    return { code, stdout, stderr };
  };
  test('makes a $encrypted value the runtime decrypts under the same master key, and only that one', async () => {
    const key = (await out(['encrypt', '--generate-key'], {})).stdout.trim();
    expect(Buffer.from(key, 'base64')).toHaveLength(32);
    const r = await out(['encrypt', '--from-env', 'DB_URL'], { DFC_MASTER_KEY: key, DB_URL: 'postgres://u:CANARY-pw@db/x' });
    expect(r.code).toBe(0);
    const value = JSON.parse(r.stdout) as { $encrypted: string };
    expect(r.stdout).not.toContain('CANARY-pw');
    expect(secretResolver({ DFC_MASTER_KEY: key })(value, 'x')).toBe('postgres://u:CANARY-pw@db/x');
    const other = (await out(['encrypt', '--generate-key'], {})).stdout.trim();
    expect(() => secretResolver({ DFC_MASTER_KEY: other })(value, 'the database of service `blog`')).toThrow(/could not be decrypted/);
    const noKey = await out(['encrypt', '--from-env', 'DB_URL'], { DB_URL: 'x' });
    expect(noKey.code).toBe(1);
    expect(noKey.stderr).toContain('DFC_MASTER_KEY');
  });
});
