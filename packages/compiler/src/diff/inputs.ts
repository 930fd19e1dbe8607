import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, statSync } from 'node:fs';
import { mkdir, readFile, rm } from 'node:fs/promises';
import { dirname, join, relative, resolve } from 'node:path';
import { promisify } from 'node:util';
import { PolicySchema, policyHash, type Policy } from '@dfc/schema';
import { diagnostic, type Diagnostic } from '../diagnostics/diagnostic.js';
import { runPipeline } from '../pipeline.js';

const run = promisify(execFile);

/** One side of a diff: the policy, or why there is none. */
export interface PolicySide {
  /** How the side is named in output (`main:examples/blog`, `old/dist`). */
  label: string;
  policy?: Policy;
  diagnostics: Diagnostic[];
}

/**
 * Reads a side given as an artifact directory (or its policy.json), or builds it from
 * a config file or a directory holding one (nothing is written).
 */
export async function loadPolicySide(spec: string, options: { cwd?: string } = {}): Promise<PolicySide> {
  const cwd = options.cwd ?? process.cwd();
  const path = resolve(cwd, spec);
  const json = path.endsWith('.json') ? path : join(path, 'policy.json');
  if (existsSync(json) && statSync(json).isFile()) return readArtifact(json, spec);
  const result = await runPipeline({ config: spec, cwd }, 'check');
  return result.policy ? { label: spec, policy: result.policy, diagnostics: result.diagnostics } : { label: spec, diagnostics: result.diagnostics };
}

async function readArtifact(file: string, label: string): Promise<PolicySide> {
  const fail = (message: string): PolicySide => ({
    label,
    diagnostics: [{ ...diagnostic('DFC6001', message), file }],
  });
  let value: unknown;
  try {
    value = JSON.parse(await readFile(file, 'utf8'));
  } catch (error) {
    return fail(`cannot read the policy: ${(error as Error).message}`);
  }
  const parsed = PolicySchema.safeParse(value);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    return fail(`not a dfc policy: \`${issue.path.join('.')}\` ${issue.message.toLowerCase()}`);
  }
  if (policyHash(parsed.data) !== parsed.data.hash) return fail('the policy does not match its hash; it was edited after it was built');
  return { label, policy: parsed.data, diagnostics: [] };
}

/**
 * Builds the config as it was at a git revision: the revision's tree is extracted
 * under `node_modules/.cache/dfc/` of the repository (so the config's imports still
 * resolve through the repository's node_modules), checked, and removed.
 */
export async function loadPolicyAtRevision(ref: string, config: string, options: { cwd?: string } = {}): Promise<PolicySide> {
  const cwd = options.cwd ?? process.cwd();
  const target = resolve(cwd, config);
  const label = `${ref}:${config}`;
  const fail = (message: string): PolicySide => ({ label, diagnostics: [diagnostic('DFC6002', message, {})] });
  const anchor = existsSync(target) && statSync(target).isDirectory() ? target : dirname(target);
  let top: string;
  let commit: string;
  try {
    top = (await run('git', ['rev-parse', '--show-toplevel'], { cwd: anchor })).stdout.trim();
    commit = (await run('git', ['rev-parse', '--verify', '--end-of-options', `${ref}^{commit}`], { cwd: top })).stdout.trim();
  } catch {
    return fail(`\`${ref}\` is not a revision of a git repository holding \`${config}\``);
  }
  const scratch = join(top, 'node_modules', '.cache', 'dfc', `rev-${createHash('sha256').update(commit + process.pid).digest('hex').slice(0, 16)}`);
  await rm(scratch, { recursive: true, force: true });
  await mkdir(scratch, { recursive: true });
  try {
    await extractTree(top, commit, scratch);
    const inTree = join(scratch, relative(top, target));
    if (!existsSync(inTree)) return fail(`\`${config}\` does not exist at \`${ref}\``);
    const result = await runPipeline({ config: inTree, cwd: scratch }, 'check');
    // Positions inside the scratch copy would mean nothing to the reader: name the revision instead.
    const diagnostics = result.diagnostics.map((d) => (d.file ? { ...d, file: `${ref}:${relative(scratch, d.file)}` } : d));
    return result.policy ? { label, policy: result.policy, diagnostics } : { label, diagnostics };
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}

async function extractTree(top: string, commit: string, into: string): Promise<void> {
  // `git archive | tar -x` without a shell: archive to a buffer, then untar it.
  const { stdout } = await run('git', ['archive', '--format=tar', commit], { cwd: top, encoding: 'buffer', maxBuffer: 512 * 1024 * 1024 });
  await new Promise<void>((ok, fail) => {
    const child = execFile('tar', ['-x', '-C', into], (error) => (error ? fail(error) : ok()));
    child.stdin!.end(stdout);
  });
}
