import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { Option } from 'commander';
import { watchLoop } from '@dfc/compiler';
import { displayFile } from '../output/format.js';
import { TEST_FILE } from '../policy-test/discover.js';
import { jsonReport, textReport } from '../policy-test/report.js';
import { runPolicyTests, type RunOptions, type RunSession, type TestRun } from '../policy-test/run.js';
import { EXIT, type CommandIO, type DfcCommand } from './command.js';

/**
 * `dfc test [config] [test files…]`: runs the policy tests (`*.policy.test.ts`) against
 * the config's compiled policy, in memory, and reports coverage.
 */
const command: DfcCommand = {
  name: 'test',
  configure(cmd) {
    cmd
      .description('run the policy tests (*.policy.test.ts) against the compiled policy, with coverage')
      .argument('[paths...]', 'the config (a dfc.config.ts file or its directory) and/or policy test files; default: the current directory')
      .addOption(new Option('--format <format>', 'output format').choices(['text', 'json']).default('text'))
      .addOption(new Option('--coverage <format>', 'also write coverage in this format').choices(['lcov']))
      .option('--coverage-file <file>', 'where `--coverage lcov` writes (default: <config dir>/coverage/lcov.info)')
      .option('--require-coverage', 'fail unless every rule, rule node, requirement and role access entry is exercised')
      .option('-t, --grep <text>', 'run only the tests whose name contains this text')
      .option('--no-typecheck', 'do not type-check the test files')
      .option('--watch', 'run again whenever the config, a file it imports or a test file changes');
  },
  async run(args, io) {
    const paths = (args.operands[0] as unknown as string[] | undefined) ?? [];
    const files = paths.filter((p) => TEST_FILE.test(p)).map((p) => resolve(io.cwd, p));
    const configs = paths.filter((p) => !TEST_FILE.test(p));
    if (configs.length > 1) {
      io.err(`dfc test: give one config, not ${configs.length} (\`${configs.join('`, `')}\`)\n`);
      return EXIT.usage;
    }
    const config = configs[0] ?? (files.length > 0 ? dirname(files[0]!) : '.');
    const opts: RunOptions = { config, cwd: io.cwd, typecheck: args.options.typecheck !== false, session: { compiler: {} } };
    if (files.length > 0) opts.files = files;
    if (typeof args.options.grep === 'string') opts.grep = args.options.grep;
    const out: Output = {
      format: args.options.format as 'text' | 'json',
      lcov: args.options.coverage === 'lcov',
      lcovFile: typeof args.options.coverageFile === 'string' ? args.options.coverageFile : undefined,
      requireCoverage: args.options.requireCoverage === true,
    };
    if (!args.options.watch) return report(await runPolicyTests(opts), out, io);
    return watchAndRun(opts, out, io);
  },
};

interface Output {
  format: 'text' | 'json';
  lcov: boolean;
  lcovFile: string | undefined;
  requireCoverage: boolean;
}

function report(run: TestRun, out: Output, io: CommandIO, compact = false): number {
  const covered = run.coverage?.complete ?? false;
  const ok = run.ok && (!out.requireCoverage || covered);
  if (out.format === 'json') {
    const body = { ...jsonReport(run, { cwd: io.cwd, coverage: true }), ok };
    io.out(JSON.stringify(body, null, compact ? undefined : 2) + '\n');
  } else {
    io.out(textReport(run, { cwd: io.cwd, color: io.color.out, coverage: true }));
    if (out.requireCoverage && run.ok && !covered) io.err('dfc test: coverage is incomplete (`--require-coverage`)\n');
  }
  if (out.lcov && run.lcov !== undefined && run.configFile) {
    const file = out.lcovFile !== undefined ? resolve(io.cwd, out.lcovFile) : join(dirname(run.configFile), 'coverage', 'lcov.info');
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, run.lcov);
    io.err(`dfc test: coverage written to ${displayFile(file, io.cwd)}\n`);
  }
  return ok ? EXIT.ok : EXIT.failed;
}

function watchAndRun(opts: RunOptions, out: Output, io: CommandIO): Promise<number> {
  const session: RunSession = opts.session ?? { compiler: {} };
  const text = out.format === 'text';
  return new Promise<number>((resolveExit) => {
    if (io.signal.aborted) return resolveExit(EXIT.ok);
    const loop = watchLoop<TestRun>({
      run: (files) => {
        if (files.length > 0 && text) io.err(`\nrunning again after a change to ${files.map((f) => displayFile(f, io.cwd)).join(', ')}\n`);
        return runPolicyTests({ ...opts, session });
      },
      inputs: (run) => run.inputs,
      // Keep what was watched before: a file that failed to load still matters.
      prune: () => false,
      report: (run, _files, first) => {
        report(run, out, io, true);
        if (first && text) io.err('dfc test: watching for changes (Ctrl+C to stop)\n');
      },
      onError: (e) => io.err(`dfc test: ${e instanceof Error ? e.message : String(e)}\n`),
    });
    io.signal.addEventListener('abort', () => void loop.close().then(() => resolveExit(EXIT.ok)), { once: true });
  });
}

export default command;
