import { MAX_RULE_DEPTH, RuleSchema, type PolicyRequirement, type Rule } from '@dfc/schema';

/**
 * The shape check both engines run before they touch a rule: the artifact's zod schema
 * plus the depth cap. A rule that fails it is a caller bug (the compiler validates
 * configs and reports diagnostics), so this throws rather than denying.
 */

const checked = new WeakSet<object>();

/** Nesting depth of a rule: 1 for a leaf, +1 per `clauses`/`clause` level. */
export function ruleDepth(rule: unknown): number {
  let max = 0;
  const stack: [unknown, number][] = [[rule, 1]];
  while (stack.length > 0) {
    const [r, d] = stack.pop()!;
    if (typeof r !== 'object' || r === null) continue;
    if (d > max) max = d;
    if (d > MAX_RULE_DEPTH + 1) break;
    const o = r as { clauses?: unknown; clause?: unknown };
    if (Array.isArray(o.clauses)) for (const c of o.clauses) stack.push([c, d + 1]);
    if (o.clause !== undefined) stack.push([o.clause, d + 1]);
  }
  return max;
}

export class InvalidRuleError extends TypeError {
  constructor(message: string) {
    super(message);
    this.name = 'InvalidRuleError';
  }
}

export function assertRule(rule: Rule): void {
  if (typeof rule === 'object' && rule !== null && checked.has(rule)) return;
  if (ruleDepth(rule) > MAX_RULE_DEPTH) throw new InvalidRuleError(`rule nesting is deeper than ${MAX_RULE_DEPTH} levels`);
  const r = RuleSchema.safeParse(rule);
  if (!r.success) {
    const first = r.error.issues[0];
    const where = first?.path.length ? ` at \`${first.path.join('.')}\`` : '';
    throw new InvalidRuleError(`invalid rule${where}: ${first?.message ?? 'unknown problem'}`);
  }
  checked.add(rule);
}

export function assertRequirements(collection: readonly PolicyRequirement[]): void {
  if (!Array.isArray(collection)) throw new InvalidRuleError('a requirement collection must be an array');
  for (const req of collection) {
    if (typeof req !== 'object' || req === null || typeof req.name !== 'string') {
      throw new InvalidRuleError('a requirement must have a `name`');
    }
    if (!['allowAnonymous', 'authenticated', 'role', 'rule'].includes(req.type)) {
      throw new InvalidRuleError(`requirement \`${req.name}\` has an unknown type`);
    }
    if (req.type === 'role' && !(Array.isArray(req.roles) && req.roles.every((x: unknown) => typeof x === 'string'))) {
      throw new InvalidRuleError(`requirement \`${req.name}\` needs \`roles\``);
    }
    if (req.type === 'rule') {
      if (req.rule === undefined) throw new InvalidRuleError(`requirement \`${req.name}\` needs a \`rule\``);
      assertRule(req.rule);
    }
  }
}
