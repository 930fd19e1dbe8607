import { existsSync, readFileSync, statSync, readdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { parseEnv } from 'node:util';
import { Option } from 'commander';
import { build, CONFIG_FILE_NAMES } from '@dfc/compiler';
import { DfcError, createAndSeedSqlite, createServer, isDevelopmentEnvFile, isDfcError, loadArtifact, sampleKeys, sampleTokens, signatureVerifier, type DfcServer } from '@dfc/runtime';
import { report } from './compile.js';
import { EXIT, type DfcCommand } from './command.js';

/**
 * `dfc serve [config|dist]`: build the config when its artifact is missing or older than
 * its sources, create and seed its SQLite files, and serve it until SIGINT/SIGTERM.
 */

interface Target {
  /** Directory holding policy.json and policy.mjs. */
  dist: string;
  /** The config's directory: `.env`, relative database and seed files. */
  configDir: string;
  /** The config file, when serving a config (not a bare artifact). */
  configFile?: string;
}

function findTarget(arg: string, cwd: string): Target {
  const p = resolve(cwd, arg);
  if (existsSync(p) && statSync(p).isFile()) return { dist: join(dirname(p), 'dist'), configDir: dirname(p), configFile: p };
  for (const name of CONFIG_FILE_NAMES) {
    const f = join(p, name);
    if (existsSync(f)) return { dist: join(p, 'dist'), configDir: p, configFile: f };
  }
  // A bare artifact directory: its parent holds the relative database files.
  return { dist: p, configDir: dirname(p) };
}

/** The artifact is missing, or a file next to the config changed after it was built. */
function needsBuild(t: Target): boolean {
  const policy = join(t.dist, 'policy.json');
  if (!existsSync(policy) || !existsSync(join(t.dist, 'policy.mjs'))) return true;
  const built = statSync(policy).mtimeMs;
  for (const f of readdirSync(t.configDir)) {
    if (!/\.(ts|mts|js|mjs|json)$/.test(f)) continue;
    const s = statSync(join(t.configDir, f));
    if (s.isFile() && s.mtimeMs > built) return true;
  }
  return false;
}

/** Every PEM block in a text (several trusted keys may share one variable or file). */
function pemBlocks(text: string): string[] {
  return text.match(/-----BEGIN [A-Z ]+-----[\s\S]*?-----END [A-Z ]+-----/g) ?? [];
}

function readKeyFile(file: string): string {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    throw new DfcError('DFC_ERR_TRUSTED_KEY', `cannot read the trusted key file \`${file}\``);
  }
  const blocks = pemBlocks(text);
  if (blocks.length !== 1) throw new DfcError('DFC_ERR_TRUSTED_KEY', `\`${file}\` must hold exactly one PEM public key`);
  return blocks[0]!;
}

const command: DfcCommand = {
  name: 'serve',
  configure(cmd) {
    cmd
      .description('serve a config (building it when needed) or a built policy directory')
      .argument('[config]', 'a dfc.config.ts file, a directory that holds one, or a directory with policy.json and policy.mjs', '.')
      .option('--host <host>', 'address to listen on (env DFC_HOST; default 127.0.0.1)')
      .option('--port <port>', 'port to listen on (env DFC_PORT; default 8080)')
      .option('--admin-port <port>', 'port of the admin listener (default: the policy\'s, else 9090)')
      .option('--tls-cert <file>', 'PEM certificate: serve HTTPS')
      .option('--tls-key <file>', 'PEM private key for --tls-cert')
      .option('--debug', 'add error details and an X-Dfc-Decision header (refused for a production policy)')
      .option('--allow-debug-in-production', 'let --debug run with a production policy')
      .option('--no-build', 'never build; serve the artifact as it is')
      .option(
        '--trusted-key <file>',
        'load (and reload) only policies signed with `dfc build --sign` by this Ed25519 public key; repeatable (env DFC_TRUSTED_KEYS: PEM text)',
        (file: string, files: string[]) => [...files, file],
        [] as string[],
      )
      .addOption(new Option('--log-level <level>', 'request log level').choices(['fatal', 'error', 'warn', 'info', 'debug', 'silent']).default('info'));
  },
  async run(args, io) {
    const o = args.options;
    const target = findTarget(args.operands[0] ?? '.', io.cwd);

    // `<config dir>/.env` fills in what the environment does not already set.
    let env: Record<string, string | undefined> = { ...io.env };
    let development = false;
    const envFile = join(target.configDir, '.env');
    if (existsSync(envFile)) {
      const text = readFileSync(envFile, 'utf8');
      env = { ...parseEnv(text), ...io.env };
      development = isDevelopmentEnvFile(text);
    }

    if (target.configFile && o.build !== false && needsBuild(target)) {
      const result = await build({ config: target.configFile, cwd: io.cwd });
      report('build', result, 'text', io);
      if (!result.ok) return EXIT.failed;
    }

    const port = parsePort(o.port ?? env.DFC_PORT, 8080);
    const adminPort = o.adminPort !== undefined ? parsePort(o.adminPort, 9090) : undefined;
    if (port === undefined || (o.adminPort !== undefined && adminPort === undefined)) {
      io.err('dfc serve: a port must be a number from 0 to 65535\n');
      return EXIT.usage;
    }
    if ((o.tlsCert === undefined) !== (o.tlsKey === undefined)) {
      io.err('dfc serve: `--tls-cert` and `--tls-key` go together\n');
      return EXIT.usage;
    }
    const host = (o.host as string | undefined) ?? env.DFC_HOST ?? '127.0.0.1';

    let server: DfcServer;
    try {
      const trustedKeys = [
        ...(o.trustedKey as string[]).map((file) => readKeyFile(resolve(io.cwd, file))),
        ...pemBlocks(env.DFC_TRUSTED_KEYS ?? ''),
      ];
      const artifact = await loadArtifact(target.dist, trustedKeys.length > 0 ? { verify: signatureVerifier(trustedKeys) } : {});
      const seeded = await createAndSeedSqlite(artifact.policy, { baseDir: target.configDir, env });
      for (const s of seeded) if (s.created) io.err(`dfc serve: created ${s.file} for service \`${s.service}\` with ${s.rows} seed rows\n`);
      server = await createServer({
        policy: artifact,
        ...(trustedKeys.length > 0 ? { trustedKeys } : {}),
        env,
        baseDir: target.configDir,
        host,
        port,
        debug: o.debug === true,
        allowDebugInProduction: o.allowDebugInProduction === true,
        logger: o.logLevel === 'silent' ? false : { level: o.logLevel as string },
        logStream: { write: (line) => io.out(line) },
        ...(o.tlsCert ? { tls: { cert: readFileSync(resolve(io.cwd, o.tlsCert as string)), key: readFileSync(resolve(io.cwd, o.tlsKey as string)) } } : {}),
        ...(adminPort !== undefined ? { admin: { port: adminPort } } : {}),
      });
      const { url, adminUrl } = await server.listen();
      io.err(`dfc serve: listening on ${url} (policy ${artifact.policy.hash.slice(0, 19)}…)\n`);
      if (adminUrl) io.err(`dfc serve: admin endpoints on ${adminUrl} (Authorization: Bearer <admin token>)\n`);
      if (development) {
        io.err('\ndevelopment credentials from .env (never use them anywhere real):\n');
        for (const k of sampleKeys(artifact.policy, env)) {
          io.err(`  app ${k.app.padEnd(10)} role ${String(k.role ?? '-').padEnd(10)} X-Api-Key: ${k.key ?? '(only its SHA-256 is stored)'}\n`);
        }
        const tokens = await sampleTokens(artifact.policy, env, target.configDir);
        if (tokens.length) io.err('\nsample session tokens (24 h):\n');
        for (const t of tokens) io.err(`  ${t.user.padEnd(8)} role ${String(t.role ?? '-').padEnd(10)} Authorization: Bearer ${t.token}\n`);
        const firstKey = sampleKeys(artifact.policy, env).find((k) => k.key)?.key;
        const svc = Object.keys(artifact.policy.services)[0];
        if (firstKey && svc) io.err(`\ntry: curl -H 'X-Api-Key: ${firstKey}' ${url}/api/v2/${svc}/_table\n`);
      }
    } catch (e) {
      if (isDfcError(e)) {
        io.err(`dfc serve: ${e.code}: ${e.message}\n${e.note ? `  note: ${e.note}\n` : ''}`);
        return EXIT.failed;
      }
      throw e;
    }

    await new Promise<void>((done) => {
      if (io.signal.aborted) done();
      else io.signal.addEventListener('abort', () => done(), { once: true });
    });
    io.err('dfc serve: stopping (finishing requests in flight)\n');
    await server.close();
    return EXIT.ok;
  },
};

function parsePort(v: unknown, fallback: number): number | undefined {
  if (v === undefined || v === '') return fallback;
  const n = Number(v);
  return Number.isInteger(n) && n >= 0 && n <= 65_535 ? n : undefined;
}

export default command;
