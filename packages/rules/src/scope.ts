import { Code, Name, _, join, jsonText, lit, name } from './code.js';

/**
 * Names and hoisted constants of one generated module or closure. Identifiers are
 * minted from fixed prefixes and a counter; constants (denials, Sets, JSON data) are
 * declared once at module level and deduplicated by their source text.
 */

/** Runtime helpers a generated module may import, all exported by `@dfc/rules/runtime`. */
export const RUNTIME_HELPERS = [
  'ALLOW',
  'IO_FAILED',
  'IO_MISSING',
  'IO_TIMEOUT',
  'TRANSFORM_FAILED',
  'TRANSFORM_NOT_STRING',
  'TRANSFORM_NO_CRYPTO',
  'action',
  'addNanos',
  'at',
  'authed',
  'baseProto',
  'clone',
  'codeFn',
  'compareInstants',
  'defineRule',
  'denial',
  'finish',
  'forced',
  'formatInstant',
  'isArray',
  'isObj',
  'json',
  'length',
  'now',
  'numbers',
  'obj',
  'ok2xx',
  'own',
  'parseDate',
  'parseDuration',
  'query',
  'rd',
  'removePath',
  'respond',
  'set',
  'setPath',
  'settle',
  'strings',
  'table',
  'transformPath',
  'truncateInstant',
  'webhook',
] as const;
export type Helper = (typeof RUNTIME_HELPERS)[number];

/** Prefixes of minted names: rules, requirements, constants, values, labels, code functions, closure factories. */
export type Prefix = 'r' | 'q' | 'k' | 'v' | 'L' | 'c' | 'F';

export class Scope {
  readonly #counters = new Map<string, number>();
  readonly #consts: Code[] = [];
  readonly #byText = new Map<string, Name>();
  readonly #helpers = new Set<Helper>();

  /** A fresh identifier such as `v12`. */
  mint(prefix: Prefix): Name {
    const n = this.#counters.get(prefix) ?? 0;
    this.#counters.set(prefix, n + 1);
    return name(`${prefix}${n}`);
  }

  /** A runtime helper, recorded so the module imports it. */
  h(helper: Helper): Name {
    if (!(RUNTIME_HELPERS as readonly string[]).includes(helper)) throw new TypeError(`unknown runtime helper ${helper}`);
    this.#helpers.add(helper);
    return name(helper);
  }

  /** Declare `const kN = <code>;` once per distinct initialiser. */
  hoist(init: Code): Name {
    if (!(init instanceof Code)) throw new TypeError('hoist expects Code');
    const key = init.toString();
    const existing = this.#byText.get(key);
    if (existing) return existing;
    const n = this.mint('k');
    this.#byText.set(key, n);
    this.#consts.push(_`const ${n} = ${init};`);
    return n;
  }

  /** Hoist plain data (an object or array) as deeply frozen JSON. */
  json(value: unknown): Name {
    return this.hoist(_`${this.h('json')}(${jsonText(value)})`);
  }

  /** Hoist a frozen list of strings. */
  strings(values: readonly string[]): Name {
    return this.json(values);
  }

  /** Hoist a Set of primitive constants. */
  set(values: readonly unknown[]): Name {
    return this.hoist(_`${this.h('set')}([${join(values.map((v) => lit(v)))}])`);
  }

  /** Add a module-level declaration that is not deduplicated (closures). */
  declare(code: Code): void {
    this.#consts.push(code);
  }

  get declarations(): Code {
    return join(this.#consts, _`\n`);
  }

  get helpers(): Helper[] {
    return [...this.#helpers].sort();
  }
}
