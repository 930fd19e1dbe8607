import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { REPO, runDfc, tempDir } from '../fixtures/helpers.js';

// Golden files for examples/blog: what `dfc build` writes, and what it reports for a
// broken variant. A change to any of them is a change in what users get: review the
// diff, then update with `npx vitest run test/golden -u`.

let tmp: ReturnType<typeof tempDir>;
beforeAll(() => {
  tmp = tempDir('dfc-golden-');
});
afterAll(() => tmp.cleanup());

describe('examples/blog', () => {
  test('policy.json and policy.mjs', async () => {
    const out = join(tmp.dir, 'out');
    const r = runDfc(['build', 'examples/blog', '--out', out]);
    expect(r.status, r.stderr).toBe(0);
    await expect(readFileSync(join(out, 'policy.json'), 'utf8')).toMatchFileSnapshot('./blog/policy.json');
    await expect(readFileSync(join(out, 'policy.mjs'), 'utf8')).toMatchFileSnapshot('./blog/policy.mjs');
  });

  /** The example with four mistakes a type checker cannot see; each must be reported. */
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
    const text = runDfc(['build'], { cwd: dir });
    expect(text.status).toBe(1);
    expect(text.stdout).toBe('');
    await expect(text.stderr).toMatchFileSnapshot('./blog/bad.diagnostics.txt');
    const json = runDfc(['build', '--format', 'json'], { cwd: dir });
    expect(json.status).toBe(1);
    const data = JSON.parse(json.stdout) as { diagnostics: { code: string }[] };
    expect(data.diagnostics.map((d) => d.code).sort()).toEqual(['DFC4001', 'DFC4007', 'DFC4013', 'DFC4037', 'DFC4037']);
    await expect(json.stdout).toMatchFileSnapshot('./blog/bad.diagnostics.json');
  });
});
