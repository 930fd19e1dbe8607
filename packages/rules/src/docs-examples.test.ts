/**
 * Every ```json dfc-example block of docs/rules.md, run through the interpreter, a
 * compiled closure and a generated module: the documented decision and the documented
 * input afterwards must be what all three produce.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, test } from 'vitest';
import type { Json, Rule } from '@dfc/schema';
import { createFieldCrypto } from './crypto.js';
import { decide } from './engines.test-util.js';
import type { Decision, RuleContext, RuleInput } from './types.js';

interface Example {
  rule: Rule;
  input: RuleInput;
  decision: Partial<Decision>;
  path?: string;
  after?: RuleInput;
  now?: string;
  rows?: Record<string, Json>[];
  webhook?: { status: number; body: Json };
  crypto?: boolean;
}

const doc = readFileSync(join(import.meta.dirname, '..', '..', '..', 'docs', 'rules.md'), 'utf8');
const examples = [...doc.matchAll(/```json dfc-example\n([\s\S]*?)```/g)].map((m) => JSON.parse(m[1]!) as Example);

test('docs/rules.md has examples for every rule type', () => {
  const kinds = new Set<string>();
  const walk = (r: Rule) => {
    kinds.add(r.rule);
    for (const c of (r as { clauses?: Rule[] }).clauses ?? []) walk(c);
    const clause = (r as { clause?: Rule }).clause;
    if (clause) walk(clause);
  };
  examples.forEach((e) => walk(e.rule));
  expect([...kinds].sort()).toEqual(
    ['allow', 'and', 'authenticated', 'decrypt', 'deny', 'encrypt', 'force', 'hash', 'match', 'or', 'query', 'remove', 'webhook'].sort(),
  );
});

const key = Buffer.alloc(32, 3);

test.each(examples.map((e, i) => [i + 1, e.rule.rule, e] as const))('example %i (%s)', async (_n, _kind, e) => {
  const ctx = (): RuleContext => {
    const c: RuleContext = {};
    if (e.now) c.now = () => new Date(e.now!);
    if (e.rows) c.query = async () => structuredClone(e.rows!);
    if (e.webhook) c.fetch = async () => structuredClone(e.webhook!);
    if (e.crypto) c.crypto = createFieldCrypto(key);
    return c;
  };
  const { decision, input } = await decide(e.rule, e.input, ctx, e.path ?? 'rule', !e.crypto);
  expect(decision).toMatchObject(e.decision);
  if (e.after) expect(input).toEqual(e.after);
});
