import { randomBytes } from 'node:crypto';
import * as fsp from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import type { KeyObject } from 'node:crypto';
import { SIGNATURE_FILE, policyJsonSchema, prettyCanonicalJson, sha256Hex, signArtifact, type Policy } from '@dfc/schema';
import { diagnostic, type Diagnostic } from '../diagnostics/diagnostic.js';

/** The file operations emit uses; tests pass one that fails on purpose. */
export interface EmitFileSystem {
  /** Reads a file, or returns undefined when it does not exist. */
  readFile(path: string): Promise<Buffer | undefined>;
  /** The kind of what is at `path`, or undefined when nothing is. */
  kind(path: string): Promise<'file' | 'dir' | 'other' | undefined>;
  /** Creates the directory and its parents; returns the first directory it created. */
  mkdir(path: string): Promise<string | undefined>;
  rmdir(path: string): Promise<void>;
  /** Creates `path` (which must not exist), writes `data` and flushes it to disk. */
  writeNew(path: string, data: string): Promise<void>;
  link(existing: string, newPath: string): Promise<void>;
  rename(from: string, to: string): Promise<void>;
  unlink(path: string): Promise<void>;
  /** Flushes a directory's entries (the renames) to disk. */
  syncDir(path: string): Promise<void>;
  readdir(path: string): Promise<string[]>;
}

export const nodeFileSystem: EmitFileSystem = {
  async readFile(path) {
    try {
      return await fsp.readFile(path);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw error;
    }
  },
  async kind(path) {
    try {
      const s = await fsp.stat(path);
      return s.isFile() ? 'file' : s.isDirectory() ? 'dir' : 'other';
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw error;
    }
  },
  mkdir: (path) => fsp.mkdir(path, { recursive: true }),
  rmdir: (path) => fsp.rmdir(path),
  async writeNew(path, data) {
    const handle = await fsp.open(path, 'wx', 0o644);
    try {
      await handle.writeFile(data, 'utf8');
      await handle.sync();
    } finally {
      await handle.close();
    }
  },
  link: (a, b) => fsp.link(a, b),
  rename: (a, b) => fsp.rename(a, b),
  unlink: (p) => fsp.unlink(p),
  async syncDir(path) {
    const handle = await fsp.open(path, 'r');
    try {
      await handle.sync();
    } finally {
      await handle.close();
    }
  },
  readdir: (p) => fsp.readdir(p),
};

export interface EmitInput {
  outDir: string;
  policy: Policy;
  /** The text of policy.mjs. */
  module: string;
  /** `prettyCanonicalJson(policy)`, when the caller already has it (normalize prints it with the hash). */
  policyJson?: string | undefined;
  /** Ed25519 private key: also write policy.sig (`dfc build --sign`). Without it, a stale policy.sig is removed. */
  signingKey?: KeyObject | undefined;
  fs?: EmitFileSystem | undefined;
}

export interface EmittedFile {
  /** Absolute path. */
  path: string;
  bytes: number;
  sha256: string;
  /** False when the file already held exactly these bytes and was left alone. */
  written: boolean;
}

export interface EmitOutput {
  diagnostics: Diagnostic[];
  files?: EmittedFile[];
}

/** The artifact files, in the order they are renamed into place: policy.json last. */
export const ARTIFACT_FILES = ['policy.schema.json', 'policy.mjs', 'policy.json'] as const;
type ArtifactName = (typeof ARTIFACT_FILES)[number] | typeof SIGNATURE_FILE;

const TEMP = /^\.dfc-(\d+)-[0-9a-f]+-(?:tmp|bak)-/;

/** policy.schema.json's text: the same for every build of this dfc, made once. */
let schemaText: string | undefined;

export function artifactTexts(policy: Policy, module: string, policyJson?: string): Record<(typeof ARTIFACT_FILES)[number], string> {
  schemaText ??= prettyCanonicalJson(policyJsonSchema()) + '\n';
  return {
    'policy.schema.json': schemaText,
    'policy.mjs': module,
    'policy.json': (policyJson ?? prettyCanonicalJson(policy)) + '\n',
  };
}

/** The files to write, in rename order (policy.sig just before policy.json). */
function filesToWrite(policy: Policy, module: string, signingKey: KeyObject | undefined, policyJson: string | undefined): [ArtifactName, string][] {
  const texts = artifactTexts(policy, module, policyJson);
  const out: [ArtifactName, string][] = [
    ['policy.schema.json', texts['policy.schema.json']],
    ['policy.mjs', texts['policy.mjs']],
  ];
  if (signingKey) out.push([SIGNATURE_FILE, signArtifact({ policyJson: texts['policy.json'], policyMjs: texts['policy.mjs'] }, signingKey)]);
  out.push(['policy.json', texts['policy.json']]);
  return out;
}

/**
 * Writes the artifacts so that a reader sees either the old set or the new one:
 * every new file is written to a temp file in the output directory and flushed;
 * then existing files are hard-linked aside, the temps renamed over them
 * (policy.json last), and the directory flushed. If anything fails, the renamed
 * files are put back and the temps removed, so the directory is as it was.
 */
export async function emit(input: EmitInput): Promise<EmitOutput> {
  const fs = input.fs ?? nodeFileSystem;
  const { outDir } = input;
  const writes = filesToWrite(input.policy, input.module, input.signingKey, input.policyJson);
  const textOf = new Map(writes);
  const shown = basename(outDir);

  let created: string | undefined;
  try {
    const k = await fs.kind(outDir);
    if (k !== undefined && k !== 'dir') {
      return { diagnostics: [diagnostic('DFC5001', `output path \`${shown}\` exists and is not a directory`, { notes: ['pass another directory with `--out`'] })] };
    }
    if (k === undefined) created = await fs.mkdir(outDir);
  } catch (error) {
    return { diagnostics: [diagnostic('DFC5001', `cannot create output directory \`${shown}\``, { notes: [errorText(error)] })] };
  }

  const files: EmittedFile[] = [];
  const pending: { name: ArtifactName; target: string; temp: string; backup?: string; existed: boolean }[] = [];
  const tag = `.dfc-${process.pid}-${randomBytes(4).toString('hex')}`;
  const renamed: typeof pending = [];
  // An unsigned build must not leave an old signature next to new files.
  let staleSignature: { target: string; backup: string; removed: boolean } | undefined;
  try {
    if (!input.signingKey && (await fs.kind(join(outDir, SIGNATURE_FILE))) === 'file') {
      staleSignature = { target: join(outDir, SIGNATURE_FILE), backup: join(outDir, `${tag}-bak-${SIGNATURE_FILE}`), removed: false };
    }
    for (const [name, text] of writes) {
      const target = join(outDir, name);
      const current = await fs.readFile(target);
      const same = current !== undefined && current.equals(Buffer.from(text, 'utf8'));
      files.push({ path: target, bytes: Buffer.byteLength(text), sha256: sha256Hex(text), written: !same });
      if (same) continue;
      pending.push({ name, target, temp: join(outDir, `${tag}-tmp-${name}`), existed: current !== undefined });
    }
    for (const p of pending) await fs.writeNew(p.temp, textOf.get(p.name)!);
    if (staleSignature) {
      await fs.link(staleSignature.target, staleSignature.backup);
      await fs.unlink(staleSignature.target);
      staleSignature.removed = true;
    }
    for (const p of pending) {
      if (!p.existed) continue;
      p.backup = join(outDir, `${tag}-bak-${p.name}`);
      await fs.link(p.target, p.backup);
    }
    for (const p of pending) {
      await fs.rename(p.temp, p.target);
      renamed.push(p);
    }
    if (pending.length > 0 || staleSignature) await fs.syncDir(outDir);
  } catch (error) {
    if (staleSignature?.removed) await fs.rename(staleSignature.backup, staleSignature.target).catch(() => {});
    else if (staleSignature) await fs.unlink(staleSignature.backup).catch(() => {});
    // Put back what was replaced, newest first, then remove every temp and backup.
    for (const p of [...renamed].reverse()) {
      await (p.backup ? fs.rename(p.backup, p.target) : fs.unlink(p.target)).catch(() => {});
    }
    for (const p of pending) {
      await fs.unlink(p.temp).catch(() => {});
      if (p.backup && !renamed.includes(p)) await fs.unlink(p.backup).catch(() => {});
    }
    if (created !== undefined) await removeCreated(fs, outDir, created);
    return {
      diagnostics: [
        diagnostic('DFC5002', `cannot write the policy to \`${shown}\``, {
          notes: [errorText(error), 'the output directory was left as it was'],
        }),
      ],
    };
  }
  for (const p of pending) if (p.backup) await fs.unlink(p.backup).catch(() => {});
  if (staleSignature) await fs.unlink(staleSignature.backup).catch(() => {});
  await removeStaleTemps(fs, outDir);
  return { diagnostics: [], files };
}

/** Removes the directories emit created, from `outDir` up to `created` (each must be empty). */
async function removeCreated(fs: EmitFileSystem, outDir: string, created: string): Promise<void> {
  for (let dir = outDir; ; dir = dirname(dir)) {
    try {
      await fs.rmdir(dir);
    } catch {
      return;
    }
    if (dir === created || dirname(dir) === dir) return;
  }
}

/** Temp files left by a build that was killed; only those of processes that are gone. */
async function removeStaleTemps(fs: EmitFileSystem, outDir: string): Promise<void> {
  let names: string[];
  try {
    names = await fs.readdir(outDir);
  } catch {
    return;
  }
  for (const name of names) {
    const m = TEMP.exec(name);
    if (!m) continue;
    const pid = Number(m[1]);
    if (pid === process.pid || isAlive(pid)) continue;
    await fs.unlink(join(outDir, name)).catch(() => {});
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function errorText(error: unknown): string {
  const e = error as NodeJS.ErrnoException;
  if (e && typeof e.code === 'string') return `${e.code}: ${e.syscall ?? 'operation'} failed`;
  return error instanceof Error ? error.message : String(error);
}
