import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { runDfcAsync as runDfc, tempDir } from '../fixtures/helpers.js';

// Security checklist C9: no secret reaches policy.json, policy.mjs or any diagnostic
// output, whether it sits in the environment or (by mistake) in the config.

const CANARY = 'CANARY-9f3a';
let tmp: ReturnType<typeof tempDir>;
beforeAll(() => {
  tmp = tempDir('dfc-secrets-');
});
afterAll(() => tmp.cleanup());

const FORMATS = ['text', 'json', 'github'] as const;

// Secrets in the environment of a build of examples/blog: see test/golden/blog.test.ts.

const head = `const blog = defineService({
  name: 'blog',
  database: { type: 'postgres', url: 'postgres://app:${CANARY}-db@db.example.com/blog' },
  tables: { posts: { columns: { id: 'integer' }, primaryKey: 'id' } },
});
const reader = defineRole({ name: 'reader', access: [{ service: blog, component: '_table/posts', verbs: ['GET'] }] });
`;
const body = `
export default defineConfig({
  services: [blog],
  roles: [reader],
  apps: [defineApp({ name: 'web', apiKey: '${CANARY}-key', role: reader })],
  auth: { jwt: { secret: '${CANARY}-jwt', issuer: 'https://id.example.com', audience: 'blog' } },
  crypto: { key: '${CANARY}-field' },
  admin: { token: '${CANARY}-admin' },
});
`;

describe.concurrent.each([
  ['TypeScript', 'dfc.config.ts', 'DFC2003', 5],
  ['JavaScript', 'dfc.config.mjs', 'DFC4002', 5],
])('plain-text secrets in a %s config', (_lang, file, code, count) => {
  test.concurrent.each(FORMATS)('are errors (%s output) that never repeat the secret', async (format) => {
    const dir = join(tmp.dir, `${file}-${format}`);
    mkdirSync(dir);
    writeFileSync(join(dir, file), `import { defineApp, defineConfig, defineRole, defineService } from 'dfc';\n\n${head}${body}`);
    const r = await runDfc(['build', '--format', format], { cwd: dir });
    expect(r.status).toBe(1);
    const output = r.stdout + r.stderr;
    expect(output.split(code).length - 1).toBeGreaterThanOrEqual(count);
    expect(output).not.toContain(CANARY);
    expect(existsSync(join(dir, 'dist'))).toBe(false);
  });
});
