import { ConfigSchema, exactJson, FORBIDDEN_SEGMENTS, MAX_RULE_DEPTH, type Config, type ConfigRuleSet } from '@dfc/schema';
import type { z } from 'zod';
import type { DiagnosticCode } from '../diagnostics/codes.js';
import { displayPath, type RawPath } from '../diagnostics/config-path.js';
import { diagnostic, type Diagnostic } from '../diagnostics/diagnostic.js';
import type { LocateMode, Locator } from '../source/locate.js';
import { didYouMean, listOf } from '../util/suggest.js';
import { describeValue } from './load.js';

export interface ValidateInput {
  /** The config module's default export. */
  value: unknown;
  locator: Locator;
  /** Kept between `--watch` rebuilds: rule sets already parsed, by their exact JSON. */
  cache?: ValidateCache | undefined;
}

/** Rule sets the last validation parsed, by their exact JSON (only those it used). */
export interface ValidateCache {
  ruleSets?: Map<string, ConfigRuleSet>;
}

export interface ValidateOutput {
  diagnostics: Diagnostic[];
  /** The parsed config, when it has no errors. */
  config?: Config;
  /** Every object the config value reaches (itself included), when it has no errors. */
  reached?: { has(value: object): boolean };
}

/** Deeper than this, a config is refused before zod walks it (which recurses). */
const MAX_DEPTH = 4 * MAX_RULE_DEPTH;

type Issue = z.core.$ZodIssue;

export function validate(input: ValidateInput): ValidateOutput {
  const { value, locator } = input;
  const report = (code: DiagnosticCode, message: string, path: RawPath, mode: LocateMode = 'value', notes: (string | undefined)[] = []) =>
    diagnostic(code, message, { path: displayPath(value, path), span: locator.locate(path, mode), notes });

  const { diagnostics: shape, reached } = checkShape(value, report);
  if (shape.length > 0) return { diagnostics: shape };

  const parsed = input.cache ? parseReusing(value, input.cache) : ConfigSchema.safeParse(value, { reportInput: true });
  if (!parsed.success) {
    const diagnostics = parsed.error.issues.flatMap((issue) => issueDiagnostics(issue, [], value, report));
    return { diagnostics };
  }
  const config = parsed.data;
  const diagnostics = [...duplicateNames(config, report), ...ruleDepth(config, report)];
  return diagnostics.length > 0 ? { diagnostics } : { diagnostics, config, reached };
}

/**
 * The config parsed with each rule set whose exact JSON the last parse saw taken from
 * it (a rule set's parse depends on its own value alone): most of a rebuild's parse is
 * its rule sets, and an edit changes one. A rule set JSON cannot tell apart from
 * another (a function, `undefined`, `-0`) is parsed every time. When the rest fails,
 * the whole config is parsed again, so that every issue has its place.
 */
function parseReusing(value: unknown, cache: ValidateCache): ReturnType<typeof ConfigSchema.safeParse> {
  const whole = () => ConfigSchema.safeParse(value, { reportInput: true });
  const rules = value !== null && typeof value === 'object' ? (value as { rules?: unknown }).rules : undefined;
  if (!Array.isArray(rules)) return whole();
  const known = cache.ruleSets ?? new Map<string, ConfigRuleSet>();
  const keys = rules.map((r) => exactJson(r, MAX_DEPTH));
  const fresh = rules.filter((_, i) => keys[i] === undefined || !known.has(keys[i]!));
  const parsed = ConfigSchema.safeParse({ ...(value as object), rules: fresh }, { reportInput: true });
  if (!parsed.success) return whole();
  const used = new Map<string, ConfigRuleSet>();
  let next = 0;
  const all = rules.map((_, i) => {
    const key = keys[i];
    const set = key !== undefined && known.has(key) ? known.get(key)! : parsed.data.rules![next++]!;
    if (key !== undefined) used.set(key, set);
    return set;
  });
  cache.ruleSets = used;
  return { ...parsed, data: { ...parsed.data, rules: all } };
}

type Report = (code: DiagnosticCode, message: string, path: RawPath, mode?: LocateMode, notes?: (string | undefined)[]) => Diagnostic;

/**
 * Cycles and runaway nesting, found before anything recurses into the value.
 *
 * A config shares objects: every access entry holds its service, every app its roles.
 * An object whose walk reported nothing is not walked again; how deep it goes is kept,
 * so a visit from deeper down is still walked when it would cross MAX_DEPTH. (What it
 * reaches has no cycle, or that walk would have reported one; a cycle back to an
 * ancestor of a later visit would run through the object itself.)
 */
function checkShape(root: unknown, report: Report): { diagnostics: Diagnostic[]; reached: ReadonlyMap<object, number> } {
  const out: Diagnostic[] = [];
  let stopped = false;
  const ancestors = new Set<object>();
  /** Object → how many levels of objects lie below it, for objects whose walk reported nothing. */
  const clean = new Map<object, number>();
  const path: (string | number)[] = [];
  const stop = (d: Diagnostic) => {
    out.push(d);
    stopped = true;
  };
  /** Walks `v` at `path`; returns the levels of objects below it (-1: not an object). */
  const walk = (v: unknown): number => {
    if (v === null || typeof v !== 'object' || stopped) return -1;
    if (ancestors.has(v)) {
      stop(report('DFC3011', `the config contains itself at \`${displayPath(root, path)}\``, [...path], 'value', [
        'a config must be a tree of plain values: an object cannot hold itself, directly or through others',
      ]));
      return 0;
    }
    if (path.length > MAX_DEPTH) {
      stop(report('DFC3008', `the config nests deeper than ${MAX_DEPTH} levels`, [...path]));
      return 0;
    }
    const below = clean.get(v);
    if (below !== undefined && path.length + below <= MAX_DEPTH) return below;
    const reported = out.length;
    let height = 0;
    ancestors.add(v);
    if (Array.isArray(v)) {
      for (let i = 0; i < v.length; i++) {
        path.push(i);
        height = Math.max(height, walk(v[i]) + 1);
        path.pop();
      }
    } else {
      for (const key of Object.keys(v)) {
        const item = (v as Record<string, unknown>)[key];
        // Security checklist C5: these names reach an object's prototype wherever they are used as keys.
        if (FORBIDDEN_SEGMENTS.has(key) || (key === 'name' && typeof item === 'string' && FORBIDDEN_SEGMENTS.has(item))) {
          const name = key === 'name' ? (item as string) : key;
          out.push(report('DFC3012', `\`${name}\` cannot be used as a name`, [...path, key], key === 'name' ? 'value' : 'key', [
            '`__proto__`, `constructor` and `prototype` reach an object\'s prototype; choose another name',
          ]));
          continue;
        }
        path.push(key);
        height = Math.max(height, walk(item) + 1);
        path.pop();
      }
    }
    ancestors.delete(v);
    if (out.length === reported) clean.set(v, height);
    return height;
  };
  walk(root);
  // Without a report, every object reached was walked and found clean.
  return { diagnostics: out, reached: clean };
}

function get(value: unknown, path: readonly PropertyKey[]): unknown {
  let v = value;
  for (const seg of path) {
    if (v === null || typeof v !== 'object' || !Object.hasOwn(v, seg)) return undefined;
    v = (v as Record<PropertyKey, unknown>)[seg];
  }
  return v;
}

/** `verbs[1]`, `f2`: the property a message talks about, from the end of its path. */
function subject(path: RawPath): string {
  let i = path.length - 1;
  while (i > 0 && typeof path[i] === 'number') i--;
  const out = path
    .slice(Math.max(i, 0))
    .map((s, j) => (typeof s === 'number' ? `[${s}]` : j === 0 ? s : `.${s}`))
    .join('');
  return out.length > 0 ? out : 'config';
}

function toRaw(path: readonly PropertyKey[]): (string | number)[] {
  return path.map((p) => (typeof p === 'number' ? p : String(p)));
}

const ARTICLES: Record<string, string> = {
  object: 'an object',
  array: 'an array',
  string: 'a string',
  number: 'a number',
  int: 'an integer',
  boolean: 'a boolean',
  function: 'a function',
  record: 'an object',
};

function expectedText(list: string[]): string {
  const words = [...new Set(list.map((e) => ARTICLES[e] ?? e))];
  return words.length <= 1 ? (words[0] ?? 'a value') : words.slice(0, -1).join(', ') + ' or ' + words[words.length - 1];
}

/** All `expected` of a union's alternatives, when every one failed on the value's type. */
function unionTypeExpectations(issue: Issue): string[] | undefined {
  if (issue.code === 'invalid_type' && issue.path.length === 0) return [issue.expected];
  if (issue.code === 'invalid_union' && issue.errors.length > 0) {
    const all: string[] = [];
    for (const branch of issue.errors) {
      for (const i of branch) {
        const e = unionTypeExpectations(i);
        if (!e) return undefined;
        all.push(...e);
      }
    }
    return all;
  }
  return undefined;
}

function issueDiagnostics(issue: Issue, prefix: RawPath, root: unknown, report: Report): Diagnostic[] {
  const path = [...prefix, ...toRaw(issue.path)];
  const input = get(root, path);
  const name = subject(path);
  switch (issue.code) {
    case 'invalid_type':
      if (input === undefined) {
        const last = path[path.length - 1];
        return [
          report(
            'DFC3005',
            typeof last === 'string' ? `missing property \`${last}\`` : `missing value at \`${name}\``,
            path.slice(0, -1),
            'value',
            [typeof last === 'string' ? `\`${last}\` must be ${expectedText([issue.expected])}` : undefined],
          ),
        ];
      }
      return [report('DFC3001', `\`${name}\` must be ${expectedText([issue.expected])}, not ${describeValue(input)}`, path)];
    case 'invalid_value': {
      const values = issue.values.map(String);
      const shown = typeof input === 'string' ? `\`${input}\`` : describeValue(input);
      return [
        report('DFC3003', `invalid value ${shown} for \`${name}\``, path, 'value', [
          typeof input === 'string' ? didYouMean(input, values) : undefined,
          `expected ${listOf(values)}`,
        ]),
      ];
    }
    case 'invalid_union': {
      if ('discriminator' in issue && issue.discriminator !== undefined && issue.errors.length === 0) {
        const options = ((issue as { options?: unknown[] }).options ?? []).map(String);
        const objectPath = path.slice(0, -1);
        const discValue = get(root, path);
        if (discValue === undefined) {
          return [report('DFC3005', `missing property \`${issue.discriminator}\``, objectPath, 'value', [`expected ${listOf(options)}`])];
        }
        const what = kindWord(issue.discriminator, objectPath);
        const shown = typeof discValue === 'string' ? `\`${discValue}\`` : describeValue(discValue);
        return [
          report('DFC3004', `unknown ${what} ${shown}`, path, 'value', [
            typeof discValue === 'string' ? didYouMean(discValue, options) : undefined,
            `expected ${listOf(options)}`,
          ]),
        ];
      }
      const expectations = unionTypeExpectations({ ...issue, path: [] } as Issue);
      if (expectations) {
        return [report('DFC3001', `\`${name}\` must be ${expectedText(expectations)}, not ${describeValue(input)}`, path)];
      }
      // Report the alternative that came closest: one that accepted the value's type.
      const branches = issue.errors.filter((b) => !b.some((i) => unionTypeExpectations(i) !== undefined));
      const best = [...branches].sort((a, b) => a.length - b.length)[0];
      if (best) return best.flatMap((i) => issueDiagnostics(i, path, root, report));
      return [report('DFC3001', `\`${name}\` has the wrong shape`, path)];
    }
    case 'unrecognized_keys': {
      const known = knownKeys(path, root);
      return issue.keys.map((key) =>
        report('DFC3002', `unknown property \`${key}\``, [...path, key], 'key', [
          known ? didYouMean(key, known) : undefined,
          known ? `\`${name}\` may have ${listOf(known, 'and', 20)}` : undefined,
        ]),
      );
    }
    case 'too_small':
    case 'too_big': {
      const bound = issue.code === 'too_small' ? issue.minimum : issue.maximum;
      const small = issue.code === 'too_small';
      let message: string;
      if (issue.origin === 'array' || issue.origin === 'set') {
        message =
          small && Number(bound) === 1
            ? `\`${name}\` must not be empty`
            : `\`${name}\` must hold ${small ? 'at least' : 'at most'} ${bound} ${Number(bound) === 1 ? 'item' : 'items'}`;
      } else if (issue.origin === 'string') {
        message =
          small && Number(bound) === 1
            ? `\`${name}\` must not be empty`
            : `\`${name}\` must be ${small ? 'at least' : 'at most'} ${bound} characters long`;
      } else {
        const inclusive = issue.inclusive !== false;
        const words = small ? (inclusive ? 'at least' : 'greater than') : inclusive ? 'at most' : 'less than';
        message = `\`${name}\` must be ${words} ${bound}, not ${describeValue(input)}`;
      }
      return [report('DFC3006', message, path)];
    }
    case 'invalid_format':
    case 'not_multiple_of':
    case 'custom': {
      const text = issue.message && !/^Invalid/.test(issue.message) ? issue.message : formatText(issue);
      return [report('DFC3012', `invalid \`${name}\`: ${text}`, path, 'value', [
        typeof input === 'string' ? `found \`${input.length > 60 ? input.slice(0, 57) + '…' : input}\`` : undefined,
      ])];
    }
    case 'invalid_key': {
      // A record key (a table or column name) that is not a valid name; the path ends with it.
      const inner = issue.issues[0];
      const text = inner && inner.message && !/^Invalid/.test(inner.message) ? inner.message : 'is not a valid name';
      return [report('DFC3012', `invalid name \`${String(path[path.length - 1])}\` in \`${subject(path.slice(0, -1))}\`: ${text}`, path, 'key')];
    }
    case 'invalid_element':
      return issue.issues.flatMap((i) => issueDiagnostics(i, path, root, report));
  }
}

function formatText(issue: Issue): string {
  if (issue.code === 'invalid_format') {
    switch (issue.format) {
      case 'url':
        return 'must be a URL';
      case 'starts_with':
        return `must start with \`${(issue as { prefix?: string }).prefix ?? ''}\``;
      case 'regex':
        return `must match \`${(issue as { pattern?: string }).pattern ?? ''}\``;
      default:
        return `must be a valid ${issue.format}`;
    }
  }
  if (issue.code === 'not_multiple_of') return `must be a multiple of ${issue.divisor}`;
  return 'is not valid';
}

function kindWord(discriminator: string, objectPath: RawPath): string {
  if (discriminator === 'rule') return 'rule type';
  const last = [...objectPath].reverse().find((s) => typeof s === 'string');
  if (discriminator === 'type') {
    if (last === 'database') return 'database type';
    return 'requirement type';
  }
  return `\`${discriminator}\``;
}

// ---------------------------------------------------------------------------
// The keys a strict object accepts, found by walking the zod schema along the path.

type AnySchema = z.core.$ZodType;
interface Def {
  type: string;
  shape?: Record<string, AnySchema>;
  element?: AnySchema;
  valueType?: AnySchema;
  innerType?: AnySchema;
  options?: AnySchema[];
  discriminator?: string;
  getter?: () => AnySchema;
  in?: AnySchema;
  values?: unknown[];
}

function defOf(schema: AnySchema): Def {
  return (schema as unknown as { _zod: { def: Def } })._zod.def;
}

function settle(schema: AnySchema | undefined, value: unknown, depth = 0): AnySchema | undefined {
  if (!schema || depth > 20) return schema;
  const def = defOf(schema);
  switch (def.type) {
    case 'optional':
    case 'nullable':
    case 'default':
    case 'readonly':
    case 'nonoptional':
    case 'catch':
      return settle(def.innerType, value, depth + 1);
    case 'lazy':
      return settle(def.getter?.(), value, depth + 1);
    case 'pipe':
      return settle(def.in, value, depth + 1);
    case 'union': {
      const options = def.options ?? [];
      if (def.discriminator && value !== null && typeof value === 'object') {
        const tag = (value as Record<string, unknown>)[def.discriminator];
        for (const option of options) {
          const o = settle(option, value, depth + 1);
          const lit = o && defOf(o).shape?.[def.discriminator];
          if (lit && (defOf(lit).values ?? []).includes(tag)) return o;
        }
        return undefined;
      }
      const want = Array.isArray(value) ? 'array' : value !== null && typeof value === 'object' ? 'object' : undefined;
      for (const option of options) {
        const o = settle(option, value, depth + 1);
        const t = o && defOf(o).type;
        if (want && (t === want || (want === 'object' && t === 'record'))) return o;
      }
      return undefined;
    }
    default:
      return schema;
  }
}

function knownKeys(path: RawPath, root: unknown): string[] | undefined {
  let schema: AnySchema | undefined = ConfigSchema as unknown as AnySchema;
  let value = root;
  for (const seg of path) {
    schema = settle(schema, value);
    if (!schema) return undefined;
    const def = defOf(schema);
    value = get(value, [seg]);
    if (def.type === 'object') schema = def.shape?.[String(seg)];
    else if (def.type === 'array') schema = def.element;
    else if (def.type === 'record') schema = def.valueType;
    else return undefined;
  }
  schema = settle(schema, value);
  const shape = schema && defOf(schema).type === 'object' ? defOf(schema).shape : undefined;
  return shape ? Object.keys(shape) : undefined;
}

// ---------------------------------------------------------------------------
// Checks zod cannot express.

/** Names that are equal, or equal ignoring case (which URLs and some databases do). */
function duplicateNames(config: Config, report: Report): Diagnostic[] {
  const out: Diagnostic[] = [];
  const check = (what: string, items: { name: string; path: RawPath }[]) => {
    const seen = new Map<string, string>();
    for (const item of items) {
      const key = item.name.normalize('NFC').toLowerCase();
      const first = seen.get(key);
      if (first === undefined) {
        seen.set(key, item.name);
      } else if (first === item.name) {
        out.push(report('DFC3007', `${what} \`${item.name}\` is defined twice`, item.path, 'value', [`${what} names must be unique`]));
      } else {
        out.push(
          report('DFC3007', `${what} \`${item.name}\` differs from ${what} \`${first}\` only in case`, item.path, 'value', [
            `${what} names must be unique, ignoring case`,
          ]),
        );
      }
    }
  };
  check('service', config.services.map((s, i) => ({ name: s.name, path: ['services', i, 'name'] })));
  for (const [i, s] of config.services.entries()) {
    check('table', Object.keys(s.tables).map((t) => ({ name: t, path: ['services', i, 'tables', t] })));
    for (const [t, table] of Object.entries(s.tables)) {
      check('column', Object.keys(table.columns).map((c) => ({ name: c, path: ['services', i, 'tables', t, 'columns', c] })));
    }
  }
  check('role', (config.roles ?? []).map((r, i) => ({ name: r.name, path: ['roles', i, 'name'] })));
  check('app', (config.apps ?? []).map((a, i) => ({ name: a.name, path: ['apps', i, 'name'] })));
  check('CORS path', (config.cors ?? []).map((c, i) => ({ name: c.path, path: ['cors', i, 'path'] })));
  check(
    'rule set for',
    (config.rules ?? []).map((r, i) => ({ name: `${r.service}/${r.table}`, path: ['rules', i] })),
  );
  return out;
}

/** `and`/`or`/`clause` nesting beyond MAX_RULE_DEPTH. */
function ruleDepth(config: Config, report: Report): Diagnostic[] {
  const out: Diagnostic[] = [];
  const walk = (rule: unknown, path: RawPath, depth: number): void => {
    if (out.length > 0 || rule === null || typeof rule !== 'object') return;
    if (depth > MAX_RULE_DEPTH) {
      out.push(report('DFC3008', `rule nests deeper than ${MAX_RULE_DEPTH} levels`, path, 'value', ['split it into smaller rules, or simplify it']));
      return;
    }
    const r = rule as { clauses?: unknown[]; clause?: unknown };
    r.clauses?.forEach((c, i) => walk(c, [...path, 'clauses', i], depth + 1));
    if (r.clause) walk(r.clause, [...path, 'clause'], depth + 1);
  };
  (config.rules ?? []).forEach((set, i) => {
    for (const [op, rule] of Object.entries(set.rules)) walk(rule, ['rules', i, 'rules', op], 1);
  });
  return out;
}
