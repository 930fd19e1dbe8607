#!/usr/bin/env node
/**
 * The `dfc` executable. The only place in dfc that writes to the terminal or exits:
 * commands return exit codes and write through the CommandIO given here.
 */
import { Command, CommanderError } from 'commander';
import { COMMANDS, EXIT, type CommandIO } from './commands/index.js';
import { colorEnabled } from './output/format.js';
import { VERSION } from './version.js';

async function main(argv: string[]): Promise<number> {
  const controller = new AbortController();
  const onSignal = () => controller.abort();
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);

  const io: CommandIO = {
    cwd: process.cwd(),
    env: process.env,
    out: (text) => void process.stdout.write(text),
    err: (text) => void process.stderr.write(text),
    color: { out: colorEnabled(process.stdout.isTTY, process.env), err: colorEnabled(process.stderr.isTTY, process.env) },
    signal: controller.signal,
  };

  let exitCode: number = EXIT.ok;
  const program = new Command('dfc')
    .description('dfc: policy as code for data APIs')
    .version(VERSION, '-v, --version')
    .exitOverride()
    .showHelpAfterError('(run `dfc --help` for usage)')
    .configureOutput({ writeOut: io.out, writeErr: io.err });
  // Load only the command being run (all of them for `dfc --help` or an unknown one).
  const args = argv.slice(2);
  const named = args.find((a) => !a.startsWith('-'));
  const versionOnly = named === undefined && args.some((a) => a === '-v' || a === '--version');
  const entries = versionOnly ? [] : COMMANDS.some((c) => c.name === named) ? COMMANDS.filter((c) => c.name === named) : COMMANDS;
  const specs = await Promise.all(entries.map(async (entry) => (await entry.load()).default));
  for (const spec of specs) {
    const command = program.command(spec.name);
    spec.configure(command);
    command.exitOverride().action(async function (this: Command) {
      exitCode = await spec.run({ operands: this.processedArgs as (string | undefined)[], options: this.opts() }, io);
    });
  }

  try {
    await program.parseAsync(argv);
  } catch (error) {
    if (error instanceof CommanderError) {
      // --help and --version end here with exit code 0; usage errors with 1, mapped to 2.
      return error.exitCode === 0 ? EXIT.ok : EXIT.usage;
    }
    throw error;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
  return exitCode;
}

main(process.argv).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    process.stderr.write(`dfc: internal error: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exitCode = EXIT.usage;
  },
);
