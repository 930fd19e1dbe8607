import Fastify from 'fastify';
import { describe, expect, test } from 'vitest';
import type { PolicyService } from '@dfc/schema';
import { Runtime } from './runtime.js';
import { dfcPlugin } from './plugin.js';
import { makeArtifact, makePolicy } from './testing.js';

const svc: PolicyService = {
  database: { type: 'sqlite', file: ':memory:' },
  maxRecords: 10,
  security: [{ name: 'open', type: 'allowAnonymous' }],
  tables: { t: { primaryKey: 'id', columns: { id: { type: 'integer', nullable: false } } } },
};
const base = {
  services: { s: svc },
  roles: { r: { active: true, access: [{ service: 's', component: '*', verbs: ['GET' as const], requestor: ['api' as const], filters: [], filterOp: 'AND' as const }] } },
  apps: { a: { apiKey: { $secret: 'K' }, role: 'r', roles: [], active: true } },
};
const env = { K: 'key-0123456789' };

describe('debug mode', () => {
  test('refused for a production policy unless explicitly allowed', async () => {
    const prod = makeArtifact(makePolicy({ ...base, environment: 'production' }));
    await expect(Runtime.create({ policy: prod, env, debug: true })).rejects.toMatchObject({ code: 'DFC_ERR_DEBUG_IN_PRODUCTION' });
    const r = await Runtime.create({ policy: prod, env, debug: true, allowDebugInProduction: true });
    expect(r.state.debug).toBe(true);
    await r.close();
  });
  test('adds the decision trace header and error details; production answers carry neither', async () => {
    for (const debug of [true, false]) {
      const app = Fastify();
      await app.register(dfcPlugin, { policy: makeArtifact(makePolicy({ ...base, environment: 'development' })), env, debug });
      // the table has no rule: denied, and the trace says why
      const r = await app.inject({ url: '/api/v2/s/_table/t', headers: { 'x-api-key': env.K } });
      expect(r.statusCode).toBe(403);
      if (debug) {
        const trace = JSON.parse(String(r.headers['x-dfc-decision']));
        expect(trace).toMatchObject({ allow: false, app: 'a', role: 'r', tier: 'service' });
        expect(trace.rule.decision.reason).toBe('no rule allows `read` on `s.t`');
      } else {
        expect(r.headers['x-dfc-decision']).toBeUndefined();
      }
      await app.close();
    }
  });
});
