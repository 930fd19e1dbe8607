import type { Config, Policy } from '@dfc/schema';
import { displayPath } from '../diagnostics/config-path.js';
import { diagnostic, type Diagnostic } from '../diagnostics/diagnostic.js';
import { LINTS, type Lint } from '../lints/index.js';
import type { Locator } from '../source/locate.js';
import type { Origins } from './normalize.js';

export interface AnalyzeInput {
  config: Config;
  policy: Policy;
  origins: Origins;
  /** The unparsed default export, for positions and display paths. */
  root: unknown;
  locator: Locator;
  /** Defaults to every lint. */
  lints?: readonly Lint[];
}

export interface AnalyzeOutput {
  diagnostics: Diagnostic[];
}

/** Runs the lints. A lint that throws is a bug in dfc, reported as DFC9001, not a crash. */
export function analyze(input: AnalyzeInput): AnalyzeOutput {
  const diagnostics: Diagnostic[] = [];
  for (const lint of input.lints ?? LINTS) {
    try {
      lint.run({
        config: input.config,
        policy: input.policy,
        origins: input.origins,
        report(code, message, path, options = {}) {
          if (!lint.codes.includes(code)) throw new Error(`lint ${lint.name} reported ${code}, which it does not declare`);
          diagnostics.push(
            diagnostic(code, message, {
              path: displayPath(input.root, path),
              span: input.locator.locate(path, options.mode),
              notes: options.notes,
              sensitive: options.sensitive,
            }),
          );
        },
      });
    } catch (error) {
      diagnostics.push(
        diagnostic('DFC9001', `internal error in lint \`${lint.name}\``, {
          notes: [error instanceof Error ? error.message : String(error), 'this is a bug in dfc; please report it with the config that caused it'],
        }),
      );
    }
  }
  return { diagnostics };
}
