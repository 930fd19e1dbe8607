import { randomBytes } from 'node:crypto';
import { encryptSecret, isDfcError, parseMasterKey } from '@dfc/runtime';
import { EXIT, type DfcCommand } from './command.js';

/**
 * `dfc encrypt`: turn a secret into a `$encrypted` value (AES-256-GCM under
 * `DFC_MASTER_KEY`) for a config; `--generate-key` prints a new master key.
 * The secret is read from an environment variable so it stays out of shell history.
 */
const command: DfcCommand = {
  name: 'encrypt',
  configure(cmd) {
    cmd
      .description('encrypt a secret under DFC_MASTER_KEY for use as { $encrypted: … } in a config')
      .option('--from-env <name>', 'read the secret from this environment variable')
      .option('--value <text>', 'the secret itself (visible in shell history; prefer --from-env)')
      .option('--generate-key', 'print a new random DFC_MASTER_KEY and exit');
  },
  async run(args, io) {
    const o = args.options;
    if (o.generateKey) {
      io.out(randomBytes(32).toString('base64') + '\n');
      return EXIT.ok;
    }
    const from = o.fromEnv as string | undefined;
    const value = from !== undefined ? io.env[from] : (o.value as string | undefined);
    if (value === undefined || value === '') {
      io.err(from !== undefined ? `dfc encrypt: the environment variable \`${from}\` is not set\n` : 'dfc encrypt: name the secret with `--from-env NAME` (or `--value`)\n');
      return EXIT.usage;
    }
    try {
      const key = parseMasterKey(io.env.DFC_MASTER_KEY);
      io.out(JSON.stringify({ $encrypted: encryptSecret(value, key) }) + '\n');
      return EXIT.ok;
    } catch (e) {
      if (isDfcError(e)) {
        io.err(`dfc encrypt: ${e.message}\n${e.note ? `  note: ${e.note}\n` : ''}`);
        return EXIT.failed;
      }
      throw e;
    }
  },
};

export default command;
