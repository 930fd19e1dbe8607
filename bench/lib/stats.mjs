// Summaries of repeated measurements: medians over rounds, with the spread kept.

export function median(xs) {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/** `{ median, min, max, n, samples }` of a list of numbers. */
export function summary(xs) {
  return { median: median(xs), min: Math.min(...xs), max: Math.max(...xs), n: xs.length, samples: xs };
}

/** A number with about three significant digits (1.23, 12.3, 123, 12,345). */
export function fmt(x, digits = 3) {
  if (!Number.isFinite(x)) return String(x);
  const a = Math.abs(x);
  if (a >= 10 ** digits) return Math.round(x).toLocaleString('en-US');
  if (a === 0) return '0';
  const d = Math.max(0, digits - 1 - Math.floor(Math.log10(a)));
  return x.toFixed(d);
}

/** `median (min–max)` of a summary. */
export function spread(s, unit = '') {
  return `${fmt(s.median)}${unit} (${fmt(s.min)}–${fmt(s.max)})`;
}

/** A ratio as `1.23×`. */
export function times(x) {
  return `${fmt(x)}×`;
}

/** A Markdown table from a header row and rows of cells. */
export function table(header, rows, align) {
  const a = align ?? header.map((_, i) => (i === 0 ? 'l' : 'r'));
  const sep = a.map((x) => (x === 'r' ? '---:' : '---'));
  return [header, sep, ...rows].map((r) => `| ${r.join(' | ')} |`).join('\n');
}

/** Sleep. */
export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
