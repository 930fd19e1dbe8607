/**
 * The access and rule analyses of the analyze stage, through `check`: shadowed entries,
 * dead grants, blanket keys, documentation roles that reach data, constant rules and
 * match operands whose types cannot agree. Each with the cases it must not report.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { REPO, tempDir } from '../../../../test/fixtures/helpers.js';
import { check } from '../index.js';

const tmp = tempDir('dfc-grants-');
afterAll(() => tmp.cleanup());
let n = 0;

const HEAD = `import { defineApp, defineConfig, defineRole, defineRule, defineService, secret } from 'dfc';
const shop = defineService({
  name: 'shop',
  database: { type: 'sqlite', file: './shop.db' },
  tables: {
    orders: { columns: { id: 'integer', owner: 'string', total: 'number', tags: 'json' }, primaryKey: 'id' },
    items: { columns: { id: 'integer', name: 'string' }, primaryKey: 'id' },
  },
});
const rules = [
  defineRule(shop, 'orders', { read: { rule: 'allow' }, create: { rule: 'authenticated' }, update: { rule: 'deny' } }),
  defineRule(shop, 'items', { read: { rule: 'allow' } }),
] as const;
`;

/** Diagnostics of a config made of HEAD and `body` (which exports the default). */
async function diagnose(body: string, codes: readonly string[]) {
  const dir = join(tmp.dir, `c${++n}`);
  mkdirSync(dir);
  writeFileSync(join(dir, 'dfc.config.ts'), HEAD + body);
  const result = await check({ config: dir });
  expect(result.diagnostics.filter((d) => d.severity === 'error' && !codes.includes(d.code))).toEqual([]);
  return result.diagnostics.filter((d) => codes.includes(d.code)).map((d) => ({ code: d.code, path: d.path, message: d.message, notes: d.notes }));
}

const config = (roles: string, apps = '[]') =>
  `export default defineConfig({ services: [shop], rules, roles: ${roles}, apps: ${apps}, auth: { jwt: { secret: secret('JWT'), issuer: 'https://id.example.com', audience: 'shop', roleClaim: 'role' } } });\n`;

describe('shadowed access entries (DFC4041)', () => {
  test('an entry that a more specific one overrides everywhere it matches', async () => {
    const found = await diagnose(
      config(`[defineRole({ name: 'clerk', access: [
        { service: '*', component: '*', verbs: ['GET', 'POST', 'DELETE'] },
        { service: shop, component: '*', verbs: ['GET'] },
      ] })]`),
      ['DFC4041'],
    );
    expect(found).toEqual([
      {
        code: 'DFC4041',
        path: 'roles.clerk.access[0]',
        message: 'access entry `*` of role `clerk` never decides',
        notes: [
          'for everything it covers, a more specific entry decides: `access[1]` (`*`)',
          'the most specific matching entry decides, even when it grants fewer verbs; remove this entry, or move its verbs to the specific ones',
        ],
      },
    ]);
  });

  test('`_table/*` still decides the table list when every table has its own entry; entries for other requestors are their own world', async () => {
    const found = await diagnose(
      config(`[defineRole({ name: 'clerk', access: [
        { service: shop, component: '_table/*', verbs: ['GET'] },
        { service: shop, component: '_table/orders', verbs: ['GET'] },
        { service: shop, component: '_table/items', verbs: ['GET'] },
        { service: shop, component: '*', verbs: ['GET'], requestor: ['script'] },
      ] })]`),
      ['DFC4041'],
    );
    expect(found).toEqual([]);
  });
});

describe('dead grants (DFC4042)', () => {
  test('verbs the table rules deny every time, or that no rule covers', async () => {
    const found = await diagnose(config(`[defineRole({ name: 'clerk', access: [{ service: shop, component: '_table/orders', verbs: ['GET', 'PUT', 'PATCH', 'DELETE'] }] })]`), ['DFC4042']);
    expect(found).toEqual([
      {
        code: 'DFC4042',
        path: 'roles.clerk.access[0].verbs',
        message: 'role `clerk` grants `PUT`, `PATCH` and `DELETE` on `shop/_table/orders`, but every such request is denied',
        notes: [
          'rule `rules.shop.orders.update` always denies',
          'no rule allows `delete` on `shop.orders` (an operation with no rule is denied)',
          'remove the verbs from the entry, or write a rule that can allow them',
        ],
      },
    ]);
  });

  test('wildcard entries and inactive roles are not reported; a rule that may allow is not a dead grant', async () => {
    const found = await diagnose(
      config(`[
        defineRole({ name: 'all', access: [{ service: shop, component: '_table/*', verbs: ['GET', 'DELETE'] }] }),
        defineRole({ name: 'off', active: false, access: [{ service: shop, component: '_table/orders', verbs: ['DELETE'] }] }),
        defineRole({ name: 'maker', access: [{ service: shop, component: '_table/orders', verbs: ['GET', 'POST'] }] }),
      ]`),
      ['DFC4042'],
    );
    expect(found).toEqual([]);
  });
});

describe('blanket API keys (DFC4043)', () => {
  test("an app whose key alone grants everything; the same role behind the role claim is fine", async () => {
    const roles = `[
      defineRole({ name: 'root', access: [{ service: '*', component: '*', verbs: ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'] }] }),
      defineRole({ name: 'reader', access: [{ service: shop, component: '_table/*', verbs: ['GET'] }] }),
    ]`;
    const found = await diagnose(
      config(roles, `[
        defineApp({ name: 'ops', apiKey: secret('OPS_KEY'), role: 'root' }),
        defineApp({ name: 'web', apiKey: secret('WEB_KEY'), role: 'reader', roles: ['root'] }),
        defineApp({ name: 'old', apiKey: secret('OLD_KEY'), role: 'root', active: false }),
      ]`),
      ['DFC4043'],
    );
    expect(found.map((d) => [d.code, d.path, d.message])).toEqual([['DFC4043', 'apps.ops', 'the API key of app `ops` alone grants every verb on every service (role `root`)']]);
  });

  test('a role granting every verb on every component of the only service is a blanket key too; one verb less is not', async () => {
    const all = `defineRole({ name: 'svc', access: [{ service: shop, component: '*', verbs: ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'] }] })`;
    const less = `defineRole({ name: 'svc', access: [{ service: shop, component: '*', verbs: ['GET', 'POST', 'PATCH', 'DELETE'] }] })`;
    const app = `[defineApp({ name: 'ops', apiKey: secret('OPS_KEY'), role: 'svc' })]`;
    expect((await diagnose(config(`[${all}]`, app), ['DFC4043'])).map((d) => d.path)).toEqual(['apps.ops']);
    expect(await diagnose(config(`[${less}]`, app), ['DFC4043'])).toEqual([]);
  });
});

describe('documentation roles that reach data (DFC4044)', () => {
  test('a `_doc` grant in a role that also reads tables', async () => {
    const found = await diagnose(
      config(`[defineRole({ name: 'docs', access: [
        { service: shop, component: '_doc', verbs: ['GET'] },
        { service: shop, component: '_table/items', verbs: ['GET'] },
      ] })]`),
      ['DFC4044'],
    );
    expect(found).toEqual([
      {
        code: 'DFC4044',
        path: 'roles.docs.access[0]',
        message: 'role `docs` grants the documentation of `shop` and also its data',
        notes: ['it reaches `shop/_table/items`', 'give documentation readers a role that grants `_doc` alone, and data through other roles (an app can offer several through `roles`)'],
      },
    ]);
  });

  test('a docs-only role, and a role that reaches `_doc` through `*` without a `_doc` entry, are not reported', async () => {
    const found = await diagnose(
      config(`[
        defineRole({ name: 'docs', access: [{ service: shop, component: '_doc', verbs: ['GET'] }] }),
        defineRole({ name: 'reader', access: [{ service: shop, component: '*', verbs: ['GET'] }] }),
      ]`),
      ['DFC4044'],
    );
    expect(found).toEqual([]);
  });
});

describe('rules in context (DFC4039, DFC4040, DFC4003)', () => {
  test("a requirement's rule that always holds is reported without the table rule's session wording", async () => {
    const dir = join(tmp.dir, `c${++n}`);
    mkdirSync(dir);
    writeFileSync(
      join(dir, 'dfc.config.ts'),
      `import { defineConfig, defineRule, defineService } from 'dfc';
const shop = defineService({
  name: 'shop',
  database: { type: 'sqlite', file: './shop.db' },
  tables: { orders: { columns: { id: 'integer' }, primaryKey: 'id', security: { always: { type: 'rule', rule: { rule: 'match', eval: '<', type: 'number', f1: 1, f2: 2 } } } } },
});
export default defineConfig({ services: [shop], rules: [defineRule(shop, 'orders', { read: { rule: 'allow' } })] });
`,
    );
    const result = await check({ config: dir });
    expect(result.diagnostics.filter((d) => d.code === 'DFC4039').map((d) => [d.path, d.message])).toEqual([
      ['services.shop.tables.orders.security.always.rule', 'this `match` always holds'],
    ]);
  });

  test('`remove` and `force` naming a field the table does not have are unknown columns (DFC4003)', async () => {
    const dir = join(tmp.dir, `c${++n}`);
    mkdirSync(dir);
    writeFileSync(
      join(dir, 'dfc.config.mjs'),
      `export default {
  services: [{ name: 'shop', database: { type: 'sqlite', file: './shop.db' }, tables: { orders: { columns: { id: 'integer', owner: 'string' }, primaryKey: 'id' } } }],
  rules: [{ service: 'shop', table: 'orders', rules: {
    read: { rule: 'remove', fields: ['res.ownr'] },
    create: { rule: 'force', field: 'args.doc.ownr', value: 'args.auth.id' },
  } }],
};
`,
    );
    const result = await check({ config: dir });
    expect(result.diagnostics.filter((d) => d.code === 'DFC4003').map((d) => [d.path, d.message])).toEqual([
      ['rules.shop.orders.read.fields[0]', '`res.ownr` names no column of this table'],
      ['rules.shop.orders.create.field', '`args.doc.ownr` names no column of this table'],
    ]);
  });

  test('examples/blog has none of these findings', async () => {
    const result = await check({ config: join(REPO, 'examples', 'blog') });
    expect(result.ok).toBe(true);
    expect(result.diagnostics.map((d) => d.code).filter((c) => ['DFC4039', 'DFC4040', 'DFC4041', 'DFC4042', 'DFC4043', 'DFC4044', 'DFC4008'].includes(c))).toEqual([]);
  });
});
