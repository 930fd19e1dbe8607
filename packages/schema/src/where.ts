import type { Json } from './rule.js';

/**
 * A row condition, the one form every filter takes before it reaches SQL: the
 * client's `filter` parameter (parsed by the runtime), role filters, and conditions
 * forced by rules. Values are data, bound as parameters when rendered to SQL; column
 * names are checked against the table before a Where is built.
 *
 * Conditions are combined at the root (`{ kind: 'and', items: [client, role, rule] }`),
 * never by pasting text.
 */
export type Where =
  | { kind: 'and'; items: Where[] }
  | { kind: 'or'; items: Where[] }
  | { kind: 'not'; item: Where }
  | { kind: 'cmp'; column: string; op: CmpOp; value: Json }
  | { kind: 'in'; column: string; values: Json[]; negated: boolean }
  /** SQL LIKE with `%`/`_` wildcards; `\` escapes them. */
  | { kind: 'like'; column: string; pattern: string; negated: boolean }
  | { kind: 'null'; column: string; negated: boolean }
  | { kind: 'const'; value: boolean };

export type CmpOp = '=' | '!=' | '>' | '>=' | '<' | '<=';

export const TRUE: Where = { kind: 'const', value: true };
export const FALSE: Where = { kind: 'const', value: false };

/**
 * AND of the given conditions, dropping `true`s and repeated conditions (a role filter and
 * a rule often force the same owner column), collapsing to `false` where one is.
 */
export function andWhere(items: readonly (Where | undefined)[]): Where {
  const kept: Where[] = [];
  const seen = new Set<string>();
  const keep = (w: Where) => {
    const key = JSON.stringify(w);
    if (seen.has(key)) return;
    seen.add(key);
    kept.push(w);
  };
  for (const w of items) {
    if (!w || (w.kind === 'const' && w.value)) continue;
    if (w.kind === 'const') return FALSE;
    if (w.kind === 'and') w.items.forEach(keep);
    else keep(w);
  }
  if (kept.length === 0) return TRUE;
  return kept.length === 1 ? kept[0]! : { kind: 'and', items: kept };
}

/** Escape `%`, `_` and `\` so a value matches itself literally inside a LIKE pattern. */
export function escapeLike(value: string): string {
  return value.replace(/[\\%_]/g, (c) => '\\' + c);
}

/** Equality conditions at the top of a where clause: what rules see as `args.find`. */
export function findOf(where: Where): Record<string, unknown> | undefined {
  const items = where.kind === 'and' ? where.items : [where];
  const find: Record<string, unknown> = {};
  let any = false;
  for (const w of items) {
    if (w.kind === 'cmp' && w.op === '=') {
      find[w.column] = w.value;
      any = true;
    } else if (w.kind === 'in' && !w.negated && w.values.length === 1) {
      find[w.column] = w.values[0];
      any = true;
    }
  }
  return any ? find : undefined;
}
