/**
 * `dfc test` and `dfc explain` as users run them (the built CLI): exit codes, output,
 * the lcov file; and `--watch` running again when a test file changes.
 */
import { cpSync, readFileSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { REPO, runDfcAsync, tempDir } from '../fixtures/helpers.js';
import testCommand from '../../packages/cli/src/commands/test.js';
import type { CommandIO } from '../../packages/cli/src/commands/command.js';

const tmp = tempDir('dfc-cli-test-');
afterAll(() => tmp.cleanup());

function blogCopy(name: string): string {
  const dir = join(tmp.dir, name);
  cpSync(join(REPO, 'examples', 'blog'), dir, { recursive: true, filter: (src) => !/[/\\](dist|node_modules|tsconfig\.json|coverage)$|\.db(-\w+)?$/.test(src) });
  return dir;
}

describe('the built CLI', () => {
  test('dfc test examples/blog: every test passes, full coverage, an lcov file; a broken copy fails with a named test', async () => {
    const lcov = join(tmp.dir, 'lcov.info');
    const broken = blogCopy('broken');
    const config = join(broken, 'dfc.config.ts');
    writeFileSync(config, readFileSync(config, 'utf8').replace("f2: ['admin', 'moderator'],", "f2: ['admin'],"));
    const [ok, bad, explained] = await Promise.all([
      runDfcAsync(['test', 'examples/blog', '--coverage', 'lcov', '--coverage-file', lcov, '--require-coverage']),
      runDfcAsync(['test', broken, '--format', 'json']),
      runDfcAsync(['explain', 'examples/blog', '--app', 'web', '--claims', '{"id":"dave","role":"moderator"}', '--verb', 'DELETE', '--path', '/api/v2/blog/_table/posts/1'], {}),
    ]);
    expect(ok.status, ok.stdout + ok.stderr).toBe(0);
    expect(ok.stdout).toMatch(/dfc test: \d+ passed \(1 file\)\n$/);
    expect(ok.stdout).toContain('coverage: rules 20/20, rule nodes 51/51, requirement collections 3/3, requirements 3/3, role access entries 13/13');
    expect(ok.stderr).toBe(`dfc test: coverage written to ${relative(REPO, lcov)}\n`);
    expect(readFileSync(lcov, 'utf8')).toContain(`SF:${join(REPO, 'examples', 'blog', 'dfc.config.ts')}\n`);

    expect(bad.status).toBe(1);
    const report = JSON.parse(bad.stdout);
    expect(report.ok).toBe(false);
    expect(report.tests.filter((t: { passed: boolean }) => !t.passed).map((t: { name: string; failures: string[] }) => [t.name, t.failures])).toEqual([
      ['a moderator deletes a post', ['expected allow, got deny']],
    ]);

    // explain exits 0 for an allowed request and names what decided
    expect(explained.status, explained.stderr).toBe(0);
    expect(explained.stdout.trimEnd().split('\n').at(-1)).toBe('allowed with role `moderator` by rule rules.blog.posts.delete (`staff`)');
  });

  test('usage errors exit 2', async () => {
    const r = await runDfcAsync(['test', 'examples/blog', 'test/fixtures/minimal']);
    expect(r.status).toBe(2);
    expect(r.stderr).toBe('dfc test: give one config, not 2 (`examples/blog`, `test/fixtures/minimal`)\n');
  });
});

describe('dfc test --watch', () => {
  test('runs again when a test file changes, and stops on the signal', async () => {
    const dir = blogCopy('watch');
    let out = '';
    const controller = new AbortController();
    const runs: string[] = [];
    let notify: () => void = () => {};
    const io: CommandIO = {
      cwd: dir,
      env: {},
      out: (t) => {
        out += t;
        const m = /dfc test: (.*)\n$/.exec(t);
        if (m) {
          runs.push(m[1]!);
          notify();
        }
      },
      err: () => {},
      color: { out: false, err: false },
      signal: controller.signal,
    };
    const next = () => new Promise<void>((resolve) => (notify = resolve));
    const first = next();
    const done = testCommand.run({ operands: [[dir] as never], options: { format: 'text', typecheck: false, watch: true } }, io);
    await first;
    expect(runs[0]).toMatch(/^\d+ passed \(1 file\)$/);
    const second = next();
    const file = join(dir, 'blog.policy.test.ts');
    writeFileSync(file, readFileSync(file, 'utf8').replace("expect: { decision: 'allow', role: 'reader', rule: 'rules.blog.posts.read', where: null }", "expect: { decision: 'deny' }"));
    await second;
    expect(runs[1]).toMatch(/^\d+ passed, 1 failed \(1 file\)$/);
    controller.abort();
    expect(await done).toBe(0);
    expect(out).toContain('✗ anyone reads posts without a session');
  }, 120_000);
});
