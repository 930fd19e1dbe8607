import type { PolicyTable } from '@dfc/schema';
import type { Allowed } from './decide.js';
import type { State } from './runtime.js';

/** The caller as a decision sees it: verified claims (shared by every request with the same token while it is cached), API key, token. */
export interface Caller {
  apiKey?: string;
  token?: string;
  claims: Readonly<Record<string, unknown>> | null;
}

/** Decisions kept per caller; past this, the caller's decisions are dropped and made again. */
const MAX_PER_CALLER = 64;

interface Entry {
  readonly state: State;
  readonly apiKey: string | undefined;
  readonly token: string | undefined;
  readonly reads: Map<PolicyTable, Allowed>;
}

/**
 * Allowed reads of whole tables (no filter, no id), kept per caller and policy, for the
 * tables whose read is decided by the caller and the request alone
 * ({@link CompiledTable.pureRead}: no `query`, `webhook` or `code` rule, no clock). A
 * caller listing a table again (another page, another order) gets the same decision
 * without running app, role, access, collections and rule again.
 *
 * invariant: an entry is used only for the same policy (a reload starts afresh), the same
 * API key and token, and the same claims object, which the token cache hands out only
 * while the token may be reused (so an expired token never reaches its entry).
 * Entries of a session live as long as its claims (held by the token cache); entries of
 * API keys without a session are kept only for keys that were allowed, one per app.
 */
export class DecisionMemo {
  readonly #bySession = new WeakMap<object, Entry>();
  readonly #byKey = new WeakMap<State, Map<string, Entry>>();

  get(state: State, caller: Caller, table: PolicyTable): Allowed | undefined {
    const e = this.#entry(state, caller);
    return e !== undefined && e.state === state && e.apiKey === caller.apiKey && e.token === caller.token ? e.reads.get(table) : undefined;
  }

  /** Keeps `d` when its table's read may be reused (a frozen decision: whoever reads it must not change it). */
  set(state: State, caller: Caller, table: PolicyTable, d: Allowed): void {
    if (d.table?.pureRead !== true || d.trace !== undefined) return;
    let e = this.#entry(state, caller);
    if (e === undefined || e.state !== state || e.apiKey !== caller.apiKey || e.token !== caller.token) {
      e = { state, apiKey: caller.apiKey, token: caller.token, reads: new Map() };
      if (caller.claims !== null) this.#bySession.set(caller.claims, e);
      else if (caller.apiKey !== undefined) {
        let keys = this.#byKey.get(state);
        if (keys === undefined) this.#byKey.set(state, (keys = new Map()));
        keys.set(caller.apiKey, e);
      } else return;
    }
    if (e.reads.size >= MAX_PER_CALLER) e.reads.clear();
    e.reads.set(table, Object.freeze(d));
  }

  #entry(state: State, caller: Caller): Entry | undefined {
    if (caller.claims !== null) return this.#bySession.get(caller.claims);
    return caller.apiKey !== undefined ? this.#byKey.get(state)?.get(caller.apiKey) : undefined;
  }
}
