// Command-line options shared by the A/B tools (bench/http/ab.mjs, bench/policy-size/ab.mjs):
// two builds of the runtime, `--base` (required: a copy of packages/runtime/dist made before
// a change) and `--after` (default: the current packages/runtime/dist).
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { ROOT } from './machine.mjs';

/** The parsed options (`options` besides base and after) and each build's `index.js`. */
export function abArgs(options) {
  const { values } = parseArgs({ options: { base: { type: 'string' }, after: { type: 'string' }, ...options } });
  if (!values.base) throw new Error('--base <directory holding the previous build of packages/runtime/dist> is required');
  const after = values.after ? resolve(values.after) : join(ROOT, 'packages', 'runtime', 'dist');
  return { values, builds: { before: join(resolve(values.base), 'index.js'), after: join(after, 'index.js') } };
}
