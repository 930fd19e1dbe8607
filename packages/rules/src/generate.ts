/**
 * The rule code generator. One generator serves both `compile` (a closure built in
 * memory) and `generate` (the policy.mjs module): each rule becomes straight-line code
 * over own-property reads, with constants (denials, Sets, JSON data) hoisted to module
 * level. Failure is control flow: each rule node is emitted with a `Fail` callback that
 * produces the code to run when the node fails (`return d;` at the top, `break L;`
 * inside an `or`, skip-the-mutation inside a `clause`).
 *
 * invariant: user data reaches the output only through `_`/`lit` (quoted) or `Scope.json`;
 * identifiers are minted; code-rule sources are the one trusted exception (user code).
 */
import { FORBIDDEN_SEGMENTS, MAX_RULE_DEPTH, exactJson, type Json, type PolicyRequirement, type Rule } from '@dfc/schema';
import { Code, _, join, lit, name, nil, quote, type Name } from './code.js';
import { DEFAULT_WEBHOOK_TIMEOUT, msg } from './messages.js';
import { compareInstants, formatInstant, addNanos, parseDate, parseDuration, truncateInstant, type Instant } from './runtime/dates.js';
import { Scope, type Helper } from './scope.js';
import type { DenialCode } from './types.js';
import { assertRequirements, assertRule } from './validate.js';

type Kind = 'error' | 'fail' | 'dynamic';
/**
 * Code to run when a node fails; `d()` gives the decision (a Name, hoisting its
 * constant only when the handler uses it).
 */
type Fail = (d: () => Code, kind: Kind) => Code;

/** Where a denial is reported from: the rule's path, its `error` override and nearest `name`. */
interface Site {
  path: string;
  override?: string;
  name?: string;
}

type AnyRule = Rule & { rule: string; name?: string; error?: string };

const INPUT = name('input');
const CTX = name('ctx');
const ARGS = name('args');
const ACTS = name('acts');
export const CODE_TABLE = name('codeTable');

const INDEX = /^(?:0|[1-9][0-9]{0,14})$/;

function nonEmpty(s: unknown): string | undefined {
  return typeof s === 'string' && s !== '' ? s : undefined;
}

function enter(parent: Site, rule: AnyRule, path: string): Site {
  const site: Site = { path };
  const override = parent.override ?? nonEmpty(rule.error);
  if (override !== undefined) site.override = override;
  const n = nonEmpty(rule.name) ?? parent.name;
  if (n !== undefined) site.name = n;
  return site;
}

function isRef(v: unknown): v is string {
  return typeof v === 'string' && (v.startsWith('args.') || v.startsWith('utils.') || v.startsWith('res.'));
}

function hasForbidden(segments: readonly string[]): boolean {
  return segments.some((s) => FORBIDDEN_SEGMENTS.has(s));
}

/** Whether a rule can await (query, webhook, async code). */
export function ruleIsAsync(rule: AnyRule): boolean {
  switch (rule.rule) {
    case 'query':
    case 'webhook':
      return true;
    case 'code':
      return (rule as { async?: boolean }).async === true;
    case 'and':
    case 'or':
      return (rule as { clauses: AnyRule[] }).clauses.some(ruleIsAsync);
    default: {
      const clause = (rule as { clause?: AnyRule }).clause;
      return clause !== undefined && ruleIsAsync(clause);
    }
  }
}

/** The kinds of response work a rule can add (transform rules of `res.` fields), into `ops`. */
function responseOps(rule: AnyRule, ops = new Set<string>()): Set<string> {
  const r = rule as { fields?: string[]; field?: string; clauses?: AnyRule[]; clause?: AnyRule };
  switch (rule.rule) {
    case 'remove':
    case 'encrypt':
    case 'decrypt':
    case 'hash':
      if (r.fields!.some((f) => f.startsWith('res.'))) ops.add(rule.rule);
      break;
    case 'force':
      if (r.field!.startsWith('res.')) ops.add(rule.rule);
      break;
  }
  for (const c of r.clauses ?? []) responseOps(c, ops);
  if (r.clause !== undefined) responseOps(r.clause, ops);
  return ops;
}

/** Whether a rule can add response work. */
function pushesActs(rule: AnyRule): boolean {
  return responseOps(rule).size > 0;
}

/**
 * A place in a closure where a `remove` rule adds its response work, when the closure's
 * work is kept as flags (see `Emitter.#sites`): `flag` is set when the rule ran.
 */
interface RemoveSite {
  flag: Name;
  /** The hoisted actions, in the order of the rule's fields. */
  actions: Name[];
  fields: { field: string; segments: string[] }[];
  site: Site;
}

/**
 * A part of a closure whose response work is undone when it fails (an `or` branch, a
 * requirement, a transform's clause): `start` goes before its code; `rollback()` is the
 * undo statement where a failure is emitted, undefined when nothing can be undone there.
 */
interface Region {
  start: Code;
  rollback(): Code | undefined;
}

/** Whether a rule can fail with an error (as opposed to a plain "no"). */
function mayError(rule: AnyRule): boolean {
  switch (rule.rule) {
    case 'allow':
    case 'deny':
    case 'authenticated':
      return false;
    case 'and':
    case 'or': {
      const cs = (rule as { clauses: AnyRule[] }).clauses;
      return cs.length === 0 || cs.some(mayError);
    }
    default:
      return true;
  }
}

/** An operand's value in generated code; `known` when it is a constant. */
interface Val {
  expr: Code;
  known?: { value: unknown };
}

/** Parsed `utils.fn(a, b)`; undefined when malformed. */
function parseUtils(text: string): { fn: string; params: string[] } | undefined {
  const open = text.indexOf('(');
  if (open < 0) return undefined;
  const close = text.indexOf(')', open);
  if (close !== text.length - 1) return undefined;
  const inner = text.slice(open + 1, close);
  const params = inner.trim() === '' ? [] : inner.split(',').map((p) => unquote(p.trim()));
  return { fn: text.slice('utils.'.length, open), params };
}

function unquote(p: string): string {
  if (p.length >= 2 && (p[0] === "'" || p[0] === '"') && p[p.length - 1] === p[0]) return p.slice(1, -1);
  return p;
}

/** Emits the code of rules into a scope. */
class Emitter {
  readonly #scope: Scope;
  /** Whether the closure being emitted has response work. */
  #acts = false;
  /**
   * When every response action of the closure is a `remove` (the common case), its work
   * is not collected in an `acts` array and applied by the generic `finish`: each
   * `remove` rule sets a flag of its own (cleared again when its part of the rule
   * fails), and the closure ends with code that removes those fields from the row(s)
   * directly. Undefined when the closure uses `acts`.
   */
  #sites: RemoveSite[] | undefined;
  /**
   * Reads of `args.X…` whose first segment X no rule of the closure writes under (and no
   * code rule can touch) cannot change while the closure runs: each is read where it is
   * first needed and reused by later code in the same block or blocks nested in it.
   * `#cache` is a stack of scopes, one per block being emitted.
   */
  #stable = new Set<string>();
  #cache: Map<string, Name>[] = [];
  /**
   * Values known to be non-null objects, per block (parallel to `#cache`): a value that
   * passed an `isObj` check whose failure leaves the block, and every value it was read
   * from. A read from one of them needs no object check of its own.
   */
  #objects: Set<Name>[] = [];
  /** The value each read value was read from. */
  #parent = new Map<Name, Name>();
  #prelude: Code[] = [];


  /**
   * In a closure factory (policy.mjs), the parameter that holds the closure's config
   * path and that path: a reported path below it is emitted as `P + ".clauses[1]"`, so
   * rules that differ only in where they are written share one factory.
   */
  readonly #base: { name: Name; path: string } | undefined;

  constructor(scope: Scope, base?: { name: Name; path: string }) {
    this.#scope = scope;
    this.#base = base;
  }

  /** A reported config path as code: relative to the factory's parameter when below it. */
  #pathCode(path: string): Code {
    const base = this.#base;
    if (base === undefined || !path.startsWith(base.path)) return _`${path}`;
    const rest = path.slice(base.path.length);
    return rest === '' ? base.name : _`${base.name} + ${rest}`;
  }

  get scope(): Scope {
    return this.#scope;
  }

  #den(site: Site, code: DenialCode, reason: string): Name {
    const h = this.#scope.h('denial');
    const r = site.override ?? reason;
    return this.#scope.hoist(
      site.name !== undefined ? _`${h}(${code}, ${r}, ${this.#pathCode(site.path)}, ${site.name})` : _`${h}(${code}, ${r}, ${this.#pathCode(site.path)})`,
    );
  }

  #err(site: Site, fail: Fail, reason: string): Code {
    return fail(() => this.#den(site, 'error', reason), 'error');
  }

  /** A `const vN = <init>;` statement and its name. */
  #let(out: Code[], init: Code): Name {
    const v = this.#scope.mint('v');
    out.push(_`const ${v} = ${init};`);
    return v;
  }

  /**
   * Own-property read of `args.<segments>`, one statement per segment: the property is
   * read directly with a quoted key (a fast monomorphic load) and kept only if owned
   * (`rd`); index segments go through `at`. Returns the name holding the value.
   */
  #read(out: Code[], segments: readonly string[]): Name {
    let cur: Name = ARGS;
    const cached = segments.length > 0 && this.#stable.has(segments[0]!);
    for (let i = 0; i < segments.length; i++) {
      if (!cached) {
        cur = this.#readStep(out, cur, segments[i]!);
        continue;
      }
      const key = JSON.stringify(segments.slice(0, i + 1));
      let hit: Name | undefined;
      for (let d = this.#cache.length - 1; d >= 0 && !hit; d--) hit = this.#cache[d]!.get(key);
      if (!hit) {
        hit = this.#readStep(out, cur, segments[i]!);
        this.#cache[this.#cache.length - 1]!.set(key, hit);
      }
      cur = hit;
    }
    return cur;
  }

  /** `const vN = <one step from cur>;`, remembering that vN was read from `cur`. */
  #readStep(out: Code[], cur: Name, segment: string): Name {
    const v = this.#let(out, this.#step(cur, segment));
    this.#parent.set(v, cur);
    return v;
  }

  /** Whether `v` is known to be a non-null object where code is being emitted. */
  #isObject(v: Name): boolean {
    for (let d = this.#objects.length - 1; d >= 0; d--) if (this.#objects[d]!.has(v)) return true;
    return false;
  }

  /**
   * Record that `v` is a non-null object from here to the end of the current block (the
   * code after an `isObj(v)` check that leaves the block when it fails), and so is every
   * value it was read from: a read gives a value only from an object that owns it.
   */
  #assumeObject(v: Name): void {
    const known = this.#objects[this.#objects.length - 1]!;
    for (let x: Name | undefined = v; x !== undefined; x = this.#parent.get(x)) known.add(x);
  }

  /**
   * One own-property step from the value held by `cur`: a direct read with a quoted key
   * (a fast monomorphic load) that `rd` keeps only if the object owns it; index
   * segments go through `at`.
   */
  #step(cur: Name, s: string): Code {
    if (INDEX.test(s)) return _`${this.#scope.h('at')}(${cur}, ${s})`;
    const read = _`${this.#scope.h('rd')}(${cur}, ${cur}[${s}], ${s}, ${this.#scope.h('baseProto')}[${s}])`;
    return this.#isObject(cur) ? read : _`${cur} !== null && typeof ${cur} === "object" ? ${read} : undefined`;
  }

  /** Emit code that forms one block: reads cached inside it are not visible after it. */
  #block<T>(emit: () => T): T {
    this.#cache.push(new Map());
    this.#objects.push(new Set());
    try {
      return emit();
    } finally {
      this.#cache.pop();
      this.#objects.pop();
    }
  }

  /** Start a closure: reset the per-closure state for the rules it holds. */
  #begin(rules: readonly AnyRule[]): void {
    this.#acts = rules.some(pushesActs);
    const ops = new Set<string>();
    for (const r of rules) responseOps(r, ops);
    this.#sites = ops.size === 1 && ops.has('remove') ? [] : undefined;
    this.#cache = [new Map()];
    this.#objects = [new Set()];
    this.#parent = new Map([[ARGS, INPUT]]);
    this.#prelude = [];
    // `args` is function-level, so every block can use it.
    this.#prelude.push(_`const ${ARGS} = ${this.#step(INPUT, 'args')};`);

    this.#stable = new Set();
    const written = new Set<string>();
    let code = false;
    const walk = (r: AnyRule): void => {
      const add = (field: string | undefined) => {
        if (typeof field === 'string' && field.startsWith('args.')) written.add(field.slice(5).split('.')[0]!);
      };
      switch (r.rule) {
        case 'code':
          code = true;
          break;
        case 'force':
          add((r as { field: string }).field);
          break;
        case 'remove':
        case 'encrypt':
        case 'decrypt':
        case 'hash':
          for (const f of (r as { fields: string[] }).fields) add(f);
          break;
        case 'query':
        case 'webhook':
          add((r as { store?: string }).store ?? 'args.result');
          break;
      }
      for (const c of (r as { clauses?: AnyRule[] }).clauses ?? []) walk(c);
      const clause = (r as { clause?: AnyRule }).clause;
      if (clause) walk(clause);
    };
    rules.forEach(walk);
    if (code) return;
    for (const x of ['auth', 'find', 'doc', 'update', 'op', 'token', 'opts', 'result']) if (!written.has(x)) this.#stable.add(x);
  }



  // -------------------------------------------------------------------------
  // Closures

  /** A closure for one rule; `gate`: Space Cloud's rule that anything but a top-level `allow` needs a session. */
  ruleClosure(rule: AnyRule, path: string, gate: boolean): Name {
    const async = ruleIsAsync(rule);
    this.#begin([rule]);
    const acts = this.#acts;
    const site = enter({ path }, rule, path);
    const body: Code[] = [];
    if (gate && rule.rule !== 'allow') {
      const d = this.#den({ path, ...(site.name !== undefined ? { name: site.name } : {}) }, 'unauthenticated', msg.unauthenticated());
      const auth = this.#read(body, ['auth']);
      body.push(_`if (!${this.#scope.h('isObj')}(${auth})) return ${d};`);
      this.#assumeObject(auth);
    }
    const at = body.length;
    body.push(this.rule(rule, site, (d) => _`return ${d()};`));
    this.#finish(body, at, acts);
    return this.#closure('r', body, async);
  }

  /** A closure for requirement collections, evaluated in order (all of them must pass). */
  requirementsClosure(collections: readonly RequirementCollection[]): Name {
    const rules = collections.flatMap((c) => c.collection.flatMap((r) => (r.type === 'rule' && r.rule ? [r.rule as AnyRule] : [])));
    const async = rules.some(ruleIsAsync);
    this.#begin(rules);
    const acts = this.#acts;
    const body: Code[] = [];
    for (const c of collections) body.push(this.#collection(c, (d) => _`return ${d()};`));
    this.#finish(body, 0, acts);
    return this.#closure('q', body, async);
  }

  /**
   * The end of a closure whose rules allowed: declare its response work at `at` (before
   * the rules' code) and return the decision, applying the work to `input.res`.
   */
  #finish(body: Code[], at: number, acts: boolean): void {
    const s = this.#scope;
    if (!acts) {
      body.push(_`return ${s.h('ALLOW')};`);
      return;
    }
    const sites = this.#sites;
    if (sites === undefined) {
      body.splice(at, 0, _`const ${ACTS} = [];`);
      body.push(_`return ${s.h('finish')}(${INPUT}, ${CTX}, ${ACTS});`);
      return;
    }
    if (sites.length === 0) {
      body.push(_`return ${s.h('ALLOW')};`);
      return;
    }
    body.splice(at, 0, _`let ${join(sites.map((x) => _`${x.flag} = false`))};`);
    body.push(this.#removeWork(sites));
  }

  /**
   * The code that ends a closure whose response work is `remove`s kept as flags, with
   * the semantics of the runtime's `finish` and `applyResponse` for the actions that
   * ran, in order: no `res` hands the actions over in the decision; a row or each row of
   * an array loses the fields; a `res` of another shape, a row that is not an object or
   * a field that cannot be removed denies (`code: 'response'`) naming the first action.
   */
  #removeWork(sites: readonly RemoveSite[]): Code {
    const s = this.#scope;
    const ALLOW = s.h('ALLOW');
    const one = sites.length === 1;
    const res = s.mint('v');
    const out: Code[] = [];
    out.push(one ? _`if (!${sites[0]!.flag}) return ${ALLOW};` : _`if (!(${join(sites.map((x) => x.flag), _` || `)})) return ${ALLOW};`);
    out.push(_`const ${res} = ${this.#step(INPUT, 'res')};`);
    const handed = one
      ? s.hoist(_`${s.h('respond')}([${join(sites[0]!.actions)}])`)
      : _`${s.h('respond')}([${join(sites.flatMap((x) => x.actions.map((a) => _`${x.flag} && ${a}`)))}])`;
    out.push(_`if (${res} === undefined) return ${handed};`);
    out.push(_`if (${res} === null) return ${ALLOW};`);
    /** The denial naming the first action that ran. */
    const first = (reason: string): Code => {
      let c: Code = this.#responseDenial(sites[sites.length - 1]!.site, reason);
      for (let i = sites.length - 2; i >= 0; i--) c = _`${sites[i]!.flag} ? ${this.#responseDenial(sites[i]!.site, reason)} : ${c}`;
      return c;
    };
    out.push(_`if (typeof ${res} !== "object") return ${first(msg.responseShape())};`);
    const many = s.mint('v');
    const n = s.mint('v');
    const i = s.mint('v');
    const row = s.mint('v');
    const work: Code[] = [_`if (!${s.h('isObj')}(${row})) return ${first(msg.responseRow())};`];
    for (const x of sites) {
      const removes = x.fields.map(({ field, segments }) => {
        const d = this.#responseDenial(x.site, msg.notRemovable(field));
        // A top-level field (the common case): `delete` removes only own properties.
        if (segments.length === 1) return _`try { delete ${row}[${segments[0]!}]; } catch { return ${d}; }`;
        return _`if (!${s.h('removePath')}(${row}, ${s.strings(segments)})) return ${d};`;
      });
      work.push(one ? join(removes, _`
`) : _`if (${x.flag}) {
${join(removes, _`
`)}
}`);
    }
    out.push(_`const ${many} = ${s.h('isArray')}(${res});`);
    out.push(_`const ${n} = ${many} ? ${res}.length : 1;`);
    out.push(_`for (let ${i} = 0; ${i} < ${n}; ${i}++) {
const ${row} = ${many} ? ${res}[${i}] : ${res};
${join(work, _`
`)}
}`);
    out.push(_`return ${ALLOW};`);
    return join(out, _`
`);
  }

  /** A hoisted `code: 'response'` denial reported from a response action's rule. */
  #responseDenial(site: Site, reason: string): Name {
    const h = this.#scope.h('denial');
    const at = this.#pathCode(site.path);
    return this.#scope.hoist(site.name !== undefined ? _`${h}(${'response'}, ${reason}, ${at}, ${site.name})` : _`${h}(${'response'}, ${reason}, ${at})`);
  }

  /** The region of `rule` whose response work a failure undoes; undefined when it has none. */
  #region(rule: AnyRule): Region | undefined {
    if (!this.#acts || !pushesActs(rule)) return undefined;
    const sites = this.#sites;
    if (sites !== undefined) {
      const from = sites.length;
      return {
        start: nil,
        rollback: () => (sites.length > from ? join(sites.slice(from).map((x) => _`${x.flag} = false;`), _` `) : undefined),
      };
    }
    const mark = this.#scope.mint('v');
    return { start: _`const ${mark} = ${ACTS}.length;
`, rollback: () => _`${ACTS}.length = ${mark};` };
  }

  /** An expression: the caller has a session (`args.auth` is an object). */
  #authed(out: Code[]): Code {
    return _`${this.#scope.h('isObj')}(${this.#read(out, ['auth'])})`;
  }

  #closure(prefix: 'r' | 'q', body: Code[], async: boolean): Name {
    body.unshift(...this.#prelude);
    const n = this.#scope.mint(prefix);
    const fn = async ? _`async (${INPUT}, ${CTX}) => {\n${join(body, _`\n`)}\n}` : _`(${INPUT}, ${CTX}) => {\n${join(body, _`\n`)}\n}`;
    this.#scope.declare(n, _`${this.#scope.h('defineRule')}(${fn}, ${async})`);
    return n;
  }

  #collection(c: RequirementCollection, fail: Fail): Code {
    return this.#block(() => this.#collectionBlock(c, fail));
  }

  #collectionBlock(c: RequirementCollection, fail: Fail): Code {
    const reqs: PolicyRequirement[] = [...c.collection];
    if (c.implicitAuthenticated && !reqs.some((r) => r.type === 'allowAnonymous')) {
      reqs.unshift({ name: 'authenticated', type: 'authenticated' });
    }
    if (reqs.length === 0) return fail(() => this.#den({ path: c.path }, 'error', msg.emptyCollection()), 'error');
    const L = this.#scope.mint('L');
    const erred = this.#scope.mint('v');
    const parts: Code[] = [];
    let hasAuth = false;
    let anyRule = false;
    for (const req of reqs) {
      switch (req.type) {
        case 'allowAnonymous':
          parts.push(_`break ${L};`);
          break;
        case 'authenticated':
          hasAuth = true;
          parts.push(_`if (${this.#authed(parts)}) break ${L};`);
          break;
        case 'role': {
          const s = this.#scope.set(req.roles ?? []);
          const r = this.#scope.mint('v');
          parts.push(_`{ const ${r} = ${this.#step(INPUT, 'role')}; if (typeof ${r} === "string" && ${s}.has(${r})) break ${L}; }`);
          break;
        }
        case 'rule': {
          anyRule = true;
          const rule = req.rule as AnyRule;
          const rpath = `${c.path}.${req.name}.rule`;
          const Li = this.#scope.mint('L');
          const region = this.#region(rule);
          const onFail: Fail = (d, kind) => {
            const p: Code[] = [];
            const undo = region?.rollback();
            if (undo) p.push(undo);
            if (kind === 'error') p.push(_`${erred} = true;`);
            else if (kind === 'dynamic') p.push(_`if (${d()}.code === "error") ${erred} = true;`);
            p.push(_`break ${Li};`);
            return join(p, _` `);
          };
          parts.push(
            _`${Li}: {\n${region?.start ?? nil}${this.#block(() => this.rule(rule, enter({ path: rpath }, rule, rpath), onFail))}\nbreak ${L};\n}`,
          );
          break;
        }
      }
    }
    const names = reqs.map((r) => r.name);
    const reason = msg.requirementsFailed(names);
    const h = this.#scope.h('denial');
    const fixed = (code: DenialCode) => this.#scope.hoist(_`${h}(${code}, ${reason}, ${this.#pathCode(c.path)}, undefined, ${this.#scope.strings(names)})`);
    const d403 = fixed('denied');
    const dErr = anyRule ? fixed('error') : d403;
    const pick = anyRule ? _`${erred} ? ${dErr} : ${d403}` : d403;
    const chosen = hasAuth ? _`!${this.#authed(parts)} ? ${fixed('unauthenticated')} : ${pick}` : pick;
    const dv = this.#scope.mint('v');
    return _`${L}: {\nlet ${erred} = false;\n${join(parts, _`\n`)}\nconst ${dv} = ${chosen};\n${fail(() => dv, anyRule ? 'dynamic' : 'fail')}\n}`;
  }

  // -------------------------------------------------------------------------
  // Rules

  rule(rule: AnyRule, site: Site, fail: Fail): Code {
    switch (rule.rule) {
      case 'allow':
        return nil;
      case 'deny':
        return fail(() => this.#den(site, 'denied', msg.denied()), 'fail');
      case 'authenticated': {
        const out: Code[] = [];
        const auth = this.#read(out, ['auth']);
        // Known after the closure's own session check (or an earlier `authenticated`): nothing to check.
        if (this.#isObject(auth)) return join(out, _`\n`);
        out.push(_`if (!${this.#scope.h('isObj')}(${auth})) { ${fail(() => this.#den(site, 'unauthenticated', msg.unauthenticated()), 'fail')} }`);
        this.#assumeObject(auth);
        return join(out, _`\n`);
      }
      case 'and':
        return this.#and(rule as AnyRule & { clauses: AnyRule[] }, site, fail);
      case 'or':
        return this.#or(rule as AnyRule & { clauses: AnyRule[] }, site, fail);
      case 'match':
        return this.#match(rule as Extract<Rule, { rule: 'match' }>, site, fail);
      case 'remove':
      case 'force':
      case 'encrypt':
      case 'decrypt':
      case 'hash':
        return this.#transform(rule, site, fail);
      case 'query':
        return this.#query(rule as Extract<Rule, { rule: 'query' }>, site, fail);
      case 'webhook':
        return this.#webhook(rule as Extract<Rule, { rule: 'webhook' }>, site, fail);
      case 'code':
        return this.#code(rule as Extract<Rule, { rule: 'code' }>, site, fail);
      default:
        return this.#err(site, fail, msg.unknownRule((rule as { rule: unknown }).rule));
    }
  }

  #and(rule: AnyRule & { clauses: AnyRule[] }, site: Site, fail: Fail): Code {
    if (rule.clauses.length === 0) return this.#err(site, fail, msg.empty('and'));
    return join(
      rule.clauses.map((c, i) => this.rule(c, enter(site, c, `${site.path}.clauses[${i}]`), fail)),
      _`\n`,
    );
  }

  #or(rule: AnyRule & { clauses: AnyRule[] }, site: Site, fail: Fail): Code {
    if (rule.clauses.length === 0) return this.#err(site, fail, msg.empty('or'));
    const L = this.#scope.mint('L');
    const last = this.#scope.mint('v');
    const anyErr = rule.clauses.some(mayError);
    const err = anyErr ? this.#scope.mint('v') : undefined;
    const parts = rule.clauses.map((c, i) => {
      const Li = this.#scope.mint('L');
      const region = this.#region(c);
      const onFail: Fail = (d, kind) => {
        const p: Code[] = [];
        const undo = region?.rollback();
        if (undo) p.push(undo);
        const dv = d();
        p.push(_`${last} = ${dv};`);
        if (err && kind === 'error') p.push(_`${err} = ${dv};`);
        else if (err && kind === 'dynamic') p.push(_`if (${dv}.code === "error") ${err} = ${dv};`);
        p.push(_`break ${Li};`);
        return join(p, _` `);
      };
      const body = this.#block(() => this.rule(c, enter(site, c, `${site.path}.clauses[${i}]`), onFail));
      return _`${Li}: {\n${region?.start ?? nil}${body}\nbreak ${L};\n}`;
    });
    const dv = this.#scope.mint('v');
    const final = err ? _`${err} !== undefined ? ${err} : ${last}` : last;
    const decl = err ? _`let ${last}, ${err};` : _`let ${last};`;
    return _`${L}: {\n${decl}\n${join(parts, _`\n`)}\nconst ${dv} = ${final};\n${fail(() => dv, anyErr ? 'dynamic' : 'fail')}\n}`;
  }

  // -------------------------------------------------------------------------
  // Operands

  /**
   * The value of a reference (`args.…`, `utils.…`, `res.…`), failing when it is
   * missing. Pushes statements to `out`; returns undefined when a static failure
   * was emitted (nothing after it can run).
   */
  #ref(text: string, site: Site, fail: Fail, out: Code[]): Val | undefined {
    if (text.startsWith('res.')) {
      out.push(this.#err(site, fail, msg.resInRule(text)));
      return undefined;
    }
    if (text.startsWith('utils.')) return this.#utils(text, site, fail, out);
    return this.#path(text, site, fail, out);
  }

  /** `args.a.b`, failing when missing. */
  #path(text: string, site: Site, fail: Fail, out: Code[]): Val | undefined {
    const segments = text.slice('args.'.length).split('.');
    if (hasForbidden(segments)) {
      out.push(this.#err(site, fail, msg.forbidden(text)));
      return undefined;
    }
    const v = this.#read(out, segments);
    out.push(_`if (${v} === undefined) { ${this.#err(site, fail, msg.missing(text))} }`);
    return { expr: v };
  }

  #utils(text: string, site: Site, fail: Fail, out: Code[]): Val | undefined {
    const call = parseUtils(text);
    const bad = (reason: string) => {
      out.push(this.#err(site, fail, reason));
      return undefined;
    };
    if (!call) return bad(msg.badHelper(text));
    const { fn, params } = call;
    // A parameter is an `args.` path or a literal; nothing else (Space Cloud cannot nest calls either).
    for (const p of params) if (p.startsWith('utils.') || p.startsWith('res.')) return bad(msg.badHelperArgs(text));
    const pathSegments = (p: string) => p.slice('args.'.length).split('.');
    for (const p of params) if (p.startsWith('args.') && hasForbidden(pathSegments(p))) return bad(msg.forbidden(p));
    switch (fn) {
      case 'exists': {
        if (params.length !== 1 || !params[0]!.startsWith('args.')) return bad(msg.badHelperArgs(text));
        return { expr: this.#let(out, _`${this.#read(out, pathSegments(params[0]!))} !== undefined`) };
      }
      case 'length': {
        if (params.length !== 1 || !params[0]!.startsWith('args.')) return bad(msg.badHelperArgs(text));
        const v = this.#path(params[0]!, site, fail, out)!;
        const n = this.#let(out, _`${this.#scope.h('length')}(${v.expr})`);
        out.push(_`if (${n} === undefined) { ${this.#err(site, fail, msg.noLength(params[0]!))} }`);
        return { expr: n };
      }
      case 'now': {
        if (params.length !== 0) return bad(msg.badHelperArgs(text));
        const s = this.#let(out, _`${this.#scope.h('now')}(${CTX})`);
        out.push(_`if (${s} === undefined) { ${this.#err(site, fail, msg.noClock())} }`);
        return { expr: s };
      }
      case 'addDuration':
      case 'roundUpDate': {
        if (params.length !== 2) return bad(msg.badHelperArgs(text));
        const [dateParam, otherParam] = params as [string, string];
        // Literal parameters are part of the rule: checked (and folded) before any path is read.
        const tKnown = dateParam.startsWith('args.') ? undefined : parseDate(dateParam);
        if (!dateParam.startsWith('args.') && tKnown === undefined) return bad(msg.badDate(dateParam));
        const otherLiteral = !otherParam.startsWith('args.');
        const nKnown = fn === 'addDuration' && otherLiteral ? parseDuration(otherParam) : undefined;
        if (fn === 'addDuration' && otherLiteral && nKnown === undefined) return bad(msg.badDuration(otherParam));
        if (fn === 'roundUpDate' && otherLiteral && truncateInstant({ sec: 0, nsec: 0, off: 0 }, otherParam) === undefined) {
          return bad(msg.badUnit(otherParam));
        }
        if (tKnown !== undefined && otherLiteral) {
          const r = fn === 'addDuration' ? addNanos(tKnown, nKnown!) : truncateInstant(tKnown, otherParam)!;
          const folded = formatInstant(r);
          if (folded === undefined) return bad(msg.dateRange(text));
          return { expr: lit(folded), known: { value: folded } };
        }
        let t: Code;
        if (tKnown === undefined) {
          const v = this.#path(dateParam, site, fail, out)!;
          t = this.#let(out, _`${this.#scope.h('parseDate')}(${v.expr})`);
          out.push(_`if (${t} === undefined) { ${this.#err(site, fail, msg.badDate(dateParam))} }`);
        } else {
          t = this.#scope.json(tKnown);
        }
        let result: Code;
        if (fn === 'addDuration') {
          let n: Code;
          if (otherLiteral) {
            // BigInt is not plain data: hoist the parse of the literal text.
            n = this.#scope.hoist(_`${this.#scope.h('parseDuration')}(${otherParam})`);
          } else {
            const v = this.#path(otherParam, site, fail, out)!;
            n = this.#let(out, _`${this.#scope.h('parseDuration')}(${v.expr})`);
            out.push(_`if (${n} === undefined) { ${this.#err(site, fail, msg.badDuration(otherParam))} }`);
          }
          result = _`${this.#scope.h('addNanos')}(${t}, ${n})`;
        } else {
          const unit = otherLiteral ? lit(otherParam) : this.#path(otherParam, site, fail, out)!.expr;
          const u = this.#let(out, _`${this.#scope.h('truncateInstant')}(${t}, ${unit})`);
          if (!otherLiteral) out.push(_`if (${u} === undefined) { ${this.#err(site, fail, msg.badUnit(otherParam))} }`);
          result = u;
        }
        const s = this.#let(out, _`${this.#scope.h('formatInstant')}(${result})`);
        out.push(_`if (${s} === undefined) { ${this.#err(site, fail, msg.dateRange(text))} }`);
        return { expr: s };
      }
      default:
        return bad(msg.badHelper(text));
    }
  }

  /** A scalar operand of a `match` of `type`; for dates, the value is an Instant. */
  #scalar(op: Json, type: string, site: Site, fail: Fail, out: Code[]): Val | undefined {
    const bad = (reason: string) => {
      out.push(this.#err(site, fail, reason));
      return undefined;
    };
    const jsType = type === 'bool' ? 'boolean' : type;
    const what = type === 'bool' ? 'boolean' : (type as 'string' | 'number' | 'date');
    if (isRef(op) && type !== 'date' && this.#plainPath(op)) {
      const v = this.#read(out, op.slice('args.'.length).split('.'));
      out.push(this.#typed(v, op, type, site, fail));
      return { expr: v };
    }
    if (isRef(op)) {
      const v = this.#ref(op, site, fail, out);
      if (!v) return undefined;
      if (type === 'date') {
        const t = this.#let(out, _`${this.#scope.h('parseDate')}(${v.expr})`);
        out.push(_`if (${t} === undefined) { ${this.#err(site, fail, msg.badDate(op))} }`);
        return { expr: t };
      }
      out.push(_`if (typeof ${v.expr} !== ${jsType}) { ${this.#err(site, fail, msg.notA(op, what))} }`);
      return v;
    }
    switch (type) {
      case 'string':
        return typeof op === 'string' ? { expr: lit(op), known: { value: op } } : bad(msg.notA(op, 'string'));
      case 'number':
        if (typeof op === 'number') return { expr: lit(op), known: { value: op } };
        return typeof op === 'string' ? bad(msg.notVariable(op, 'number')) : bad(msg.notA(op, 'number'));
      case 'bool':
        if (typeof op === 'boolean') return { expr: lit(op), known: { value: op } };
        return typeof op === 'string' ? bad(msg.notVariable(op, 'boolean')) : bad(msg.notA(op, 'boolean'));
      case 'date': {
        if (typeof op !== 'string') return bad(msg.notA(op, 'date'));
        const t = parseDate(op);
        if (t === undefined) return bad(msg.badDate(op));
        return { expr: this.#scope.json(t), known: { value: t } };
      }
      default:
        return bad(msg.unknownType(type));
    }
  }

  /** Whether `text` is an `args.` path that can be read (no forbidden segment). */
  #plainPath(text: string): boolean {
    return text.startsWith('args.') && !hasForbidden(text.slice('args.'.length).split('.'));
  }

  /**
   * The check that the value `v` read from the path `text` is of a match's `type`
   * (string, number or bool): one `typeof` when it is; missing (undefined) is told
   * apart from another type only when it is not.
   */
  #typed(v: Code, text: string, type: string, site: Site, fail: Fail): Code {
    const jsType = type === 'bool' ? 'boolean' : type;
    const what = type === 'bool' ? 'boolean' : (type as 'string' | 'number');
    const missing = this.#err(site, fail, msg.missing(text));
    const notA = this.#err(site, fail, msg.notA(text, what));
    // With an `error` override both denials are one: no need to tell them apart.
    if (missing.toString() === notA.toString()) return _`if (typeof ${v} !== ${jsType}) { ${notA} }`;
    return _`if (typeof ${v} !== ${jsType}) { if (${v} === undefined) { ${missing} } ${notA} }`;
  }

  /**
   * `==` or `in` (a list of constants) on strings, numbers or booleans whose operands are
   * `args.` paths or constants of the type, at least one a path: the values are read,
   * compared, and only when the comparison fails are they checked (a value equal to a
   * constant of the type, or of the type and equal to another value, is of the type): the checks
   * run in the order the general code runs them, then the mismatch. Undefined when the
   * match is not of that form.
   */
  #fastMatch(rule: Extract<Rule, { rule: 'match' }>, mismatch: () => Code, site: Site, fail: Fail): Code | undefined {
    const { type, f1, f2 } = rule;
    const op = rule.eval;
    if (type !== 'string' && type !== 'number' && type !== 'bool') return undefined;
    const jsType = type === 'bool' ? 'boolean' : type;
    const fits = (x: Json) => (isRef(x) ? this.#plainPath(x) : typeof x === jsType);
    if (!isRef(f1) || !fits(f1)) return undefined;
    if (op === '==') {
      if (!fits(f2)) return undefined;
    } else if (op !== 'in' || !Array.isArray(f2) || f2.length === 0 || !f2.every((e) => !isRef(e) && typeof e === jsType)) return undefined;
    const out: Code[] = [];
    const checks: Code[] = [];
    const operand = (x: Json): Code => {
      if (!isRef(x)) return lit(x);
      const v = this.#read(out, x.slice('args.'.length).split('.'));
      checks.push(this.#typed(v, x, type, site, fail));
      return v;
    };
    const a = operand(f1);
    let pass: Code;
    if (op === 'in') pass = this.#member(f2 as unknown[], a);
    // Two values equal to each other may both be missing: one's type is checked.
    else pass = isRef(f2) ? _`(typeof ${a} === ${jsType} && ${a} === ${operand(f2)})` : _`(${a} === ${operand(f2)})`;
    out.push(_`if (!${pass}) {\n${join(checks, _`\n`)}\n${mismatch()}\n}`);
    return join(out, _`\n`);
  }

  /**
   * The list operand of `in`/`notIn`: a literal array (its elements may be references)
   * or a reference to an array. Returns a boolean-expression builder for membership.
   */
  #list(op: Json, evalOp: string, type: 'string' | 'number', site: Site, fail: Fail, out: Code[]): ((v: Code) => Code) | { known: unknown[] } | undefined {
    const bad = (reason: string) => {
      out.push(this.#err(site, fail, reason));
      return undefined;
    };
    if (Array.isArray(op)) {
      const consts: unknown[] = [];
      const dyn: Code[] = [];
      for (const e of op) {
        if (isRef(e)) {
          const v = this.#ref(e, site, fail, out);
          if (!v) return undefined;
          out.push(_`if (typeof ${v.expr} !== ${type}) { ${this.#err(site, fail, msg.notA(e, type))} }`);
          dyn.push(v.expr);
        } else if (typeof e === type) {
          consts.push(e);
        } else if (typeof e === 'string') {
          return bad(msg.notVariable(e, type));
        } else {
          return bad(msg.notA(e, type));
        }
      }
      if (dyn.length === 0) return { known: consts };
      const s = consts.length > 0 ? this.#scope.set(consts) : undefined;
      const l = this.#let(out, _`[${join(dyn)}]`);
      return (v) => (s ? _`(${s}.has(${v}) || ${l}.includes(${v}))` : _`${l}.includes(${v})`);
    }
    if (isRef(op)) {
      const v = this.#ref(op, site, fail, out);
      if (!v) return undefined;
      const l = this.#let(out, _`${this.#scope.h(type === 'string' ? 'strings' : 'numbers')}(${v.expr})`);
      out.push(_`if (${l} === undefined) { ${this.#err(site, fail, msg.notA(op, type === 'string' ? 'list of strings' : 'list of numbers'))} }`);
      return (x) => _`${l}.includes(${x})`;
    }
    return bad(msg.needsList(evalOp, op));
  }

  /** Membership in a constant list: a short `===` chain (faster than a Set for a few items), else a hoisted Set. */
  #member(values: readonly unknown[], v: Code): Code {
    if (values.length === 0) return _`false`;
    if (values.length <= 8) return _`(${join(values.map((x) => _`${v} === ${lit(x)}`), _` || `)})`;
    return _`${this.#scope.set(values)}.has(${v})`;
  }

  #match(rule: Extract<Rule, { rule: 'match' }>, site: Site, fail: Fail): Code {
    const out: Code[] = [];
    const { type, f1, f2 } = rule;
    const op = rule.eval;
    const evals: Record<string, readonly string[]> = {
      string: ['==', '!=', 'in', 'notIn'],
      number: ['==', '!=', '>', '>=', '<', '<=', 'in', 'notIn'],
      bool: ['==', '!='],
      date: ['==', '!=', '>', '>=', '<', '<='],
    };
    const allowed = Object.hasOwn(evals, type) ? evals[type]! : undefined;
    if (!allowed) return this.#err(site, fail, msg.unknownType(type));
    if (!['==', '!=', '>', '>=', '<', '<=', 'in', 'notIn'].includes(op)) return this.#err(site, fail, msg.unknownEval(op));
    if (!allowed.includes(op)) {
      const plural = { string: 'strings', number: 'numbers', bool: 'booleans', date: 'dates' }[type as 'string'];
      return this.#err(site, fail, msg.cannotCompare(op, plural));
    }
    const mismatch = () => fail(() => this.#den(site, 'denied', msg.mismatch(f1, op, f2)), 'fail');
    const fast = this.#fastMatch(rule, mismatch, site, fail);
    if (fast) return fast;
    const a = this.#scalar(f1, type, site, fail, out);
    if (!a) return join(out, _`\n`);
    if (op === 'in' || op === 'notIn') {
      const l = this.#list(f2, op, type as 'string' | 'number', site, fail, out);
      if (!l) return join(out, _`\n`);
      if (typeof l !== 'function' && a.known) {
        const hit = l.known.includes(a.known.value);
        if (hit !== (op === 'in')) out.push(mismatch());
        return join(out, _`\n`);
      }
      const member = typeof l === 'function' ? l(a.expr) : this.#member(l.known, a.expr);
      out.push(op === 'in' ? _`if (!${member}) { ${mismatch()} }` : _`if (${member}) { ${mismatch()} }`);
      return join(out, _`\n`);
    }
    const b = this.#scalar(f2, type, site, fail, out);
    if (!b) return join(out, _`\n`);
    if (a.known && b.known) {
      if (!holds(type, op, a.known.value, b.known.value)) out.push(mismatch());
      return join(out, _`\n`);
    }
    let cond: Code;
    if (type === 'date') {
      const c = _`${this.#scope.h('compareInstants')}(${a.expr}, ${b.expr})`;
      cond = { '==': _`${c} === 0`, '!=': _`${c} !== 0`, '<': _`${c} < 0`, '<=': _`${c} <= 0`, '>': _`${c} > 0`, '>=': _`${c} >= 0` }[op as '==']!;
    } else {
      cond = {
        '==': _`${a.expr} === ${b.expr}`,
        '!=': _`${a.expr} !== ${b.expr}`,
        '<': _`${a.expr} < ${b.expr}`,
        '<=': _`${a.expr} <= ${b.expr}`,
        '>': _`${a.expr} > ${b.expr}`,
        '>=': _`${a.expr} >= ${b.expr}`,
      }[op as '==']!;
    }
    out.push(_`if (!(${cond})) { ${mismatch()} }`);
    return join(out, _`\n`);
  }

  // -------------------------------------------------------------------------
  // Transforms: remove, force, encrypt, decrypt, hash

  /** `clause` handling shared by the transforms: a failing clause skips, an erroring one fails. */
  #guarded(rule: AnyRule, site: Site, fail: Fail, work: (out: Code[]) => void): Code {
    const clause = (rule as { clause?: AnyRule }).clause;
    const out: Code[] = [];
    if (clause === undefined) {
      work(out);
      return join(out, _`\n`);
    }
    const L = this.#scope.mint('L');
    const region = this.#region(clause);
    const skip = (): Code => {
      const undo = region?.rollback();
      return undo ? _`${undo} break ${L};` : _`break ${L};`;
    };
    const onFail: Fail = (d, kind) => {
      if (kind === 'error') return fail(d, 'error');
      if (kind === 'fail') return skip();
      const dv = d();
      return _`if (${dv}.code === "error") { ${fail(() => dv, 'error')} } ${skip()}`;
    };
    if (region) out.push(region.start);
    this.#block(() => {
      out.push(this.rule(clause, enter(site, clause, `${site.path}.clause`), onFail));
      work(out);
    });
    return _`${L}: {\n${join(out, _`\n`)}\n}`;
  }

  /** Split a transform's field into where it goes and its segments; undefined after a static failure. */
  #target(field: string, site: Site, fail: Fail, out: Code[]): { res: boolean; segments: string[] } | undefined {
    let res: boolean;
    if (field.startsWith('res.')) res = true;
    else if (field.startsWith('args.')) res = false;
    else {
      out.push(this.#err(site, fail, msg.badField(field)));
      return undefined;
    }
    const segments = field.slice(res ? 4 : 5).split('.');
    if (hasForbidden(segments)) {
      out.push(this.#err(site, fail, msg.forbidden(field)));
      return undefined;
    }
    return { res, segments };
  }

  #transform(rule: AnyRule, site: Site, fail: Fail): Code {
    const s = this.#scope;
    return this.#guarded(rule, site, fail, (out) => {
      if (rule.rule === 'force') {
        const r = rule as Extract<Rule, { rule: 'force' }>;
        const t = this.#target(r.field, site, fail, out);
        if (!t) return;
        const value = this.#forceValue(r.value, site, fail, out);
        if (!value) return;
        if (t.res) {
          const a = s.hoist(this.#action('force', r.field, t.segments, site));
          out.push(_`${ACTS}.push(${s.h('forced')}(${a}, ${value}));`);
        } else {
          out.push(_`if (!${s.h('setPath')}(${ARGS}, ${s.strings(t.segments)}, ${value})) { ${this.#err(site, fail, msg.notSettable(r.field))} }`);
        }
        return;
      }
      const op = rule.rule as 'remove' | 'encrypt' | 'decrypt' | 'hash';
      const removed: Omit<RemoveSite, 'flag'> = { actions: [], fields: [], site };
      for (const field of (rule as { fields: string[] }).fields) {
        const t = this.#target(field, site, fail, out);
        if (!t) return;
        if (t.res && this.#sites !== undefined) {
          removed.actions.push(s.hoist(this.#action(op, field, t.segments, site)));
          removed.fields.push({ field, segments: t.segments });
        } else if (t.res) {
          out.push(_`${ACTS}.push(${s.hoist(this.#action(op, field, t.segments, site))});`);
        } else if (op === 'remove') {
          out.push(_`if (!${s.h('removePath')}(${ARGS}, ${s.strings(t.segments)})) { ${this.#err(site, fail, msg.notRemovable(field))} }`);
        } else {
          const r = this.#let(out, _`${s.h('transformPath')}(${ARGS}, ${s.strings(t.segments)}, ${op}, ${CTX})`);
          out.push(
            _`if (${r} !== 0) { if (${r} === ${s.h('TRANSFORM_NOT_STRING')}) { ${this.#err(site, fail, msg.notStringField(field))} } else if (${r} === ${s.h('TRANSFORM_NO_CRYPTO')}) { ${this.#err(site, fail, msg.noCrypto())} } else { ${this.#err(site, fail, op === 'decrypt' ? msg.notDecryptable(field) : msg.notEncryptable(field))} } }`,
          );
        }
      }
      if (removed.actions.length > 0) {
        // Set after the rule's other fields: if one of them fails, the flag stays clear.
        const flag = s.mint('v');
        this.#sites!.push({ ...removed, flag });
        out.push(_`${flag} = true;`);
      }
    });
  }

  #action(op: string, field: string, segments: readonly string[], site: Site): Code {
    const h = this.#scope.h('action');
    const segs = this.#scope.strings(segments);
    const at = this.#pathCode(site.path);
    return site.name !== undefined ? _`${h}(${op}, ${field}, ${segs}, ${at}, ${site.name})` : _`${h}(${op}, ${field}, ${segs}, ${at})`;
  }

  /** `force`'s value: a reference (must exist; copied), or a literal (objects copied per request). */
  #forceValue(value: Json, site: Site, fail: Fail, out: Code[]): Code | undefined {
    if (isRef(value)) {
      const v = this.#ref(value, site, fail, out);
      if (!v) return undefined;
      return value.startsWith('args.') ? _`${this.#scope.h('clone')}(${v.expr})` : v.expr;
    }
    if (typeof value === 'object' && value !== null) return _`${this.#scope.h('clone')}(${this.#scope.json(value)})`;
    return lit(value);
  }

  /** Check a `store` target statically; its segments, or undefined after a static failure. */
  #store(store: string | undefined, site: Site, fail: Fail, out: Code[]): string[] | undefined {
    const target = store ?? 'args.result';
    if (!target.startsWith('args.')) {
      out.push(this.#err(site, fail, msg.badStore(target)));
      return undefined;
    }
    const segments = target.slice(5).split('.');
    if (hasForbidden(segments)) {
      out.push(this.#err(site, fail, msg.forbidden(target)));
      return undefined;
    }
    return segments;
  }

  // -------------------------------------------------------------------------
  // I/O rules

  /** A `find` value with its references resolved; statements go to `out`. */
  #find(value: Json, site: Site, fail: Fail, out: Code[]): Code | undefined {
    if (!containsRef(value)) {
      return typeof value === 'object' && value !== null ? _`${this.#scope.h('clone')}(${this.#scope.json(value)})` : lit(value);
    }
    if (isRef(value)) return this.#ref(value, site, fail, out)?.expr;
    if (Array.isArray(value)) {
      const items: Code[] = [];
      for (const v of value) {
        const c = this.#find(v, site, fail, out);
        if (!c) return undefined;
        items.push(c);
      }
      return _`[${join(items)}]`;
    }
    const entries: Code[] = [];
    for (const [k, v] of Object.entries(value as Record<string, Json>)) {
      const c = this.#find(v, site, fail, out);
      if (!c) return undefined;
      entries.push(_`[${k}, ${c}]`);
    }
    return _`${this.#scope.h('obj')}([${join(entries)}])`;
  }

  #query(rule: Extract<Rule, { rule: 'query' }>, site: Site, fail: Fail): Code {
    const s = this.#scope;
    const out: Code[] = [];
    const store = this.#store(rule.store, site, fail, out);
    if (!store) return join(out, _`\n`);
    const find = this.#find(rule.find, site, fail, out);
    if (!find) return join(out, _`\n`);
    const r = this.#let(out, _`await ${s.h('query')}(${CTX}, ${rule.db}, ${rule.col}, ${find})`);
    out.push(
      _`if (typeof ${r} === "number") { if (${r} === ${s.h('IO_MISSING')}) { ${this.#err(site, fail, msg.noQuery())} } else { ${this.#err(site, fail, msg.queryFailed(rule.db, rule.col))} } }`,
    );
    out.push(_`if (!${s.h('setPath')}(${ARGS}, ${s.strings(store)}, ${r})) { ${this.#err(site, fail, msg.notSettable(rule.store ?? 'args.result'))} }`);
    if (rule.clause !== undefined) {
      const clause = rule.clause as AnyRule;
      out.push(this.rule(clause, enter(site, clause, `${site.path}.clause`), fail));
    } else {
      out.push(_`if (${r}.length === 0) { ${fail(() => this.#den(site, 'denied', msg.queryEmpty(rule.db, rule.col)), 'fail')} }`);
    }
    return join(out, _`\n`);
  }

  #webhook(rule: Extract<Rule, { rule: 'webhook' }>, site: Site, fail: Fail): Code {
    const s = this.#scope;
    const out: Code[] = [];
    const store = this.#store(rule.store, site, fail, out);
    if (!store) return join(out, _`\n`);
    const timeout = typeof rule.timeout === 'number' ? rule.timeout : DEFAULT_WEBHOOK_TIMEOUT;
    const w = this.#let(out, _`await ${s.h('webhook')}(${CTX}, ${rule.url}, ${ARGS}, ${timeout})`);
    out.push(
      _`if (typeof ${w} === "number") { if (${w} === ${s.h('IO_MISSING')}) { ${this.#err(site, fail, msg.noFetch())} } else if (${w} === ${s.h('IO_TIMEOUT')}) { ${this.#err(site, fail, msg.webhookTimeout(rule.url))} } else { ${this.#err(site, fail, msg.webhookFailed(rule.url))} } }`,
    );
    out.push(_`if (!${s.h('ok2xx')}(${w}.status)) { ${fail(() => this.#den(site, 'denied', msg.webhookRefused(rule.url)), 'fail')} }`);
    out.push(_`if (${w}.body === undefined) { ${this.#err(site, fail, msg.webhookNotJson(rule.url))} }`);
    out.push(_`if (!${s.h('setPath')}(${ARGS}, ${s.strings(store)}, ${w}.body)) { ${this.#err(site, fail, msg.notSettable(rule.store ?? 'args.result'))} }`);
    if (rule.clause !== undefined) {
      const clause = rule.clause as AnyRule;
      out.push(this.rule(clause, enter(site, clause, `${site.path}.clause`), fail));
    }
    return join(out, _`\n`);
  }

  #code(rule: Extract<Rule, { rule: 'code' }>, site: Site, fail: Fail): Code {
    const s = this.#scope;
    const out: Code[] = [];
    const f = this.#let(out, _`${s.h('codeFn')}(${CODE_TABLE}, ${CTX}, ${rule.id})`);
    out.push(_`if (${f} === undefined) { ${this.#err(site, fail, msg.codeMissing())} }`);
    const x = s.mint('v');
    out.push(_`let ${x};`);
    out.push(
      rule.async
        ? _`try { ${x} = await ${f}(${ARGS}); } catch { ${this.#err(site, fail, msg.codeFailed())} }`
        : _`try { ${x} = ${f}(${ARGS}); } catch { ${this.#err(site, fail, msg.codeFailed())} }`,
    );
    const denied = fail(() => this.#den(site, 'denied', msg.codeDenied()), 'fail');
    out.push(rule.async ? _`if (${x} !== true) { ${denied} }` : _`if (${x} !== true) { ${s.h('settle')}(${x}); ${denied} }`);
    return join(out, _`\n`);
  }
}

function containsRef(v: Json): boolean {
  if (isRef(v)) return true;
  if (Array.isArray(v)) return v.some(containsRef);
  if (typeof v === 'object' && v !== null) return Object.values(v).some(containsRef);
  return false;
}

/** Compile-time comparison of two constants (folding). */
function holds(type: string, op: string, a: unknown, b: unknown): boolean {
  if (type === 'date') {
    const c = compareInstants(a as Instant, b as Instant);
    return op === '==' ? c === 0 : op === '!=' ? c !== 0 : op === '<' ? c < 0 : op === '<=' ? c <= 0 : op === '>' ? c > 0 : c >= 0;
  }
  const x = a as number, y = b as number;
  switch (op) {
    case '==':
      return x === y;
    case '!=':
      return x !== y;
    case '<':
      return x < y;
    case '<=':
      return x <= y;
    case '>':
      return x > y;
    default:
      return x >= y;
  }
}

// ---------------------------------------------------------------------------
// Public generator API

export interface RequirementCollection {
  /** The requirements, in the order written; one passing passes the collection. */
  collection: readonly PolicyRequirement[];
  /** Config path of the collection, e.g. `services.blog.security`. */
  path: string;
  /** Service level: `authenticated` is implied unless the collection holds `allowAnonymous`. */
  implicitAuthenticated: boolean;
}

export interface GenerateInput {
  /** Exported as `hash` (equal to policy.json's). */
  hash: string;
  /** `service/table/operation` → the rule and its config path (`rules.blog.posts.read`). */
  rules: Record<string, { rule: Rule; path: string }>;
  /** `service`, `service/table` or `service/table/column` → one requirement collection. */
  requirements: Record<string, RequirementCollection>;
  /** Code-rule id → JavaScript source of an expression that evaluates to the function (trusted user code). */
  code: Record<string, string>;
}

const HEADER = '// generated by dfc, do not edit';
export const RUNTIME_SPECIFIER = '@dfc/rules/runtime';

function sortedKeys(o: object): string[] {
  return Object.keys(o).sort();
}

/** Build the body shared by `compile` and `generate`: code functions, constants and closures. */
function codeFunction(source: string): Code {
  // invariant: the one place user text is emitted unquoted, by design: a code rule is
  // the user's own function, bundled from the config (trusted like the config itself).
  // The newline before `)` keeps a trailing line comment from swallowing it.
  return _`(\n${trusted(source)}\n)`;
}

function trusted(source: string): Code {
  if (typeof source !== 'string') throw new TypeError('code rule sources must be strings');
  // Reuse `_` with a single raw string part: the only way to splice text unquoted.
  const strings = Object.assign([source], { raw: [source] }) as unknown as TemplateStringsArray;
  return _(strings);
}

const PATH_PARAM = name('P');

/**
 * Closure factories of one module. Each rule and requirement closure is emitted in its
 * own scope as a factory taking the closure's config path, `(P) => { constants; return
 * closure; }`; closures whose factories are identical (the same rule written in many
 * places) share one. The module stays small, with few top-level bindings however many
 * rules it holds, and shared code is optimised once, not once per table.
 *
 * A factory takes the helpers its closure calls as parameters, bound once when the
 * module loads: `((rd, …) => (P) => { … })(rd, …)`. Closures then read them one context
 * away, not as imported (live) bindings, which a bundler turns into module-level `var`s:
 * faster in the decision benchmark, bundled or not (bench/fast-path.md).
 *
 * Constants that do not depend on the path (a Set for a role list, JSON data, and a
 * closure that mentions no such constant) are made there too, once for every closure of
 * the factory: `((rd, …) => { const k0 = set([…]); return (P) => { … }; })(rd, …)`. A
 * decision then reads objects that every table shares (and that stay in the CPU's
 * caches) instead of its table's own copy.
 */
class Factories {
  readonly #scope: Scope;
  readonly #cache: GenerateCache | undefined;
  readonly #byText = new Map<string, Name>();

  constructor(scope: Scope, cache?: GenerateCache) {
    this.#scope = scope;
    this.#cache = cache;
  }

  /**
   * `FN(path)`: the closure `build` emits for `source` (a rule or a requirement
   * collection, of `kind`), from a factory shared with identical closures. `check`
   * validates `source` first; a closure taken from the cache was made from the same
   * source, which passed it then.
   */
  closure(kind: string, path: string, source: unknown, check: () => void, build: (emitter: Emitter) => Name): Code {
    const key = this.#cache === undefined ? undefined : cacheKey(kind, path, source);
    let made = key === undefined ? undefined : this.#cache!.take(key);
    if (made === undefined) {
      check();
      made = this.#make(path, build);
      if (key !== undefined) this.#cache!.put(key, made);
    }
    for (const h of made.helpers) this.#scope.h(h);
    let f = this.#byText.get(made.text);
    if (f === undefined) {
      f = this.#scope.mint('F');
      this.#byText.set(made.text, f);
      this.#scope.declare(f, made.factory);
    }
    return _`${f}(${path})`;
  }

  #make(path: string, build: (emitter: Emitter) => Name): Factory {
    const local = new Scope([PATH_PARAM]);
    const n = build(new Emitter(local, { name: PATH_PARAM, path }));
    const used = join(local.helpers.map((h) => name(h)));
    const own = local.own;
    const closure = own.isEmpty ? _`(${PATH_PARAM}) => ${n}` : _`(${PATH_PARAM}) => {\n${own}\nreturn ${n};\n}`;
    const shared = local.shared;
    const factory = shared.isEmpty ? _`((${used}) => ${closure})(${used})` : _`((${used}) => {\n${shared}\nreturn ${closure};\n})(${used})`;
    return { factory, text: factory.toString(), helpers: local.helpers };
  }
}

/** A closure factory as made for one rule or collection: its code and the helpers it takes. */
interface Factory {
  readonly factory: Code;
  readonly text: string;
  readonly helpers: readonly Helper[];
}

/**
 * Closure factories kept from one `generate` call for the next (`dfc build --watch`):
 * a rebuild after an edit makes only the closures whose rule or collection changed,
 * and takes the others' code as made before, validation included. Each is found by
 * the exact JSON of what it was made from and its config path; a value JSON cannot
 * tell apart from another (`-0`, `undefined`, a non-finite number) is made afresh
 * every time. Holds only what the latest call used.
 */
export class GenerateCache {
  #entries = new Map<string, Factory>();
  #used = new Map<string, Factory>();
  #reusing = 0;
  #reused = 0;

  /** How many factories it holds. */
  get size(): number {
    return this.#entries.size;
  }

  /** How many closures the latest call took from the cache. */
  get reused(): number {
    return this.#reused;
  }

  take(key: string): Factory | undefined {
    const hit = this.#used.get(key) ?? this.#entries.get(key);
    if (hit !== undefined) {
      this.#used.set(key, hit);
      this.#reusing++;
    }
    return hit;
  }

  put(key: string, factory: Factory): void {
    this.#used.set(key, factory);
  }

  /** Keep what this call used, drop the rest. */
  settle(): void {
    this.#entries = this.#used;
    this.#used = new Map();
    this.#reused = this.#reusing;
    this.#reusing = 0;
  }
}

/** The cache key of a closure's source, or undefined when its JSON would not tell it apart from another value. */
function cacheKey(kind: string, path: string, source: unknown): string | undefined {
  // Deeper than this, a value is not cached (and its check refuses a rule that deep, or a cycle).
  const text = exactJson(source, 4 * MAX_RULE_DEPTH);
  return text === undefined ? undefined : `${kind}\0${path}\0${text}`;
}

/**
 * The ES module source that the compiler writes as policy.mjs. Deterministic: the
 * same with or without a `cache`, which a caller that generates again and again
 * (`--watch`) keeps between calls.
 */
export function generate(input: GenerateInput, cache?: GenerateCache): string {
  if (typeof input.hash !== 'string') throw new TypeError('generate needs a `hash` string');
  const scope = new Scope();
  const factories = new Factories(scope, cache);
  try {
    const codeEntries: Code[] = [];
    for (const id of sortedKeys(input.code ?? {})) {
      const c = scope.mint('c');
      scope.declare(c, codeFunction(input.code[id]!));
      codeEntries.push(_`[${id}, ${c}]`);
    }
    scope.declare(CODE_TABLE, _`${scope.h('table')}([${join(codeEntries)}])`);
    const ruleEntries: Code[] = [];
    for (const key of sortedKeys(input.rules ?? {})) {
      const { rule, path } = input.rules[key]!;
      const closure = factories.closure('rule', path, rule, () => assertRule(rule), (e) => e.ruleClosure(rule as AnyRule, path, true));
      ruleEntries.push(_`[${key}, ${closure}]`);
    }
    const reqEntries: Code[] = [];
    for (const key of sortedKeys(input.requirements ?? {})) {
      const c = input.requirements[key]!;
      const closure = factories.closure('requirements', c.path, c, () => assertRequirements(c.collection), (e) => e.requirementsClosure([c]));
      reqEntries.push(_`[${key}, ${closure}]`);
    }
    const table = scope.h('table');
    const helpers = scope.helpers;
    return [
      HEADER,
      `import { ${helpers.join(', ')} } from ${quote(RUNTIME_SPECIFIER)};`,
      '',
      scope.declarations.toString(),
      '',
      `export const hash = ${quote(input.hash)};`,
      `export { ${CODE_TABLE} as code };`,
      _`export const rules = ${table}([${join(ruleEntries, _`,\n  `)}]);`.toString(),
      _`export const requirements = ${table}([${join(reqEntries, _`,\n  `)}]);`.toString(),
      '',
    ].join('\n');
  } finally {
    cache?.settle();
  }
}

/** Source of a function body (for `new Function('rt', 'codeTable', body)`) returning one closure. */
export function closureSource(build: (emitter: Emitter) => Name): string {
  const scope = new Scope();
  const emitter = new Emitter(scope);
  const n = build(emitter);
  return [
    '"use strict";',
    `const { ${scope.helpers.join(', ')} } = rt;`,
    scope.declarations.toString(),
    `return ${n.toString()};`,
  ].join('\n');
}

export type { Emitter };
