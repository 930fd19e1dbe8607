import { readFileSync, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { check, loadModule, type CompilerSession, type Diagnostic } from '@dfc/compiler';
import { compilePolicy } from '@dfc/runtime';
import type { PolicyTest } from '@dfc/config';
import { loadInMemory } from './artifact.js';
import { CoverageRecorder, type Coverage } from './coverage.js';
import { findTestFiles } from './discover.js';
import { execute, type Actual } from './execute.js';
import { compare, decider, type Decider, type Matchers } from './expect.js';
import { createWorld } from './fixtures.js';

/**
 * `dfc test`: builds the config in memory, loads its policy.mjs as the server would,
 * and runs each policy test's request through the runtime's `decide()` (and
 * `processResponse()` for returned rows), with fixtures for everything outside.
 */
export interface RunOptions {
  /** The config file, or a directory holding one. */
  config?: string;
  cwd: string;
  /** Test files to run; by default every `*.policy.test.ts` under the config's directory. */
  files?: readonly string[];
  /** Run only the tests whose name contains this. */
  grep?: string;
  /** Type-check the test files (with what they import). @default true */
  typecheck?: boolean;
  /** State kept between runs of `--watch`. */
  session?: RunSession;
}

export interface RunSession {
  compiler: CompilerSession;
}

export interface TestResult {
  name: string;
  file: string;
  /** Where the test's name is written, when it can be found. */
  line?: number;
  passed: boolean;
  /** What differs from the expectation, one message each. */
  failures: string[];
  expected: PolicyTest['expect']['decision'];
  actual: Actual;
  decider: Decider;
}

/** A test file that could not be used. */
export interface LoadProblem {
  file: string;
  message: string;
  line?: number;
  column?: number;
}

export interface TestRun {
  /** Everything built, loaded and passed, and there was at least one test. */
  ok: boolean;
  configFile?: string;
  /** Problems of the config, and type or bundling errors of the test files. */
  diagnostics: Diagnostic[];
  problems: LoadProblem[];
  files: string[];
  tests: TestResult[];
  coverage?: Coverage;
  /** The lcov tracefile of this run (when the config built). */
  lcov?: string;
  /** Where each rule node, collection and requirement is written, by config path. */
  places: Record<string, { file: string; line: number }>;
  /** The config, the test files and everything they import (what `--watch` watches). */
  inputs: string[];
}

export async function runPolicyTests(opts: RunOptions): Promise<TestRun> {
  const session = opts.session ?? { compiler: {} };
  const config = resolve(opts.cwd, opts.config ?? '.');
  const files = opts.files ? opts.files.map((f) => resolve(opts.cwd, f)) : findTestFiles(isDirectory(config) ? config : dirname(config));
  // The test files are type-checked with the config, in one program.
  const built = await check({
    config,
    cwd: opts.cwd,
    outline: true,
    session: session.compiler,
    ...(opts.typecheck !== false ? { typecheckAlso: files } : {}),
  });
  const run: TestRun = { ok: false, diagnostics: [...built.diagnostics], problems: [], files, tests: [], inputs: [...new Set([...built.inputs, ...files])].sort(), places: {} };
  if (built.configFile) run.configFile = built.configFile;
  if (!built.ok || !built.policy || built.module === undefined || !built.outline || !built.configFile) return run;

  for (const rule of built.outline.rules) for (const n of rule.nodes) if (n.span) run.places[n.path] = { file: n.span.file, line: n.span.line };
  for (const c of built.outline.collections) {
    if (c.span) run.places[c.path] = { file: c.span.file, line: c.span.line };
    for (const r of c.requirements) if (r.span) run.places[r.path] = { file: r.span.file, line: r.span.line };
  }
  const tests: { test: PolicyTest; file: string }[] = [];
  for (const file of run.files) {
    const loaded = await loadModule(file);
    run.inputs.push(...loaded.inputs);
    run.diagnostics.push(...loaded.diagnostics);
    if (loaded.threw) {
      const p: LoadProblem = { file, message: `the test file threw \`${loaded.threw.message}\` while loading` };
      if (loaded.threw.span) {
        p.file = loaded.threw.span.file;
        p.line = loaded.threw.span.line;
        p.column = loaded.threw.span.column;
      }
      run.problems.push(p);
      continue;
    }
    if (!loaded.exports) continue;
    const found = testsOf(loaded.exports.default, file, run.problems);
    for (const test of found) tests.push({ test, file });
  }
  run.inputs = [...new Set([...run.inputs, ...run.files])].sort();

  const artifact = await loadInMemory(built.policy, built.module);
  // Tests name their app: no API key (nor its secret) is needed.
  const compiled = compilePolicy(artifact, { env: {}, resolveApiKeys: false });
  const world = await createWorld(compiled);
  const coverage = new CoverageRecorder(built.outline, compiled);
  const matchers: Matchers = {
    hash: (text) => world.hash(text),
    decrypt: (value, field) => {
      try {
        return world.crypto.decrypt(value, field);
      } catch {
        return undefined;
      }
    },
  };
  const sources = new Map<string, string>();
  for (const { test, file } of tests) {
    if (opts.grep !== undefined && !test.name.includes(opts.grep)) continue;
    const actual = await execute(compiled, world, test);
    coverage.record(actual.trace);
    const failures = compare(test.expect, actual, matchers);
    const result: TestResult = { name: test.name, file, passed: failures.length === 0, failures, expected: test.expect.decision, actual, decider: decider(actual) };
    const line = lineOf(test.name, file, sources);
    if (line !== undefined) result.line = line;
    run.tests.push(result);
  }
  run.coverage = coverage.report();
  run.lcov = coverage.lcov();
  const errors = run.diagnostics.some((d) => d.severity === 'error');
  run.ok = !errors && run.problems.length === 0 && run.tests.length > 0 && run.tests.every((t) => t.passed);
  return run;
}

/** The tests a module's default export holds (a test, or a list of them), each checked for shape. */
function testsOf(value: unknown, file: string, problems: LoadProblem[]): PolicyTest[] {
  if (value === undefined) {
    problems.push({ file, message: 'the test file has no default export', line: 1, column: 1 });
    return [];
  }
  const list = Array.isArray(value) ? value.flat(4) : [value];
  const out: PolicyTest[] = [];
  const names = new Set<string>();
  list.forEach((t: unknown, i) => {
    const problem = shapeProblem(t);
    if (problem) {
      problems.push({ file, message: `test ${i + 1}: ${problem}` });
      return;
    }
    const test = t as PolicyTest;
    if (names.has(test.name)) {
      problems.push({ file, message: `two tests are named \`${test.name}\`` });
      return;
    }
    names.add(test.name);
    out.push(test);
  });
  if (list.length === 0) problems.push({ file, message: 'the test file exports no tests', line: 1, column: 1 });
  return out;
}

function shapeProblem(t: unknown): string | undefined {
  if (typeof t !== 'object' || t === null) return 'is not a test (write it with `definePolicyTest(service, table, { … })`)';
  const o = t as Record<string, unknown>;
  if (typeof o.name !== 'string' || o.name === '') return 'has no `name`';
  const svc = o.service as { name?: unknown } | undefined;
  if (typeof svc !== 'object' || svc === null || typeof svc.name !== 'string') return `\`${o.name}\` names no service (write it with \`definePolicyTest(service, table, { … })\`)`;
  if (typeof o.table !== 'string') return `\`${o.name}\` names no table`;
  if (typeof o.request !== 'object' || o.request === null) return `\`${o.name}\` has no \`request\``;
  const e = o.expect as { decision?: unknown } | undefined;
  if (typeof e !== 'object' || e === null || (e.decision !== 'allow' && e.decision !== 'deny')) return `\`${o.name}\`: \`expect.decision\` must be \`allow\` or \`deny\``;
  const r = o.request as { now?: unknown };
  if (r.now !== undefined && (typeof r.now !== 'string' || Number.isNaN(Date.parse(r.now)))) return `\`${o.name}\`: \`request.now\` is not a date`;
  return undefined;
}

/** The line where a test's name is written (its first quoted occurrence), for the report. */
function lineOf(name: string, file: string, cache: Map<string, string>): number | undefined {
  let text = cache.get(file);
  if (text === undefined) {
    try {
      text = readFileSync(file, 'utf8');
    } catch {
      text = '';
    }
    cache.set(file, text);
  }
  for (const quote of ["'", '"', '`']) {
    const at = text.indexOf(quote + name + quote);
    if (at >= 0) return text.slice(0, at).split('\n').length;
  }
  return undefined;
}

function isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}
