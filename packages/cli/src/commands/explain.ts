import { existsSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { Option } from 'commander';
import { CONFIG_FILE_NAMES, check, type CompilerSession } from '@dfc/compiler';
import {
  compileCors,
  compilePolicy,
  createFieldCrypto,
  createJwtVerifier,
  decide,
  explain,
  isDfcError,
  loadArtifact,
  matchesOperators,
  openDataSource,
  ruleFind,
  type Artifact,
  type CompiledPolicy,
  type DataSource,
  type DecideRequest,
  type RuleContext,
} from '@dfc/runtime';
import { renderExplanation, type Places } from '../explain/render.js';
import { INPUT_KEYS, parseJsonOption, RequestError, resolveRequest, type ExplainInput } from '../explain/request.js';
import { formatText } from '../output/format.js';
import { loadInMemory } from '../policy-test/artifact.js';
import { createHost, createWorld } from '../policy-test/fixtures.js';
import { EXIT, type CommandIO, type DfcCommand } from './command.js';

/**
 * `dfc explain [config]`: the decision path of one request, computed by the runtime's
 * `decide()` with a trace (the values every rule compared), as text or JSON.
 */
const command: DfcCommand = {
  name: 'explain',
  configure(cmd) {
    cmd
      .description('explain how the policy decides one request: CORS, app, role, access, requirements, rules with their values, changes, where')
      .argument('[config]', 'a dfc.config.ts file or its directory, or an artifact directory (policy.json and policy.mjs)', '.')
      .option('--app <name>', 'the calling app, by name')
      .option('--api-key <key>', 'or the API key the request carries (the apps\' key secrets must be set)')
      .option('--claims <json>', "the session's claims, e.g. '{\"id\":\"alice\",\"role\":\"editor\"}'")
      .option('--token <jwt>', 'or the session token, verified with the configured key (its secret must be set)')
      .option('--verb <verb>', 'GET, POST, PUT, PATCH or DELETE (default GET)')
      .option('--path <path>', 'the request path, e.g. /api/v2/blog/_table/posts/1 (a ?filter= in it is read)')
      .option('--service <name>', 'or the service,')
      .option('--table <name>', 'the table')
      .option('--id <id>', 'and the record id')
      .option('--body <json>', 'the request body (a record, for POST, PUT and PATCH)')
      .option('--filter <filter>', 'the `filter` parameter')
      .option('--origin <origin>', "the request's Origin: shows the CORS entry that answers it")
      .option('--request <file>', 'a JSON file with any of the above (app, apiKey, claims, token, verb, path, service, table, id, body, filter, origin)')
      .option('--data <file>', 'a JSON file of rows `query` rules read ({ "data": { "<table>": [ … ] }, "webhooks": { "<url>": { "status": 200, "body": {} } }, "now": "…" })')
      .option('--live', "`query` rules read the service's database (reads only; secrets from the environment)")
      .addOption(new Option('--format <format>', 'output format').choices(['text', 'json']).default('text'));
  },
  async run(args, io) {
    try {
      return await explainCommand(args.operands[0] ?? '.', args.options, io);
    } catch (e) {
      if (e instanceof RequestError) {
        io.err(`dfc explain: ${e.message}\n`);
        return EXIT.usage;
      }
      if (isDfcError(e)) {
        io.err(`dfc explain: ${e.message}${e.note ? ` (${e.note})` : ''}\n`);
        return EXIT.usage;
      }
      throw e;
    }
  },
};

/** Compiler state per config, so explaining again in one process reuses the type checker's work. */
const sessions = new Map<string, CompilerSession>();

async function explainCommand(target: string, options: Record<string, unknown>, io: CommandIO): Promise<number> {
  const input = readInput(options, io);
  const format = options.format as 'text' | 'json';

  // The policy: built in memory from a config, or an artifact directory as built.
  const at = resolve(io.cwd, target);
  let artifact: Artifact;
  let places: Places | undefined;
  // Where relative SQLite files are (`--live`): the config's directory.
  let baseDir: string;
  if (isArtifactDir(at)) {
    artifact = await loadArtifact(at);
    baseDir = dirname(artifact.dir);
  } else {
    let session = sessions.get(at);
    if (!session) sessions.set(at, (session = {}));
    const built = await check({ config: at, cwd: io.cwd, outline: true, session });
    if (!built.ok || !built.policy || built.module === undefined) {
      io.err(formatText(built.diagnostics.filter((d) => d.severity === 'error'), { cwd: io.cwd, color: io.color.err }));
      io.err('dfc explain: the config has errors\n');
      return EXIT.failed;
    }
    artifact = await loadInMemory(built.policy, built.module);
    baseDir = dirname(built.configFile!);
    if (built.outline) {
      places = { nodes: {}, access: {} };
      for (const rule of built.outline.rules) for (const n of rule.nodes) if (n.span) places.nodes[n.path] = { file: n.span.file, line: n.span.line };
      for (const c of built.outline.collections) {
        if (c.span) places.nodes[c.path] = { file: c.span.file, line: c.span.line };
        for (const r of c.requirements) if (r.span) places.nodes[r.path] = { file: r.span.file, line: r.span.line };
      }
      for (const a of built.outline.access) {
        places.access[`${a.role}\0${a.index}`] = a.span ? { path: a.path, file: a.span.file, line: a.span.line } : { path: a.path };
      }
    }
  }
  const compiled = compilePolicy(artifact, { env: io.env, resolveApiKeys: input.apiKey !== undefined });
  const { request, path } = resolveRequest(input, compiled);

  const full: DecideRequest = { ...request, trace: true };
  if (input.app !== undefined) full.app = input.app;
  if (input.apiKey !== undefined) full.apiKey = input.apiKey;
  if (input.claims !== undefined) full.claims = input.claims;
  if (input.token !== undefined) {
    const jwt = compiled.policy.auth.jwt;
    if (!jwt) throw new RequestError('the policy accepts no session tokens (it has no `auth.jwt`); give `--claims` instead');
    try {
      full.claims = await createJwtVerifier(jwt, compiled.resolveSecret).verify(input.token);
    } catch (e) {
      throw new RequestError(`\`--token\` is not a valid session token for this policy${isDfcError(e) && e.code !== 'DFC_ERR_INVALID_TOKEN' ? `: ${e.message}` : ''}`);
    }
    full.token = input.token;
  }

  const { ctx, close, noData } = await ruleHost(compiled, request.service, baseDir, options, io);
  try {
    const result = await decide(compiled, full, ctx);
    const cors = input.origin !== undefined ? { policy: compileCors(compiled.policy.cors), origin: input.origin, path } : undefined;
    const explanation = explain(result, full, cors ? { cors } : {});
    if (format === 'json') io.out(JSON.stringify({ explain: explanation }, null, 2) + '\n');
    else {
      const opts = { cwd: io.cwd, color: io.color.out, policy: compiled.policy, noData };
      io.out(renderExplanation(explanation, places ? { ...opts, places } : opts));
    }
    return explanation.allow ? EXIT.ok : EXIT.failed;
  } finally {
    await close();
  }
}

/** The request: `--request` file first, then the flags over it. */
function readInput(options: Record<string, unknown>, io: CommandIO): ExplainInput {
  const input: ExplainInput = {};
  if (typeof options.request === 'string') {
    const file = resolve(io.cwd, options.request);
    let raw: unknown;
    try {
      raw = JSON.parse(readFileSync(file, 'utf8'));
    } catch (e) {
      throw new RequestError(`\`--request\` ${options.request} cannot be read as JSON: ${e instanceof Error ? e.message : String(e)}`);
    }
    if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) throw new RequestError('`--request` must hold a JSON object');
    for (const [k, v] of Object.entries(raw)) {
      if (!(INPUT_KEYS as readonly string[]).includes(k)) throw new RequestError(`\`--request\` has an unknown key \`${k}\` (the keys are ${INPUT_KEYS.map((x) => `\`${x}\``).join(', ')})`);
      (input as Record<string, unknown>)[k] = v;
    }
  }
  for (const key of ['app', 'apiKey', 'token', 'verb', 'path', 'service', 'table', 'id', 'filter', 'origin'] as const) {
    if (typeof options[key] === 'string') (input as Record<string, unknown>)[key] = options[key];
  }
  if (typeof options.claims === 'string') input.claims = parseJsonOption(options.claims, '--claims') as Record<string, unknown>;
  if (typeof options.body === 'string') input.body = parseJsonOption(options.body, '--body');
  if (input.claims !== undefined && (input.claims === null || typeof input.claims !== 'object' || Array.isArray(input.claims))) {
    throw new RequestError('`--claims` must be a JSON object');
  }
  if (input.claims !== undefined && input.token !== undefined) throw new RequestError('give `--claims` or `--token`, not both');
  if (input.app !== undefined && input.apiKey !== undefined) throw new RequestError('give `--app` or `--api-key`, not both');
  return input;
}

/**
 * What rules reach outside while explaining: rows from `--data` or, with `--live`, the
 * service's database (reads only); webhooks only from `--data` (explain never calls one).
 */
async function ruleHost(
  compiled: CompiledPolicy,
  service: string,
  baseDir: string,
  options: Record<string, unknown>,
  io: CommandIO,
): Promise<{ ctx: RuleContext; close(): Promise<void>; noData: boolean }> {
  const world = await createWorld(compiled);
  let data: Record<string, Record<string, unknown>[]> = {};
  let webhooks: Record<string, { status: number; body?: unknown }> = {};
  let now: Date | undefined;
  if (typeof options.data === 'string') {
    let raw: { data?: unknown; webhooks?: unknown; now?: unknown };
    try {
      raw = JSON.parse(readFileSync(resolve(io.cwd, options.data), 'utf8')) as typeof raw;
    } catch (e) {
      throw new RequestError(`\`--data\` ${options.data} cannot be read as JSON: ${e instanceof Error ? e.message : String(e)}`);
    }
    for (const [table, rows] of Object.entries((raw.data ?? {}) as Record<string, unknown>)) {
      if (!Array.isArray(rows)) throw new RequestError(`\`--data\`: \`data.${table}\` must be a list of rows`);
      data[table] = world.store(table, rows as Record<string, unknown>[]);
    }
    webhooks = (raw.webhooks ?? {}) as typeof webhooks;
    if (typeof raw.now === 'string') now = new Date(raw.now);
  }
  const host = createHost({ compiled, world, service, data, webhooks, ...(now ? { now } : {}) });
  const ctx = host.ctx;
  const crypto = realCrypto(compiled);
  if (crypto) ctx.crypto = crypto;
  const sources = new Map<string, DataSource>();
  if (options.live) {
    ctx.query = async (svc, table, find) => {
      const def = compiled.policy.services[svc];
      const tdef = def?.tables[table];
      if (!def || !tdef) throw new Error(`unknown table \`${svc}.${table}\``);
      let ds = sources.get(svc);
      if (!ds) {
        ds = openDataSource(def, { baseDir, resolveSecret: (ref) => compiled.resolveSecret(ref, `the database of service \`${svc}\``) });
        sources.set(svc, ds);
      }
      const f = ruleFind(find, tdef);
      const rows = await ds.select(table, { where: f.where, limit: 1000 });
      return rows.filter((r) => matchesOperators(r, f.operators));
    };
  }
  return {
    ctx,
    noData: !options.live && typeof options.data !== 'string',
    async close() {
      for (const ds of sources.values()) await ds.close();
    },
  };
}

/** The policy's field key from the environment, when it is set (decrypting live rows needs it). */
function realCrypto(compiled: CompiledPolicy) {
  const key = compiled.policy.crypto?.key;
  if (!key) return undefined;
  try {
    return createFieldCrypto(compiled.resolveSecret(key, 'the field encryption key'));
  } catch {
    return undefined;
  }
}

/** A directory holding a built policy and no config. */
function isArtifactDir(path: string): boolean {
  try {
    if (!statSync(path).isDirectory()) return false;
  } catch {
    return false;
  }
  return existsSync(join(path, 'policy.json')) && !CONFIG_FILE_NAMES.some((n) => existsSync(join(path, n)));
}

export default command;
