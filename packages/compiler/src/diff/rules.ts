import { canonicalJson, type Rule } from '@dfc/schema';
import type { ChangeClass } from './types.js';

/**
 * Orders rules by how much they allow, where that can be shown from their shape alone.
 * The comparison is sound but incomplete: when it cannot prove an edit narrows access
 * it says so, and the caller treats the edit as broadening (fail closed in review).
 */
export type RuleComparison = ChangeClass | 'unknown';

/** Rules that only decide (no mutation, no I/O): their clause order carries no meaning. */
function isPure(rule: Rule): boolean {
  switch (rule.rule) {
    case 'allow':
    case 'deny':
    case 'authenticated':
    case 'match':
      return true;
    case 'and':
    case 'or':
      return rule.clauses.every(isPure);
    default:
      return false;
  }
}

/**
 * The form two rules are compared in: `name`/`error` dropped (they change messages,
 * not decisions) and the clauses of pure `and`/`or` sorted, so reordering is no change.
 */
export function canonicalRule(rule: Rule): Rule {
  const { name: _n, error: _e, ...rest } = rule as Rule & { name?: string; error?: string };
  const r = rest as Rule;
  if (r.rule === 'and' || r.rule === 'or') {
    const clauses = r.clauses.map(canonicalRule);
    if (isPure(r)) clauses.sort((a, b) => (canonicalJson(a) < canonicalJson(b) ? -1 : canonicalJson(a) > canonicalJson(b) ? 1 : 0));
    return { ...r, clauses };
  }
  if ('clause' in r && r.clause) return { ...r, clause: canonicalRule(r.clause) } as Rule;
  return r;
}

export function sameRule(a: Rule | undefined, b: Rule | undefined): boolean {
  if (!a || !b) return a === b;
  return canonicalJson(canonicalRule(a)) === canonicalJson(canonicalRule(b));
}

const keyOf = (r: Rule) => canonicalJson(canonicalRule(r));

/** Response fields a rule removes (`remove res.…`), whatever its clause says. */
export function removedResponseFields(rule: Rule | undefined): Set<string> {
  const out = new Set<string>();
  const walk = (r: Rule) => {
    if (r.rule === 'remove') for (const f of r.fields) if (f.startsWith('res.')) out.add(f);
    if (r.rule === 'and' || r.rule === 'or') r.clauses.forEach(walk);
    if ('clause' in r && r.clause) walk(r.clause);
  };
  if (rule) walk(rule);
  return out;
}

/** Compares what `after` allows with what `before` allows. */
export function compareRules(before: Rule | undefined, after: Rule | undefined): RuleComparison {
  if (sameRule(before, after)) return 'neutral';
  // No rule denies everything; allow permits everything.
  if (!after || after.rule === 'deny') return 'narrows';
  if (!before || before.rule === 'deny') return 'broadens';
  if (after.rule === 'allow') return 'broadens';
  if (before.rule === 'allow') return 'narrows';

  const bKeys = (r: Rule, kind: 'and' | 'or') => (r.rule === kind ? r.clauses.map(keyOf) : [keyOf(r)]);
  for (const kind of ['and', 'or'] as const) {
    if (before.rule !== kind && after.rule !== kind) continue;
    const b = new Set(bKeys(before, kind));
    const a = new Set(bKeys(after, kind));
    const aHasAllB = [...b].every((k) => a.has(k));
    const bHasAllA = [...a].every((k) => b.has(k));
    // More conditions under `and` narrow; more alternatives under `or` broaden.
    if (aHasAllB && !bHasAllA) return kind === 'and' ? 'narrows' : 'broadens';
    if (bHasAllA && !aHasAllB) return kind === 'and' ? 'broadens' : 'narrows';
  }

  // A list for `in`/`notIn` that grew or shrank, everything else equal.
  if (before.rule === 'match' && after.rule === 'match' && before.type === after.type && before.eval === after.eval) {
    if (canonicalJson(before.f1) === canonicalJson(after.f1) && Array.isArray(before.f2) && Array.isArray(after.f2)) {
      const b = new Set(before.f2.map((v) => canonicalJson(v)));
      const a = new Set(after.f2.map((v) => canonicalJson(v)));
      const grew = [...b].every((k) => a.has(k));
      const shrank = [...a].every((k) => b.has(k));
      if (grew !== shrank) {
        const wider = before.eval === 'in' ? grew : shrank; // for notIn, a longer list excludes more
        if (before.eval === 'in' || before.eval === 'notIn') return wider ? 'broadens' : 'narrows';
      }
    }
  }
  return 'unknown';
}
