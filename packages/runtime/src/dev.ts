import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { SignJWT } from 'jose';
import { VERBS, type Policy } from '@dfc/schema';
import { resolveAccess, serviceComponents } from './access.js';
import { secretResolver, type Env } from './secrets.js';

/**
 * Development helpers for the examples: the API key of each app and a freshly signed
 * session token for each seeded user, printed by `dfc serve` only when the config's
 * `.env` is marked as development. Nothing here runs in a production server.
 */

export interface SampleKey {
  app: string;
  role: string | null;
  /** The key, or undefined when only its SHA-256 is stored. */
  key?: string;
}

export interface SampleToken {
  user: string;
  role?: string;
  token: string;
}

export function sampleKeys(policy: Policy, env: Env): SampleKey[] {
  const resolveSecret = secretResolver(env);
  return Object.entries(policy.apps).map(([app, a]) => {
    const out: SampleKey = { app, role: a.role };
    if (!('sha256' in a.apiKey)) {
      try {
        out.key = resolveSecret(a.apiKey, `app ${app}`);
      } catch {
        // unset: shown as unknown
      }
    }
    return out;
  });
}

/**
 * HS* tokens for the `users` rows of each sqlite service's seed (claims `sub`, `id`, and the
 * role claim), valid for `ttl` seconds.
 */
export async function sampleTokens(policy: Policy, env: Env, baseDir: string, ttl = 24 * 3600): Promise<SampleToken[]> {
  const jwt = policy.auth.jwt;
  if (!jwt?.secret) return [];
  const alg = jwt.algorithms.find((a) => a.startsWith('HS'));
  if (!alg) return [];
  const key = new TextEncoder().encode(secretResolver(env)(jwt.secret, 'the session secret'));
  const users: { id: string; role?: string }[] = [];
  for (const svc of Object.values(policy.services)) {
    if (svc.database.type !== 'sqlite' || !svc.database.seed) continue;
    try {
      const rows = JSON.parse(await readFile(resolve(baseDir, svc.database.seed), 'utf8')) as Record<string, unknown>;
      const list = Array.isArray(rows.users) ? rows.users : [];
      for (const u of list as Record<string, unknown>[]) {
        if (typeof u.id === 'string') users.push({ id: u.id, ...(typeof u.role === 'string' ? { role: u.role } : {}) });
      }
    } catch {
      // no seed users: no tokens
    }
  }
  // A seeded role that is no policy role (e.g. `user`) becomes the first role an app lets a
  // session select, never one that grants every verb everywhere (a plain user is no admin).
  const selectable = [...new Set(Object.values(policy.apps).flatMap((a) => a.roles))].filter((r) => !grantsEverything(policy, r));
  const now = Math.floor(Date.now() / 1000);
  const out: SampleToken[] = [];
  for (const seeded of users) {
    const u = { ...seeded };
    if (u.role !== undefined && !Object.hasOwn(policy.roles, u.role) && selectable[0] !== undefined) u.role = selectable[0];
    let t = new SignJWT({ id: u.id, ...(u.role !== undefined && jwt.roleClaim ? { [jwt.roleClaim]: u.role } : {}) })
      .setProtectedHeader({ alg })
      .setSubject(u.id)
      .setIssuedAt(now)
      .setExpirationTime(now + ttl);
    if (jwt.issuer) t = t.setIssuer(jwt.issuer);
    if (jwt.audience?.length) t = t.setAudience(jwt.audience.length === 1 ? jwt.audience[0]! : jwt.audience);
    out.push({ user: u.id, ...(u.role !== undefined ? { role: u.role } : {}), token: await t.sign(key) });
  }
  return out;
}

/** Whether a `.env` text says it holds development values only. */
export function isDevelopmentEnvFile(text: string): boolean {
  return /for local development only/i.test(text) || /^\s*DFC_ENV\s*=\s*development\s*$/m.test(text);
}

/** Whether a role allows every verb on every component of every service. */
function grantsEverything(policy: Policy, roleName: string): boolean {
  const role = policy.roles[roleName];
  if (!role) return false;
  return Object.keys(policy.services).every((service) =>
    serviceComponents(policy, service).every((component) => resolveAccess(role.access, service, component).verbs.size === VERBS.length),
  );
}
