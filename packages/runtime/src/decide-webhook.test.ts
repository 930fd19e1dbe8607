/**
 * A webhook rule's denial tells the client that a webhook decided, never its URL (which
 * may hold a credential in its path or query and names an internal host); with debug on
 * the URL is in the error's detail. A webhook rule's own `error` text is kept.
 */
import { describe, expect, test } from 'vitest';
import { compile } from '@dfc/rules';
import type { PolicyAccess, PolicyService, Rule } from '@dfc/schema';
import { compilePolicy } from './compiled.js';
import { decide } from './decide.js';
import { errorBody } from './errors.js';
import type { RuleContext } from './rule-types.js';
import { makeArtifact, makePolicy } from './testing.js';

const URL_WITH_TOKEN = 'https://hooks.example.com/services/T000/B000/s3cr3t-hook-token?key=k3y';
const service: PolicyService = {
  database: { type: 'sqlite', file: 'x.db' },
  maxRecords: 100,
  security: [{ name: 'public', type: 'allowAnonymous' }],
  tables: { t: { primaryKey: 'id', columns: { id: { type: 'integer', nullable: false } } } },
};
const access: PolicyAccess = { service: 'svc', component: '*', verbs: ['POST'], requestor: ['api'], filters: [], filterOp: 'AND' };

function setup(create: Rule) {
  const policy = makePolicy({
    services: { svc: service },
    rules: { svc: { t: { create } } },
    roles: { r: { active: true, access: [access] } },
    apps: { web: { apiKey: { $secret: 'KEY' }, role: 'r', roles: [], active: true } },
  });
  const compiled = compilePolicy(makeArtifact(policy, { rules: { 'svc/t/create': compile(create, 'rules.svc.t.create') } }), { env: { KEY: 'k-0123456789abcdef' } });
  return (fetch: RuleContext['fetch']) => decide(compiled, { apiKey: 'k-0123456789abcdef', service: 'svc', table: 't', verb: 'POST', claims: { id: 'u1' }, args: { doc: { id: 1 } } }, { fetch });
}

describe('webhook denials', () => {
  const nested: Rule = { rule: 'and', clauses: [{ rule: 'allow' }, { rule: 'webhook', url: URL_WITH_TOKEN, timeout: 1000, name: 'moderation' }] };
  const run = setup(nested);

  test.each([
    ['a refusal (302)', async () => ({ status: 302, body: {} }), 'the webhook refused the request'],
    ['a failure', async () => Promise.reject(new Error('connect ECONNREFUSED')), 'the webhook could not be called'],
    ['an answer that is not JSON', async () => ({ status: 200, body: undefined }), 'the webhook could not be called'],
  ] as const)('%s names no URL; debug output has it', async (_name, fetch, message) => {
    const d = await run(fetch as RuleContext['fetch']);
    expect(d.allow).toBe(false);
    if (d.allow) return;
    expect(d.error.code).toBe('DFC_ERR_RULE_DENIED');
    expect(d.error.message).toBe(message);
    expect(d.error.note).toBe('rule `moderation` decided');
    const production = JSON.stringify(errorBody(d.error, 'id', false));
    expect(production).not.toContain('hooks.example.com');
    expect(production).not.toContain('s3cr3t');
    expect(JSON.stringify(errorBody(d.error, 'id', true))).toContain('hooks.example.com');
  });

  test("a webhook rule's own error text is kept, and other rules' reasons are unchanged", async () => {
    const own = setup({ rule: 'webhook', url: URL_WITH_TOKEN, error: 'moderation refused this comment' });
    const d = await own(async () => ({ status: 403, body: {} }));
    expect(!d.allow && d.error.message).toBe('moderation refused this comment');
    const match = setup({ rule: 'and', clauses: [{ rule: 'webhook', url: URL_WITH_TOKEN }, { rule: 'deny' }] });
    const m = await match(async () => ({ status: 200, body: { ok: true } }));
    expect(!m.allow && m.error.message).toBe('the operation is denied');
  });
});
