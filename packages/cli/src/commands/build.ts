import type { DfcCommand } from './command.js';
import { configureCompile, runCompile } from './compile.js';

const command: DfcCommand = {
  name: 'build',
  configure(cmd) {
    cmd.description('type-check, validate and lint a config, then write policy.json, policy.mjs and policy.schema.json');
    configureCompile(cmd, 'build');
  },
  run: (args, io) => runCompile('build', args, io),
};

export default command;
