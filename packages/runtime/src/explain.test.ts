import Fastify from 'fastify';
import { describe, expect, test } from 'vitest';
import { compile, compileRequirements } from '@dfc/rules';
import type { PolicyService } from '@dfc/schema';
import { dfcPlugin } from './plugin.js';
import { makeArtifact, makePolicy } from './testing.js';

const svc: PolicyService = {
  database: { type: 'sqlite', file: ':memory:' },
  maxRecords: 10,
  security: [{ name: 'open', type: 'allowAnonymous' }],
  tables: { t: { primaryKey: 'id', columns: { id: { type: 'integer', nullable: false }, owner: { type: 'string', nullable: false } } } },
};
const rule = { rule: 'match', eval: '==', type: 'string', f1: 'args.auth.id', f2: 'args.find.owner', name: 'owner' } as const;
const policy = makePolicy({
  environment: 'development',
  services: { s: svc },
  rules: { s: { t: { delete: rule } } },
  roles: { r: { active: true, access: [{ service: 's', component: '*', verbs: ['GET', 'DELETE'], requestor: ['api'], filters: [], filterOp: 'AND' }] } },
  apps: { a: { apiKey: { $secret: 'K' }, role: 'r', roles: [], active: true } },
  cors: [{ path: '/api/v2/*', origins: ['https://app.example.com'], methods: ['GET'], headers: [], exposedHeaders: [], maxAge: 0, supportsCredentials: false, enabled: true }],
});
const artifact = makeArtifact(policy, {
  rules: { 's/t/delete': compile(rule, 'rules.s.t.delete') },
  requirements: { s: compileRequirements([{ collection: svc.security, path: 'services.s.security', implicitAuthenticated: true }]) },
});
const env = { K: 'key-0123456789' };

describe('`?explain` (debug mode only)', () => {
  test('answers with the decision path instead of running the request', async () => {
    const app = Fastify();
    await app.register(dfcPlugin, { policy: artifact, env, debug: true });
    const r = await app.inject({ method: 'DELETE', url: '/api/v2/s/_table/t?filter=owner%3D%27bob%27&explain', headers: { 'x-api-key': env.K, origin: 'https://app.example.com' } });
    expect(r.statusCode).toBe(200);
    const { explain } = r.json();
    expect(explain).toMatchObject({
      allow: false,
      status: 401,
      error: { code: 'DFC_ERR_AUTH_REQUIRED' },
      request: { app: 'a', service: 's', component: '_table/t', verb: 'DELETE', session: false },
      cors: { origin: 'https://app.example.com', path: '/api/v2/*', allowed: true },
      trace: { app: 'a', role: 'r', roleSource: 'app default', access: { tier: 'service', verb: 'DELETE' } },
    });
    expect(explain.trace.rule).toMatchObject({ key: 's/t/delete', path: 'rules.s.t.delete', agrees: true });
    expect(explain.trace.rule.events[0]).toMatchObject({ kind: 'match', outcome: 'unauthenticated' });
    await app.close();
  });

  test('is an ordinary query parameter without debug: the request runs as usual', async () => {
    const app = Fastify();
    await app.register(dfcPlugin, { policy: artifact, env, debug: false });
    const r = await app.inject({ method: 'DELETE', url: '/api/v2/s/_table/t?filter=owner%3D%27bob%27&explain', headers: { 'x-api-key': env.K } });
    expect(r.statusCode).toBe(401);
    expect(r.json().error.code).toBe('DFC_ERR_AUTH_REQUIRED');
    expect(r.json()).not.toHaveProperty('explain');
    await app.close();
  });
});
