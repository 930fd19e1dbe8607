import { VERBS, matchAccess, type AccessTier, type Policy, type PolicyAccess, type Verb } from '@dfc/schema';

/**
 * DreamFactory role service access (tiers decided by @dfc/schema's `matchAccess`, which
 * the compiler and `dfc explain` share), resolved once at load for every
 * (role, service, component) the policy can serve, so a request does one Map lookup.
 */

export type Tier = AccessTier;

export interface AccessMatch {
  /** The deciding tier, or null when no entry matched. */
  tier: Tier | null;
  /** Entries of the deciding tier. */
  matched: readonly PolicyAccess[];
  /** Entries of broader tiers that matched and were overridden. */
  overridden: readonly PolicyAccess[];
  verbs: ReadonlySet<Verb>;
  /** Per verb, the entries of the deciding tier that grant it (their filters apply). */
  granting: ReadonlyMap<Verb, readonly PolicyAccess[]>;
}

export function resolveAccess(access: readonly PolicyAccess[], service: string, component: string): AccessMatch {
  const verbs = new Set<Verb>();
  const granting = new Map<Verb, readonly PolicyAccess[]>();
  let first: ReturnType<typeof matchAccess> | undefined;
  for (const verb of VERBS) {
    const m = matchAccess(access, { service, component, verb, requestor: 'api' });
    first ??= m;
    if (m.allowed) {
      verbs.add(verb);
      granting.set(verb, m.granting);
    }
  }
  return { tier: first?.tier ?? null, matched: first?.matched ?? [], overridden: first?.overridden ?? [], verbs, granting };
}

/** Every component a service serves. */
export function serviceComponents(policy: Policy, service: string): string[] {
  const svc = policy.services[service];
  if (!svc) return [];
  const tables = Object.keys(svc.tables);
  return ['_table', ...tables.map((t) => `_table/${t}`), '_schema', ...tables.map((t) => `_schema/${t}`), '_doc'];
}

/** role → `service\0component` → access, for every component of every service. */
export function precomputeAccess(policy: Policy): Map<string, Map<string, AccessMatch>> {
  const out = new Map<string, Map<string, AccessMatch>>();
  for (const [roleName, role] of Object.entries(policy.roles)) {
    const m = new Map<string, AccessMatch>();
    for (const service of Object.keys(policy.services)) {
      for (const component of serviceComponents(policy, service)) {
        m.set(service + '\0' + component, resolveAccess(role.access, service, component));
      }
    }
    out.set(roleName, m);
  }
  return out;
}
