import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { displayFile } from '../output/format.js';
import { EXIT, type DfcCommand } from './command.js';
import { initTemplates } from './init-templates.js';
import { VERSION } from '../version.js';

const command: DfcCommand = {
  name: 'init',
  configure(cmd) {
    cmd
      .description('create a dfc project (dfc.config.ts, tsconfig.json, package.json, README.md) that builds as is')
      .argument('[dir]', 'the project directory (created if missing)', '.');
  },
  async run(args, io) {
    const dir = resolve(io.cwd, args.operands[0] ?? '.');
    const name = packageName(basename(dir));
    const files = initTemplates({ name, dfcVersion: VERSION });
    const existing = Object.keys(files).filter((f) => existsSync(join(dir, f)));
    if (existing.length > 0) {
      io.err(
        `dfc init: refusing to overwrite ${existing.map((f) => '`' + displayFile(join(dir, f), io.cwd) + '`').join(', ')}\n` +
          '  = choose an empty directory, or move those files away\n',
      );
      return EXIT.failed;
    }
    mkdirSync(dir, { recursive: true });
    for (const [file, text] of Object.entries(files)) writeFileSync(join(dir, file), text, { flag: 'wx' });
    const shown = displayFile(dir, io.cwd);
    io.err(
      `dfc init: created ${Object.keys(files).join(', ')} in ${shown}\n\n` +
        'next:\n' +
        (shown === '.' ? '' : `  cd ${shown}\n`) +
        '  npm install      # installs dfc locally (optional: `dfc build` works without it)\n' +
        '  npx dfc build    # writes dist/policy.json and dist/policy.mjs\n',
    );
    return EXIT.ok;
  },
};

/** An npm package name from a directory name. */
function packageName(dir: string): string {
  const name = dir
    .toLowerCase()
    .replace(/[^a-z0-9._-]+/g, '-')
    .replace(/^[._-]+|[-]+$/g, '');
  return name.length > 0 ? name : 'my-policy';
}

export default command;
