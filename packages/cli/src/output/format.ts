import { readFileSync } from 'node:fs';
import { isAbsolute, relative, sep } from 'node:path';
import type { CompileResult } from '@dfc/compiler';
import { CODES, countDiagnostics, type Diagnostic } from '@dfc/compiler/diagnostics';
import { createColors } from 'picocolors';

export const FORMATS = ['text', 'json', 'github'] as const;
export type Format = (typeof FORMATS)[number];

/** A path as users should see it: relative to the cwd, with `/` separators. */
export function displayFile(file: string, cwd: string): string {
  if (!isAbsolute(file)) return file;
  const rel = relative(cwd, file);
  return (rel === '' ? '.' : rel).split(sep).join('/');
}

type Colors = ReturnType<typeof createColors>;


function location(d: Diagnostic, cwd: string): string {
  if (!d.file) return '';
  const file = displayFile(d.file, cwd);
  return d.line !== undefined ? `${file}:${d.line}:${d.column ?? 1}` : file;
}

/**
 * The source lines around a diagnostic with a caret under the span:
 *
 *    12 |     origins: ['*'],
 *       |               ^^^
 */
export function codeFrame(d: Diagnostic, source: string | undefined, c: Colors, hidden: ReadonlySet<number> = new Set()): string | undefined {
  // A diagnostic marked sensitive may point at a secret: its source line is not shown,
  // not even as context for another diagnostic (security checklist C9).
  if (source === undefined || d.line === undefined || d.sensitive || hidden.has(d.line)) return undefined;
  const lines = source.split(/\r?\n/);
  const index = d.line - 1;
  const line = lines[index];
  if (line === undefined) return undefined;
  const first = Math.max(0, index - 1);
  const last = Math.min(lines.length - 1, index + 1);
  const width = String(last + 1).length;
  const out: string[] = [];
  for (let i = first; i <= last; i++) {
    if (hidden.has(i + 1)) continue;
    const text = lines[i]!.replace(/\t/g, '  ');
    const gutter = String(i + 1).padStart(width);
    out.push(`${i === index ? c.bold('>') : ' '} ${c.dim(gutter + ' |')} ${text}`);
    if (i === index) {
      const col = Math.max(1, d.column ?? 1);
      const prefix = line.slice(0, col - 1).replace(/\t/g, '  ');
      // No end: one caret. An end on a later line: to the end of this one.
      const end = d.endLine === undefined ? col + 1 : d.endLine === d.line && d.endColumn !== undefined ? d.endColumn : line.length + 1;
      const length = Math.max(1, Math.min(end, line.length + 1) - col);
      const color = d.severity === 'error' ? c.red : d.severity === 'warning' ? c.yellow : c.cyan;
      out.push(`  ${' '.repeat(width)} ${c.dim('|')} ${' '.repeat(prefix.length)}${color('^'.repeat(length))}`);
    }
  }
  return out.join('\n');
}

export interface TextOptions {
  cwd: string;
  color: boolean;
  /** Reads a source file for code frames; defaults to the file system. */
  readSource?: (file: string) => string | undefined;
}

function readSourceFile(file: string): string | undefined {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
}

/** `file:line:col  DFC1234  message`, then the code frame, the config path and notes. */
export function formatText(diagnostics: readonly Diagnostic[], options: TextOptions): string {
  const c = createColors(options.color);
  const read = options.readSource ?? readSourceFile;
  const cache = new Map<string, string | undefined>();
  const source = (file: string) => {
    if (!cache.has(file)) cache.set(file, read(file));
    return cache.get(file);
  };
  const hidden = new Map<string, Set<number>>();
  for (const d of diagnostics) {
    if (!d.sensitive || !d.file || d.line === undefined) continue;
    const lines = hidden.get(d.file) ?? new Set<number>();
    for (let l = d.line; l <= (d.endLine ?? d.line); l++) lines.add(l);
    hidden.set(d.file, lines);
  }
  const blocks = diagnostics.map((d) => {
    const color = d.severity === 'error' ? c.red : d.severity === 'warning' ? c.yellow : c.cyan;
    const where = location(d, options.cwd);
    const label = d.severity === 'error' ? '' : `${d.severity}: `;
    const head = [where && c.bold(where), color(c.bold(d.code)), label + d.message].filter(Boolean).join('  ');
    const lines = [head];
    const frame = d.file ? codeFrame(d, source(d.file), c, hidden.get(d.file)) : undefined;
    if (frame) lines.push(frame);
    if (d.path) lines.push(`  ${c.dim('at')} ${d.path}`);
    for (const note of d.notes ?? []) lines.push(`  ${c.dim('=')} ${note}`);
    return lines.join('\n');
  });
  return blocks.length > 0 ? blocks.join('\n\n') + '\n' : '';
}

/** `2 errors, 1 warning` (empty string when there is nothing). */
export function summaryLine(diagnostics: readonly Diagnostic[], omitted: number): string {
  const n = countDiagnostics(diagnostics);
  const part = (count: number, word: string) => (count === 0 ? undefined : `${count} ${word}${count === 1 ? '' : 's'}`);
  const parts = [part(n.errors, 'error'), part(n.warnings, 'warning'), part(n.infos, 'info')].filter(Boolean);
  if (omitted > 0) parts.push(`${omitted} more not shown`);
  return parts.join(', ');
}

/** Diagnostics as data, with paths relative to the cwd (stable across machines). */
export function jsonDiagnostics(diagnostics: readonly Diagnostic[], cwd: string): Record<string, unknown>[] {
  return diagnostics.map((d) => {
    const out: Record<string, unknown> = { code: d.code, severity: d.severity, message: d.message };
    if (d.file) out.file = displayFile(d.file, cwd);
    for (const key of ['line', 'column', 'endLine', 'endColumn', 'path'] as const) if (d[key] !== undefined) out[key] = d[key];
    if (d.notes) out.notes = d.notes;
    out.name = CODES[d.code].name;
    return out;
  });
}

export function jsonResult(result: CompileResult, cwd: string): Record<string, unknown> {
  const out: Record<string, unknown> = {
    ok: result.ok,
    summary: countDiagnostics(result.diagnostics),
    omitted: result.omitted,
    diagnostics: jsonDiagnostics(result.diagnostics, cwd),
  };
  if (result.policy) out.hash = result.policy.hash;
  if (result.files) out.files = result.files.map((f) => ({ path: displayFile(f.path, cwd), bytes: f.bytes, sha256: f.sha256 }));
  return out;
}

function escapeData(text: string): string {
  return text.replace(/%/g, '%25').replace(/\r/g, '%0D').replace(/\n/g, '%0A');
}

function escapeProperty(text: string): string {
  return escapeData(text).replace(/:/g, '%3A').replace(/,/g, '%2C');
}

const GITHUB_LEVEL = { error: 'error', warning: 'warning', info: 'notice' } as const;

/** GitHub Actions workflow commands: one annotation per diagnostic. */
export function formatGithub(diagnostics: readonly Diagnostic[], cwd: string): string {
  return diagnostics
    .map((d) => {
      const props: string[] = [];
      if (d.file) props.push(`file=${escapeProperty(displayFile(d.file, cwd))}`);
      if (d.line !== undefined) props.push(`line=${d.line}`);
      if (d.column !== undefined) props.push(`col=${d.column}`);
      if (d.endLine !== undefined) props.push(`endLine=${d.endLine}`);
      if (d.endColumn !== undefined && d.endLine === d.line) props.push(`endColumn=${d.endColumn}`);
      props.push(`title=${escapeProperty(d.code)}`);
      const message = [d.message, ...(d.path ? [`at ${d.path}`] : []), ...(d.notes ?? [])].join('\n');
      return `::${GITHUB_LEVEL[d.severity]} ${props.join(',')}::${escapeData(message)}\n`;
    })
    .join('');
}

/** Whether a stream gets colours: FORCE_COLOR and NO_COLOR win over the TTY check. */
export function colorEnabled(isTTY: boolean | undefined, env: Readonly<Record<string, string | undefined>>): boolean {
  if (env.FORCE_COLOR !== undefined && env.FORCE_COLOR !== '0' && env.FORCE_COLOR !== 'false') return true;
  if (env.NO_COLOR !== undefined && env.NO_COLOR !== '') return false;
  if (env.FORCE_COLOR === '0' || env.FORCE_COLOR === 'false') return false;
  return isTTY === true && env.TERM !== 'dumb';
}

/** A value in a message: JSON, shortened to `max` characters. */
export function show(value: unknown, max = 120): string {
  let text: string;
  try {
    text = value === undefined ? 'undefined' : (JSON.stringify(value) ?? String(value));
  } catch {
    text = String(value);
  }
  return text.length > max ? text.slice(0, max - 1) + '…' : text;
}
