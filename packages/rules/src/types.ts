import type { CodeFunction, Json, Rule } from '@dfc/schema';

/**
 * What a rule sees. `args` holds the request (Space Cloud's variables); `res` holds
 * the row or rows being returned, for response rules. Mutating rules (remove, force,
 * encrypt, decrypt, hash) change `input.args` / `input.res` in place.
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
    /** The caller's raw token (for webhook forwarding only when configured). */
    token?: string;
    [key: string]: unknown;
  };
  res?: unknown;
}

/** What the host (the runtime, `dfc test`, a test) provides to rules that need I/O. */
export interface RuleContext {
  /** Read rows for a `query` rule; `service`/`table` are config names, `find` resolved. */
  query?(service: string, table: string, find: Record<string, Json>): Promise<Record<string, unknown>[]>;
  /** POST `body` (JSON text) to a webhook URL written in the config. */
  fetch?(url: string, init: { body: string; timeoutMs: number }): Promise<{ status: number; body: unknown }>;
  /** Field encryption for encrypt/decrypt rules (AES-256-GCM envelopes). */
  crypto?: FieldCrypto;
  /** The clock for `utils.now()` and dates; defaults to the real one. */
  now?(): Date;
  /** `code` rule functions by id (policy.mjs supplies them). */
  code?: Record<string, CodeFunction>;
}

export interface FieldCrypto {
  encrypt(plaintext: string): string;
  /** Throws on a tampered, truncated or foreign ciphertext. */
  decrypt(envelope: string): string;
}

export interface Decision {
  allow: boolean;
  /** Why it was denied, in Cedar message style. */
  reason?: string;
  /** Config path of the rule that decided a denial, e.g. `rules.blog.posts.read.clauses[1]`. */
  path?: string;
  /** The deciding rule's `name`, when it has one. */
  name?: string;
}

export type CompiledRule = ((input: RuleInput, ctx?: RuleContext) => Decision | Promise<Decision>) & {
  /** True when the rule can return a promise (query, webhook, async code). */
  readonly async: boolean;
};

export type { Rule };
