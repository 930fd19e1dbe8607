import { VERBS, indexAccess, matchAccess, type AccessTier, type Policy, type PolicyAccess, type Verb } from '@dfc/schema';

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
  /**
   * `verbs` as bits ({@link verbBit}), and the verbs one of whose granting entries has no
   * filters (the role's condition is then TRUE whatever the session): a request reads
   * them from the object it already holds instead of a Set, a Map and the entries.
   */
  verbBits: number;
  unfilteredBits: number;
}

/** A verb's bit in {@link AccessMatch.verbBits}; 0 for anything else. */
export function verbBit(verb: string): number {
  switch (verb) {
    case 'GET':
      return 1;
    case 'POST':
      return 2;
    case 'PUT':
      return 4;
    case 'PATCH':
      return 8;
    case 'DELETE':
      return 16;
    default:
      return 0;
  }
}

export function resolveAccess(access: readonly PolicyAccess[], service: string, component: string): AccessMatch {
  const verbs = new Set<Verb>();
  const granting = new Map<Verb, readonly PolicyAccess[]>();
  let first: ReturnType<typeof matchAccess> | undefined;
  let verbBits = 0;
  let unfilteredBits = 0;
  for (const verb of VERBS) {
    const m = matchAccess(access, { service, component, verb, requestor: 'api' });
    first ??= m;
    if (m.allowed) {
      verbs.add(verb);
      granting.set(verb, m.granting);
      verbBits |= verbBit(verb);
      if (m.granting.some((e) => e.filters.length === 0)) unfilteredBits |= verbBit(verb);
    }
  }
  return { tier: first?.tier ?? null, matched: first?.matched ?? [], overridden: first?.overridden ?? [], verbs, granting, verbBits, unfilteredBits };
}

/** Every component a service serves. */
export function serviceComponents(policy: Policy, service: string): string[] {
  const svc = policy.services[service];
  if (!svc) return [];
  const tables = Object.keys(svc.tables);
  return ['_table', ...tables.map((t) => `_table/${t}`), '_schema', ...tables.map((t) => `_schema/${t}`), '_doc'];
}

/**
 * role → `service\0component` → access, for every component of every service, each
 * resolved against the role's entries that can match it (@dfc/schema's `indexAccess`;
 * against every entry, loading 10,000 tables with an entry each took minutes).
 */
export function precomputeAccess(policy: Policy): Map<string, Map<string, AccessMatch>> {
  const out = new Map<string, Map<string, AccessMatch>>();
  for (const [roleName, role] of Object.entries(policy.roles)) {
    const index = indexAccess(role.access);
    const m = new Map<string, AccessMatch>();
    for (const service of Object.keys(policy.services)) {
      for (const component of serviceComponents(policy, service)) {
        m.set(service + '\0' + component, resolveAccess(index.candidates(service, component), service, component));
      }
    }
    out.set(roleName, m);
  }
  return out;
}
