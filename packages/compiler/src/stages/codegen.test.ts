import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { tempDir } from '../../../../test/fixtures/helpers.js';
import { check } from '../index.js';
import { checkPolicy, type PolicyCheckCache } from './codegen.js';
import type { CompilerSession } from '../pipeline.js';

let tmp: ReturnType<typeof tempDir>;
beforeAll(() => {
  tmp = tempDir();
});
afterAll(() => tmp.cleanup());

/** A service with two tables, the config with one table's rules, the other table's rules in their own file. */
function shopProject(name: string): string {
  const dir = join(tmp.dir, name);
  mkdirSync(dir);
  // The service and the config in one file, one table's rules in another.
  writeFileSync(
    join(dir, 'shop.ts'),
    [
      "import { defineService } from 'dfc';",
      'export const shop = defineService({',
      "  name: 'shop',",
      "  database: { type: 'sqlite', file: './shop.db' },",
      '  tables: {',
      "    orders: { columns: { id: 'integer', customerId: 'string' }, primaryKey: 'id' },",
      "    items: { columns: { id: 'integer', ownerId: 'string' }, primaryKey: 'id' },",
      '  },',
      '});',
      '',
    ].join('\n'),
  );
  writeFileSync(
    join(dir, 'items.ts'),
    [
      "import { defineRule } from 'dfc';",
      "import { shop } from './shop.js';",
      "export const itemRules = defineRule(shop, 'items', {",
      "  read: { rule: 'allow' },",
      "  update: { rule: 'match', eval: 'in', type: 'string', f1: 'args.auth.role', f2: ['admin'] },",
      "  delete: { rule: 'or', clauses: [{ rule: 'match', eval: '==', type: 'string', f1: 'args.auth.id', f2: 'args.find.ownerId' }, { rule: 'deny' }] },",
      '});',
      '',
    ].join('\n'),
  );
  writeFileSync(
    join(dir, 'dfc.config.ts'),
    [
      "import { defineConfig, defineRole, defineRule } from 'dfc';",
      "import { itemRules } from './items.js';",
      "import { shop } from './shop.js';",
      "const orderRules = defineRule(shop, 'orders', { read: { rule: 'match', eval: '==', type: 'string', f1: 'args.auth.id', f2: 'args.find.customerId' }, create: { rule: 'authenticated' } });",
      "const customer = defineRole({ name: 'customer', access: [{ service: shop, component: '_table/*', verbs: ['GET', 'POST'] }] });",
      'export default defineConfig({ services: [shop], rules: [orderRules, itemRules], roles: [customer] });',
      '',
    ].join('\n'),
  );
  return dir;
}

test('a rebuild generates only the closures of edited rules, and writes the module a cold build writes', async () => {
  const dir = shopProject('codegen-cache');
  const session: CompilerSession = {};
  const sameAsCold = async () => {
    const rebuilt = await check({ config: dir, session });
    expect(rebuilt.diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
    const cold = await check({ config: dir });
    expect(rebuilt.module).toBe(cold.module);
    return rebuilt;
  };

  await sameAsCold();
  // 5 rules and the service's requirement collection.
  const closures = session.codegen!.size;
  expect(closures).toBe(6);
  expect(session.codegen!.reused).toBe(0);

  // One line of one rule: everything else is taken from the previous build.
  const items = join(dir, 'items.ts');
  writeFileSync(items, readFileSync(items, 'utf8').replace("f2: ['admin']", "f2: ['admin', 'owner']"));
  const edited = await sameAsCold();
  expect(edited.module).toContain('"owner"');
  expect(session.codegen!.reused).toBe(closures - 1);
  expect(session.codegen!.size).toBe(closures);

  // A rule removed: its closure is dropped, not kept for later.
  writeFileSync(items, readFileSync(items, 'utf8').replace("  read: { rule: 'allow' },\n", ''));
  await sameAsCold();
  expect(session.codegen!.reused).toBe(closures - 1);
  expect(session.codegen!.size).toBe(closures - 1);

  // An edit that breaks the config, then its fix: the rebuild after it is still a cold build's.
  writeFileSync(items, readFileSync(items, 'utf8').replace("eval: '=='", "eval: '=~'"));
  expect((await check({ config: dir, session })).ok).toBe(false);
  writeFileSync(items, readFileSync(items, 'utf8').replace("eval: '=~'", "eval: '=='"));
  await sameAsCold();
});

test('the policy check with a cache checks again only the rule sets that changed, and reports what a whole check reports', async () => {
  const policy = (await check({ config: shopProject('policy-check') })).policy!;
  const cache: PolicyCheckCache = {};
  expect(checkPolicy(policy, cache)).toEqual({ ok: true });
  // One entry per table with rules: shop/orders and shop/items.
  expect(cache.valid?.size).toBe(2);
  const first = cache.valid;
  expect(checkPolicy(structuredClone(policy), cache)).toEqual({ ok: true });
  expect([...cache.valid!]).toEqual([...first!]);

  // A rule set that changed is checked again: broken, it fails as in a whole check, and the cache is dropped.
  const broken = structuredClone(policy);
  (broken.rules.shop!.items as Record<string, unknown>).read = { rule: 'nope' };
  const whole = checkPolicy(broken);
  expect(whole.ok).toBe(false);
  expect(checkPolicy(broken, cache)).toEqual(whole);
  expect(cache.valid).toBeUndefined();
  // So is a problem outside the rules.
  const outside = { ...structuredClone(policy), debug: 'yes' } as unknown as typeof policy;
  expect(checkPolicy(outside, cache)).toEqual(checkPolicy(outside));
  expect(checkPolicy(outside).ok).toBe(false);
  expect(checkPolicy(policy, cache)).toEqual({ ok: true });
});
