/**
 * The rule engine's contract types (packages/rules/src/types.ts), re-declared here while
 * `@dfc/rules` does not export them from its entry point; structurally identical.
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
}

export interface FieldCrypto {
  encrypt(plaintext: string): string;
  decrypt(envelope: string): string;
}

export interface RuleContext {
  query?(service: string, table: string, find: Record<string, Json>): Promise<Record<string, unknown>[]>;
  fetch?(url: string, init: { body: string; timeoutMs: number }): Promise<{ status: number; body: unknown }>;
  crypto?: FieldCrypto;
  now?(): Date;
  code?: Record<string, CodeFunction>;
}

export interface Decision {
  allow: boolean;
  reason?: string;
  path?: string;
  name?: string;
}

export type CompiledRule = ((input: RuleInput, ctx?: RuleContext) => Decision | Promise<Decision>) & {
  readonly async: boolean;
};
