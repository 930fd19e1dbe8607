import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { copyFixture, REPO, runDfcAsync as runDfc, snapshotDir, tempDir } from '../fixtures/helpers.js';

// `dfc build` / `dfc check` as a user runs them: a separate process, exit codes,
// the three output formats, paths relative to the cwd.

let tmp: ReturnType<typeof tempDir>;
beforeAll(() => {
  tmp = tempDir('dfc-cli-');
});
afterAll(() => tmp.cleanup());

const BROKEN: [fixture: string, code: string, position: string][] = [
  ['bad-column', 'DFC2003', '12:74'],
  ['bad-rule-type', 'DFC2003', '13:13'],
  ['missing-import', 'DFC2002', '2:22'],
  ['syntax-error', 'DFC2001', '8:54'],
  ['non-object-export', 'DFC1006', '2:16'],
  ['throws', 'DFC1004', '4:21'],
];

describe.concurrent('dfc build', () => {
  test('builds: exit 0, three files, a summary on stderr and nothing on stdout', async () => {
    const dir = copyFixture('minimal', join(tmp.dir, 'ok'));
    const r = await runDfc(['build', 'minimal', '--out', 'out'], { cwd: join(tmp.dir, 'ok') });
    expect(r.status, r.stderr).toBe(0);
    expect(readdirSync(join(tmp.dir, 'ok', 'out')).sort()).toEqual(['policy.json', 'policy.mjs', 'policy.schema.json']);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/^dfc build: minimal\/dfc\.config\.ts → out \(written, sha256:[0-9a-f]{12}…\)\n$/);
    expect(dir).toBeTruthy();
  });

  test.each(BROKEN)('%s: exit 1, `file:line:col  code  message`, output directory untouched', async (fixture, code, position) => {
    const dir = copyFixture(fixture, join(tmp.dir, 'text'));
    const out = join(dir, 'dist');
    mkdirSync(out);
    writeFileSync(join(out, 'policy.json'), '{}\n');
    const before = snapshotDir(out);
    const r = await runDfc(['build', fixture], { cwd: join(tmp.dir, 'text') });
    expect(r.status).toBe(1);
    const first = r.stderr.split('\n')[0]!;
    expect(first).toMatch(new RegExp(`^${fixture}/dfc\\.config\\.ts:${position}  ${code}  \\S[^\\n]*[^.]$`));
    expect(r.stderr).toContain(`dfc build: ${fixture}/dfc.config.ts: 1 error; nothing was written`);
    expect(snapshotDir(out)).toEqual(before);
  });

  test('--format json prints the diagnostics as JSON on stdout', async () => {
    const dir = copyFixture('bad-column', join(tmp.dir, 'json'));
    const r = await runDfc(['build', '.', '--format', 'json'], { cwd: dir });
    expect(r.status).toBe(1);
    const data = JSON.parse(r.stdout);
    expect(data).toMatchObject({ ok: false, omitted: 0, summary: { errors: 1, warnings: 0, infos: 0 } });
    expect(data.diagnostics).toEqual([
      {
        code: 'DFC2003',
        name: 'type-error',
        severity: 'error',
        message: 'unknown column `custmerId` in table `orders`',
        file: 'dfc.config.ts',
        line: 12,
        column: 74,
        endLine: 12,
        endColumn: 76,
        notes: ['found `"args.find.custmerId"`', 'TypeScript error TS2322'],
      },
    ]);
  });

  test('--format github prints workflow annotations', async () => {
    const dir = copyFixture('syntax-error', join(tmp.dir, 'github'));
    const r = await runDfc(['check', 'syntax-error', '--format', 'github'], { cwd: join(tmp.dir, 'github') });
    expect(r.status).toBe(1);
    expect(r.stdout).toBe(
      '::error file=syntax-error/dfc.config.ts,line=8,col=54,endLine=8,endColumn=64,title=DFC2001::`,` expected%0ATypeScript error TS1005\n',
    );
    expect(dir).toBeTruthy();
  });

  test('a lint error in a config that type-checks: exit 1 and the config path', async () => {
    const dir = join(tmp.dir, 'lint');
    mkdirSync(dir);
    writeFileSync(
      join(dir, 'dfc.config.ts'),
      [
        "import { defineConfig, defineCors, defineService } from 'dfc';",
        '',
        'export default defineConfig({',
        "  services: [defineService({ name: 'shop', database: { type: 'sqlite', file: './s.db' }, tables: { t: { columns: { id: 'integer' }, primaryKey: 'id' } } })],",
        "  cors: [defineCors({ path: '/api/v2/*', origins: ['*'], methods: ['GET'], supportsCredentials: true })],",
        '});',
        '',
      ].join('\n'),
    );
    const r = await runDfc(['check'], { cwd: dir });
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('dfc.config.ts:5:52  DFC4001  CORS entry `/api/v2/*` allows origin `*` with credentials');
    expect(r.stderr).toContain('  at cors["/api/v2/*"].origins[0]');
    expect(r.stderr).toMatch(/^> 5 \| {3}cors: /m);
    expect(r.stderr).toContain('dfc.config.ts:4:');
    expect(r.stderr).toContain('info: table `shop/t` has no rule');
  });

  test('`dfc check` writes nothing', async () => {
    const dir = copyFixture('minimal', join(tmp.dir, 'check'));
    const r = await runDfc(['check', dir]);
    expect(r.status).toBe(0);
    expect(r.stderr).toMatch(/is valid\n$/);
    expect(readdirSync(dir)).toEqual(['dfc.config.ts']);
  });

  test('--out pointing at a file is DFC5001 and leaves it alone', async () => {
    const dir = copyFixture('minimal', join(tmp.dir, 'out-file'));
    writeFileSync(join(dir, 'out'), 'mine');
    const r = await runDfc(['build', '--out', 'out'], { cwd: dir });
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/^DFC5001  output path `out` exists and is not a directory$/m);
    expect(snapshotDir(dir)).toEqual({ 'dfc.config.ts': expect.any(String), out: expect.any(String) });
  });
});

describe.concurrent('usage', () => {
  test('usage errors exit 2', async () => {
    expect((await runDfc(['build', '--format', 'xml'])).status).toBe(2);
    expect((await runDfc(['frobnicate'])).status).toBe(2);
    expect((await runDfc(['build', '--no-such-option'])).status).toBe(2);
  });

  test('--version and --help exit 0', async () => {
    const v = await runDfc(['--version']);
    expect(v.status).toBe(0);
    expect(v.stdout.trim()).toMatch(/^\d+\.\d+\.\d+/);
    const h = await runDfc(['--help']);
    expect(h.status).toBe(0);
    for (const cmd of ['build', 'check', 'init']) expect(h.stdout).toContain(cmd);
  });

  test('a missing config is exit 1 with DFC1001', async () => {
    const r = await runDfc(['check', 'does/not/exist'], { cwd: tmp.dir });
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/^DFC1001  `does\/not\/exist` does not exist$/m);
  });
});

describe.concurrent('colour', () => {
  const dir = () => copyFixture('bad-column', join(tmp.dir, `color-${Math.random().toString(36).slice(2)}`));
  test('no colour when stderr is not a terminal, or with NO_COLOR', async () => {
    expect((await runDfc(['check', dir()])).stderr).not.toContain('\u001b[');
    expect((await runDfc(['check', dir()], { env: { NO_COLOR: '1', FORCE_COLOR: '1' } })).stderr).toContain('\u001b['); // FORCE_COLOR wins
  });
  test('FORCE_COLOR turns colour on; JSON output never has colour', async () => {
    expect((await runDfc(['check', dir()], { env: { NO_COLOR: undefined, FORCE_COLOR: '1' } })).stderr).toContain('\u001b[31m');
    expect((await runDfc(['check', dir(), '--format', 'json'], { env: { NO_COLOR: undefined, FORCE_COLOR: '1' } })).stdout).not.toContain('\u001b[');
  });
});

test('paths are relative to the cwd, whichever it is', async () => {
  const fromRoot = await runDfc(['check', 'test/fixtures/bad-column'], { cwd: REPO });
  const fromFixture = await runDfc(['check', '.'], { cwd: join(REPO, 'test', 'fixtures', 'bad-column') });
  expect(fromRoot.stderr.split('\n')[0]).toMatch(/^test\/fixtures\/bad-column\/dfc\.config\.ts:12:74 {2}DFC2003/);
  expect(fromFixture.stderr.split('\n')[0]).toMatch(/^dfc\.config\.ts:12:74 {2}DFC2003/);
});
