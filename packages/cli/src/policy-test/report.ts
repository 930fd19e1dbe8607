import { createColors } from 'picocolors';
import { displayFile, formatText, jsonDiagnostics } from '../output/format.js';
import type { Coverage, CoverageCount, CoverageItem } from './coverage.js';
import { show } from '../output/format.js';
import type { TestResult, TestRun } from './run.js';

export interface ReportOptions {
  cwd: string;
  color: boolean;
  /** Include coverage (counts and what is not covered). */
  coverage: boolean;
}

const TIERS = { exact: 'exact component', component: 'component wildcard', service: 'service `*`', all: 'all services' } as const;

/** The run for people: each test, why a failing one failed, coverage, a summary line. */
export function textReport(run: TestRun, opts: ReportOptions): string {
  const c = createColors(opts.color);
  const out: string[] = [];
  const at = (file: string, line?: number) => displayFile(file, opts.cwd) + (line !== undefined ? `:${line}` : '');
  // The config's warnings are `dfc check`'s business; errors stop the run and are shown.
  const shown = run.diagnostics.filter((d) => d.severity === 'error');
  if (shown.length > 0) out.push(formatText(shown, { cwd: opts.cwd, color: opts.color }).trimEnd(), '');
  for (const p of run.problems) out.push(`${c.bold(at(p.file, p.line))}  ${c.red('error')}  ${p.message}`);
  if (run.problems.length > 0) out.push('');

  const byFile = new Map<string, TestResult[]>();
  for (const t of run.tests) byFile.set(t.file, [...(byFile.get(t.file) ?? []), t]);
  for (const [file, tests] of byFile) {
    out.push(c.bold(displayFile(file, opts.cwd)));
    for (const t of tests) {
      if (t.passed) {
        out.push(`  ${c.green('✓')} ${t.name}`);
        continue;
      }
      out.push(`  ${c.red('✗')} ${t.name}  ${c.dim(`(${at(t.file, t.line)})`)}`);
      for (const line of explainFailure(t, run, opts.cwd)) out.push(`      ${line}`);
    }
    out.push('');
  }

  if (opts.coverage && run.coverage) out.push(...coverageText(run.coverage, opts.cwd, c), '');

  const passed = run.tests.filter((t) => t.passed).length;
  const failed = run.tests.length - passed;
  const parts = [`${passed} passed`];
  if (failed > 0) parts.push(c.red(`${failed} failed`));
  if (run.problems.length > 0) parts.push(c.red(`${run.problems.length} test file problem${run.problems.length === 1 ? '' : 's'}`));
  const config = run.configFile ? displayFile(run.configFile, opts.cwd) : 'the config';
  if (!run.configFile || (shown.length > 0 && run.files.length === 0)) {
    out.push(`dfc test: ${config} has errors; no test ran`);
  } else if (shown.length > 0 && run.tests.length === 0) {
    out.push(`dfc test: the test files have errors; no test ran`);
  } else if (run.files.length === 0) {
    out.push(`dfc test: no policy tests next to ${config} (files named \`*.policy.test.ts\`)`);
  } else {
    out.push(`dfc test: ${parts.join(', ')} (${run.files.length} file${run.files.length === 1 ? '' : 's'})`);
  }
  return out.join('\n') + '\n';
}

/** Why a test failed: the differences, then how the request was actually decided. */
export function explainFailure(t: TestResult, run: TestRun, cwd: string): string[] {
  const lines = [...t.failures];
  const a = t.actual;
  const d = t.decider;
  const place = (path: string | undefined) => {
    const p = path !== undefined ? run.places[path] : undefined;
    return p ? ` at ${displayFile(p.file, cwd)}:${p.line}` : '';
  };
  if (a.decision === 'deny' && a.error) {
    lines.push(`denied: ${a.status} ${a.error.code} ${a.error.message}${a.error.note ? ` (${a.error.note})` : ''}`);
  } else {
    lines.push(`allowed${a.role ? ` with role \`${a.role}\`` : ''}${a.where ? `, where ${a.where}` : ''}`);
  }
  const label = a.decision === 'deny' ? 'decided by' : 'allowed by';
  switch (d.kind) {
    case 'rule':
      if (d.path) lines.push(`${label} rule ${d.path}${d.name ? ` (\`${d.name}\`)` : ''}${place(d.path)}`);
      else lines.push(`${label}: no rule for this operation`);
      break;
    case 'requirement':
      lines.push(`${label} requirements ${d.path}${place(d.path)}: failed ${(d.failed ?? []).map((n) => `\`${n}\``).join(', ')}`);
      break;
    case 'access':
      lines.push(`${label} the access of role \`${a.role}\`${a.trace.access?.tier ? ` (deciding tier: ${TIERS[a.trace.access.tier]})` : ' (no entry of the role matches)'}`);
      break;
    case 'response':
      lines.push(`the response rules refused the rows${d.path ? `: ${d.path}` : ''}${a.error?.detail ? ` (${a.error.detail})` : ''}`);
      break;
    case 'app':
    case 'role':
      if (d.path) lines.push(`${label} ${d.path}`);
      break;
    case 'none':
      break;
  }
  if (d.compared) lines.push(`compared: ${d.compared.join(', ')}`);
  if (a.trace.rule && 'agrees' in a.trace.rule && a.trace.rule.agrees === false) {
    lines.push('note: the explanation of this decision disagrees with it; this is a bug in dfc, please report it');
  }
  return lines;
}

function coverageText(cov: Coverage, cwd: string, c: ReturnType<typeof createColors>): string[] {
  const part = (label: string, n: CoverageCount) => {
    const text = `${label} ${n.covered}/${n.total}`;
    return n.covered === n.total ? c.green(text) : c.yellow(text);
  };
  const out = [
    `coverage: ${[
      part('rules', cov.rules),
      part('rule nodes', cov.nodes),
      part('requirement collections', cov.collections),
      part('requirements', cov.requirements),
      part('role access entries', cov.access),
    ].join(', ')}`,
  ];
  const uncovered = [...cov.rules.uncovered, ...cov.nodes.uncovered, ...cov.collections.uncovered, ...cov.requirements.uncovered, ...cov.access.uncovered];
  // A rule that never ran is listed once, not again for each of its nodes.
  const seen = new Set<string>();
  const shown: CoverageItem[] = [];
  for (const item of uncovered) {
    if (seen.has(item.path)) continue;
    const parent = [...seen].some((p) => item.path.startsWith(p + '.'));
    seen.add(item.path);
    if (!parent) shown.push(item);
  }
  if (shown.length > 0) {
    out.push('  not exercised by any test:');
    for (const item of shown) {
      const where = item.file ? `  ${c.dim(`${displayFile(item.file, cwd)}:${item.line}`)}` : '';
      out.push(`    ${item.path} (${item.what})${where}${item.note ? `  ${item.note}` : ''}`);
    }
  }
  return out;
}

/** The run as data (`--format json`). */
export function jsonReport(run: TestRun, opts: { cwd: string; coverage: boolean }): Record<string, unknown> {
  const rel = (file: string) => displayFile(file, opts.cwd);
  const out: Record<string, unknown> = {
    ok: run.ok,
    summary: { total: run.tests.length, passed: run.tests.filter((t) => t.passed).length, failed: run.tests.filter((t) => !t.passed).length, files: run.files.length },
    tests: run.tests.map((t) => {
      const a = t.actual;
      const actual: Record<string, unknown> = { decision: a.decision, status: a.status };
      if (a.error) actual.error = a.error;
      if (a.role !== undefined) actual.role = a.role;
      if (a.where !== undefined) actual.where = a.where;
      if (a.response !== undefined) actual.response = a.response;
      const decided: Record<string, unknown> = { kind: t.decider.kind };
      if (t.decider.path !== undefined) decided.path = t.decider.path;
      if (t.decider.name !== undefined) decided.name = t.decider.name;
      if (t.decider.compared) decided.compared = t.decider.compared;
      if (t.decider.failed) decided.failed = t.decider.failed;
      const test: Record<string, unknown> = { name: t.name, file: rel(t.file), passed: t.passed, expected: t.expected, actual, decidedBy: decided };
      if (t.line !== undefined) test.line = t.line;
      if (!t.passed) test.failures = t.failures;
      return test;
    }),
    problems: run.problems.map((p) => ({ ...p, file: rel(p.file) })),
    diagnostics: jsonDiagnostics(run.diagnostics, opts.cwd),
  };
  if (run.configFile) out.config = rel(run.configFile);
  if (opts.coverage && run.coverage) {
    const count = (n: CoverageCount) => ({
      total: n.total,
      covered: n.covered,
      uncovered: n.uncovered.map((i) => ({ ...i, ...(i.file ? { file: rel(i.file) } : {}) })),
    });
    const cov = run.coverage;
    out.coverage = {
      complete: cov.complete,
      rules: count(cov.rules),
      nodes: count(cov.nodes),
      collections: count(cov.collections),
      requirements: count(cov.requirements),
      access: count(cov.access),
      oneSided: cov.oneSided.map((i) => ({ ...i, ...(i.file ? { file: rel(i.file) } : {}) })),
    };
  }
  return out;
}

export { show };
