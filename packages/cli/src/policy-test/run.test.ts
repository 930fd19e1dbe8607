/**
 * `dfc test` in process: the blog suite (all pass, full coverage, lcov lines), a broken
 * rule (a named test fails with a readable message), fixtures, and test files that
 * cannot be used.
 */
import { cpSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { REPO, tempDir } from '../../../../test/fixtures/helpers.js';
import { explainFailure, jsonReport, textReport } from './report.js';
import { runPolicyTests, type TestRun } from './run.js';

const BLOG = join(REPO, 'examples', 'blog');
const tmp = tempDir('dfc-policy-test-');
afterAll(() => tmp.cleanup());
let n = 0;

/** A copy of examples/blog with an edit of its config (and, optionally, its tests). */
function blogVariant(edit: (config: string) => string, tests?: (text: string) => string): string {
  const dir = join(tmp.dir, `blog${++n}`);
  cpSync(BLOG, dir, { recursive: true, filter: (src) => !/[/\\](dist|node_modules|tsconfig\.json|coverage)$|\.db(-\w+)?$/.test(src) });
  const file = join(dir, 'dfc.config.ts');
  const before = readFileSync(file, 'utf8');
  const after = edit(before);
  expect(after, 'the edit applies').not.toBe(before);
  writeFileSync(file, after);
  if (tests) {
    const t = join(dir, 'blog.policy.test.ts');
    writeFileSync(t, tests(readFileSync(t, 'utf8')));
  }
  return dir;
}

/** A small config and test file in a directory of their own. */
function project(config: string, tests: Record<string, string>): string {
  const dir = join(tmp.dir, `p${++n}`);
  cpSync(join(REPO, 'test', 'fixtures', 'minimal'), dir, { recursive: true });
  writeFileSync(join(dir, 'dfc.config.ts'), config);
  for (const [name, text] of Object.entries(tests)) writeFileSync(join(dir, name), text);
  return dir;
}

const SMALL = `
import { defineApp, defineConfig, defineRole, defineRule, defineService, secret } from 'dfc';
export const shop = defineService({
  name: 'shop',
  database: { type: 'sqlite', file: './shop.db' },
  security: { open: { type: 'allowAnonymous' } },
  tables: {
    orders: { columns: { id: 'integer', owner: 'string', total: 'number' }, primaryKey: 'id' },
    limits: { columns: { owner: 'string', max: 'number' }, primaryKey: 'owner' },
  },
});
export const orderRules = defineRule(shop, 'orders', {
  read: { rule: 'allow' },
  create: {
    rule: 'and',
    clauses: [
      { rule: 'query', db: 'shop', col: 'limits', find: { owner: 'args.auth.id' }, clause: { rule: 'match', eval: '<=', type: 'number', f1: 'args.doc.total', f2: 'args.result.0.max' } },
      { rule: 'webhook', url: 'https://fraud.example.com/check' },
    ],
  },
  delete: { rule: 'match', eval: '<', type: 'date', f1: 'utils.now()', f2: '2030-01-01' },
});
export const buyer = defineRole({ name: 'buyer', access: [{ service: shop, component: '_table/*', verbs: ['GET', 'POST', 'DELETE'] }] });
export const app = defineApp({ name: 'web', apiKey: secret('WEB_KEY'), role: buyer });
export default defineConfig({ services: [shop], rules: [orderRules], roles: [buyer], apps: [app] });
`;

describe('the blog example', () => {
  let run: TestRun;
  beforeAll(async () => {
    run = await runPolicyTests({ config: BLOG, cwd: REPO });
  });

  test('every test passes and every rule, node, requirement and access entry is exercised', () => {
    expect(run.diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
    expect(run.problems).toEqual([]);
    expect(run.tests.length).toBeGreaterThan(40);
    expect(run.tests.filter((t) => !t.passed).map((t) => [t.name, t.failures])).toEqual([]);
    expect(run.ok).toBe(true);
    const cov = run.coverage!;
    for (const c of [cov.rules, cov.nodes, cov.collections, cov.requirements, cov.access]) {
      expect(c.uncovered).toEqual([]);
      expect(c.covered).toBe(c.total);
    }
    // what the outline holds: every table rule of the blog, the nodes of the biggest rule
    expect(cov.rules.total).toBe(20);
    expect(cov.access.total).toBe(13);
    expect(cov.complete).toBe(true);
    expect(textReport(run, { cwd: REPO, color: false, coverage: true })).toContain(
      'coverage: rules 20/20, rule nodes 51/51, requirement collections 3/3, requirements 3/3, role access entries 13/13',
    );
  });

  test('the lcov file maps each rule and clause to its line in dfc.config.ts', () => {
    const lcov = run.lcov!;
    const config = join(BLOG, 'dfc.config.ts');
    expect(lcov).toContain(`SF:${config}\n`);
    const source = readFileSync(config, 'utf8').split('\n');
    const lineOf = (text: string) => source.findIndex((l) => l.includes(text)) + 1;
    const update = lineOf("update: { rule: 'match', eval: '==', type: 'string', f1: 'args.auth.id', f2: 'args.find.userId', name: 'owner' },");
    expect(update).toBeGreaterThan(0);
    expect(lcov).toMatch(new RegExp(`^FN:${update},rules\\.blog\\.posts\\.update$`, 'm'));
    expect(lcov).toMatch(new RegExp(`^FNDA:[1-9]\\d*,rules\\.blog\\.posts\\.update$`, 'm'));
    expect(lcov).toMatch(new RegExp(`^DA:${update},[1-9]\\d*$`, 'm'));
    // both outcomes of the owner match were seen
    expect(lcov).toMatch(new RegExp(`^BRDA:${update},\\d+,0,[1-9]\\d*\\nBRDA:${update},\\d+,1,[1-9]\\d*$`, 'm'));
    const record = lcov.slice(lcov.indexOf(`SF:${config}`));
    const lf = Number(/^LF:(\d+)$/m.exec(record)![1]);
    const lh = Number(/^LH:(\d+)$/m.exec(record)![1]);
    expect(lh).toBe(lf);
    expect(record).toMatch(/end_of_record\n$/);
  });

  test('the JSON report holds every test with its decision and the coverage', () => {
    const json = jsonReport(run, { cwd: REPO, coverage: true }) as { ok: boolean; summary: { failed: number }; tests: { name: string; actual: { decision: string } }[]; coverage: { complete: boolean } };
    expect(json.ok).toBe(true);
    expect(json.summary.failed).toBe(0);
    expect(json.coverage.complete).toBe(true);
    expect(json.tests.find((t) => t.name === 'an editor may not update a post of someone else')?.actual.decision).toBe('deny');
  });
});

describe('a broken rule', () => {
  test('makes the tests that rely on it fail, naming the rule and the values it compared', async () => {
    const dir = blogVariant((s) =>
      s.replace(
        "update: { rule: 'match', eval: '==', type: 'string', f1: 'args.auth.id', f2: 'args.find.userId', name: 'owner' },\n  // Admins",
        "update: { rule: 'match', eval: '!=', type: 'string', f1: 'args.auth.id', f2: 'args.find.userId', name: 'owner' },\n  // Admins",
      ),
    );
    const run = await runPolicyTests({ config: dir, cwd: dir, typecheck: false });
    expect(run.ok).toBe(false);
    const failed = run.tests.filter((t) => !t.passed);
    expect(failed.map((t) => t.name)).toEqual(['an editor updates their own post', 'an editor may not update a post of someone else']);
    const own = explainFailure(failed[0]!, run, dir);
    expect(own).toEqual([
      'expected allow, got deny',
      'denied: 403 DFC_ERR_RULE_DENIED `args.auth.id` != `args.find.userId` does not hold (rule `owner` decided)',
      `decided by rule rules.blog.posts.update (\`owner\`) at dfc.config.ts:${failed[0]!.decider.path && run.places[failed[0]!.decider.path]!.line}`,
      'compared: args.auth.id = "alice", args.find.userId = "alice"',
    ]);
    expect(explainFailure(failed[1]!, run, dir)).toEqual([
      'expected deny, got allow',
      "allowed with role `editor`, where userId = 'alice'",
      `allowed by rule rules.blog.posts.update (\`owner\`) at dfc.config.ts:${run.places['rules.blog.posts.update']!.line}`,
    ]);
    const text = textReport(run, { cwd: dir, color: false, coverage: true });
    expect(text).toContain('✗ an editor may not update a post of someone else  (blog.policy.test.ts:');
    expect(text).toContain(`dfc test: ${run.tests.length - 2} passed, 2 failed (1 file)`);
  });

  test('a test whose expectation is wrong reports each difference', async () => {
    const dir = blogVariant(
      (s) => s.replace("// Only `bookmarks` lacks one", '// Only bookmarks lack one'),
      (t) => t.replace("args: { doc: { id: 7, userId: 'alice', title: 'hello' } }", "args: { doc: { id: 7, userId: 'bob', title: undefined } }, where: 'id = 1', role: 'admin'"),
    );
    const run = await runPolicyTests({ config: dir, cwd: dir, typecheck: false });
    const t = run.tests.find((x) => x.name === 'a new post is always written by the caller')!;
    expect(t.failures).toEqual([
      'expected role `admin`, got `editor`',
      'args.doc.userId: expected "bob", got "alice"',
      'args.doc.title: expected absent, got "hello"',
      'expected where "id = 1", got "userId = \'alice\'"',
    ]);
  });
});

describe('fixtures', () => {
  test('query rules read the fixture rows their find selects; webhooks answer from fixtures; the clock is the test’s', async () => {
    const dir = project(SMALL, {
      'shop.policy.test.ts': `
import { definePolicyTest, definePolicyTests } from 'dfc';
import { app, shop } from './dfc.config.js';
const limits = [{ owner: 'ann', max: 100 }, { owner: 'ben', max: 10 }];
const ok = { 'https://fraud.example.com/check': { status: 200, body: { fraud: false } } };
export default definePolicyTests([
  definePolicyTest(shop, 'orders', { name: 'under the limit', request: { app, claims: { id: 'ann' }, verb: 'POST', doc: { total: 50 }, data: { limits }, webhooks: ok }, expect: { decision: 'allow' } }),
  definePolicyTest(shop, 'orders', { name: 'over the limit', request: { app, claims: { id: 'ben' }, verb: 'POST', doc: { total: 50 }, data: { limits }, webhooks: ok }, expect: { decision: 'deny', reason: 'does not hold' } }),
  definePolicyTest(shop, 'orders', { name: 'no limit row', request: { app, claims: { id: 'cid' }, verb: 'POST', doc: { total: 1 }, data: { limits }, webhooks: ok }, expect: { decision: 'deny', reason: '\`args.result.0.max\` is missing' } }),
  definePolicyTest(shop, 'orders', { name: 'a webhook without a fixture fails closed', request: { app, claims: { id: 'ann' }, verb: 'POST', doc: { total: 1 }, data: { limits } }, expect: { decision: 'deny', error: 'DFC_ERR_RULE_DENIED', rule: 'rules.shop.orders.create.clauses[1]' } }),
  definePolicyTest(shop, 'orders', { name: 'before the cut-off', request: { app, claims: { id: 'ann' }, verb: 'DELETE', id: 1, now: '2029-12-31T23:59:59Z' }, expect: { decision: 'allow' } }),
  definePolicyTest(shop, 'orders', { name: 'after the cut-off', request: { app, claims: { id: 'ann' }, verb: 'DELETE', id: 1, now: '2030-01-01T00:00:01Z' }, expect: { decision: 'deny' } }),
]);
`,
    });
    const run = await runPolicyTests({ config: dir, cwd: dir });
    expect(run.diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
    expect(run.tests.map((t) => [t.name, t.failures])).toEqual([
      ['under the limit', []],
      ['over the limit', []],
      ['no limit row', []],
      ['a webhook without a fixture fails closed', []],
      ['before the cut-off', []],
      ['after the cut-off', []],
    ]);
    expect(run.tests[0]!.actual.webhooks).toEqual([{ url: 'https://fraud.example.com/check', body: expect.objectContaining({ doc: { total: 50 } }) }]);
    // nothing covers `read`, nor the limits table's rules: coverage lists it
    expect(run.coverage!.rules.uncovered.map((i) => i.path)).toEqual(['rules.shop.orders.read']);
    expect(run.ok).toBe(true);
  });

  test('type errors in a test file stop the run with their position', async () => {
    const dir = project(SMALL, {
      'shop.policy.test.ts': `
import { definePolicyTest, definePolicyTests } from 'dfc';
import { app, shop } from './dfc.config.js';
export default definePolicyTests([
  definePolicyTest(shop, 'orders', { name: 'typo', request: { app, find: { ownr: 'ann' } }, expect: { decision: 'allow' } }),
]);
`,
    });
    const run = await runPolicyTests({ config: dir, cwd: dir });
    expect(run.ok).toBe(false);
    expect(run.tests).toEqual([]);
    const errors = run.diagnostics.filter((d) => d.severity === 'error');
    expect(errors.length).toBeGreaterThan(0);
    expect(errors[0]).toMatchObject({ code: 'DFC2003', file: join(dir, 'shop.policy.test.ts'), line: 5 });
  });

  test('test files that throw, export nothing usable or repeat a name are reported', async () => {
    const dir = project(SMALL, {
      'a.policy.test.ts': `throw new Error('boom');\nexport default [];\n`,
      'b.policy.test.ts': `export const x = 1;\n`,
      'c.policy.test.ts': `import { shop } from './dfc.config.js';\nexport default [{ name: 'n', service: shop, table: 'orders', request: {}, expect: { decision: 'yes' } }, 5];\n`,
      'd.policy.test.ts': `import { definePolicyTest } from 'dfc';\nimport { app, shop } from './dfc.config.js';\nconst t = definePolicyTest(shop, 'orders', { name: 'twice', request: { app }, expect: { decision: 'allow' } });\nexport default [t, t];\n`,
    });
    const run = await runPolicyTests({ config: dir, cwd: dir, typecheck: false });
    expect(run.ok).toBe(false);
    expect(run.problems.map((p) => [p.file.slice(dir.length + 1), p.message])).toEqual([
      ['a.policy.test.ts', 'the test file threw `Error: boom` while loading'],
      ['b.policy.test.ts', 'the test file has no default export'],
      ['c.policy.test.ts', 'test 1: `n`: `expect.decision` must be `allow` or `deny`'],
      ['c.policy.test.ts', 'test 2: is not a test (write it with `definePolicyTest(service, table, { … })`)'],
      ['d.policy.test.ts', 'two tests are named `twice`'],
    ]);
    expect(run.problems[0]!.line).toBe(1);
    // the usable test still ran
    expect(run.tests.map((t) => t.name)).toEqual(['twice']);
  });
});
