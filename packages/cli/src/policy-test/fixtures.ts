import { randomBytes } from 'node:crypto';
import { createFieldCrypto, findRows, seedTransform, type CompiledPolicy, type FieldCrypto, type RuleContext } from '@dfc/runtime';

type Row = Record<string, unknown>;
type Json = Parameters<typeof findRows>[1][string];

/**
 * What rules see during a policy test instead of the outside world: `query` rules read
 * the test's fixture rows (filtered by their `find` with the server's own meaning),
 * webhooks answer from fixtures and never reach the network, field encryption uses a
 * key made for this run, and the clock is the test's when it sets one.
 */
export interface TestWorld {
  /** A fresh field key per run: ciphertexts in fixtures and rules use it. */
  readonly crypto: FieldCrypto;
  /** Stored rows: `{ $encrypt }` and `{ $hash }` values become what the rules would have stored. */
  store(table: string, rows: readonly Row[]): Row[];
  /** A text hashed as the `hash` rule does. */
  hash(text: string): string;
}

export async function createWorld(compiled: CompiledPolicy): Promise<TestWorld> {
  const key = randomBytes(32).toString('base64');
  const crypto = createFieldCrypto(key);
  // The same transform `dfc serve` seeds databases with, under the run's key.
  const env = { DFC_TEST_FIELD_KEY: key };
  const transform = await seedTransform({ ...compiled.policy, crypto: { key: { $secret: 'DFC_TEST_FIELD_KEY' } } }, env);
  return {
    crypto,
    store: (table, rows) => rows.map((r) => transform(table, r as Parameters<typeof transform>[1]) as Row),
    hash: (text) => transform('', { v: { $hash: text } }).v as string,
  };
}

export interface HostOptions {
  compiled: CompiledPolicy;
  world: TestWorld;
  service: string;
  /** Stored rows by table of `service` (already through `world.store`). */
  data: Readonly<Record<string, readonly Row[]>>;
  webhooks: Readonly<Record<string, { status: number; body?: unknown }>>;
  now?: Date;
}

export interface TestHost {
  ctx: RuleContext;
  /** Webhooks called, in order. */
  webhookCalls: { url: string; body: unknown }[];
}

export function createHost(opts: HostOptions): TestHost {
  const webhookCalls: TestHost['webhookCalls'] = [];
  const ctx: RuleContext = {
    crypto: opts.world.crypto,
    code: opts.compiled.module.code,
    async query(service, table, find) {
      if (service !== opts.service) throw new Error(`a policy test has no data for service \`${service}\``);
      const def = opts.compiled.policy.services[service]?.tables[table];
      if (!def) throw new Error(`unknown table \`${service}.${table}\``);
      const rows = Object.hasOwn(opts.data, table) ? opts.data[table]! : [];
      return findRows(rows, find as Record<string, Json>, def).map((r) => structuredClone(r));
    },
    async fetch(url, init) {
      webhookCalls.push({ url, body: JSON.parse(init.body) as unknown });
      if (!Object.hasOwn(opts.webhooks, url)) throw new Error(`no fixture answers the webhook \`${url}\``);
      const answer = opts.webhooks[url]!;
      return { status: answer.status, body: answer.body === undefined ? undefined : structuredClone(answer.body) };
    },
  };
  if (opts.now) {
    const now = opts.now;
    ctx.now = () => new Date(now.getTime());
  }
  return { ctx, webhookCalls };
}
