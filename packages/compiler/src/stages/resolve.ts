import { statSync } from 'node:fs';
import { basename, dirname, extname, join, resolve as resolvePath } from 'node:path';
import { diagnostic, type Diagnostic } from '../diagnostics/diagnostic.js';

export interface ResolveInput {
  /** A config file, or a directory that holds `dfc.config.ts`; default: the cwd. */
  config?: string | undefined;
  cwd: string;
}

export interface ResolveOutput {
  diagnostics: Diagnostic[];
  /** Absolute path of the config file, when found. */
  configFile?: string;
  configDir?: string;
}

/** File names looked for in a directory, in order. */
export const CONFIG_FILE_NAMES = ['dfc.config.ts', 'dfc.config.mts', 'dfc.config.js', 'dfc.config.mjs'] as const;
const EXTENSIONS = new Set(['.ts', '.mts', '.cts', '.js', '.mjs', '.cjs']);

function kind(path: string): 'file' | 'dir' | undefined {
  try {
    const s = statSync(path);
    return s.isDirectory() ? 'dir' : s.isFile() ? 'file' : undefined;
  } catch {
    return undefined;
  }
}

export function resolve(input: ResolveInput): ResolveOutput {
  const target = resolvePath(input.cwd, input.config ?? '.');
  const shown = input.config ?? '.';
  const k = kind(target);
  if (k === 'dir') {
    for (const name of CONFIG_FILE_NAMES) {
      const file = join(target, name);
      if (kind(file) === 'file') return { diagnostics: [], configFile: file, configDir: target };
    }
    return {
      diagnostics: [
        diagnostic('DFC1001', `no \`dfc.config.ts\` in \`${shown}\``, {
          notes: ['pass the config file, or run `dfc init` to create one'],
        }),
      ],
    };
  }
  if (k === undefined) {
    return {
      diagnostics: [
        diagnostic('DFC1001', `\`${shown}\` does not exist`, {
          notes: ['pass a `dfc.config.ts` file or the directory that holds it'],
        }),
      ],
    };
  }
  if (!EXTENSIONS.has(extname(target))) {
    return {
      diagnostics: [
        diagnostic('DFC1002', `\`${basename(target)}\` is not a TypeScript or JavaScript module`, {
          notes: ['a config is a `.ts` file (usually `dfc.config.ts`) whose default export is `defineConfig({ … })`'],
        }),
      ],
    };
  }
  return { diagnostics: [], configFile: target, configDir: dirname(target) };
}
