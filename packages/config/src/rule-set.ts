import type { CheckRuleSet, ContextOf, RuleTable, ServiceLike } from './check.js';
import type { Operation, RuleContext } from './context.js';
import type { CodeArgs, Rule, RuleDocs, RuleKind } from './rules.js';
import type { ChecksOff, HoverDocs } from './index.js';
import { trace } from './trace.js';
import type { RuleSet } from './values.js';

/**
 * The rules of one table: one rule per operation. An operation without a rule is
 * denied (unless the service's `default` table has one).
 */
export type RuleSetOptions<S extends ServiceLike, T extends string> = {
  /** Rule for POST (inserting rows); sees `args.doc`. */
  create?: Rule<ContextOf<S, T, 'create'>>;
  /** Rule for GET; sees `args.find`, `args.opts`; `res` in response rules. */
  read?: Rule<ContextOf<S, T, 'read'>>;
  /** Rule for PUT and PATCH; sees `args.find` and `args.update`. */
  update?: Rule<ContextOf<S, T, 'update'>>;
  /** Rule for DELETE; sees `args.find`. */
  delete?: Rule<ContextOf<S, T, 'delete'>>;
};

/**
 * A rule as the build's first type-check pass takes it (`TypeSettings`
 * `checks: false`): one object type instead of the union of every kind of rule
 * with its completion types, which the checker had to relate every rule to for
 * every table and operation. Only a code rule's `fn` is typed against the table.
 */
export interface LooseRule<X extends RuleContext> {
  rule: RuleKind;
  clauses?: readonly LooseRule<X>[];
  clause?: LooseRule<X>;
  fn?: (args: CodeArgs<X>) => boolean | Promise<boolean>;
  [option: string]: unknown;
}

/** The rules of one table as the build's first pass takes them (see `LooseRule`). */
export type LooseRuleSet<S extends ServiceLike, T extends string> = {
  create?: LooseRule<ContextOf<S, T, 'create'>>;
  read?: LooseRule<ContextOf<S, T, 'read'>>;
  update?: LooseRule<ContextOf<S, T, 'update'>>;
  delete?: LooseRule<ContextOf<S, T, 'delete'>>;
};

/**
 * A rule that holds no code rule, as the build's first pass takes it before trying
 * `LooseRule`: `dfc build` adds a `defineRule` signature that takes a rule set of
 * these ahead of the declared one. The same type for every table, so such a rule set
 * is checked once against it; `LooseRule<X>` mentions the table, and the checker
 * checked every rule set twice against it (once to infer the service and table, once
 * against the table's own type), with most of its time going to the deep contextual
 * types of nested rules. A rule set with a `fn` does not fit here and goes on to the
 * declared signature, which types the function's arguments against the table.
 */
export interface RuleWithoutCode {
  rule: RuleKind;
  clauses?: readonly RuleWithoutCode[];
  clause?: RuleWithoutCode;
  fn?: undefined;
  [option: string]: unknown;
}

/** The rules of one table without a code rule (see `RuleWithoutCode`). */
export type RuleSetWithoutCode = {
  create?: RuleWithoutCode;
  read?: RuleWithoutCode;
  update?: RuleWithoutCode;
  delete?: RuleWithoutCode;
};

/** Hover text for the operations (see `RuleDocs`). */
interface RuleSetDocs {
  /** Rule for POST (inserting rows); sees `args.doc`. */
  create?: RuleDocs;
  /** Rule for GET; sees `args.find`, `args.opts`; `res` in response rules. */
  read?: RuleDocs;
  /** Rule for PUT and PATCH; sees `args.find` and `args.update`. */
  update?: RuleDocs;
  /** Rule for DELETE; sees `args.find`. */
  delete?: RuleDocs;
}

/** The rule type for one operation of one table, for rules written apart from `defineRule`. */
export type RuleFor<S extends ServiceLike, T extends RuleTable<S>, Op extends Operation | 'any' = 'any'> = Rule<
  ContextOf<S, T, Op>
>;

/**
 * Declares the rules of a table (Space Cloud's rule JSON), typed against its
 * columns: every path (`args.find.userId`, `res.password`, …) autocompletes and a
 * typo is an error. `table` may also be `default`: rules for every table that has
 * none for an operation (their paths are checked against all the service's columns).
 *
 * @example
 * export const posts = defineRule(blog, 'posts', {
 *   read: { rule: 'allow' },
 *   update: { rule: 'match', eval: '==', type: 'string', f1: 'args.auth.id', f2: 'args.find.userId' },
 * });
 */
export function defineRule<
  S extends ServiceLike,
  T extends RuleTable<S>,
  R extends ChecksOff extends true ? LooseRuleSet<S, T> : RuleSetOptions<S, T>,
>(
  service: S,
  table: T,
  // Valid: intersected with documentation-only types, whose JSDoc becomes hover
  // text. Invalid: the check's messages alone. In the build's first pass, the loose
  // rule set itself (nothing to infer, so the object is checked once).
  rules: ChecksOff extends true ? LooseRuleSet<S, T> : R extends CheckRuleSet<S, T, R> ? R & HoverDocs<RuleSetDocs> : CheckRuleSet<S, T, R>,
): RuleSet<S['name'], T> {
  const value: unknown = rules; // the checked parameter type is not needed past this point
  return trace('rule', { service: service.name, table, rules: value } as RuleSet<S['name'], T>);
}
