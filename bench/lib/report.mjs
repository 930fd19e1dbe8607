// What every benchmark hands back: a Markdown section (printed, and copied into
// RESULTS.md by bench/run.mjs) and the targets it checked, as data.
import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { fmt } from './stats.mjs';

/** Options every benchmark accepts: `--quick` and `--json <file>` (set by bench/run.mjs). */
export function benchArgs(extra = {}) {
  const { values } = parseArgs({
    options: { quick: { type: 'boolean', default: false }, json: { type: 'string' }, ...extra },
    allowPositionals: false,
    strict: true,
  });
  return values;
}

/**
 * A target: `value` compared with `goal` by `op` (`>=` or `<=`). `unit` is how the
 * numbers are printed (`×`, ` s`, `%`).
 */
export function target(name, value, op, goal, unit = '×') {
  const met = Number.isFinite(value) && (op === '>=' ? value >= goal : value <= goal);
  return { name, value, op, goal, unit, met, text: `${name}: ${fmt(value)}${unit} (target ${op} ${fmt(goal)}${unit}) ${met ? 'met' : 'NOT met'}` };
}

/** Print the section and its targets; write both as JSON when `--json` was given. */
export function finish(opts, result) {
  const { title, markdown, targets = [], data = {} } = result;
  const lines = [`## ${title}`, '', markdown.trim(), ''];
  if (targets.length > 0) {
    lines.push('Targets:', '');
    for (const t of targets) lines.push(`- ${t.met ? '✅' : '❌'} ${t.text}`);
    lines.push('');
  }
  process.stdout.write(lines.join('\n') + '\n');
  if (opts.json) writeFileSync(opts.json, JSON.stringify({ title, markdown, targets, data }, null, 2));
}
