import type { PolicyOutline } from '@dfc/compiler';
import type { CompiledPolicy, Trace } from '@dfc/runtime';

/**
 * Policy coverage: which rules, rule nodes (every clause of every rule tree), requirement
 * collections, requirements and role access entries the tests exercised. Hits come from
 * `decide()`'s traces (the interpreter's replay records each node it evaluates); what
 * exists, and where it is written, from the compiler's outline of the policy.
 */
export interface CoverageItem {
  /** Config path, as traces and diagnostics name it. */
  path: string;
  /** What it is: `rule`, `match`, `requirement`, `access entry`… */
  what: string;
  file?: string;
  line?: number;
  /** Why it cannot be covered, when no request can reach it. */
  note?: string;
}

export interface CoverageCount {
  total: number;
  covered: number;
  uncovered: CoverageItem[];
}

export interface Coverage {
  /** Top-level rules (a table's rule for an operation, a requirement's rule). */
  rules: CoverageCount;
  /** Every node of every rule tree (the rules themselves included). */
  nodes: CoverageCount;
  collections: CoverageCount;
  requirements: CoverageCount;
  access: CoverageCount;
  /** Conditions that ran but were only ever seen holding, or only failing. */
  oneSided: (CoverageItem & { seen: 'pass' | 'fail' })[];
  /** True when every count is complete. */
  complete: boolean;
}

/** Node kinds that decide (hold or not); their two outcomes are lcov's branches. */
const CONDITIONS = new Set(['match', 'authenticated', 'and', 'or', 'query', 'webhook', 'code']);

interface Hits {
  runs: number;
  pass: number;
  fail: number;
}

export class CoverageRecorder {
  readonly #outline: PolicyOutline;
  readonly #compiled: CompiledPolicy;
  readonly #nodes = new Map<string, Hits>();
  readonly #access = new Map<string, number>();

  constructor(outline: PolicyOutline, compiled: CompiledPolicy) {
    this.#outline = outline;
    this.#compiled = compiled;
  }

  /** Counts what one traced decision exercised. */
  record(trace: Trace): void {
    const events = [...trace.requirements.flatMap((c) => c.events ?? []), ...(trace.rule && 'events' in trace.rule ? (trace.rule.events ?? []) : [])];
    for (const e of events) {
      if (e.kind === 'requirement' && e.requirement?.implied) continue;
      const h = this.#nodes.get(e.path) ?? { runs: 0, pass: 0, fail: 0 };
      h.runs++;
      if (e.outcome === 'pass') h.pass++;
      else h.fail++;
      this.#nodes.set(e.path, h);
    }
    const role = trace.role;
    if (role !== undefined && trace.access) {
      const stored = this.#compiled.policy.roles[role]?.access ?? [];
      for (const entry of trace.access.matched) {
        const index = stored.indexOf(entry);
        if (index >= 0) this.#access.set(`${role}\0${index}`, (this.#access.get(`${role}\0${index}`) ?? 0) + 1);
      }
    }
  }

  #hits(path: string): Hits | undefined {
    return this.#nodes.get(path);
  }

  #accessHits(role: string, index: number): number {
    return this.#access.get(`${role}\0${index}`) ?? 0;
  }

  report(): Coverage {
    const count = (): CoverageCount => ({ total: 0, covered: 0, uncovered: [] });
    const rules = count();
    const nodes = count();
    const collections = count();
    const requirements = count();
    const access = count();
    const oneSided: Coverage['oneSided'] = [];
    const tally = (c: CoverageCount, hit: boolean, item: CoverageItem) => {
      c.total++;
      if (hit) c.covered++;
      else c.uncovered.push(item);
    };
    for (const rule of this.#outline.rules) {
      const root = rule.nodes[0];
      const note = rule.unused !== undefined ? `never used: ${rule.unused}` : undefined;
      tally(rules, (this.#hits(rule.path)?.runs ?? 0) > 0, withPlace({ path: rule.path, what: 'rule', ...(note ? { note } : {}) }, root?.span));
      for (const node of rule.nodes) {
        const h = this.#hits(node.path);
        tally(nodes, (h?.runs ?? 0) > 0, withPlace({ path: node.path, what: node.kind, ...(note ? { note } : {}) }, node.span));
        if (h && CONDITIONS.has(node.kind) && (h.pass === 0 || h.fail === 0)) {
          oneSided.push({ ...withPlace({ path: node.path, what: node.kind }, node.span), seen: h.pass > 0 ? 'pass' : 'fail' });
        }
      }
    }
    for (const c of this.#outline.collections) {
      tally(collections, (this.#hits(c.path)?.runs ?? 0) > 0, withPlace({ path: c.path, what: `${c.level} requirements` }, c.span));
      for (const r of c.requirements) {
        tally(requirements, (this.#hits(r.path)?.runs ?? 0) > 0, withPlace({ path: r.path, what: `${r.type} requirement` }, r.span));
      }
    }
    for (const a of this.#outline.access) {
      tally(access, this.#accessHits(a.role, a.index) > 0, withPlace({ path: a.path, what: `access entry \`${a.component}\`` }, a.span));
    }
    const complete = [rules, nodes, collections, requirements, access].every((c) => c.covered === c.total);
    return { rules, nodes, collections, requirements, access, oneSided, complete };
  }

  /** An lcov tracefile: rules as functions, every node, requirement and access entry as lines, conditions as branches. */
  lcov(): string {
    type Line = { hits: number[] };
    const files = new Map<string, { lines: Map<number, Line>; functions: { line: number; name: string; hits: number }[]; branches: string[] }>();
    const fileOf = (file: string) => {
      let f = files.get(file);
      if (!f) files.set(file, (f = { lines: new Map(), functions: [], branches: [] }));
      return f;
    };
    const line = (span: { file: string; line: number } | undefined, hits: number) => {
      if (!span) return;
      const f = fileOf(span.file);
      const l = f.lines.get(span.line) ?? { hits: [] };
      l.hits.push(hits);
      f.lines.set(span.line, l);
    };
    let block = 0;
    for (const rule of this.#outline.rules) {
      const root = rule.nodes[0];
      if (root?.span) fileOf(root.span.file).functions.push({ line: root.span.line, name: rule.path, hits: this.#hits(rule.path)?.runs ?? 0 });
      for (const node of rule.nodes) {
        const h = this.#hits(node.path);
        line(node.span, h?.runs ?? 0);
        if (node.span && CONDITIONS.has(node.kind)) {
          const b = block++;
          const taken = (n: number | undefined) => (h ? String(n) : '-');
          fileOf(node.span.file).branches.push(`BRDA:${node.span.line},${b},0,${taken(h?.pass)}`, `BRDA:${node.span.line},${b},1,${taken(h?.fail)}`);
        }
      }
    }
    for (const c of this.#outline.collections) {
      line(c.span, this.#hits(c.path)?.runs ?? 0);
      for (const r of c.requirements) line(r.span, this.#hits(r.path)?.runs ?? 0);
    }
    for (const a of this.#outline.access) line(a.span, this.#accessHits(a.role, a.index));

    const out: string[] = [];
    for (const file of [...files.keys()].sort()) {
      const f = files.get(file)!;
      out.push('TN:', `SF:${file}`);
      for (const fn of f.functions) out.push(`FN:${fn.line},${fn.name}`);
      for (const fn of f.functions) out.push(`FNDA:${fn.hits},${fn.name}`);
      out.push(`FNF:${f.functions.length}`, `FNH:${f.functions.filter((fn) => fn.hits > 0).length}`);
      out.push(...f.branches);
      const taken = f.branches.filter((b) => !b.endsWith(',-') && !b.endsWith(',0')).length;
      out.push(`BRF:${f.branches.length}`, `BRH:${taken}`);
      const lines = [...f.lines.entries()].sort((a, b) => a[0] - b[0]);
      // A line is covered only when everything written on it ran.
      for (const [n, l] of lines) out.push(`DA:${n},${Math.min(...l.hits)}`);
      out.push(`LF:${lines.length}`, `LH:${lines.filter(([, l]) => Math.min(...l.hits) > 0).length}`, 'end_of_record');
    }
    return out.join('\n') + '\n';
  }
}

function withPlace(item: CoverageItem, span: { file: string; line: number } | undefined): CoverageItem {
  return span ? { ...item, file: span.file, line: span.line } : item;
}
