/**
 * The compiler installs a function under this global symbol before it loads a
 * config, to learn where each definition was written (its call site gives error
 * positions). Without it the define* functions are plain identities.
 */
export const TRACE_HOOK: unique symbol = Symbol.for('dfc.trace') as never;

/** What a define* function defined; passed to the trace hook with the value. */
export type DefinitionKind = 'config' | 'service' | 'rule' | 'role' | 'app' | 'cors';

/** The hook's shape: called once per define* call, after the value is built. */
export type TraceHook = (kind: DefinitionKind, value: unknown) => void;

export function trace<T>(kind: DefinitionKind, value: T): T {
  const hook = (globalThis as { [TRACE_HOOK]?: unknown })[TRACE_HOOK];
  if (typeof hook === 'function') (hook as TraceHook)(kind, value);
  return value;
}
