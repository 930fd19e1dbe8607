import { OPERATIONS, canonicalJson, type Config, type Operation, type Policy, type SourceRule, type Verb } from '@dfc/schema';
import { displayPath, formatRelativePath, type RawPath } from '../diagnostics/config-path.js';
import type { SourceSpan } from '../diagnostics/diagnostic.js';
import { normalizeAccess } from '../stages/normalize.js';
import type { Locator } from './locate.js';

/**
 * Everything in a policy that a request can exercise, named as decisions and traces
 * name it, with where it is written: each node of each rule, each requirement
 * collection and requirement, each role access entry. `dfc test` measures coverage
 * against it and maps it back to source lines (lcov).
 */
export interface PolicyOutline {
  rules: OutlineRule[];
  collections: OutlineCollection[];
  access: OutlineAccess[];
}

export interface OutlineRule {
  /** The rule's config path: `rules.blog.posts.read`, or `services.blog.security.owner.rule`. */
  path: string;
  /** A table's rule for an operation, or the rule of a requirement. */
  kind: 'table' | 'requirement';
  service: string;
  /** The table (or `default`); absent for a service-level requirement. */
  table?: string;
  operation?: Operation;
  /** Why no request can reach the rule, when none can. */
  unused?: string;
  /** Every node, depth first (`nodes[0]` is the rule itself). */
  nodes: OutlineNode[];
}

export interface OutlineNode {
  /** As traces name it: `rules.blog.users.update.clauses[0].clauses[1]`. */
  path: string;
  /** The rule type. */
  kind: string;
  name?: string;
  depth: number;
  span?: SourceSpan;
}

export interface OutlineCollection {
  /** `services.blog.security`, `services.blog.tables.posts.security`, `services.blog.tables.users.columns.role.security`. */
  path: string;
  level: 'service' | 'table' | 'field';
  requirements: OutlineRequirement[];
  span?: SourceSpan;
}

export interface OutlineRequirement {
  /** The collection's path and the requirement's name. */
  path: string;
  name: string;
  type: string;
  span?: SourceSpan;
}

export interface OutlineAccess {
  role: string;
  /** Index of the entry in the policy's `roles[role].access` (sorted), which traces point into. */
  index: number;
  /** The entry as written: `roles.editor.access[0]`. */
  path: string;
  service: string;
  component: string;
  verbs: Verb[];
  span?: SourceSpan;
}

export interface OutlineInput {
  config: Config;
  policy: Policy;
  /** The unparsed default export (names array elements in display paths). */
  root: unknown;
  locator: Locator;
}

export function outline(input: OutlineInput): PolicyOutline {
  const { config, policy, root, locator } = input;
  const span = (raw: RawPath) => locator.locate(raw);
  const rules: OutlineRule[] = [];
  const collections: OutlineCollection[] = [];

  const nodesOf = (rule: SourceRule, raw: RawPath, path: string): OutlineNode[] => {
    const out: OutlineNode[] = [];
    const visit = (r: SourceRule, rel: RawPath, depth: number): void => {
      const node: OutlineNode = { path: path + (rel.length > 0 ? '.' + formatRelativePath(rel) : ''), kind: r.rule, depth };
      if (typeof r.name === 'string' && r.name !== '') node.name = r.name;
      const s = span([...raw, ...rel]);
      if (s) node.span = s;
      out.push(node);
      if ('clauses' in r) r.clauses.forEach((c, i) => visit(c, [...rel, 'clauses', i], depth + 1));
      if ('clause' in r && r.clause) visit(r.clause, [...rel, 'clause'], depth + 1);
    };
    visit(rule, [], 0);
    return out;
  };

  // Table rules, and whether a `default` rule is ever the one that applies.
  const own = new Set<string>();
  for (const set of config.rules ?? []) {
    for (const op of OPERATIONS) if (set.rules[op] && set.table !== 'default') own.add(`${set.service}/${set.table}/${op}`);
  }
  (config.rules ?? []).forEach((set, i) => {
    for (const op of OPERATIONS) {
      const rule = set.rules[op];
      if (!rule) continue;
      const raw: RawPath = ['rules', i, 'rules', op];
      const path = displayPath(root, raw);
      const entry: OutlineRule = { path, kind: 'table', service: set.service, table: set.table, operation: op, nodes: nodesOf(rule, raw, path) };
      if (set.table === 'default') {
        const tables = Object.keys(config.services.find((s) => s.name === set.service)?.tables ?? {});
        if (!tables.some((t) => !own.has(`${set.service}/${t}/${op}`))) entry.unused = `every table of \`${set.service}\` has its own \`${op}\` rule`;
      }
      rules.push(entry);
    }
  });

  // Requirement collections (service, table, column) and their rules.
  config.services.forEach((s, i) => {
    const collection = (block: Record<string, { type: string; rule?: SourceRule }> | undefined, raw: RawPath, level: OutlineCollection['level'], table?: string) => {
      if (!block || Object.keys(block).length === 0) return;
      const path = displayPath(root, raw);
      const c: OutlineCollection = { path, level, requirements: [] };
      const cs = span(raw);
      if (cs) c.span = cs;
      for (const name of Object.keys(block).sort()) {
        const req = block[name]!;
        // As the rule engine names them: the collection's path, a dot, the name.
        const r: OutlineRequirement = { path: `${path}.${name}`, name, type: req.type };
        const rs = span([...raw, name]);
        if (rs) r.span = rs;
        c.requirements.push(r);
        if (req.type === 'rule' && req.rule) {
          const ruleRaw: RawPath = [...raw, name, 'rule'];
          const rulePath = `${path}.${name}.rule`;
          const entry: OutlineRule = { path: rulePath, kind: 'requirement', service: s.name, nodes: nodesOf(req.rule, ruleRaw, rulePath) };
          if (table !== undefined) entry.table = table;
          rules.push(entry);
        }
      }
      collections.push(c);
    };
    collection(s.security, ['services', i, 'security'], 'service');
    for (const [t, table] of Object.entries(s.tables)) {
      collection(table.security, ['services', i, 'tables', t, 'security'], 'table', t);
      for (const [col, def] of Object.entries(table.columns)) {
        if (typeof def === 'object') collection(def.security, ['services', i, 'tables', t, 'columns', col, 'security'], 'field', t);
      }
    }
  });

  // Role access entries, matched to their place in the policy (which sorts them).
  const access: OutlineAccess[] = [];
  (config.roles ?? []).forEach((role, i) => {
    const stored = (policy.roles[role.name]?.access ?? []).map((e) => canonicalJson(e));
    const taken = new Set<number>();
    role.access.forEach((entry, j) => {
      const normal = normalizeAccess(entry);
      const key = canonicalJson(normal);
      const index = stored.findIndex((k, n) => k === key && !taken.has(n));
      if (index < 0) return;
      taken.add(index);
      const raw: RawPath = ['roles', i, 'access', j];
      const a: OutlineAccess = { role: role.name, index, path: displayPath(root, raw), service: normal.service, component: normal.component, verbs: normal.verbs };
      const s = span(raw);
      if (s) a.span = s;
      access.push(a);
    });
  });

  return { rules, collections, access };
}
