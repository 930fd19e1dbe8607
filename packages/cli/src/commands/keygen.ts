import { generateKeyPairSync } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { signingKeyId } from '@dfc/schema';
import { EXIT, type DfcCommand } from './command.js';

/**
 * `dfc keygen [name]`: an Ed25519 key pair for signing policies. The private key
 * (`<name>.key`, readable by its owner only) signs in CI (`dfc build --sign`); the
 * public key (`<name>.pub`) goes to every runtime (`dfc serve --trusted-key`).
 */
const command: DfcCommand = {
  name: 'keygen',
  configure(cmd) {
    cmd
      .description('make an Ed25519 key pair for signing policies (dfc build --sign, dfc serve --trusted-key)')
      .argument('[name]', 'file name stem: writes <name>.key and <name>.pub', 'dfc-signing');
  },
  async run(args, io) {
    const stem = resolve(io.cwd, args.operands[0] ?? 'dfc-signing');
    const { privateKey, publicKey } = generateKeyPairSync('ed25519');
    const files: [string, string, number][] = [
      [`${stem}.key`, privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(), 0o600],
      [`${stem}.pub`, publicKey.export({ type: 'spki', format: 'pem' }).toString(), 0o644],
    ];
    for (const [file, text, mode] of files) {
      try {
        // `wx`: never overwrite a key someone may already trust.
        writeFileSync(file, text, { flag: 'wx', mode });
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code;
        io.err(code === 'EEXIST' ? `dfc keygen: \`${file}\` already exists; it was left as it is\n` : `dfc keygen: cannot write \`${file}\`\n`);
        return EXIT.failed;
      }
    }
    io.err(`dfc keygen: key ${signingKeyId(publicKey)}\n  private: ${files[0]![0]} (sign with: dfc build --sign ${files[0]![0]})\n  public:  ${files[1]![0]} (trust with: dfc serve --trusted-key ${files[1]![0]})\n`);
    return EXIT.ok;
  },
};

export default command;
