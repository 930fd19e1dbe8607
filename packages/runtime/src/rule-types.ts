/**
 * The rule engine's contract (packages/rules/src/types.ts), declared structurally here
 * so the runtime compiles against it on its own; `rules-runtime.ts` loads the engine's
 * host helpers (`applyResponse`, `hashString`) from `@dfc/rules/runtime`.
 */
import type { CodeFunction, Json } from '@dfc/schema';

export interface RuleInput {
  args: {
    auth?: Record<string, unknown>;
    find?: Record<string, unknown>;
    doc?: Record<string, unknown>;
    update?: Record<string, unknown>;
    op?: 'one' | 'all';
    result?: unknown;
    token?: string;
    [key: string]: unknown;
  };
  res?: unknown;
  /** The caller's resolved role name, for `role` requirements. */
  role?: string;
}

export interface FieldCrypto {
  /** `context` (the field's name) is bound into the ciphertext. */
  encrypt(plaintext: string, context?: string): string;
  decrypt(envelope: string, context?: string): string;
}

export interface RuleContext {
  query?(service: string, table: string, find: Record<string, Json>): Promise<Record<string, unknown>[]>;
  fetch?(url: string, init: { body: string; timeoutMs: number }): Promise<{ status: number; body: unknown }>;
  crypto?: FieldCrypto;
  now?(): Date;
  code?: Record<string, CodeFunction>;
}

export type DenialCode = 'unauthenticated' | 'denied' | 'error' | 'response';

export interface ResponseAction {
  op: 'remove' | 'force' | 'encrypt' | 'decrypt' | 'hash';
  field: string;
  segments: readonly string[];
  value?: unknown;
  path: string;
  name?: string;
}

export interface Decision {
  allow: boolean;
  status?: 401 | 403 | 500;
  code?: DenialCode;
  reason?: string;
  path?: string;
  name?: string;
  failed?: readonly string[];
  /** `res.…` work left for the host: apply it to the rows before replying. */
  response?: readonly ResponseAction[];
}

export type CompiledRule = ((input: RuleInput, ctx?: RuleContext) => Decision | Promise<Decision>) & {
  readonly async: boolean;
};
