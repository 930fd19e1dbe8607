/**
 * `@dfc/compiler/diagnostics`: the code table and diagnostic helpers, without the
 * compiler itself (no TypeScript, no esbuild), for tools that only show diagnostics.
 */
export { CODES, isDiagnosticCode, type CodeInfo, type DiagnosticCode, type Severity } from './codes.js';
export {
  countDiagnostics,
  hasErrors,
  sortDiagnostics,
  type Diagnostic,
  type DiagnosticCounts,
  type SourceSpan,
} from './diagnostic.js';
