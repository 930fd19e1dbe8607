import { resolve as resolvePath } from 'node:path';
import type * as esbuild from 'esbuild';
import { diagnostic, type Diagnostic } from '../diagnostics/diagnostic.js';
import { importMetaPrelude } from '../source/import-meta.js';

/** An esbuild error as a DFC1003 diagnostic, in Cedar style, at its position. */
export function esbuildMessage(message: esbuild.Message, cwd: string): Diagnostic {
  const loc = message.location;
  const text = message.text
    .replace(/\.$/, '')
    .replace(/"([^"\n]*)"/g, '`$1`')
    .replace(/^([A-Z])([a-z])/, (_, a: string, b: string) => a.toLowerCase() + b);
  const notes = message.notes.map((n) => n.text.replace(/\.$/, '').replace(/"([^"\n]*)"/g, '`$1`'));
  if (!loc) return diagnostic('DFC1003', text, { notes });
  let lineText = loc.lineText;
  let bytes = loc.column;
  // The line load puts before a file's first line is not the user's.
  const prelude = loc.line === 1 ? importMetaPrelude(lineText) : undefined;
  if (prelude !== undefined && bytes >= Buffer.byteLength(prelude)) {
    lineText = lineText.slice(prelude.length);
    bytes -= Buffer.byteLength(prelude);
  }
  // esbuild counts columns in UTF-8 bytes; editors count UTF-16 units.
  const column = Buffer.from(lineText, 'utf8').subarray(0, bytes).toString('utf8').length + 1;
  const file = resolvePath(cwd, loc.file);
  return diagnostic('DFC1003', text, {
    span: { file, line: loc.line, column, endLine: loc.line, endColumn: column + Math.max(loc.length, 0) },
    notes,
  });
}
