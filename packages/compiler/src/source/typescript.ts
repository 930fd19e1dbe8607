import { createRequire } from 'node:module';
import type * as TS from 'typescript';

/**
 * The TypeScript compiler API, loaded with `require`. `typescript` is a CommonJS
 * package of 9 MB: imported as an ES module, Node first scans it for its module syntax
 * and lexes it for named exports, about 0.8 s of every `dfc build` before any work
 * (`require` compiles it once, about 0.3 s). The same instance either way.
 * Types come from `import type * as TS from 'typescript'`.
 */
export const ts: typeof TS = createRequire(import.meta.url)('typescript') as typeof TS;
