import { z } from 'zod';

/**
 * Space Cloud's rule JSON, as dfc stores it. The TypeScript types here are the
 * untyped (string-path) form that the compiler, the rule engine and the artifact
 * share; `@dfc/config` has the authoring form, typed against a table's columns.
 */

export const RULE_KINDS = [
  'allow',
  'deny',
  'authenticated',
  'match',
  'and',
  'or',
  'query',
  'remove',
  'force',
  'encrypt',
  'decrypt',
  'hash',
  'webhook',
  'code',
] as const;
export type RuleKind = (typeof RULE_KINDS)[number];

export const MATCH_EVALS = ['==', '!=', '>', '>=', '<', '<=', 'in', 'notIn'] as const;
export type MatchEval = (typeof MATCH_EVALS)[number];

export const MATCH_TYPES = ['string', 'number', 'bool', 'date'] as const;
export type MatchType = (typeof MATCH_TYPES)[number];

/** The operations a table rule set may name (Space Cloud's CRUD keys). */
export const OPERATIONS = ['create', 'read', 'update', 'delete'] as const;
export type Operation = (typeof OPERATIONS)[number];

/** Path segments that would reach an object's prototype; refused everywhere. */
export const FORBIDDEN_SEGMENTS: ReadonlySet<string> = new Set(['__proto__', 'constructor', 'prototype']);

/** How deep `and`/`or`/`clause` nesting may go before the config is refused. */
export const MAX_RULE_DEPTH = 64;

/** JSON data: what a rule may hold as a literal. */
export type Json = string | number | boolean | null | Json[] | { [key: string]: Json };

interface RuleMeta {
  /** Shown in denial messages and logs. */
  name?: string;
  /** Replaces the denial message when this rule denies. */
  error?: string;
}

export interface AllowRule extends RuleMeta {
  rule: 'allow';
}
export interface DenyRule extends RuleMeta {
  rule: 'deny';
}
export interface AuthenticatedRule extends RuleMeta {
  rule: 'authenticated';
}
export interface MatchRule extends RuleMeta {
  rule: 'match';
  eval: MatchEval;
  type: MatchType;
  f1: Json;
  f2: Json;
}
export interface AndRule<C = CodeRef> extends RuleMeta {
  rule: 'and';
  clauses: Rule<C>[];
}
export interface OrRule<C = CodeRef> extends RuleMeta {
  rule: 'or';
  clauses: Rule<C>[];
}
export interface QueryRule<C = CodeRef> extends RuleMeta {
  rule: 'query';
  /** The service to read from (Space Cloud's database alias). */
  db: string;
  /** The table to read from (Space Cloud's collection). */
  col: string;
  /** Equality conditions; string values that are `args.`/`utils.` paths are resolved. */
  find: { [column: string]: Json };
  /** Where the rows are stored for `clause` to see; default `args.result`. */
  store?: string;
  /** Decides the rule from the rows; without it the rule passes when a row was found. */
  clause?: Rule<C>;
}
export interface RemoveRule<C = CodeRef> extends RuleMeta {
  rule: 'remove';
  fields: string[];
  clause?: Rule<C>;
}
export interface ForceRule<C = CodeRef> extends RuleMeta {
  rule: 'force';
  field: string;
  value: Json;
  clause?: Rule<C>;
}
export interface EncryptRule<C = CodeRef> extends RuleMeta {
  rule: 'encrypt';
  fields: string[];
  clause?: Rule<C>;
}
export interface DecryptRule<C = CodeRef> extends RuleMeta {
  rule: 'decrypt';
  fields: string[];
  clause?: Rule<C>;
}
export interface HashRule<C = CodeRef> extends RuleMeta {
  rule: 'hash';
  fields: string[];
  clause?: Rule<C>;
}
export interface WebhookRule<C = CodeRef> extends RuleMeta {
  rule: 'webhook';
  /** A literal URL from the config; nothing from the request reaches it. */
  url: string;
  /** Milliseconds before the call is abandoned (and the rule denies). */
  timeout?: number;
  store?: string;
  clause?: Rule<C>;
}

/** A `code` rule as written in the config: a function of the rule input. */
export type CodeFunction = (args: Record<string, unknown>) => boolean | Promise<boolean>;
export interface CodeRuleSource extends RuleMeta {
  rule: 'code';
  fn: CodeFunction;
}
/** A `code` rule as stored in the artifact: the function lives in policy.mjs. */
export interface CodeRef extends RuleMeta {
  rule: 'code';
  /** Minted id, the key of the function in policy.mjs. */
  id: string;
  /** `sha256:` of the function source, so a changed function changes the policy hash. */
  sourceHash: string;
  /** Whether the function returns a promise. */
  async: boolean;
}

export type Rule<C = CodeRef> =
  | AllowRule
  | DenyRule
  | AuthenticatedRule
  | MatchRule
  | AndRule<C>
  | OrRule<C>
  | QueryRule<C>
  | RemoveRule<C>
  | ForceRule<C>
  | EncryptRule<C>
  | DecryptRule<C>
  | HashRule<C>
  | WebhookRule<C>
  | C;

/** A rule as loaded from a config (code rules still hold their function). */
export type SourceRule = Rule<CodeRuleSource>;

// ---------------------------------------------------------------------------
// zod

export const JsonSchema: z.ZodType<Json> = z.lazy(() =>
  z.union([
    z.string(),
    z.number().refine(Number.isFinite, { message: 'numbers must be finite' }),
    z.boolean(),
    z.null(),
    z.array(JsonSchema),
    z.record(z.string(), JsonSchema),
  ]),
);

/** A string operand that names a variable (Space Cloud resolves these; others are literals). */
export function isVariablePath(value: unknown): value is string {
  return typeof value === 'string' && /^(args|res|utils)\./.test(value);
}

function hasForbiddenSegment(path: string): boolean {
  return path.split(/[.[\]()]/).some((s) => FORBIDDEN_SEGMENTS.has(s));
}

/** An operand: JSON data, where a string that is a variable path must not reach a prototype. */
const OperandSchema = JsonSchema.refine((v) => !(isVariablePath(v) && hasForbiddenSegment(v)), {
  message: 'path segments `__proto__`, `constructor` and `prototype` are not allowed',
});

const meta = { name: z.string().min(1).optional(), error: z.string().min(1).optional() };

/** A dotted variable path such as `args.doc.title`; prototype segments are refused. */
export const PathSchema = z
  .string()
  .min(1)
  .refine((p) => !hasForbiddenSegment(p), {
    message: 'path segments `__proto__`, `constructor` and `prototype` are not allowed',
  });

/** Fields a transform rule touches: `args.…` (request) or `res.…` (each returned row). */
const FieldPathSchema = PathSchema.refine((p) => /^(args|res)\./.test(p), {
  message: 'a field must start with `args.` or `res.`',
});

function makeRuleSchema<C extends z.ZodType>(code: C) {
  // Built with getters so that zod 4 (and z.toJSONSchema) sees the recursion.
  const clause = () => rule.optional();
  const rule: z.ZodType = z.discriminatedUnion('rule', [
    z.strictObject({ rule: z.literal('allow'), ...meta }),
    z.strictObject({ rule: z.literal('deny'), ...meta }),
    z.strictObject({ rule: z.literal('authenticated'), ...meta }),
    z.strictObject({
      rule: z.literal('match'),
      eval: z.enum(MATCH_EVALS),
      type: z.enum(MATCH_TYPES),
      f1: OperandSchema,
      f2: OperandSchema,
      ...meta,
    }),
    z.strictObject({
      rule: z.literal('and'),
      get clauses() {
        return z.array(rule);
      },
      ...meta,
    }),
    z.strictObject({
      rule: z.literal('or'),
      get clauses() {
        return z.array(rule);
      },
      ...meta,
    }),
    z.strictObject({
      rule: z.literal('query'),
      db: z.string().min(1),
      col: z.string().min(1),
      find: z.record(z.string(), OperandSchema),
      store: PathSchema.optional(),
      get clause() {
        return clause();
      },
      ...meta,
    }),
    z.strictObject({
      rule: z.literal('remove'),
      fields: z.array(FieldPathSchema),
      get clause() {
        return clause();
      },
      ...meta,
    }),
    z.strictObject({
      rule: z.literal('force'),
      field: FieldPathSchema,
      value: OperandSchema,
      get clause() {
        return clause();
      },
      ...meta,
    }),
    ...(['encrypt', 'decrypt', 'hash'] as const).map((kind) =>
      z.strictObject({
        rule: z.literal(kind),
        fields: z.array(FieldPathSchema),
        get clause() {
          return clause();
        },
        ...meta,
      }),
    ),
    z.strictObject({
      rule: z.literal('webhook'),
      url: z.string().min(1),
      timeout: z.number().int().positive().max(60_000).optional(),
      store: PathSchema.optional(),
      get clause() {
        return clause();
      },
      ...meta,
    }),
    code,
  ] as unknown as [z.ZodObject, ...z.ZodObject[]]);
  return rule;
}

/** The artifact's form of a `code` rule. */
export const CodeRefSchema = z.strictObject({
  rule: z.literal('code'),
  id: z.string().regex(/^[a-z][a-z0-9]*$/),
  sourceHash: z.string().regex(/^sha256:[0-9a-f]{64}$/),
  async: z.boolean(),
  ...meta,
});

/** The config's form of a `code` rule. */
export const CodeRuleSourceSchema = z.strictObject({
  rule: z.literal('code'),
  fn: z.custom<CodeFunction>((v) => typeof v === 'function', { message: 'expected a function' }),
  ...meta,
});

/** A rule as stored in policy.json. */
export const RuleSchema = makeRuleSchema(CodeRefSchema) as z.ZodType<Rule>;
/** A rule as written in a config. */
export const SourceRuleSchema = makeRuleSchema(CodeRuleSourceSchema) as z.ZodType<SourceRule>;
