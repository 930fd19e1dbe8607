import { resolve as resolvePath } from 'node:path';
import type * as esbuild from 'esbuild';
import { diagnostic, type Diagnostic } from '../diagnostics/diagnostic.js';

/** An esbuild error as a DFC1003 diagnostic, in Cedar style, at its position. */
export function esbuildMessage(message: esbuild.Message, cwd: string): Diagnostic {
  const loc = message.location;
  const text = message.text
    .replace(/\.$/, '')
    .replace(/"([^"\n]*)"/g, '`$1`')
    .replace(/^([A-Z])([a-z])/, (_, a: string, b: string) => a.toLowerCase() + b);
  const notes = message.notes.map((n) => n.text.replace(/\.$/, '').replace(/"([^"\n]*)"/g, '`$1`'));
  if (!loc) return diagnostic('DFC1003', text, { notes });
  // esbuild counts columns in UTF-8 bytes; editors count UTF-16 units.
  const column = Buffer.from(loc.lineText, 'utf8').subarray(0, loc.column).toString('utf8').length + 1;
  const file = resolvePath(cwd, loc.file);
  return diagnostic('DFC1003', text, {
    span: { file, line: loc.line, column, endLine: loc.line, endColumn: column + Math.max(loc.length, 0) },
    notes,
  });
}
