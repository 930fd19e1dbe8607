/**
 * `dfc build` type-checks a config first without the authoring types' checks (much
 * cheaper on large configs) and relies on its validation and lints to notice a
 * mistake, then reports what the full check says about it. That is only sound if the
 * build notices every mistake those checks reject. Every call the type tests next to
 * this file mark `@ts-expect-error` is built here inside a config, as a user would
 * write it: the build must fail with exactly the errors of a type check with the
 * authoring checks on, as it did when it always ran them.
 */
import { mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import ts from 'typescript';
import { afterAll, expect, test } from 'vitest';
import { check } from '@dfc/compiler';
import { typecheck } from '../../packages/compiler/src/stages/typecheck.js';
import { tempDir } from '../fixtures/helpers.js';

const here = import.meta.dirname;
const tmp = tempDir('dfc-parity-');
afterAll(() => tmp.cleanup());

const PREAMBLE = [
  "import { defineApp, defineConfig, defineCors, defineRole, defineRule, defineService, secret } from 'dfc';",
  "import { shop } from './fixture.js';",
  // The role the type tests call `reader`.
  "const reader = defineRole({ name: 'reader', access: [{ service: shop, component: '_table/*', verbs: ['GET'] }] });",
  '',
].join('\n');

/** Where a rejected call goes in the config, by the function it calls. */
const PLACE: Record<string, (call: string) => string> = {
  defineRule: (call) => `export default defineConfig({ services: [shop], roles: [reader], rules: [${call}] });`,
  defineRole: (call) => `export default defineConfig({ services: [shop], roles: [reader, ${call}] });`,
  defineService: (call) => `export default defineConfig({ services: [${call}], roles: [reader] });`,
  defineApp: (call) => `export default defineConfig({ services: [shop], roles: [reader], apps: [${call}] });`,
  defineCors: (call) => `export default defineConfig({ services: [shop], roles: [reader], cors: [${call}] });`,
  defineConfig: (call) => `export default ${call};`,
};

/** The names a case may use: the fixture's service and what the config imports. */
const KNOWN = new Set(['shop', 'reader', 'secret', 'find', 'auth', ...Object.keys(PLACE)]);

interface Case {
  name: string;
  source: string;
}

/** Calls marked `@ts-expect-error` in a type test, which use nothing but `KNOWN` names. */
function rejectedCalls(file: string): { cases: Case[]; skipped: string[] } {
  const text = readFileSync(join(here, file), 'utf8');
  const sf = ts.createSourceFile(file, text, ts.ScriptTarget.ES2023, true);
  const cases: Case[] = [];
  const skipped: string[] = [];
  const visit = (node: ts.Node): void => {
    if (ts.isExpressionStatement(node) && ts.isCallExpression(node.expression) && ts.isIdentifier(node.expression.expression)) {
      const callee = node.expression.expression.text;
      // The comment stands before the call, or before the line inside it that is wrong.
      const marked = text.slice(node.getFullStart(), node.getEnd()).includes('@ts-expect-error');
      if (marked && callee in PLACE) {
        const names = new Set<string>();
        const collect = (n: ts.Node): void => {
          if (ts.isIdentifier(n) && !(ts.isPropertyAssignment(n.parent) && n.parent.name === n) && !ts.isPropertyAccessExpression(n.parent)) names.add(n.text);
          ts.forEachChild(n, collect);
        };
        collect(node.expression);
        const line = sf.getLineAndCharacterOfPosition(node.getStart(sf)).line + 1;
        const name = `${file}:${line}`;
        const unknown = [...names].filter((n) => !KNOWN.has(n));
        if (unknown.length > 0) skipped.push(`${name} (uses ${unknown.join(', ')})`);
        else cases.push({ name, source: PLACE[callee]!(node.expression.getText(sf).replace(/\/\/ @ts-expect-error.*$/gm, '')) });
      }
    }
    ts.forEachChild(node, visit);
  };
  visit(sf);
  return { cases, skipped };
}

const files = readdirSync(here).filter((f) => f.endsWith('.test-d.ts')).sort();
const found = files.map(rejectedCalls);
const cases = found.flatMap((f) => f.cases);
const skipped = found.flatMap((f) => f.skipped);
const SKIPPED = [
  'config.test-d.ts:44 (uses shopRules, otherRules)',
  'rules.test-d.ts:301 (uses typo)',
  'spacecloud-seed.test-d.ts:110 (uses mongo)',
  'spacecloud-seed.test-d.ts:256 (uses mongo)',
  'spacecloud-seed.test-d.ts:266 (uses mongo)',
];

test('the type tests hold the rejected calls this test replays', () => {
  expect(cases.length).toBeGreaterThanOrEqual(75);
  // Calls that need more than the fixture and `reader` (another service, a variable):
  // a handful, listed so that a new one is noticed.
  expect(skipped).toEqual(SKIPPED);
});

const errorsOf = (diagnostics: readonly { severity: string; code: string; line?: number; column?: number; message: string }[]) =>
  diagnostics.filter((d) => d.severity === 'error').map((d) => `${d.code} ${d.line}:${d.column} ${d.message}`);

test.each(cases.map((c) => [c.name, c] as const))('%s: the build reports what the full type check reports', async (_name, c) => {
  const dir = join(tmp.dir, c.name.replace(/[^a-z0-9]+/gi, '-'));
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'fixture.ts'), readFileSync(join(here, 'fixture.ts')));
  writeFileSync(join(dir, 'dfc.config.ts'), `${PREAMBLE}${c.source}\n`);
  const configFile = join(dir, 'dfc.config.ts');
  const full = errorsOf(typecheck({ configFile, configDir: dir, authoringChecks: true }).diagnostics);
  expect(full.length, 'the case is an error with the authoring checks on').toBeGreaterThan(0);
  const built = await check({ config: dir });
  expect(errorsOf(built.diagnostics)).toEqual(full);
});
