import { existsSync } from 'node:fs';
import { join, resolve as resolvePath } from 'node:path';
import type { KeyObject } from 'node:crypto';
import { parseSigningKey, type Config, type Policy } from '@dfc/schema';
import { GenerateCache } from '@dfc/rules';
import {
  dedupeDiagnostics,
  diagnostic,
  hasErrors,
  sortDiagnostics,
  type Diagnostic,
} from './diagnostics/diagnostic.js';
import { Locator } from './source/locate.js';
import { outline, type PolicyOutline } from './source/outline.js';
import { analyze } from './stages/analyze.js';
import { checkPolicy, codegen, type PolicyCheckCache } from './stages/codegen.js';
import { emit, type EmitFileSystem, type EmittedFile } from './stages/emit.js';
import { load, type LoadOutput, type LoadSession } from './stages/load.js';
import { normalize, type NormalizeOutput } from './stages/normalize.js';
import { resolve } from './stages/resolve.js';
import { typecheck, type TypecheckOutput, type TypecheckSession } from './stages/typecheck.js';
import { validate, type ValidateCache } from './stages/validate.js';

export interface CompileOptions {
  /** A config file, or a directory holding `dfc.config.ts`. Default: `cwd`. */
  config?: string | undefined;
  /** Directory that relative paths are resolved from. Default: `process.cwd()`. */
  cwd?: string | undefined;
  /** Where the artifacts go. Default: `<config dir>/dist`. */
  outDir?: string | undefined;
  /** At most this many diagnostics are returned (the rest are counted in `omitted`). Default 100. */
  maxDiagnostics?: number | undefined;
  /**
   * An Ed25519 private key (PEM text or a KeyObject): `build` also writes policy.sig, which a
   * runtime with trusted keys requires (`dfc build --sign`).
   */
  signingKey?: string | KeyObject | undefined;
  /** @internal File operations for emit; tests inject failures through it. */
  emitFileSystem?: EmitFileSystem | undefined;
  /** @internal State kept between `--watch` rebuilds. */
  session?: CompilerSession | undefined;
  /** Also return the policy's outline: every rule node, requirement and access entry with its source position. */
  outline?: boolean | undefined;
  /**
   * More files to type-check in the config's program (policy tests importing the config):
   * one program for both, and their errors stop the build like the config's.
   */
  typecheckAlso?: readonly string[] | undefined;
}

/** What one build leaves for the next one in the same process (`watch`). */
export interface CompilerSession {
  typecheck?: TypecheckSession;
  /** policy.mjs's closure factories, by the rule they were made from. */
  codegen?: GenerateCache;
  /** The rule sets the last policy check found valid. */
  policyCheck?: PolicyCheckCache;
  /** Each user file's module, as the last load built it. */
  load?: LoadSession;
  /** The rule sets the last validation parsed. */
  validate?: ValidateCache;
}

export interface CompileResult {
  /** True when there is no error (warnings and infos are allowed). */
  ok: boolean;
  /** Sorted by file, line and column. */
  diagnostics: Diagnostic[];
  /** How many diagnostics were left out beyond `maxDiagnostics`. */
  omitted: number;
  configFile?: string;
  outDir?: string;
  /** The policy (policy.json's content), when the build has no error. */
  policy?: Policy;
  /** The written artifacts (`build` only). */
  files?: EmittedFile[];
  /** The text of policy.mjs, when the build has no error (`check` included: nothing is written). */
  module?: string;
  /** With `outline: true`, when the build has no error. */
  outline?: PolicyOutline;
  /** The config and every file it imports: what `--watch` watches. */
  inputs: string[];
  /** Milliseconds spent in each stage that ran. */
  timings: Partial<Record<StageName, number>>;
}

export type StageName = 'resolve' | 'typecheck' | 'load' | 'validate' | 'normalize' | 'analyze' | 'codegen' | 'emit';

/** Everything the stages produce, filled in as they run. */
interface BuildState {
  options: CompileOptions;
  cwd: string;
  session: CompilerSession;
  configFile?: string;
  configDir?: string;
  typecheck?: TypecheckOutput;
  load?: LoadOutput;
  locator?: Locator;
  config?: Config;
  /** The objects the config value reaches, as validate found them. */
  reached?: { has(value: object): boolean };
  normalized?: NormalizeOutput;
  module?: string;
  files?: EmittedFile[];
}

interface Stage {
  name: StageName;
  /** Only `build` runs it; `check` stops before. */
  emits?: boolean;
  run(state: BuildState): Diagnostic[] | Promise<Diagnostic[]>;
}

const need = <T>(value: T | undefined, what: string): T => {
  if (value === undefined) throw new Error(`pipeline invariant: ${what} is missing`);
  return value;
};

/**
 * The compiler: one ordered table of stages. Each runs only if the ones before it
 * reported no error, so later stages can rely on what earlier ones established.
 */
export const STAGES: readonly Stage[] = [
  {
    name: 'resolve',
    run(s) {
      const out = resolve({ config: s.options.config, cwd: s.cwd });
      if (out.configFile) {
        s.configFile = out.configFile;
        s.configDir = out.configDir;
      }
      return out.diagnostics;
    },
  },
  {
    // Before load, because load runs the user's code (STYLE.md §5). Without the
    // authoring types' checks: validate and analyze find the same mistakes, and when
    // a later stage finds an error, `recheck` runs them after all (see runPipeline).
    name: 'typecheck',
    run(s) {
      const out = typecheck({
        configFile: need(s.configFile, 'configFile'),
        configDir: need(s.configDir, 'configDir'),
        session: s.session.typecheck,
        // A caller that keeps a session rebuilds (`--watch`): keep what a rebuild reuses.
        incremental: s.options.session !== undefined,
        alsoCheck: s.options.typecheckAlso,
        authoringChecks: false,
      });
      s.typecheck = out;
      s.session.typecheck = out.session;
      return out.diagnostics;
    },
  },
  {
    name: 'load',
    async run(s) {
      const program = s.typecheck?.program;
      const out = await load({
        configFile: need(s.configFile, 'configFile'),
        configDir: need(s.configDir, 'configDir'),
        sourceFile: (file) => program?.getSourceFile(file),
        // A caller that keeps a session rebuilds (`--watch`): a module per file, built again when it changes.
        session: s.options.session !== undefined ? (s.session.load ??= {}) : undefined,
      });
      s.load = out;
      s.locator = new Locator({ root: out.value, sites: out.sites, entry: s.configFile!, program });
      return out.diagnostics;
    },
  },
  {
    name: 'validate',
    run(s) {
      const out = validate({
        value: need(s.load, 'load').value,
        locator: need(s.locator, 'locator'),
        // A caller that keeps a session rebuilds (`--watch`): rule sets parsed before are not parsed again.
        cache: s.options.session !== undefined ? (s.session.validate ??= {}) : undefined,
      });
      if (out.config) s.config = out.config;
      if (out.reached) s.reached = out.reached;
      return out.diagnostics;
    },
  },
  {
    // After validate: it relies on the config's shape.
    name: 'normalize',
    run(s) {
      const out = normalize({ config: need(s.config, 'config'), root: s.load!.value, locator: need(s.locator, 'locator') });
      s.normalized = out;
      return out.diagnostics;
    },
  },
  {
    name: 'analyze',
    run(s) {
      const n = need(s.normalized, 'normalized');
      return analyze({
        config: need(s.config, 'config'),
        policy: need(n.policy, 'policy'),
        origins: n.origins,
        root: s.load!.value,
        locator: need(s.locator, 'locator'),
      }).diagnostics;
    },
  },
  {
    name: 'codegen',
    async run(s) {
      const n = need(s.normalized, 'normalized');
      const policy = need(n.policy, 'policy');
      // A caller that keeps a session rebuilds (`--watch`): keep what a rebuild reuses.
      if (s.options.session !== undefined) {
        s.session.policyCheck ??= {};
        s.session.codegen ??= new GenerateCache();
      }
      // Defence in depth: the artifact must match its own schema before anything uses it.
      const check = checkPolicy(policy, s.session.policyCheck);
      if (!check.ok) {
        const issue = check.issue;
        return [
          diagnostic('DFC9002', 'the compiled policy does not match the artifact schema', {
            notes: [issue ? `at \`${issue.path.join('.')}\`: ${issue.message}` : undefined, 'this is a bug in dfc; please report it with the config that caused it'],
          }),
        ];
      }
      const out = await codegen({ policy, code: n.code, cache: s.session.codegen });
      if (out.module !== undefined) s.module = out.module;
      return out.diagnostics;
    },
  },
  {
    name: 'emit',
    emits: true,
    async run(s) {
      const outDir = s.options.outDir !== undefined ? resolvePath(s.cwd, s.options.outDir) : join(need(s.configDir, 'configDir'), 'dist');
      let signingKey: KeyObject | undefined;
      if (s.options.signingKey !== undefined) {
        try {
          signingKey = typeof s.options.signingKey === 'string' ? parseSigningKey(s.options.signingKey) : s.options.signingKey;
          if (signingKey.asymmetricKeyType !== 'ed25519' || signingKey.type !== 'private') throw new Error('the signing key must be an Ed25519 private key');
        } catch (error) {
          return [diagnostic('DFC5003', (error as Error).message, { notes: ['make one with `dfc keygen`; nothing was written'] })];
        }
      }
      const out = await emit({
        outDir,
        policy: need(s.normalized?.policy, 'policy'),
        policyJson: s.normalized?.policyJson,
        module: need(s.module, 'module'),
        signingKey,
        fs: s.options.emitFileSystem,
      });
      if (out.files) s.files = out.files;
      return out.diagnostics;
    },
  },
];

export const DEFAULT_MAX_DIAGNOSTICS = 100;

/**
 * The type check with the authoring types' checks on, for a config in which a later
 * stage found an error: the mistake is most likely one those checks describe at the
 * place it was written, in the words the editor uses (`unknown column \`usrId\` in
 * table \`posts\``), so their errors are what the build reports, as if the first
 * pass had found them. A fresh program; the parsed files are reused.
 */
function recheck(s: BuildState): Diagnostic[] {
  return typecheck({
    configFile: need(s.configFile, 'configFile'),
    configDir: need(s.configDir, 'configDir'),
    alsoCheck: s.options.typecheckAlso,
    authoringChecks: true,
  }).diagnostics;
}

/**
 * Warms up a `--watch` process after its first build, while it waits for an edit: the
 * type check a rebuild runs after an edit to the largest file the config imports (the
 * config itself when it imports none), with the session's state, its result thrown
 * away. A fresh process runs its first rebuilds' type checks several times slower than
 * later ones (the JIT has not yet optimised that work, and the unchanged files'
 * declarations are parsed for the first time); after this, the first rebuild runs as
 * fast as the later ones. Runs no user code and changes nothing the next build sees
 * but the type checker's caches of parsed files.
 */
export function warmUp(options: CompileOptions): void {
  const session = options.session?.typecheck;
  if (!session?.checks) return;
  const resolved = resolve({ config: options.config, cwd: resolvePath(options.cwd ?? process.cwd()) });
  if (!resolved.configFile || !resolved.configDir) return;
  const roots = new Set([resolved.configFile, ...(options.typecheckAlso ?? [])]);
  const size = (stamp: string) => Number(stamp.slice(stamp.lastIndexOf(':') + 1));
  let file: string | undefined;
  for (const [f, check] of session.checks) {
    if (roots.has(f) || !session.declarations?.has(f)) continue;
    if (file === undefined || size(check.stamp) > size(session.checks.get(file)!.stamp)) file = f;
  }
  typecheck({
    configFile: resolved.configFile,
    configDir: resolved.configDir,
    session,
    incremental: true,
    alsoCheck: options.typecheckAlso,
    authoringChecks: false,
    checkAgain: file ?? resolved.configFile,
  });
}

/** Whether an object a define* call returned is not part of the config (an unused rule set, say). */
function leavesOutDefinitions(s: BuildState): boolean {
  const definitions = s.load?.definitions ?? [];
  if (definitions.length === 0) return false;
  // Validate walked the same value: walking it again is a sizeable part of a large rebuild.
  if (s.reached) return definitions.some((d) => !s.reached!.has(d));
  const held = new Set<object>();
  const walk = (value: unknown): void => {
    if (value === null || typeof value !== 'object' || held.has(value)) return;
    held.add(value);
    for (const child of Array.isArray(value) ? value : Object.values(value)) walk(child);
  };
  walk(s.load?.value);
  return definitions.some((d) => !held.has(d));
}

export async function runPipeline(options: CompileOptions, mode: 'build' | 'check'): Promise<CompileResult> {
  const state: BuildState = { options, cwd: resolvePath(options.cwd ?? process.cwd()), session: options.session ?? {} };
  const timings: CompileResult['timings'] = {};
  let all: Diagnostic[] = [];
  /** How many diagnostics there were before the first type-check pass (until `recheck` ran). */
  let typechecked: number | undefined;
  for (const stage of STAGES) {
    if (stage.emits && mode === 'check') break;
    const started = performance.now();
    let found: Diagnostic[];
    try {
      found = await stage.run(state);
    } catch (error) {
      found = [
        diagnostic('DFC9001', `internal error in stage \`${stage.name}\``, {
          notes: [error instanceof Error ? error.message : String(error), 'this is a bug in dfc; please report it with the config that caused it'],
        }),
      ];
    }
    timings[stage.name] = performance.now() - started;
    all.push(...found);
    const failed = hasErrors(found);
    if (stage.name === 'typecheck') typechecked = all.length - found.length;
    // After a failure (the first pass's own included: its messages for a wrong
    // argument to a define* call are not the editor's), or once analyze passed when the
    // config leaves out something a define* call made (validate and analyze never saw it).
    if (typechecked !== undefined && (failed || (stage.name === 'analyze' && leavesOutDefinitions(state)))) {
      const again = performance.now();
      const typeErrors = recheck(state);
      timings.typecheck = (timings.typecheck ?? 0) + performance.now() - again;
      if (hasErrors(typeErrors)) {
        all = [...all.slice(0, typechecked), ...typeErrors];
        break;
      }
      typechecked = undefined;
    }
    if (failed) break;
  }
  all = sortDiagnostics(dedupeDiagnostics(all));
  const max = options.maxDiagnostics ?? DEFAULT_MAX_DIAGNOSTICS;
  const diagnostics = all.slice(0, max);
  const ok = !hasErrors(all);
  const inputs = new Set<string>([...(state.typecheck?.files ?? []), ...(state.load?.inputs ?? [])]);
  if (state.configFile) inputs.add(state.configFile);
  if (state.configDir && existsSync(join(state.configDir, 'tsconfig.json'))) inputs.add(join(state.configDir, 'tsconfig.json'));
  const result: CompileResult = { ok, diagnostics, omitted: all.length - diagnostics.length, inputs: [...inputs].sort(), timings };
  if (state.configFile) result.configFile = state.configFile;
  if (mode === 'build' && state.configDir) {
    result.outDir = options.outDir !== undefined ? resolvePath(state.cwd, options.outDir) : join(state.configDir, 'dist');
  }
  if (ok && state.normalized?.policy) result.policy = state.normalized.policy;
  if (ok && state.files) result.files = state.files;
  if (ok && state.module !== undefined) result.module = state.module;
  if (ok && options.outline && state.config && state.locator && state.normalized?.policy) {
    result.outline = outline({ config: state.config, policy: state.normalized.policy, root: state.load?.value, locator: state.locator });
  }
  return result;
}
