import { cpSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { REPO, runDfcAsync, sha256File, tempDir } from '../fixtures/helpers.js';

// Golden files for examples/blog: what `dfc build` writes, and what it reports for a
// broken variant. A change to any of them is a change in what users get: review the
// diff, then update with `npx vitest run test/golden -u`.
//
// The same builds show determinism (security checklist C7: byte-identical output
// whatever the time zone, locale, working directory or location of the config) and
// that secrets in the environment never reach the artifacts (C9).

let tmp: ReturnType<typeof tempDir>;
beforeAll(() => {
  tmp = tempDir('dfc-golden-');
});
afterAll(() => tmp.cleanup());

const FILES = ['policy.json', 'policy.mjs', 'policy.schema.json'];
const hashes = (dir: string) => Object.fromEntries(FILES.map((f) => [f, sha256File(join(dir, f))]));
const CANARY = 'CANARY-9f3a';

describe('examples/blog', () => {
  test('builds to the golden policy.json and policy.mjs, byte for byte, wherever and however it is built', async () => {
    const a = join(tmp.dir, 'a');
    const b = join(tmp.dir, 'b');
    const c = join(tmp.dir, 'c');
    // A copy of the example elsewhere: another absolute path, no node_modules above it.
    const copy = join(tmp.dir, 'elsewhere', 'blog');
    mkdirSync(copy, { recursive: true });
    cpSync(join(REPO, 'examples', 'blog', 'dfc.config.ts'), join(copy, 'dfc.config.ts'));
    const canaries = Object.fromEntries(
      ['BLOG_WEB_KEY', 'BLOG_ADMIN_KEY', 'BLOG_DOCS_KEY', 'BLOG_JWT_SECRET', 'BLOG_FIELD_KEY', 'BLOG_ADMIN_TOKEN'].map((n) => [n, `${CANARY}-${n}`]),
    );
    const [ra, rb, rc] = await Promise.all([
      runDfcAsync(['build', 'examples/blog', '--out', a], { cwd: REPO, env: { TZ: 'UTC', LANG: 'C', LC_ALL: 'C' } }),
      runDfcAsync(['build', join(REPO, 'examples', 'blog'), '--out', 'b'], {
        cwd: tmp.dir,
        env: { TZ: 'Pacific/Kiritimati', LANG: 'tr_TR.UTF-8', LC_ALL: 'tr_TR.UTF-8', ...canaries },
      }),
      runDfcAsync(['build', '.', '--out', c], { cwd: copy, env: { TZ: 'America/St_Johns', LANG: 'ja_JP.UTF-8' } }),
    ]);
    // Warnings (the example hashes passwords with unsalted SHA-256) do not fail a build.
    expect(ra.status, ra.stderr).toBe(0);
    expect(ra.stderr).toMatch(/\(2 warnings\)\n$/);
    expect(rb.status, rb.stderr).toBe(0);
    expect(rc.status, rc.stderr).toBe(0);
    expect(readdirSync(a).sort()).toEqual(FILES);
    expect(hashes(b)).toEqual(hashes(a));
    expect(hashes(c)).toEqual(hashes(a));
    for (const file of FILES) expect(readFileSync(join(b, file), 'utf8')).not.toContain(CANARY);
    expect(rb.stdout + rb.stderr).not.toContain(CANARY);
    await expect(readFileSync(join(a, 'policy.json'), 'utf8')).toMatchFileSnapshot('./blog/policy.json');
    await expect(readFileSync(join(a, 'policy.mjs'), 'utf8')).toMatchFileSnapshot('./blog/policy.mjs');
  });

  /** The example with three mistakes a type checker cannot see; each must be reported. */
  const MISTAKES: [from: string, to: string][] = [
    ["  crypto: { key: secret('BLOG_FIELD_KEY') },\n", "  crypto: { key: secret('BLOG_FIELD_KEY') },\n  debug: true,\n"],
    ["  origins: ['https://staging.blog.example.com'],\n  methods: ['GET'],\n", "  origins: ['*'],\n  methods: ['GET'],\n  supportsCredentials: true,\n"],
    ["      audience: 'blog',\n", ''],
  ];

  function badVariant(): string {
    let text = readFileSync(join(REPO, 'examples', 'blog', 'dfc.config.ts'), 'utf8');
    for (const [from, to] of MISTAKES) {
      expect(text.includes(from), `examples/blog no longer contains ${JSON.stringify(from)}`).toBe(true);
      text = text.replace(from, to);
    }
    const dir = join(tmp.dir, 'bad');
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'dfc.config.ts'), text);
    return dir;
  }

  test('diagnostics of a broken variant, as text and as JSON', async () => {
    const dir = badVariant();
    const [text, json] = await Promise.all([runDfcAsync(['build'], { cwd: dir }), runDfcAsync(['build', '--format', 'json'], { cwd: dir })]);
    expect(text.status).toBe(1);
    expect(text.stdout).toBe('');
    await expect(text.stderr).toMatchFileSnapshot('./blog/bad.diagnostics.txt');
    expect(json.status).toBe(1);
    const data = JSON.parse(json.stdout) as { diagnostics: { code: string }[] };
    expect(data.diagnostics.map((d) => d.code).sort()).toEqual(['DFC4001', 'DFC4007', 'DFC4013', 'DFC4037', 'DFC4037']);
    await expect(json.stdout).toMatchFileSnapshot('./blog/bad.diagnostics.json');
  });
});
