import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PolicySchema, policyHash, prettyCanonicalJson } from '@dfc/schema';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { copyFixture, FIXTURES, snapshotDir, tempDir } from '../../../test/fixtures/helpers.js';
import { build, check } from './index.js';

let tmp: ReturnType<typeof tempDir>;
beforeAll(() => {
  tmp = tempDir();
});
afterAll(() => tmp.cleanup());

describe('build', () => {
  test('a valid config writes the three artifacts, with defaults filled and a matching hash', async () => {
    const dir = copyFixture('minimal', tmp.dir);
    const result = await build({ config: dir });
    expect(result.diagnostics).toEqual([]);
    expect(result.ok).toBe(true);
    expect(result.files?.map((f) => f.path.slice(dir.length + 1))).toEqual(['dist/policy.schema.json', 'dist/policy.mjs', 'dist/policy.json']);
    const policy = JSON.parse(readFileSync(join(dir, 'dist', 'policy.json'), 'utf8'));
    expect(PolicySchema.safeParse(policy).success).toBe(true);
    expect(policy.hash).toBe(policyHash(policy));
    expect(readFileSync(join(dir, 'dist', 'policy.json'), 'utf8')).toBe(prettyCanonicalJson(result.policy) + '\n');
    expect(policy.$schema).toBe('./policy.schema.json');
    expect(policy.environment).toBe('production');
    expect(policy.roles.customer).toEqual({
      active: true,
      access: [{ service: 'shop', component: '_table/orders', verbs: ['GET', 'POST'], requestor: ['api'], filters: [], filterOp: 'AND' }],
    });
    expect(readFileSync(join(dir, 'dist', 'policy.mjs'), 'utf8')).toContain(JSON.stringify(policy.hash));
    expect(result.inputs).toEqual([join(dir, 'dfc.config.ts')]);
  });

  test('building again leaves identical files untouched', async () => {
    const dir = copyFixture('minimal', join(tmp.dir, 'again'));
    await build({ config: dir });
    const second = await build({ config: dir });
    expect(second.ok).toBe(true);
    expect(second.files?.every((f) => !f.written)).toBe(true);
  });

  test('`check` runs everything but emit', async () => {
    const dir = copyFixture('minimal', join(tmp.dir, 'check'));
    const result = await check({ config: join(dir, 'dfc.config.ts') });
    expect(result.ok).toBe(true);
    expect(result.policy?.services.shop?.tables.orders?.primaryKey).toBe('id');
    expect(existsSync(join(dir, 'dist'))).toBe(false);
    expect(Object.keys(result.timings)).toEqual(['resolve', 'typecheck', 'load', 'validate', 'normalize', 'analyze', 'codegen']);
  });

  test('a rule set the config leaves out is still type-checked with the authoring checks', async () => {
    const dir = copyFixture('minimal', join(tmp.dir, 'left-out'));
    const config = join(dir, 'dfc.config.ts');
    writeFileSync(
      config,
      readFileSync(config, 'utf8') +
        "\nexport const spare = defineRule(shop, 'orders', { read: { rule: 'match', eval: '==', type: 'string', f1: 'args.auth.id', f2: 'args.find.custmerId' } });\n",
    );
    const result = await check({ config });
    expect(result.ok).toBe(false);
    expect(result.diagnostics.filter((d) => d.severity === 'error').map((d) => d.message)).toEqual(['unknown column `custmerId` in table `orders`']);
  });

  test('a missing config is DFC1001 and a non-module file DFC1002', async () => {
    expect((await check({ config: join(tmp.dir, 'nowhere') })).diagnostics.map((d) => d.code)).toEqual(['DFC1001']);
    mkdirSync(join(tmp.dir, 'empty'));
    const empty = await check({ config: join(tmp.dir, 'empty') });
    expect(empty.diagnostics[0]).toMatchObject({ code: 'DFC1001', message: 'no `dfc.config.ts` in `' + join(tmp.dir, 'empty') + '`' });
    writeFileSync(join(tmp.dir, 'empty', 'dfc.config.json'), '{}');
    expect((await check({ config: join(tmp.dir, 'empty', 'dfc.config.json') })).diagnostics.map((d) => d.code)).toEqual(['DFC1002']);
  });
});

/**
 * The cases from "How it will be checked": each is exit-worthy (an error), has a DFC
 * code and a position, a one-line message, and leaves the output directory as it was.
 */
const BROKEN: [fixture: string, code: string, line: number, column: number, message: RegExp][] = [
  ['bad-column', 'DFC2003', 12, 74, /^unknown column `custmerId` in table `orders`$/],
  ['bad-rule-type', 'DFC2003', 13, 13, /^type `"authenticate"` is not assignable to type/],
  ['missing-import', 'DFC2002', 2, 22, /^cannot find module `\.\/services\.js`/],
  ['syntax-error', 'DFC2001', 8, 54, /^`,` expected$/],
  ['non-object-export', 'DFC1006', 2, 16, /^the default export must be an object, not a function$/],
  ['no-default-export', 'DFC1005', 1, 1, /^the config has no default export$/],
  ['throws', 'DFC1004', 4, 21, /^the config threw `SyntaxError: .*` while loading$/],
];

describe('a broken config', () => {
  test.each(BROKEN)('%s: %s at its line and column, output untouched', async (fixture, code, line, column, message) => {
    const dir = copyFixture(fixture, join(tmp.dir, 'broken'));
    const out = join(dir, 'dist');
    mkdirSync(out);
    writeFileSync(join(out, 'policy.json'), '{"old":true}\n');
    writeFileSync(join(out, 'policy.mjs'), 'export const hash = "old";\n');
    const before = snapshotDir(out);
    const result = await build({ config: dir });
    expect(result.ok).toBe(false);
    const first = result.diagnostics[0]!;
    expect(first).toMatchObject({ code, severity: 'error', file: join(dir, 'dfc.config.ts'), line, column });
    expect(first.message).toMatch(message);
    expect(first.message).not.toMatch(/[\n\r]|\.$/);
    expect(result.files).toBeUndefined();
    expect(result.policy).toBeUndefined();
    expect(snapshotDir(out)).toEqual(before);
  });
});

describe('validation', () => {
  test('shape errors name the dfc path and point at the value in the source', async () => {
    const result = await check({ config: join(FIXTURES, 'invalid-shape', 'dfc.config.mjs') });
    const file = join(FIXTURES, 'invalid-shape', 'dfc.config.mjs');
    expect(result.diagnostics.map((d) => [d.code, d.path, d.line, d.column, d.file === file])).toEqual([
      ['DFC3003', 'services.shop.tables.orders.columns.customerId', 8, 53, true],
      ['DFC3004', 'rules.shop.orders.read.rule', 13, 17, true],
      ['DFC3003', 'rules.shop.orders.update.clauses[0].eval', 16, 38, true],
      ['DFC3003', 'roles.clerk.access[0].verbs[1]', 22, 72, true],
      ['DFC3002', 'roles.clerk.access[0].verb', 22, 81, true],
      ['DFC3003', 'environment', 29, 16, true],
    ]);
    const byCode = Object.fromEntries(result.diagnostics.map((d) => [d.path, d]));
    expect(byCode['rules.shop.orders.read.rule']).toMatchObject({ message: 'unknown rule type `alow`' });
    expect(byCode['rules.shop.orders.read.rule']!.notes).toContain('did you mean `allow`?');
    expect(byCode['roles.clerk.access[0].verb']!.notes).toContain('did you mean `verbs`?');
  });
});

describe('loading', () => {
  test('import.meta in the config refers to the config file, not the temporary bundle', async () => {
    const result = await check({ config: join(FIXTURES, 'import-meta') });
    expect(result.diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
    expect(result.policy?.services.shop?.tables.orders?.columns).toEqual({
      id: { type: 'integer', nullable: false },
      total: { type: 'number', nullable: false },
    });
    // The JSON file read at load time is not a module import, so it is not watched.
    expect(result.inputs).toEqual([join(FIXTURES, 'import-meta', 'dfc.config.ts'), join(FIXTURES, 'import-meta', 'tsconfig.json')]);
  });
});

describe('diagnostics', () => {
  test('are capped, with the rest counted', async () => {
    const dir = join(tmp.dir, 'many');
    mkdirSync(dir);
    writeFileSync(
      join(dir, 'dfc.config.mjs'),
      `const service = { name: 'shop', database: { type: 'sqlite', file: './s.db' }, tables: { t: { columns: { id: 'integer' }, primaryKey: 'id' } } };
       export default {
         services: [service],
         roles: Array.from({ length: 150 }, (_, i) => ({ name: 'r' + i, access: [{ service: 'shop', component: '*', verbs: ['FETCH'] }] })),
       };`,
    );
    const result = await check({ config: dir, maxDiagnostics: 100 });
    expect(result.diagnostics).toHaveLength(100);
    expect(result.omitted).toBe(50);
    expect(result.diagnostics.every((d) => d.code === 'DFC3003')).toBe(true);
    // Sorted by position: the first role's problem comes first.
    expect(result.diagnostics[0]!.path).toBe('roles.r0.access[0].verbs[0]');
  });
});

test('builds running at the same time keep their own source positions', async () => {
  const [a, b, c] = await Promise.all([
    check({ config: join(FIXTURES, 'invalid-shape', 'dfc.config.mjs') }),
    check({ config: join(FIXTURES, 'invalid-shape', 'dfc.config.mjs') }),
    check({ config: copyFixture('throws', join(tmp.dir, 'concurrent')) }),
  ]);
  expect(a.diagnostics.map((d) => [d.line, d.column])).toEqual(b.diagnostics.map((d) => [d.line, d.column]));
  expect(a.diagnostics[1]).toMatchObject({ code: 'DFC3004', line: 13, column: 17 });
  expect(c.diagnostics[0]).toMatchObject({ code: 'DFC1004', line: 4, column: 21 });
  expect(process.sourceMapsEnabled).toBe(false);
});
