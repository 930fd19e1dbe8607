import type { Verb } from './config.js';
import type { PolicyAccess } from './policy.js';

/**
 * DreamFactory's role service access, as dfc decides it (DESIGN.md "Access model").
 * Shared by the runtime (every request), the compiler (lints, `dfc diff`) and
 * `dfc explain`, so all three agree on what a role grants.
 *
 * Tiers, most specific first; the most specific tier with any matching entry decides,
 * even when it grants fewer verbs than a broader one. Within a tier, verbs are unioned.
 */
export const ACCESS_TIERS = ['exact', 'component', 'service', 'all'] as const;
export type AccessTier = (typeof ACCESS_TIERS)[number];

export interface AccessRequest {
  service: string;
  /**
   * The resource under the service: `_table`, `_table/posts`, `_table/posts/5`,
   * `_schema`, `_schema/posts`, `_doc`, or `` (the service root).
   */
  component: string;
  verb: Verb;
  requestor?: 'api' | 'script';
}

export interface AccessMatch {
  allowed: boolean;
  /** The tier that decided, or undefined when no entry matched at all. */
  tier?: AccessTier;
  /** Entries of the deciding tier that grant the verb (their filters apply). */
  granting: PolicyAccess[];
  /** Entries of the deciding tier, granting the verb or not. */
  matched: PolicyAccess[];
  /** Entries of broader tiers that matched but were overridden by the deciding tier. */
  overridden: PolicyAccess[];
}

/**
 * The component an entry is compared with: dfc lets `_table/posts` cover
 * `_table/posts/{id}` (DreamFactory needs a second `_table/posts/*` entry), so a
 * by-id request is matched as its table.
 */
export function accessComponent(component: string): string {
  const c = component.replace(/^\/+|\/+$/g, '');
  const m = /^(_table|_schema)\/([^/]+)(?:\/.*)?$/.exec(c);
  return m ? `${m[1]}/${m[2]}` : c;
}

/** Which tier an entry falls into for a request, or undefined when it does not match. */
export function accessTier(entry: PolicyAccess, request: AccessRequest): AccessTier | undefined {
  if (!entry.requestor.includes(request.requestor ?? 'api')) return undefined;
  const component = accessComponent(request.component);
  const entryComponent = entry.component.replace(/^\/+|\/+$/g, '');
  if (entry.service === '*') return entryComponent === '*' || entryComponent === '' ? 'all' : undefined;
  if (entry.service !== request.service) return undefined;
  if (entryComponent === component) return 'exact';
  if (entryComponent === '*') return 'service';
  const star = entryComponent.indexOf('*');
  if (star > 0) {
    // `_table/*` matches `_table/posts` and `_table` itself (DreamFactory appends a `/`).
    const prefix = entryComponent.slice(0, star);
    if ((component + '/').startsWith(prefix)) return 'component';
  }
  return undefined;
}

export function matchAccess(entries: readonly PolicyAccess[], request: AccessRequest): AccessMatch {
  const byTier = new Map<AccessTier, PolicyAccess[]>();
  for (const entry of entries) {
    const tier = accessTier(entry, request);
    if (tier === undefined) continue;
    const list = byTier.get(tier);
    if (list) list.push(entry);
    else byTier.set(tier, [entry]);
  }
  const tier = ACCESS_TIERS.find((t) => byTier.has(t));
  if (tier === undefined) return { allowed: false, granting: [], matched: [], overridden: [] };
  const matched = byTier.get(tier)!;
  const granting = matched.filter((e) => e.verbs.includes(request.verb));
  const overridden = ACCESS_TIERS.slice(ACCESS_TIERS.indexOf(tier) + 1).flatMap((t) => byTier.get(t) ?? []);
  return { allowed: granting.length > 0, tier, granting, matched, overridden };
}

/** A role's entries, grouped by what they can match (`indexAccess`). */
export interface AccessIndex {
  /** The entries that can match `component` of `service`, in the order written. */
  candidates(service: string, component: string): readonly PolicyAccess[];
}

/**
 * A role's entries grouped so that each component is matched against the entries that
 * can match it, not all of them (matching every component of every service against
 * every entry is quadratic in tables).
 *
 * invariant: `candidates(s, c)` holds every entry for which `accessTier` can return a
 * tier for service `s` and component `c` (an entry without `*` matches only its own
 * component exactly; `*` services and wildcard components are always candidates), in
 * the order written, so `matchAccess` over it decides exactly as over all entries.
 */
export function indexAccess(entries: readonly PolicyAccess[]): AccessIndex {
  const everyService: number[] = [];
  const byService = new Map<string, { exact: Map<string, number[]>; wild: number[] }>();
  entries.forEach((entry, i) => {
    if (entry.service === '*') {
      everyService.push(i);
      return;
    }
    let s = byService.get(entry.service);
    if (!s) byService.set(entry.service, (s = { exact: new Map(), wild: [] }));
    const c = entry.component.replace(/^\/+|\/+$/g, '');
    if (c.includes('*')) s.wild.push(i);
    else {
      const list = s.exact.get(c);
      if (list) list.push(i);
      else s.exact.set(c, [i]);
    }
  });
  return {
    candidates(service, component) {
      const s = byService.get(service);
      const exact = s?.exact.get(accessComponent(component)) ?? [];
      const picked = [...everyService, ...(s?.wild ?? []), ...exact];
      if (picked.length === entries.length) return entries;
      return picked.sort((a, b) => a - b).map((i) => entries[i]!);
    },
  };
}
