import type { DfcCommand } from './command.js';

/** A command in the registry: its name, and how to load its module (only when it runs). */
export interface CommandEntry {
  name: string;
  load(): Promise<{ default: DfcCommand }>;
}

/**
 * Every `dfc` command, in the order `dfc --help` lists them. A new command is a
 * file in this directory exporting a `DfcCommand` as default, added here. Modules are
 * loaded lazily, so `dfc init` does not pay for the compiler, nor `dfc build` for the
 * server.
 */
export const COMMANDS: readonly CommandEntry[] = [
  { name: 'build', load: () => import('./build.js') },
  { name: 'check', load: () => import('./check.js') },
  { name: 'init', load: () => import('./init.js') },
  { name: 'serve', load: () => import('./serve.js') },
  { name: 'diff', load: () => import('./diff.js') },
  { name: 'test', load: () => import('./test.js') },
  { name: 'explain', load: () => import('./explain.js') },
  { name: 'encrypt', load: () => import('./encrypt.js') },
  { name: 'keygen', load: () => import('./keygen.js') },
];

export { EXIT, type CommandArgs, type CommandIO, type DfcCommand, type ExitCode } from './command.js';
