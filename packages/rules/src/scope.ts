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
  /** The declarations that do not depend on the scope's parameters, in order. */
  readonly #shared: Code[] = [];
  /** The declarations that do (a closure factory's per-closure constants), in order. */
  readonly #own: Code[] = [];
  /** The parameters, and the names declared from them. */
  readonly #dependent = new Set<string>();
  readonly #byText = new Map<string, Name>();
  readonly #helpers = new Set<Helper>();

  /**
   * `params`: the parameters of the function the declarations will live in (a closure
   * factory's config path). Declarations that mention none of them, directly or through
   * another declaration, are kept apart (`shared`), so that they can be made once for
   * every call of the function instead of once per call.
   */
  constructor(params: readonly Name[] = []) {
    for (const p of params) this.#dependent.add(p.toString());
  }

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
    this.declare(n, init);
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

  /** Declare `const <n> = <init>;`, not deduplicated (closures, factories). */
  declare(n: Name, init: Code): void {
    if (!(init instanceof Code)) throw new TypeError('declare expects Code');
    const decl = _`const ${n} = ${init};`;
    this.#consts.push(decl);
    if (this.#dependent.size > 0 && mentions(init, this.#dependent)) {
      this.#dependent.add(n.toString());
      this.#own.push(decl);
    } else {
      this.#shared.push(decl);
    }
  }

  /** Every declaration, in order. */
  get declarations(): Code {
    return join(this.#consts, _`\n`);
  }

  /** The declarations that mention no parameter, in order. */
  get shared(): Code {
    return join(this.#shared, _`\n`);
  }

  /** The declarations that mention a parameter, in order (they may use the shared ones). */
  get own(): Code {
    return join(this.#own, _`\n`);
  }

  get helpers(): Helper[] {
    return [...this.#helpers].sort();
  }
}

/**
 * Whether generated code uses one of `names` as an identifier. String literals are
 * skipped (generated code quotes with JSON: double quotes, backslash escapes); a name
 * seen elsewhere, even as a property name, counts, which errs on the side of "uses".
 */
function mentions(code: Code, names: ReadonlySet<string>): boolean {
  const src = code.toString();
  const ident = /[A-Za-z_$][A-Za-z0-9_$]*/y;
  for (let i = 0; i < src.length; ) {
    const c = src[i]!;
    if (c === '"') {
      for (i++; i < src.length && src[i] !== '"'; i++) if (src[i] === '\\') i++;
      i++;
      continue;
    }
    ident.lastIndex = i;
    const m = ident.exec(src);
    if (m === null) {
      i++;
      continue;
    }
    if (names.has(m[0])) return true;
    i += m[0].length;
  }
  return false;
}
