import type { Command } from 'commander';

/** Exit codes (ecosystem.md §3): what CI scripts and shells rely on. */
export const EXIT = {
  ok: 0,
  /** The config has errors. */
  failed: 1,
  /** Bad usage, or a bug in dfc. */
  usage: 2,
} as const;

export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

/**
 * What a command may touch. bin.ts builds it from the process; commands never use
 * `process.stdout`, `console` or `process.exit` themselves, so they can be run and
 * tested as plain functions.
 */
export interface CommandIO {
  cwd: string;
  env: Readonly<Record<string, string | undefined>>;
  /** Data (JSON, annotations). */
  out(text: string): void;
  /** Messages for people. */
  err(text: string): void;
  /** Whether each stream gets ANSI colours (TTY, NO_COLOR, FORCE_COLOR already applied). */
  color: { out: boolean; err: boolean };
  /** Aborted on SIGINT/SIGTERM: long-running commands (`--watch`, `serve`) stop when it fires. */
  signal: AbortSignal;
}

export interface CommandArgs {
  /** Positional arguments, in declaration order (`undefined` when an optional one is left out). */
  operands: (string | undefined)[];
  options: Record<string, unknown>;
}

/**
 * One `dfc <name>` command. Adding a command is one file that exports one of these,
 * plus its `{ name, load }` entry in commands/index.ts (loaded only when it runs).
 */
export interface DfcCommand {
  name: string;
  /** Declares the description, arguments and options on commander's command. */
  configure(command: Command): void;
  /** Runs the command and resolves to its exit code. */
  run(args: CommandArgs, io: CommandIO): Promise<number>;
}
