import { dirname } from 'node:path';
import type { PolicyService } from '@dfc/schema';
import { loadArtifact, signatureVerifier, type Artifact, type ArtifactVerifier, type LoadArtifactOptions } from './artifact.js';
import { createJwtVerifier, failureLimiter, type FailureLimiter, type JwtVerifier } from './auth.js';
import { redisFailureLimiter } from './limiter.js';
import { compilePolicy, type CompiledPolicy } from './compiled.js';
import { compileCors, type CorsPolicy } from './cors.js';
import { openDataSource, type DataSource } from './data/index.js';
import { DfcError } from './errors.js';
import { createFieldCrypto, type FieldCrypto } from './field-crypto.js';
import { Metrics } from './metrics.js';
import type { Env } from './secrets.js';

/**
 * The runtime's state: the policy in service and what was built from it (CORS, JWT
 * verifier, database connections). A reload builds a complete new state and swaps one
 * reference; a request keeps the state it started with until it ends.
 */

export interface State {
  readonly compiled: CompiledPolicy;
  readonly cors: CorsPolicy;
  readonly jwt: JwtVerifier | undefined;
  readonly crypto: FieldCrypto | undefined;
  readonly sources: ReadonlyMap<string, DataSource>;
  readonly debug: boolean;
  readonly generation: number;
  readonly loadedAt: Date;
}

export interface RuntimeOptions {
  /** Directory holding policy.json and policy.mjs, or an artifact already loaded. */
  policy: string | Artifact;
  /** Where secrets are read from. @default process.env */
  env?: Env;
  /** Add error details and the `X-Dfc-Decision` header. Refused for a production policy unless `allowDebugInProduction`. */
  debug?: boolean;
  allowDebugInProduction?: boolean;
  /** Checks both artifact files before they are trusted (after the signature check, if any). */
  verify?: ArtifactVerifier;
  /**
   * Ed25519 public keys (PEM) whose signatures are trusted. When any is given, an artifact
   * loads (and reloads) only with a `policy.sig` (`dfc build --sign`) by one of them over
   * the exact bytes of policy.json and policy.mjs.
   */
  trustedKeys?: readonly string[];
  /** Milliseconds policy.mjs may take to import before the load is refused. @default 5000 */
  importTimeoutMs?: number;
  /** Directory relative SQLite files resolve against. @default the artifact directory's parent (the config directory) */
  baseDir?: string;
  /** Open a service's database (tests may substitute). */
  openDataSource?: (name: string, service: PolicyService, state: { compiled: CompiledPolicy; baseDir: string }) => DataSource;
  /**
   * Authentication failures tolerated per client and window before 429. `false` disables.
   * Counted in this process, or in Redis (shared by every process) with `redis` set, or
   * when the environment sets `DFC_RATE_LIMIT_REDIS_URL`. @default { max: 20, windowMs: 60000 }
   */
  authFailures?: { max: number; windowMs: number; redis?: string | false; redisPrefix?: string } | false;
}

export class Runtime {
  #state: State;
  readonly #opts: RuntimeOptions;
  readonly metrics: Metrics;
  readonly limiter: FailureLimiter | undefined;
  #closed = false;

  private constructor(state: State, opts: RuntimeOptions, metrics: Metrics) {
    this.#state = state;
    this.#opts = opts;
    this.metrics = metrics;
    this.limiter = limiterFor(opts);
  }

  static async create(opts: RuntimeOptions): Promise<Runtime> {
    const metrics = new Metrics();
    const artifact = typeof opts.policy === 'string' ? await loadArtifact(opts.policy, artifactOptions(opts)) : opts.policy;
    const state = buildState(artifact, opts, undefined, 1);
    metrics.policyLoaded(state.compiled.hash);
    return new Runtime(state, opts, metrics);
  }

  get state(): State {
    return this.#state;
  }

  /**
   * Load a new artifact (from `dir`, or the directory the runtime started with). When
   * anything fails (files, schema, hashes, secrets, JWT settings) the error is thrown and
   * the policy in service stays.
   */
  async reload(dir?: string): Promise<State> {
    const from = dir ?? (typeof this.#opts.policy === 'string' ? this.#opts.policy : undefined);
    if (!from) throw new DfcError('DFC_ERR_ARTIFACT_MISSING', 'this runtime was started from an artifact in memory; name a directory to reload from');
    let next: State;
    try {
      const artifact = await loadArtifact(from, artifactOptions(this.#opts));
      next = buildState(artifact, this.#opts, this.#state, this.#state.generation + 1);
    } catch (e) {
      this.metrics.reloadFailed();
      throw e;
    }
    const old = this.#state;
    this.#state = next;
    this.metrics.policyLoaded(next.compiled.hash);
    // Connections the new state no longer uses close once requests that hold the old one are done.
    const dropped = [...old.sources].filter(([name, ds]) => next.sources.get(name) !== ds).map(([, ds]) => ds);
    if (dropped.length > 0) {
      const t = setTimeout(() => void Promise.allSettled(dropped.map((ds) => ds.close())), 30_000);
      t.unref();
    }
    return next;
  }

  /** Every database answers. */
  async ready(): Promise<{ ok: boolean; services: Record<string, boolean> }> {
    const services: Record<string, boolean> = {};
    await Promise.all(
      [...this.#state.sources].map(async ([name, ds]) => {
        try {
          await ds.ping();
          services[name] = true;
        } catch {
          services[name] = false;
        }
      }),
    );
    return { ok: Object.values(services).every(Boolean), services };
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await Promise.allSettled([...[...this.#state.sources.values()].map((ds) => ds.close()), this.limiter?.close?.()]);
  }
}

function artifactOptions(opts: RuntimeOptions): LoadArtifactOptions {
  const checks = [opts.trustedKeys?.length ? signatureVerifier(opts.trustedKeys) : undefined, opts.verify].filter((v): v is ArtifactVerifier => v !== undefined);
  const verify: ArtifactVerifier | undefined =
    checks.length === 0 ? undefined : checks.length === 1 ? checks[0] : async (files) => { for (const check of checks) await check(files); };
  return { ...(verify ? { verify } : {}), ...(opts.importTimeoutMs !== undefined ? { importTimeoutMs: opts.importTimeoutMs } : {}) };
}

function limiterFor(opts: RuntimeOptions): FailureLimiter | undefined {
  const f = opts.authFailures ?? { max: 20, windowMs: 60_000 };
  if (f === false) return undefined;
  const fromEnv = (opts.env ?? process.env).DFC_RATE_LIMIT_REDIS_URL;
  const url = f.redis === false ? undefined : (f.redis ?? (fromEnv || undefined));
  if (url === undefined) return failureLimiter(f);
  return redisFailureLimiter({ url, max: f.max, windowMs: f.windowMs, ...(f.redisPrefix !== undefined ? { prefix: f.redisPrefix } : {}) });
}

function buildState(artifact: Artifact, opts: RuntimeOptions, previous: State | undefined, generation: number): State {
  const env = opts.env ?? process.env;
  const compiled = compilePolicy(artifact, { env });
  const debug = opts.debug === true;
  if (debug && compiled.policy.environment === 'production' && !opts.allowDebugInProduction) {
    throw new DfcError('DFC_ERR_DEBUG_IN_PRODUCTION', undefined, {
      note: 'debug output shows internal details; build with `environment: "development"`, or pass the explicit override',
    });
  }
  const jwtCfg = compiled.policy.auth.jwt;
  const jwt = jwtCfg ? createJwtVerifier(jwtCfg, compiled.resolveSecret) : undefined;
  const cryptoCfg = compiled.policy.crypto;
  const crypto = cryptoCfg ? createFieldCrypto(compiled.resolveSecret(cryptoCfg.key, 'the field encryption key')) : undefined;
  const baseDir = opts.baseDir ?? dirname(artifact.dir);
  const sources = new Map<string, DataSource>();
  for (const [name, svc] of Object.entries(compiled.policy.services)) {
    // Keep the open connection when the database settings did not change.
    const prev = previous?.sources.get(name);
    const prevDef = previous?.compiled.policy.services[name]?.database;
    if (prev && prevDef && JSON.stringify(prevDef) === JSON.stringify(svc.database)) {
      sources.set(name, prev);
      continue;
    }
    sources.set(
      name,
      opts.openDataSource
        ? opts.openDataSource(name, svc, { compiled, baseDir })
        : openDataSource(svc, { baseDir, resolveSecret: (ref) => compiled.resolveSecret(ref, `the database of service \`${name}\``) }),
    );
  }
  return Object.freeze({
    compiled,
    cors: compileCors(compiled.policy.cors),
    jwt,
    crypto,
    sources,
    debug,
    generation,
    loadedAt: new Date(),
  });
}
