import { execFile } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { initTemplates } from '../../../cli/src/commands/init-templates.js';
import { REPO, tempDir } from '../../../../test/fixtures/helpers.js';
import { check } from '../index.js';
import { CODES, type DiagnosticCode } from './codes.js';

/**
 * docs/diagnostics.md is the reference for every code. This keeps it honest: every
 * code has a section (and no section is stale), and every failing example really
 * reports its code while the fixed one builds without errors.
 */
const doc = readFileSync(join(REPO, 'docs', 'diagnostics.md'), 'utf8');
const BIN = join(REPO, 'packages', 'cli', 'dist', 'bin.js');

interface Example {
  lang: 'ts' | 'js' | 'sh';
  kind: 'fails' | 'fixed';
  body: string;
}
interface Section {
  code: string;
  name: string;
  text: string;
  examples: Example[];
}

function sections(): Section[] {
  const parts = doc.split(/^## /m).slice(1);
  return parts.map((part) => {
    const [heading = '', ...rest] = part.split('\n');
    const m = /^(DFC\d{4}) · ([a-z0-9-]+)$/.exec(heading.trim());
    const text = rest.join('\n');
    const examples = [...text.matchAll(/^```(ts|js|sh) (fails|fixed)\n([\s\S]*?)^```$/gm)].map((e) => ({
      lang: e[1] as Example['lang'],
      kind: e[2] as Example['kind'],
      body: e[3]!,
    }));
    return { code: m?.[1] ?? heading, name: m?.[2] ?? '', text, examples };
  });
}

const all = sections();
const tmp = tempDir('dfc-doc-');
afterAll(() => tmp.cleanup());
let counter = 0;

describe('docs/diagnostics.md and the code table', () => {
  test('every code is documented once, in order, with its name and severity; no section is stale', () => {
    expect(all.map((s) => s.code)).toEqual(Object.keys(CODES));
    for (const s of all) {
      const info = CODES[s.code as DiagnosticCode];
      expect(s.name, s.code).toBe(info.name);
      expect(s.text.trimStart().startsWith(`**${info.severity}**`), `${s.code} states its severity`).toBe(true);
    }
  });

  test('every code but the internal ones has exactly one failing and one fixed example', () => {
    for (const s of all) {
      const kinds = s.examples.map((e) => e.kind).sort();
      if (s.code.startsWith('DFC9')) expect(kinds, s.code).toEqual([]);
      else expect(kinds, s.code).toEqual(['fails', 'fixed']);
    }
  });
});

async function runConfig(example: Example): Promise<{ codes: string[]; severities: string[]; ok: boolean }> {
  const dir = join(tmp.dir, `ex${++counter}`);
  mkdirSync(dir);
  writeFileSync(join(dir, example.lang === 'ts' ? 'dfc.config.ts' : 'dfc.config.mjs'), example.body);
  const result = await check({ config: dir });
  return { codes: result.diagnostics.map((d) => d.code), severities: result.diagnostics.map((d) => d.severity), ok: result.ok };
}

function runShell(example: Example): Promise<{ output: string; status: number | null }> {
  const dir = join(tmp.dir, `sh${++counter}`);
  mkdirSync(dir);
  for (const [file, text] of Object.entries(initTemplates({ name: 'example', dfcVersion: '0.1.0' }))) writeFileSync(join(dir, file), text);
  const script = `dfc() { "${process.execPath}" "${BIN}" "$@"; }\n${example.body}`;
  return new Promise((resolve) => {
    execFile('sh', ['-c', script], { cwd: dir, encoding: 'utf8', env: { ...process.env, NO_COLOR: '1' } }, (error, stdout, stderr) => {
      resolve({ output: stdout + stderr, status: error ? (typeof error.code === 'number' ? error.code : null) : 0 });
    });
  });
}

describe.concurrent.each(all.filter((s) => s.examples.length > 0).map((s) => [s.code, s] as const))('%s examples', (code, section) => {
  test.each(section.examples.map((e) => [e.kind, e] as const))('%s', async (kind, example) => {
    if (example.lang === 'sh') {
      const { output, status } = await runShell(example);
      if (kind === 'fails') {
        expect(output).toContain(code);
        expect(status).not.toBe(0);
      } else {
        expect(output).not.toContain(code);
        expect(status, output).toBe(0);
      }
      return;
    }
    const { codes, severities, ok } = await runConfig(example);
    if (kind === 'fails') {
      expect(codes).toContain(code);
      // The diagnostic has the severity the table (and the doc) gives the code.
      expect(severities[codes.indexOf(code)]).toBe(CODES[code as DiagnosticCode].severity);
    } else {
      expect(codes).not.toContain(code);
      expect(ok, `fixed example still has errors: ${codes.join(', ')}`).toBe(true);
    }
  });
});
