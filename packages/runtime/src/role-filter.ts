import { FALSE, TRUE, type PolicyAccess, type Where } from '@dfc/schema';
import { roleFilterWhere, type LookupScope } from '@dfc/rules';

/**
 * Role filters (DreamFactory server-side filters) as Where conditions, through the rule
 * engine's `roleFilterWhere`: lookups such as `{user.id}` become bound values, never
 * filter text, and a lookup with no value makes the entry's condition false (fail closed).
 */
export type { LookupScope };

/** One access entry's filters, combined by its `filterOp`; TRUE when it has none. */
export function entryWhere(entry: PolicyAccess, scope: LookupScope): Where {
  return roleFilterWhere(entry.filters, entry.filterOp, scope).where;
}

/** The rows a set of granting entries allows: any of them (entries of one tier are unioned, like their verbs). */
export function entriesWhere(entries: readonly PolicyAccess[], scope: LookupScope): Where {
  if (entries.length === 0) return FALSE;
  // Deduplicated and in a canonical order, so the order of entries and repeated entries
  // never change the condition (tested as a property).
  const items = new Map<string, Where>();
  for (const e of entries) {
    const w = entryWhere(e, scope);
    if (w.kind === 'const' && w.value) return TRUE;
    if (w.kind === 'const') continue;
    items.set(JSON.stringify(w), w);
  }
  if (items.size === 0) return FALSE;
  const sorted = [...items.keys()].sort().map((k) => items.get(k)!);
  return sorted.length === 1 ? sorted[0]! : { kind: 'or', items: sorted };
}
