import type { ChangeClass, PolicyChange, PolicyDiff } from './types.js';

export type DiffFormat = 'text' | 'markdown' | 'json';

const LABEL: Record<ChangeClass, string> = { broadens: 'broadens access', narrows: 'narrows access', neutral: 'neutral' };

export function summaryLine(diff: PolicyDiff): string {
  const n = diff.changes.length;
  if (n === 0) return 'no changes';
  const { broadens, narrows, neutral } = diff.summary;
  return `${n} change${n === 1 ? '' : 's'}: ${broadens} broaden${broadens === 1 ? 's' : ''} access, ${narrows} narrow${narrows === 1 ? 's' : ''} access, ${neutral} neutral`;
}

const line = (c: PolicyChange) => `${c.subject}: ${c.message}${c.uncertain ? ' (review)' : ''}`;

export function renderDiff(diff: PolicyDiff, format: DiffFormat): string {
  switch (format) {
    case 'json':
      return JSON.stringify({ summary: diff.summary, changes: diff.changes }, null, 2) + '\n';
    case 'text':
      return [summaryLine(diff), ...diff.changes.map((c) => `  ${c.class.padEnd(8)}  ${line(c)}`)].join('\n') + '\n';
    case 'markdown':
      return renderMarkdown(diff);
  }
}

/** Markdown for a pull-request comment: summary, a table of broadening changes, folded details. */
function renderMarkdown(diff: PolicyDiff): string {
  const out: string[] = ['<!-- dfc-diff -->', '### dfc policy diff', '', `**${summaryLine(diff)}**`];
  if (diff.changes.length === 0) return out.join('\n') + '\n';
  const esc = (s: string) => s.replace(/\|/g, '\\|').replace(/</g, '&lt;').replace(/>/g, '&gt;');
  const broad = diff.changes.filter((c) => c.class === 'broadens');
  if (broad.length) {
    out.push('', '#### Broadens access', '', '| | what | change |', '|---|---|---|');
    for (const c of broad) out.push(`| ${c.uncertain ? '⚠️ review' : '🔓'} | ${esc(c.subject)} | ${esc(c.message)} |`);
  }
  for (const klass of ['narrows', 'neutral'] as const) {
    const items = diff.changes.filter((c) => c.class === klass);
    if (!items.length) continue;
    out.push('', `<details><summary>${LABEL[klass]} (${items.length})</summary>`, '');
    for (const c of items) out.push(`- ${esc(c.subject)}: ${esc(c.message)}`);
    out.push('', '</details>');
  }
  return out.join('\n') + '\n';
}
