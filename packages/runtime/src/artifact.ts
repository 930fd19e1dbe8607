import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { ARTIFACT_VERSION, PolicySchema, SIGNATURE_FILE, parseTrustedKey, policyHash, verifyArtifactSignature, type Policy } from '@dfc/schema';
import type { CodeFunction } from '@dfc/schema';
import type { CompiledRule, RuleContext, RuleInput, Decision } from './rule-types.js';
import { DfcError, q } from './errors.js';

/**
 * Loading `policy.json` + `policy.mjs`. A pair is accepted only when policy.json parses,
 * matches the artifact schema and version, its `hash` is the hash of its content, and
 * policy.mjs exports the same hash; otherwise a coded error says which check failed and
 * nothing is returned (so a reload keeps the policy in service).
 */

export type RuleFn = ((input: RuleInput, ctx?: RuleContext) => Decision | Promise<Decision>) & Partial<Pick<CompiledRule, 'async'>>;

/** What policy.mjs exports. */
export interface PolicyModule {
  hash: string;
  /** `service/table/operation` → the table's rule for that operation. */
  rules: Record<string, RuleFn>;
  /** `service`, `service/table`, `service/table/column` → the requirement collection. */
  requirements: Record<string, RuleFn>;
  /** `code` rule functions by id. */
  code: Record<string, CodeFunction>;
}

export interface Artifact {
  policy: Policy;
  module: PolicyModule;
  /** Absolute directory the pair was read from (relative database files resolve against its parent). */
  dir: string;
}

/**
 * A check of both files' raw bytes before anything in them is trusted (signatures:
 * {@link signatureVerifier}); throw a DfcError to refuse the pair.
 */
export type ArtifactVerifier = (files: { policyJson: Buffer; policyMjs: Buffer; dir: string }) => void | Promise<void>;

export interface LoadArtifactOptions {
  verify?: ArtifactVerifier;
  /** Milliseconds policy.mjs may take to import (a top-level await that never settles is refused). @default 5000 */
  importTimeoutMs?: number;
}

/**
 * Refuses an artifact unless `policy.sig` (`dfc build --sign`) is a signature by one of
 * these Ed25519 public keys (PEM) over the exact bytes of policy.json and policy.mjs.
 */
export function signatureVerifier(trustedKeys: readonly string[]): ArtifactVerifier {
  const keys = trustedKeys.map((pem, i) => {
    try {
      return parseTrustedKey(pem);
    } catch (e) {
      throw new DfcError('DFC_ERR_TRUSTED_KEY', `trusted key ${i + 1} of ${trustedKeys.length}: ${(e as Error).message}`, {
        note: 'give the Ed25519 public key `dfc keygen` wrote (`*.pub`), in PEM form',
      });
    }
  });
  return async ({ policyJson, policyMjs, dir }) => {
    let signature: Buffer;
    try {
      signature = await readFile(join(dir, SIGNATURE_FILE));
    } catch {
      throw new DfcError('DFC_ERR_ARTIFACT_UNSIGNED', `${q(join(dir, SIGNATURE_FILE))} is missing`, {
        note: 'this runtime only loads policies signed by its trusted keys: build with `dfc build --sign <key file>`',
      });
    }
    const check = verifyArtifactSignature(signature, { policyJson, policyMjs }, keys);
    if (!check.ok) throw new DfcError('DFC_ERR_ARTIFACT_SIGNATURE', check.reason, { note: 'rebuild and sign the policy with a trusted key' });
  };
}

let importCounter = 0;

export async function loadArtifact(dir: string, opts: LoadArtifactOptions = {}): Promise<Artifact> {
  const abs = resolve(dir);
  const jsonPath = join(abs, 'policy.json');
  const mjsPath = join(abs, 'policy.mjs');
  const [policyJson, policyMjs] = await Promise.all([readOrMissing(jsonPath), readOrMissing(mjsPath)]);
  if (opts.verify) await opts.verify({ policyJson, policyMjs, dir: abs });

  let raw: unknown;
  try {
    raw = JSON.parse(policyJson.toString('utf8'));
  } catch (e) {
    throw new DfcError('DFC_ERR_ARTIFACT_JSON', `${q(jsonPath)} is not valid JSON`, {
      note: 'rebuild it with `dfc build`',
      cause: e,
    });
  }
  const policy = validatePolicy(raw, jsonPath);
  const timeout = opts.importTimeoutMs ?? 5_000;
  // Checked bytes are the bytes that run: after a verify hook (a signature), the module is
  // imported from a private copy of what was checked, so swapping policy.mjs on disk
  // between the check and the import changes nothing. (policy.mjs is self-contained.)
  const module = opts.verify ? await importCopy(policyMjs, mjsPath, policy, timeout) : await importModule(mjsPath, policy, timeout);
  return { policy, module, dir: abs };
}

/** Validate an already parsed policy.json value (schema, version, hash). */
export function validatePolicy(raw: unknown, where = 'policy.json'): Policy {
  if (raw && typeof raw === 'object' && 'artifactVersion' in raw) {
    const v = (raw as { artifactVersion: unknown }).artifactVersion;
    if (v !== ARTIFACT_VERSION) {
      throw new DfcError(
        'DFC_ERR_ARTIFACT_VERSION',
        `${q(where)} has artifact version ${q(v)}, this runtime reads version ${ARTIFACT_VERSION}`,
        { note: 'rebuild the policy with the `dfc` version that matches this runtime' },
      );
    }
  }
  const parsed = PolicySchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const path = issue ? issue.path.map(String).join('.') : '';
    throw new DfcError('DFC_ERR_ARTIFACT_SCHEMA', `${q(where)} does not match the artifact schema at ${q(path || '(root)')}`, {
      note: issue?.message ?? 'rebuild it with `dfc build`',
    });
  }
  const policy = parsed.data as Policy;
  const actual = policyHash(policy);
  if (actual !== policy.hash) {
    throw new DfcError('DFC_ERR_ARTIFACT_HASH', `${q(where)} was changed after it was built: its content does not match its hash`, {
      note: 'rebuild it with `dfc build`; never edit policy.json by hand',
    });
  }
  return policy;
}

async function readOrMissing(path: string): Promise<Buffer> {
  try {
    const s = await stat(path);
    if (!s.isFile()) throw new Error('not a file');
    return await readFile(path);
  } catch (e) {
    throw new DfcError('DFC_ERR_ARTIFACT_MISSING', `cannot read ${q(path)}`, {
      note: 'run `dfc build` first, or point the runtime at the directory that holds policy.json and policy.mjs',
      cause: e,
    });
  }
}

async function importCopy(bytes: Buffer, shownAs: string, policy: Policy, timeoutMs: number): Promise<PolicyModule> {
  const dir = await mkdtemp(join(tmpdir(), 'dfc-verified-'));
  try {
    const copy = join(dir, 'policy.mjs');
    await writeFile(copy, bytes, { mode: 0o600 });
    return await importModule(copy, policy, timeoutMs, shownAs);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

async function importModule(mjsPath: string, policy: Policy, timeoutMs: number, shownAs = mjsPath): Promise<PolicyModule> {
  let ns: Record<string, unknown>;
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    // A query string makes each reload import a fresh module instance.
    const url = pathToFileURL(mjsPath);
    url.search = `?dfc=${++importCounter}`;
    // A module whose top-level await never settles would hold a reload (and startup) forever.
    const late = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`the import did not finish within ${timeoutMs} ms`)), timeoutMs);
    });
    ns = (await Promise.race([import(url.href), late])) as Record<string, unknown>;
  } catch (e) {
    throw new DfcError('DFC_ERR_ARTIFACT_MODULE', `${q(shownAs)} could not be imported`, {
      note: 'rebuild it with `dfc build`',
      detail: e instanceof Error ? e.message : String(e),
      cause: e,
    });
  } finally {
    clearTimeout(timer);
  }
  if (ns.hash !== policy.hash) {
    throw new DfcError('DFC_ERR_ARTIFACT_HASH', `policy.mjs was built from another policy.json (hash ${q(ns.hash)})`, {
      note: 'build both files together with `dfc build`',
    });
  }
  return checkModuleShape(ns, shownAs);
}

/** Check the exports of a rule module (or a hand-written one with the same shape). */
export function checkModuleShape(ns: Record<string, unknown>, where = 'policy.mjs'): PolicyModule {
  const fnMap = (name: string): Record<string, RuleFn> => {
    const v = ns[name];
    if (v === undefined) return Object.create(null) as Record<string, RuleFn>;
    if (!v || typeof v !== 'object') {
      throw new DfcError('DFC_ERR_ARTIFACT_MODULE', `${q(where)} exports ${q(name)} that is not an object`);
    }
    const out = Object.create(null) as Record<string, RuleFn>;
    for (const [k, f] of Object.entries(v)) {
      if (typeof f !== 'function') {
        throw new DfcError('DFC_ERR_ARTIFACT_MODULE', `${q(where)} exports ${q(`${name}[${k}]`)} that is not a function`);
      }
      out[k] = f as RuleFn;
    }
    return out;
  };
  if (typeof ns.hash !== 'string') throw new DfcError('DFC_ERR_ARTIFACT_MODULE', `${q(where)} exports no \`hash\``);
  return {
    hash: ns.hash,
    rules: fnMap('rules'),
    requirements: fnMap('requirements'),
    code: fnMap('code') as unknown as Record<string, CodeFunction>,
  };
}
