import { CODES, type DiagnosticCode, type Severity } from './codes.js';

/** A source position: 1-based line and column (UTF-16 code units, as editors count). */
export interface SourceSpan {
  file: string;
  line: number;
  column: number;
  endLine?: number;
  endColumn?: number;
}

/**
 * One finding. A value, never an exception: stages return these and the CLI decides
 * how to show them. `file` is absolute here; the CLI prints it relative to the cwd.
 */
export interface Diagnostic {
  code: DiagnosticCode;
  severity: Severity;
  /** Cedar style: lowercase, no final period, user input in backticks, one line. */
  message: string;
  file?: string;
  line?: number;
  column?: number;
  endLine?: number;
  endColumn?: number;
  /** The config path in dfc's form, e.g. `roles.editor.access[2].verbs`. */
  path?: string;
  /** Extra help, one line each. */
  notes?: string[];
  /**
   * The source at this position may hold a secret (security checklist C9): tools
   * showing diagnostics must not print the source line.
   */
  sensitive?: true;
}

export interface DiagnosticInit {
  path?: string | undefined;
  span?: SourceSpan | undefined;
  /** A file without a position (ignored when `span` is given). */
  file?: string | undefined;
  sensitive?: boolean | undefined;
  notes?: (string | undefined | false)[] | undefined;
}

export function diagnostic(code: DiagnosticCode, message: string, init: DiagnosticInit = {}): Diagnostic {
  const d: Diagnostic = { code, severity: CODES[code].severity, message: oneLine(message) };
  if (init.span) {
    d.file = init.span.file;
    d.line = init.span.line;
    d.column = init.span.column;
    if (init.span.endLine !== undefined) d.endLine = init.span.endLine;
    if (init.span.endColumn !== undefined) d.endColumn = init.span.endColumn;
  } else if (init.file !== undefined) {
    d.file = init.file;
  }
  if (init.path) d.path = init.path;
  if (init.sensitive) d.sensitive = true;
  const notes = (init.notes ?? []).filter((n): n is string => typeof n === 'string' && n.length > 0).map(oneLine);
  if (notes.length > 0) d.notes = notes;
  return d;
}

/** Messages are one line; user text with line breaks must not break the output format. */
function oneLine(text: string): string {
  return text.replace(/\s*[\r\n\u2028\u2029]+\s*/g, ' ').trim();
}

const SEVERITY_ORDER: Record<Severity, number> = { error: 0, warning: 1, info: 2 };

/** Sorted by file, line, column, then code: the order is stable whatever order stages found them in. */
export function sortDiagnostics(list: readonly Diagnostic[]): Diagnostic[] {
  return [...list].sort(
    (a, b) =>
      cmp(a.file ?? '', b.file ?? '') ||
      (a.line ?? 0) - (b.line ?? 0) ||
      (a.column ?? 0) - (b.column ?? 0) ||
      SEVERITY_ORDER[a.severity] - SEVERITY_ORDER[b.severity] ||
      cmp(a.code, b.code) ||
      cmp(a.path ?? '', b.path ?? '') ||
      cmp(a.message, b.message),
  );
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Drops exact duplicates (two stages, or two uses of one object, can report the same thing). */
export function dedupeDiagnostics(list: readonly Diagnostic[]): Diagnostic[] {
  const seen = new Set<string>();
  return list.filter((d) => {
    const key = JSON.stringify([d.code, d.file, d.line, d.column, d.path, d.message]);
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

export function hasErrors(list: readonly Diagnostic[]): boolean {
  return list.some((d) => d.severity === 'error');
}

export interface DiagnosticCounts {
  errors: number;
  warnings: number;
  infos: number;
}

export function countDiagnostics(list: readonly Diagnostic[]): DiagnosticCounts {
  const counts = { errors: 0, warnings: 0, infos: 0 };
  for (const d of list) {
    if (d.severity === 'error') counts.errors++;
    else if (d.severity === 'warning') counts.warnings++;
    else counts.infos++;
  }
  return counts;
}
