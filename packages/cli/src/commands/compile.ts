import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { Option, type Command } from 'commander';
import { build, check, watch, type CompileResult } from '@dfc/compiler';
import { displayFile, FORMATS, formatGithub, formatText, jsonResult, summaryLine, type Format } from '../output/format.js';
import { EXIT, type CommandArgs, type CommandIO } from './command.js';

/** Options shared by `dfc build` and `dfc check`. */
export function configureCompile(command: Command, kind: 'build' | 'check'): void {
  command
    .argument('[config]', 'a dfc.config.ts file, or a directory that holds one', '.')
    .addOption(new Option('--format <format>', 'how to print diagnostics').choices(FORMATS).default('text'))
    .option('--watch', `${kind === 'build' ? 'rebuild' : 'check again'} whenever the config or a file it imports changes`);
  if (kind === 'build') {
    command
      .option('--out <dir>', 'where to write the policy (default: <config dir>/dist)')
      .option('--sign <key-file>', 'also write policy.sig, signed with this Ed25519 private key (`dfc keygen`; env DFC_SIGNING_KEY: the PEM text)');
  }
}

/** What one result looks like on the streams, by format. */
export function report(kind: 'build' | 'check', result: CompileResult, format: Format, io: CommandIO, compact = false): void {
  if (format === 'json') {
    io.out(JSON.stringify(jsonResult(result, io.cwd), null, compact ? undefined : 2) + '\n');
    return;
  }
  if (format === 'github') {
    io.out(formatGithub(result.diagnostics, io.cwd));
  } else {
    io.err(formatText(result.diagnostics, { cwd: io.cwd, color: io.color.err }));
  }
  const counts = summaryLine(result.diagnostics, result.omitted);
  const config = result.configFile ? displayFile(result.configFile, io.cwd) : 'the config';
  if (!result.ok) {
    io.err(`dfc ${kind}: ${config}: ${counts}${kind === 'build' ? '; nothing was written' : ''}\n`);
    return;
  }
  const suffix = counts ? ` (${counts})` : '';
  if (kind === 'check') {
    io.err(`dfc check: ${config} is valid${suffix}\n`);
    return;
  }
  const written = (result.files ?? []).filter((f) => f.written).length;
  const out = result.outDir ? displayFile(result.outDir, io.cwd) : 'dist';
  const state = written === 0 ? 'unchanged' : 'written';
  io.err(`dfc build: ${config} → ${out} (${state}, ${result.policy?.hash.slice(0, 19)}…)${suffix}\n`);
}

export async function runCompile(kind: 'build' | 'check', args: CommandArgs, io: CommandIO): Promise<number> {
  const format = args.options.format as Format;
  let signingKey: string | undefined;
  if (kind === 'build') {
    const file = args.options.sign as string | undefined;
    if (file !== undefined) {
      try {
        signingKey = readFileSync(resolve(io.cwd, file), 'utf8');
      } catch {
        io.err(`dfc build: cannot read the signing key \`${file}\`\n`);
        return EXIT.usage;
      }
    } else if (io.env.DFC_SIGNING_KEY) signingKey = io.env.DFC_SIGNING_KEY;
  }
  const options = {
    config: args.operands[0] ?? '.',
    cwd: io.cwd,
    outDir: typeof args.options.out === 'string' ? args.options.out : undefined,
    signingKey,
  };
  if (!args.options.watch) {
    const result = await (kind === 'build' ? build(options) : check(options));
    report(kind, result, format, io);
    return result.ok ? EXIT.ok : EXIT.failed;
  }
  return new Promise<number>((resolve) => {
    let first = true;
    const handle = watch({ ...options, mode: kind }, (result, changed) => {
      if (format === 'text' && changed.length > 0) {
        io.err(`\n${kind === 'build' ? 'rebuilding' : 'checking'} after a change to ${changed.map((f) => displayFile(f, io.cwd)).join(', ')}\n`);
      }
      report(kind, result, format, io, true);
      // Without a config file at the start there is nothing to watch. Later, a missing
      // file is usually an editor replacing it: keep watching for it to come back.
      if (result.configFile === undefined && first) {
        void handle.close().then(() => resolve(EXIT.failed));
      }
      first = false;
    });
    const stop = () => {
      void handle.close().then(() => resolve(EXIT.ok));
    };
    if (io.signal.aborted) stop();
    else io.signal.addEventListener('abort', stop, { once: true });
    void handle.ready.then(() => {
      if (format === 'text' && !io.signal.aborted) io.err(`dfc ${kind}: watching for changes (Ctrl+C to stop)\n`);
    });
  });
}
