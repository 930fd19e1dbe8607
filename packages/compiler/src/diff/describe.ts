import { canonicalJson, type Json, type Rule } from '@dfc/schema';

/** A short, one-line rendering of a rule for change messages (`match args.auth.id == args.find.userId`). */
export function describeRule(rule: Rule | undefined, budget = 120): string {
  if (!rule) return 'no rule (denied by default)';
  const text = render(rule);
  return text.length > budget ? text.slice(0, budget - 1) + '…' : text;
}

function operand(value: Json): string {
  return typeof value === 'string' && /^(args|res|utils)\./.test(value) ? value : canonicalJson(value);
}

function render(rule: Rule): string {
  switch (rule.rule) {
    case 'allow':
    case 'deny':
    case 'authenticated':
      return rule.rule;
    case 'match':
      return `match ${operand(rule.f1)} ${rule.eval} ${operand(rule.f2)}`;
    case 'and':
    case 'or':
      return `${rule.rule}(${rule.clauses.map(render).join(', ')})`;
    case 'query':
      return `query ${rule.db}.${rule.col} ${canonicalJson(rule.find)}${rule.clause ? ` then ${render(rule.clause)}` : ''}`;
    case 'remove':
    case 'encrypt':
    case 'decrypt':
    case 'hash':
      return `${rule.rule} ${rule.fields.join(', ')}${rule.clause ? ` when ${render(rule.clause)}` : ''}`;
    case 'force':
      return `force ${rule.field} = ${operand(rule.value)}${rule.clause ? ` when ${render(rule.clause)}` : ''}`;
    case 'webhook':
      return `webhook ${rule.url}`;
    case 'code':
      return `code ${rule.id} (${rule.sourceHash.slice(7, 19)})`;
  }
}
