import build from './build.js';
import check from './check.js';
import diff from './diff.js';
import type { DfcCommand } from './command.js';
import encrypt from './encrypt.js';
import init from './init.js';
import serve from './serve.js';

/**
 * Every `dfc` command, in the order `dfc --help` lists them. A new command is a
 * file in this directory exporting a `DfcCommand` as default, added here.
 */
export const COMMANDS: readonly DfcCommand[] = [build, check, init, serve, diff, encrypt];

export { EXIT, type CommandArgs, type CommandIO, type DfcCommand, type ExitCode } from './command.js';
