import type { DfcCommand } from './command.js';
import { configureCompile, runCompile } from './compile.js';

const command: DfcCommand = {
  name: 'check',
  configure(cmd) {
    cmd.description('everything `dfc build` does except writing files');
    configureCompile(cmd, 'check');
  },
  run: (args, io) => runCompile('check', args, io),
};

export default command;
