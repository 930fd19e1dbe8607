import { createColors } from 'picocolors';
import { printFilter, type CompiledPolicy, type Explanation, type TraceEvent } from '@dfc/runtime';
import { displayFile, show as showValue } from '../output/format.js';

type Access = NonNullable<Explanation['trace']['access']>['matched'][number];
type Policy = CompiledPolicy['policy'];

/** Where things are written, when the explanation was built from a config. */
export interface Places {
  /** Config path of a rule node, collection or requirement → file and line. */
  nodes: Record<string, { file: string; line: number }>;
  /** `role\0index in the policy` → the entry's config path (`roles.editor.access[0]`) and line. */
  access: Record<string, { path: string; file?: string; line?: number }>;
}

export interface RenderOptions {
  cwd: string;
  color: boolean;
  policy: Policy;
  places?: Places;
  /** Said when a `query` rule had no data to read. */
  noData?: boolean;
}

/**
 * The decision path as text: CORS, app, role and why, the access entry that decided
 * (and the broader ones it overrode), each requirement collection and requirement,
 * each rule node with the values it compared, what the rules changed, the final where.
 */
export function renderExplanation(e: Explanation, opts: RenderOptions): string {
  const c = createColors(opts.color);
  const ok = (pass: boolean) => (pass ? c.green('✓') : c.red('✗'));
  const at = (path: string | undefined) => {
    const p = path !== undefined ? opts.places?.nodes[path] : undefined;
    return p ? c.dim(`  ${displayFile(p.file, opts.cwd)}:${p.line}`) : '';
  };
  const t = e.trace;
  const lines: string[] = [];
  const r = e.request;
  const target = `${r.verb} /api/v2/${r.service}/${r.component}${r.id !== undefined && r.component.startsWith('_table/') ? `/${r.id}` : ''}`;
  lines.push(`${c.bold(target)}  →  ${e.allow ? c.green('allowed') : c.red(`denied ${e.status} ${e.error?.code ?? ''}`)}`);
  if (e.error) lines.push(`  ${e.error.message}${e.error.note ? c.dim(` (${e.error.note})`) : ''}`);
  lines.push('');

  const field = (label: string, text: string) => lines.push(`${c.bold(label.padEnd(13))}${text}`);
  if (e.cors) {
    field('cors', e.cors.path === null ? `no CORS entry matches; a browser at ${e.cors.origin} gets no CORS headers` : `entry \`${e.cors.path}\` ${e.cors.allowed ? `allows ${e.cors.origin}${e.cors.credentials ? ' with credentials' : ''}` : `does not allow ${e.cors.origin}`}`);
  }
  field('app', r.app !== undefined ? `\`${r.app}\`` : 'none (no API key)');
  if (t.role !== undefined) {
    const why =
      t.roleSource === 'claim'
        ? "chosen by the session's role claim"
        : t.ignoredRoleClaim !== undefined
          ? `the app's default: the session's role claim ${JSON.stringify(t.ignoredRoleClaim)} is not one this app lets sessions choose`
          : `the app's default${r.session ? '' : '; no session'}`;
    field('role', `\`${t.role}\` (${why})`);
  }
  field('session', r.session ? 'yes' : 'no');

  if (t.access) {
    const a = t.access;
    const tier = a.tier === null ? 'no entry of the role matches' : `deciding tier: ${TIER[a.tier]}`;
    field('access', `${r.service}/${a.component} ${a.verb}: ${a.granting.length > 0 ? c.green('granted') : c.red('not granted')} (${tier})`);
    for (const entry of a.matched) lines.push(`${' '.repeat(13)}${ok(entry.verbs.includes(a.verb))} ${describeEntry(entry, t.role, opts)}`);
    for (const entry of a.overridden) lines.push(`${' '.repeat(13)}${c.dim('overridden:')} ${describeEntry(entry, t.role, opts)}`);
  }

  if (t.requirements.length > 0) {
    lines.push(c.bold('requirements'));
    if (!t.requirements.some((col) => col.level === 'service')) {
      lines.push(c.dim(`  the requirements of service \`${r.service}\` do not apply: the table allows anonymous callers`));
    }
    for (const col of t.requirements) {
      lines.push(`  ${ok(col.passed)} ${col.path}${col.passed ? '' : `: failed ${col.failed.map((n) => `\`${n}\``).join(', ')}`}${at(col.path)}`);
      for (const ev of col.events ?? []) {
        if (ev.kind === 'collection') continue;
        lines.push(...eventLines(ev, 2, opts, c, at));
      }
    }
  }

  if (t.rule) {
    if (t.rule.key === null) {
      lines.push(`${c.bold('rule'.padEnd(13))}${c.red('none')}: ${t.rule.decision.reason ?? 'no rule for this operation'}`);
    } else {
      lines.push(`${c.bold('rule'.padEnd(13))}${t.rule.path}${at(t.rule.path)}`);
      for (const ev of t.rule.events ?? []) lines.push(...eventLines(ev, 1, opts, c, at));
      if (t.rule.agrees === false) lines.push(c.yellow('  note: this explanation disagrees with the decision; this is a bug in dfc, please report it'));
    }
  }

  if (t.mutations && t.mutations.length > 0) {
    lines.push(c.bold('changes'));
    for (const m of t.mutations) {
      const before = 'before' in m ? show(m.before) : '(absent)';
      const after = 'after' in m ? show(m.after) : '(removed)';
      lines.push(`  ${m.path}: ${before} → ${after}`);
    }
  }
  if (t.response && t.response.length > 0) {
    lines.push(c.bold('response'));
    for (const a of t.response) lines.push(`  ${a.op} ${a.field} on every row${a.name ? ` (\`${a.name}\`)` : ''}  ${c.dim(a.path)}`);
  }
  if (e.allow && t.where) {
    field('where', t.where.kind === 'const' && t.where.value ? 'no condition' : printFilter(t.where));
  }
  if (opts.noData && (t.rule?.key !== null ? (t.rule?.events ?? []) : []).some((ev) => ev.kind === 'query')) {
    lines.push(c.dim('note: `query` rules read no data here; give rows with `--data file.json`, or read the database with `--live`'));
  }

  lines.push('');
  lines.push(decisionLine(e));
  return lines.join('\n') + '\n';
}

const TIER = { exact: 'exact component', component: 'component wildcard', service: 'service `*`', all: 'all services' } as const;

function describeEntry(entry: Access, role: string | undefined, opts: RenderOptions): string {
  const index = role !== undefined ? (opts.policy.roles[role]?.access.indexOf(entry) ?? -1) : -1;
  const place = role !== undefined && index >= 0 ? opts.places?.access[`${role}\0${index}`] : undefined;
  const name = place ? place.path : role !== undefined && index >= 0 ? `roles.${role}.access (entry ${index + 1} in policy.json)` : 'an entry';
  const filters = entry.filters.length > 0 ? `, filters ${entry.filters.map((f) => `${f.name} ${f.operator}${f.value !== undefined ? ` ${show(f.value)}` : ''}`).join(` ${entry.filterOp} `)}` : '';
  const where = place?.file ? `  ${displayFile(place.file, opts.cwd)}:${place.line}` : '';
  return `${name}: ${entry.service}/${entry.component} ${entry.verbs.join(', ') || 'no verb'}${filters}${where}`;
}

function eventLines(ev: TraceEvent, base: number, opts: RenderOptions, c: ReturnType<typeof createColors>, at: (path: string) => string): string[] {
  const pad = '  '.repeat(base + ev.depth);
  const pass = ev.outcome === 'pass';
  const mark = pass ? c.green('✓') : c.red('✗');
  const name = ev.name !== undefined ? ` \`${ev.name}\`` : '';
  const out: string[] = [];
  switch (ev.kind) {
    case 'requirement': {
      const req = ev.requirement;
      const what = req?.implied ? 'authenticated (implied at the service level)' : `${ev.name ?? ''} (${req?.type ?? 'requirement'}${req?.roles ? `: ${req.roles.join(', ')}` : ''})`;
      out.push(`${pad}${mark} ${what}${pass ? '' : c.dim(`: ${ev.reason ?? 'failed'}`)}`);
      return out;
    }
    case 'match': {
      const m = ev.match!;
      out.push(`${pad}${mark} match${name}: ${operand(m.f1.expr)} ${m.eval} ${operand(m.f2.expr)} (${m.type})${at(ev.path)}`);
      const values = [m.f1, m.f2].filter((o) => typeof o.expr === 'string' && /^(args|utils)\./.test(o.expr as string));
      if (values.length > 0) {
        const shown = values.map((o) => `${o.expr as string} = ${'value' in o ? show(o.value) : c.red('(missing)')}`).join(', ');
        out.push(`${pad}    ${shown} → ${pass ? 'holds' : ev.outcome === 'denied' ? 'does not hold' : ev.reason ?? ev.outcome}`);
      } else if (!pass) {
        out.push(`${pad}    ${ev.reason ?? ev.outcome}`);
      }
      return out;
    }
    case 'query': {
      const q = ev.query;
      const rows = q?.rows !== undefined ? `${q.rows} row${q.rows === 1 ? '' : 's'}` : 'no answer';
      out.push(`${pad}${mark} query${name}: ${q?.db}.${q?.col} where ${show(q?.find)} → ${rows}${pass ? '' : c.dim(`: ${ev.reason ?? ev.outcome}`)}${at(ev.path)}`);
      return out;
    }
    case 'webhook': {
      const w = ev.webhook;
      out.push(`${pad}${mark} webhook${name}: ${w?.url} → ${w?.status ?? 'no answer'}${pass ? '' : c.dim(`: ${ev.reason ?? ev.outcome}`)}${at(ev.path)}`);
      return out;
    }
    case 'remove':
    case 'force':
    case 'encrypt':
    case 'decrypt':
    case 'hash': {
      const node = nodeAt(opts.policy, ev.path);
      const target = node?.rule === 'force' ? `${node.field} = ${operand(node.value)}` : (node?.fields ?? []).join(', ');
      const state = ev.applied === false ? c.dim('skipped: its clause does not hold') : pass ? 'applied' : c.red(ev.reason ?? ev.outcome);
      out.push(`${pad}${pass ? (ev.applied === false ? c.dim('–') : c.green('✓')) : c.red('✗')} ${ev.kind}${name} ${target}: ${state}${at(ev.path)}`);
      return out;
    }
    default:
      out.push(`${pad}${mark} ${ev.kind}${name}${pass ? '' : c.dim(`: ${ev.reason ?? ev.outcome}`)}${at(ev.path)}`);
      return out;
  }
}

/** The decision in one line, naming what decided a denial. */
function decisionLine(e: Explanation): string {
  const t = e.trace;
  if (e.allow) {
    let by = '';
    if (t.rule && t.rule.key !== null) {
      // Through each `or`, the clause that held.
      const names: string[] = [];
      let at = t.rule.events?.[0];
      while (at) {
        if (at.name !== undefined) names.push(at.name);
        if (at.kind !== 'or') break;
        const parent: TraceEvent = at;
        at = t.rule.events?.find((ev) => ev.depth === parent.depth + 1 && ev.outcome === 'pass' && ev.path.startsWith(parent.path + '.clauses['));
      }
      by = ` by rule ${t.rule.path}${names.length > 0 ? ` (${names.map((n) => `\`${n}\``).join(', ')})` : ''}`;
    }
    return `allowed${t.role ? ` with role \`${t.role}\`` : ''}${by}`;
  }
  const rule = t.rule;
  if (rule && rule.key !== null && !rule.decision.allow) {
    const path = rule.decision.path ?? rule.path;
    const node = rule.events?.find((ev) => ev.path === path && ev.outcome !== 'pass');
    const values = node?.match
      ? [node.match.f1, node.match.f2]
          .filter((o) => typeof o.expr === 'string' && /^(args|utils)\./.test(o.expr as string))
          .map((o) => `${o.expr as string} = ${'value' in o ? show(o.value) : '(missing)'}`)
      : [];
    return `denied by rule ${path}${rule.decision.name ? ` (\`${rule.decision.name}\`)` : ''}: ${rule.decision.reason ?? 'denied'}${values.length > 0 ? ` (${values.join(', ')})` : ''}`;
  }
  if (rule && rule.key === null) return `denied: ${rule.decision.reason ?? 'no rule'}`;
  const failed = t.requirements.find((col) => !col.passed);
  if (failed) return `denied by the requirements of ${failed.path}: ${failed.failed.map((n) => `\`${n}\``).join(', ')} failed`;
  return `denied: ${e.error?.message ?? 'refused'}`;
}

/** The rule node at a trace path, from the policy. */
function nodeAt(policy: Policy, path: string): { rule: string; field?: string; fields?: string[]; value?: unknown } | undefined {
  const m = /^rules\.(.+?)\.(\w+)\.(create|read|update|delete)((?:\.clauses\[\d+\]|\.clause)*)$/.exec(path);
  let node: unknown;
  let rest: string;
  if (m) {
    const service = m[1]!.replace(/^\["(.*)"\]$/, '$1');
    node = policy.rules[service]?.[m[2]!]?.[m[3] as 'read'];
    rest = m[4]!;
  } else {
    const r = /^services\.(.+?)\.(?:tables\.(\w+)\.(?:columns\.(\w+)\.)?)?security\.([^.]+)\.rule((?:\.clauses\[\d+\]|\.clause)*)$/.exec(path);
    if (!r) return undefined;
    const svc = policy.services[r[1]!];
    const table = r[2] !== undefined ? svc?.tables[r[2]] : undefined;
    const reqs = r[3] !== undefined ? table?.columns[r[3]]?.security : r[2] !== undefined ? table?.security : svc?.security;
    node = reqs?.find((q) => q.name === r[4])?.rule;
    rest = r[5]!;
  }
  for (const step of rest.match(/\.clauses\[\d+\]|\.clause/g) ?? []) {
    const o = node as { clauses?: unknown[]; clause?: unknown } | undefined;
    node = step === '.clause' ? o?.clause : o?.clauses?.[Number(/\d+/.exec(step)![0])];
  }
  return node as ReturnType<typeof nodeAt>;
}

function operand(expr: unknown): string {
  return typeof expr === 'string' && /^(args|utils|res)\./.test(expr) ? expr : show(expr);
}

const show = (value: unknown): string => showValue(value, 100);
