import type { CodeFunction, Json, Rule, RuleKind } from '@dfc/schema';

/**
 * What a rule sees. `args` holds the request (Space Cloud's variables); `res` holds
 * the row or rows being returned, for response rules. Mutating rules (remove, force,
 * encrypt, decrypt, hash) change `input.args` in place; their `res.…` work is applied
 * to `input.res` at the end when it is given, or returned in `Decision.response`.
 */
export interface RuleInput {
  args: {
    /** JWT claims; absent when the caller has no session. */
    auth?: Record<string, unknown>;
    /** Equality conditions of the request's where clause (read, update, delete). */
    find?: Record<string, unknown>;
    /** The document being inserted (create). */
    doc?: Record<string, unknown>;
    /** The update (`{ $set: {...} }` and friends). */
    update?: Record<string, unknown>;
    /** `one` or `all`. */
    op?: 'one' | 'all';
    /** Where `query` and `webhook` store what they got, unless `store` says otherwise. */
    result?: unknown;
    /** The caller's raw token; never sent to a webhook. */
    token?: string;
    [key: string]: unknown;
  };
  /**
   * The row or rows being returned (an object or an array of objects). When given,
   * an allowing rule applies its `res.…` work to it in place before it returns.
   */
  res?: unknown;
  /** The caller's resolved role name, for `role` requirements. */
  role?: string;
}

/** What the host (the runtime, `dfc test`, a test) provides to rules that need I/O. */
export interface RuleContext {
  /** Read rows for a `query` rule; `service`/`table` are config names, `find` resolved. */
  query?(service: string, table: string, find: Record<string, Json>): Promise<Record<string, unknown>[]>;
  /**
   * POST `body` (JSON text) to a webhook URL written in the config. Resolves with the
   * status and the parsed JSON body, or `body: undefined` when the answer was empty or
   * not JSON. Must not follow redirects (`createWebhookFetch` builds one that way).
   */
  fetch?(url: string, init: { body: string; timeoutMs: number }): Promise<{ status: number; body: unknown }>;
  /** Field encryption for encrypt/decrypt rules (AES-256-GCM envelopes). */
  crypto?: FieldCrypto;
  /** The clock for `utils.now()`; defaults to the real one. */
  now?(): Date;
  /** `code` rule functions by id (policy.mjs supplies its own; `compile` reads them here). */
  code?: Record<string, CodeFunction>;
}

export interface FieldCrypto {
  /** Encrypt a field value; `context` (the field's name) is bound into the ciphertext. */
  encrypt(plaintext: string, context?: string): string;
  /** Throws on a tampered, truncated or foreign ciphertext, or one bound to another context. */
  decrypt(envelope: string, context?: string): string;
}

/**
 * Why a request was refused:
 * - `unauthenticated`: the rule needs a session and the caller has none (HTTP 401);
 * - `denied`: a rule said no (`deny`, a `match` that does not hold, a webhook's non-2xx…) (403);
 * - `error`: the rule could not be decided (a missing variable, a type mismatch, a failed
 *   query or webhook, a throwing code rule); dfc denies (403);
 * - `response`: the reply could not be processed as the rules require (decrypt of a
 *   tampered value, a row that is not an object); the reply must not be sent (500).
 */
export type DenialCode = 'unauthenticated' | 'denied' | 'error' | 'response';

export interface Decision {
  allow: boolean;
  /** The HTTP status a host should answer a denial with. */
  status?: 401 | 403 | 500;
  code?: DenialCode;
  /** Why it was denied, in Cedar message style (the rule's `error` replaces it). */
  reason?: string;
  /** Config path of the rule that decided a denial, e.g. `rules.blog.posts.read.clauses[1]`. */
  path?: string;
  /** The deciding rule's `name`, or that of the nearest enclosing rule that has one. */
  name?: string;
  /** Requirement collections: the names of the requirements that failed. */
  failed?: readonly string[];
  /**
   * Work left on the response: present on an allowing decision when the rule has
   * `res.…` transforms and `input.res` was not given. Apply it to the rows with
   * `applyResponse(decision.response, rows, ctx)` before replying.
   */
  response?: readonly ResponseAction[];
}

/** One transform of a `res.…` field, applied to every returned row. */
export interface ResponseAction {
  op: 'remove' | 'force' | 'encrypt' | 'decrypt' | 'hash';
  /** The field as written, e.g. `res.password`. */
  field: string;
  /** The path below the row, e.g. `['password']`. */
  segments: readonly string[];
  /** `force` only: the value, resolved when the rule ran. */
  value?: unknown;
  /** Config path of the rule that asked for it. */
  path: string;
  name?: string;
}

export type CompiledRule = ((input: RuleInput, ctx?: RuleContext) => Decision | Promise<Decision>) & {
  /** True when the rule can return a promise (query, webhook, async code). */
  readonly async: boolean;
};

export type { Rule };

/** Options of the reference interpreter (`evaluate`, `evaluateRequirements`). */
export interface EvaluateOptions {
  /**
   * Collects one event per rule node, requirement and collection evaluated, in
   * evaluation order (a node's event comes before its clauses'), with the values each
   * `match` compared. For explanations (`dfc explain`) and coverage (`dfc test`); the
   * decision is the same with or without it.
   */
  trace?: TraceEvent[];
}

/** How a traced node ended: it held (`pass`), or failed with that denial code. */
export type TraceOutcome = 'pass' | DenialCode;

/** An operand of a traced `match`: as written, and the value it had (absent when it could not be read). */
export interface TracedOperand {
  expr: Json;
  value?: unknown;
}

/** One step of a traced evaluation. */
export interface TraceEvent {
  /**
   * Config path of the node: a rule (`rules.blog.posts.read.clauses[1]`), a requirement
   * collection (`services.blog.security`) or one of its requirements
   * (`services.blog.security.signedIn`).
   */
  path: string;
  /** Depth below the evaluated root (0 for the root). */
  depth: number;
  /** The rule type, or `collection` / `requirement`. */
  kind: RuleKind | 'collection' | 'requirement';
  /** The node's own `name`. */
  name?: string;
  outcome: TraceOutcome;
  /** Why it failed (the denial's reason). */
  reason?: string;
  /** `match`: the comparison and the values of both operands. */
  match?: { eval: string; type: string; f1: TracedOperand; f2: TracedOperand };
  /** Transforms: false when the `clause` did not hold and the transform was skipped. */
  applied?: boolean;
  /** `query`: the find as resolved and how many rows came back. */
  query?: { db: string; col: string; find?: unknown; rows?: number };
  /** `webhook`: the URL and the status it answered. */
  webhook?: { url: string; status?: number };
  /** Requirements: the requirement's type; `implied` for the service level's implied `authenticated`. */
  requirement?: { type: string; implied?: boolean; roles?: readonly string[] };
}
