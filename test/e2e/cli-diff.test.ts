import { execFileSync } from 'node:child_process';
import { cpSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { diffPolicies, loadPolicySide, type PolicyChange } from '@dfc/compiler';
import type { Policy } from '@dfc/schema';
import { REPO, runDfc, tempDir } from '../fixtures/helpers.js';

/**
 * Hand-made edits of examples/blog, each with the classification a reviewer should
 * see (issue: "Policy review", how it will be checked).
 */
const tmp = tempDir('dfc-diff-');
afterAll(() => tmp.cleanup());
let n = 0;

function variant(edit: (source: string) => string): string {
  const dir = join(tmp.dir, `v${++n}`);
  cpSync(join(REPO, 'examples', 'blog'), dir, { recursive: true, filter: (src) => !/[/\\](dist|node_modules|tsconfig\.json)$|\.db(-\w+)?$/.test(src) });
  // (the example's tsconfig.json extends the repository's base config, which the copy cannot reach)
  const file = join(dir, 'dfc.config.ts');
  const before = readFileSync(file, 'utf8');
  const after = edit(before);
  expect(after, 'the edit applies').not.toBe(before);
  writeFileSync(file, after);
  return dir;
}

async function policyOf(dir: string): Promise<Policy> {
  const side = await loadPolicySide(dir);
  expect(side.diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
  return side.policy!;
}

const lines = (changes: PolicyChange[]) => changes.map((c) => `${c.class}: ${c.subject}: ${c.message}`);

let original: Policy;
beforeAll(async () => {
  original = await policyOf(join(REPO, 'examples', 'blog'));
});

describe('dfc diff on edits of examples/blog', () => {
  test('widening a role', async () => {
    const dir = variant((s) => s.replace("component: '_table/posts',\n      verbs: ['GET', 'POST', 'PATCH'],", "component: '_table/posts',\n      verbs: ['GET', 'POST', 'PATCH', 'DELETE'],"));
    expect(lines(diffPolicies(original, await policyOf(dir)).changes)).toEqual(['broadens: role `editor`: gains DELETE on `blog/_table/posts`']);
  });

  test('narrowing a rule', async () => {
    const dir = variant((s) => s.replace("export const commentRules = defineRule(blog, 'comments', {\n  read: { rule: 'allow' },", "export const commentRules = defineRule(blog, 'comments', {\n  read: { rule: 'authenticated' },"));
    expect(lines(diffPolicies(original, await policyOf(dir)).changes)).toEqual([
      'narrows: rule `blog.comments.read`: `allow` replaced by `authenticated`',
    ]);
  });

  test('adding a CORS origin', async () => {
    const dir = variant((s) => s.replace("origins: ['https://blog.example.com', 'http://localhost:5173'],", "origins: ['https://blog.example.com', 'http://localhost:5173', 'https://evil.example'],"));
    expect(lines(diffPolicies(original, await policyOf(dir)).changes)).toEqual(['broadens: CORS `/api/v2/blog/*`: origin `https://evil.example` added']);
  });

  test('reordering rules, roles, apps and CORS entries, and reformatting, change nothing', async () => {
    const dir = variant((s) =>
      s
        .replace('rules: [postRules, commentRules, bookmarkRules, profileRules, userRules, defaultRules],', 'rules: [defaultRules, userRules, profileRules, bookmarkRules, commentRules, postRules],')
        .replace('roles: [reader, editor, moderator, admin, docs],', 'roles: [docs, admin, moderator, editor, reader],')
        .replace('apps: [webApp, adminApp, docsApp, partnerApp],', 'apps: [partnerApp, docsApp, adminApp, webApp],')
        .replace('cors: [corsBlog, corsDocs, corsStaging],', 'cors: [corsStaging, corsDocs, corsBlog],')
        .replace(/\n\n/g, '\n\n\n'),
    );
    expect(diffPolicies(original, await policyOf(dir)).changes).toEqual([]);
  });

  test('removing the password mask from users.read is flagged', async () => {
    const dir = variant((s) => s.replace("fields: ['res.password'],", "fields: ['res.role'],"));
    const changes = lines(diffPolicies(original, await policyOf(dir)).changes);
    expect(changes).toContain('broadens: rule `blog.users.read`: no longer removes `res.password` from responses');
  });
});

describe('the dfc diff command', () => {
  test('artifact directories, formats and --fail-on', () => {
    let widened = variant((s) => s.replace("{ service: blog, component: '_table/comments', verbs: ['GET'] },", "{ service: blog, component: '_table/comments', verbs: ['GET', 'POST'] },"));
    const base = join(REPO, 'examples', 'blog');
    const old = join(tmp.dir, 'old');
    expect(runDfc(['build', base, '--out', old]).status).toBe(0);
    // A config on one side: built in memory, nothing written.
    const same = runDfc(['diff', old, base, '--fail-on', 'broaden']);
    expect(same.stdout).toBe('no changes\n');
    expect(same.status).toBe(0);

    // Artifact directories on both sides from here on: nothing to compile.
    expect(runDfc(['build', widened]).status).toBe(0);
    widened = join(widened, 'dist');
    const text = runDfc(['diff', old, widened]);
    expect(text.status).toBe(0);
    expect(text.stdout).toBe('1 change: 1 broadens access, 0 narrow access, 0 neutral\n  broadens  role `reader`: gains POST on `blog/_table/comments`\n');

    const failing = runDfc(['diff', old, widened, '--fail-on', 'broaden', '--format', 'markdown']);
    expect(failing.status).toBe(1);
    expect(failing.stdout).toContain('| 🔓 | role `reader` | gains POST on `blog/_table/comments` |');

    const json = runDfc(['diff', widened, old, '--format', 'json', '--fail-on', 'broaden']);
    expect(json.status).toBe(0);
    expect(JSON.parse(json.stdout).changes).toEqual([
      { class: 'narrows', area: 'role', subject: 'role `reader`', message: 'loses POST on `blog/_table/comments`' },
    ]);
  });

  test('--base builds the config as it was at a git revision', () => {
    const dir = variant((s) => s.replace("description: 'Read-only access to the public tables',", "description: 'Read-only access',"));
    const git = (...args: string[]) => execFileSync('git', ['-c', 'user.name=dfc', '-c', 'user.email=dfc@example.com', ...args], { cwd: dir, stdio: 'pipe' });
    git('init', '-q');
    git('add', '-A');
    git('commit', '-qm', 'base');
    const file = join(dir, 'dfc.config.ts');
    writeFileSync(file, readFileSync(file, 'utf8').replace("origins: ['https://docs.example.com'],", "origins: ['https://docs.example.com', '*'],"));
    const r = runDfc(['diff', '--base', 'HEAD', '--fail-on', 'broaden'], { cwd: dir });
    expect(r.stdout).toContain('broadens  CORS `/api/v2/blog/_doc`: origin `*` added');
    expect(r.status).toBe(1);
    const bad = runDfc(['diff', '--base', 'no-such-branch'], { cwd: dir });
    expect(bad.status).toBe(1);
    expect(bad.stderr).toContain('DFC6002');
  });

  test('usage errors exit 2', () => {
    expect(runDfc(['diff', 'only-one']).status).toBe(2);
  });
});
