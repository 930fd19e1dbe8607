import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decodeJwt } from 'jose';
import { afterAll, expect, test } from 'vitest';
import type { PolicyAccess } from '@dfc/schema';
import { sampleTokens } from './dev.js';
import { makePolicy } from './testing.js';

const dir = mkdtempSync(join(tmpdir(), 'dfc-dev-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const entry = (service: string, component: string, verbs: PolicyAccess['verbs']): PolicyAccess => ({ service, component, verbs, requestor: ['api'], filters: [], filterOp: 'AND' });

test('a seeded user whose role is no policy role gets a selectable role, never one that grants everything', async () => {
  writeFileSync(join(dir, 'seed.json'), JSON.stringify({ users: [{ id: 'alice', role: 'user' }, { id: 'carol', role: 'admin' }] }));
  const policy = makePolicy({
    services: { s: { database: { type: 'sqlite', file: 'x.db', seed: 'seed.json' }, maxRecords: 10, security: [], tables: { t: { primaryKey: 'id', columns: { id: { type: 'integer', nullable: false } } } } } },
    roles: {
      admin: { active: true, access: [entry('*', '*', ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'])] },
      editor: { active: true, access: [entry('s', '_table/t', ['GET', 'POST'])] },
    },
    // `back` comes first by name and lets sessions select `admin`
    apps: {
      back: { apiKey: { $secret: 'K1' }, role: null, roles: ['admin'], active: true },
      web: { apiKey: { $secret: 'K2' }, role: null, roles: ['editor'], active: true },
    },
    auth: { jwt: { secret: { $secret: 'JWT' }, algorithms: ['HS256'], roleClaim: 'role', clockTolerance: 5 }, queryCredentials: true },
  });
  const tokens = await sampleTokens(policy, { JWT: 'j'.repeat(40) }, dir);
  expect(tokens.map((t) => [t.user, t.role, decodeJwt(t.token).role])).toEqual([
    ['alice', 'editor', 'editor'],
    ['carol', 'admin', 'admin'],
  ]);
});
