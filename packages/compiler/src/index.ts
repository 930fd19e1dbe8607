import { runPipeline, type CompileOptions, type CompileResult } from './pipeline.js';

export { watch, type WatchHandle, type WatchOptions } from './watch.js';
export { watchLoop, type WatchLoop, type WatchLoopOptions } from './watch-loop.js';
export { CODES, isDiagnosticCode, type CodeInfo, type DiagnosticCode, type Severity } from './diagnostics/codes.js';
export {
  countDiagnostics,
  hasErrors,
  sortDiagnostics,
  type Diagnostic,
  type DiagnosticCounts,
  type SourceSpan,
} from './diagnostics/diagnostic.js';
export { STAGES, DEFAULT_MAX_DIAGNOSTICS, type CompileOptions, type CompileResult, type CompilerSession, type StageName } from './pipeline.js';
export { ARTIFACT_FILES, type EmitFileSystem, type EmittedFile } from './stages/emit.js';
export { CONFIG_FILE_NAMES } from './stages/resolve.js';
export { DEFAULTS } from './stages/normalize.js';
export { DFC_VERSION } from '@dfc/schema';
export * from './diff/index.js';
export { loadPolicyAtRevision, loadPolicySide, type PolicySide } from './diff/inputs.js';
export { loadModule, type LoadedModule } from './source/load-module.js';
export type { PolicyOutline, OutlineRule, OutlineNode, OutlineCollection, OutlineRequirement, OutlineAccess } from './source/outline.js';

/** Builds a config: every stage, then writes policy.json, policy.schema.json and policy.mjs. */
export function build(options: CompileOptions = {}): Promise<CompileResult> {
  return runPipeline(options, 'build');
}

/** Checks a config: every stage but emit; nothing is written. */
export function check(options: CompileOptions = {}): Promise<CompileResult> {
  return runPipeline(options, 'check');
}
