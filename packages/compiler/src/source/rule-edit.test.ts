import { expect, test } from 'vitest';
import ts from 'typescript';
import { changedRules, isPlainData, onlyRulesChanged, returnsFromFirstTwo } from './rule-edit.js';

const parse = (text: string) => ts.createSourceFile('/p/rules.ts', text, ts.ScriptTarget.ES2023, true);
const byName = (name: string) => (call: ts.CallExpression) => ts.isIdentifier(call.expression) && call.expression.text === name;

const FILE = `import { defineRule } from 'dfc';
import { blog } from './svc.js';
export const posts = defineRule(blog, 'posts', {
  read: { rule: 'match', eval: 'in', type: 'string', f1: 'args.auth.role', f2: ['admin'] },
});
export const users = defineRule(blog, 'users', { read: { rule: 'allow' } });
export const limit = 10;
`;

/** Whether `from` → `to` in FILE is an edit of one rules argument. */
const edit = (from: string, to: string, isRulesCall = byName('defineRule')) => {
  if (!FILE.includes(from)) throw new Error(`${from} is not in the file`);
  return onlyRulesChanged(parse(FILE), parse(FILE.replace(from, to)), isRulesCall);
};

test('an edit inside the rules of one defineRule call is one that keeps the exported types', () => {
  expect(edit("f2: ['admin']", "f2: ['admin', 'owner']")).toBe(true);
  expect(edit("f2: ['admin'] },", "f2: ['admin'] },\n  delete: { rule: 'deny' },")).toBe(true);
  expect(edit("{ read: { rule: 'allow' } }", "{ read: { rule: 'allow' }, update: { rule: 'deny' } }")).toBe(true);
  expect(edit("'allow'", "'deny'")).toBe(true);
  // Whitespace inside the argument, and no change at all.
  expect(edit('  read:', '    read:')).toBe(true);
  expect(onlyRulesChanged(parse(FILE), parse(FILE), byName('defineRule'))).toBe(true);
});

test('any other edit is not', () => {
  // The table (second argument), the service, another export, the callee.
  expect(edit("'posts'", "'post'")).toBe(false);
  expect(edit("defineRule(blog, 'users'", "defineRule(other, 'users'")).toBe(false);
  expect(edit('limit = 10', 'limit = 11')).toBe(false);
  expect(edit('import { blog }', 'import { blog, other }')).toBe(false);
  // Two calls' rules at once: the changed span is not inside one argument.
  expect(edit("f2: ['admin'] },\n});\nexport const users = defineRule(blog, 'users', { read: { rule: 'allow' } });", "f2: ['owner'] },\n});\nexport const users = defineRule(blog, 'users', { read: { rule: 'deny' } });")).toBe(false);
  // A fourth argument, or text after the third.
  expect(edit("{ read: { rule: 'allow' } })", "{ read: { rule: 'allow' } }, extra)")).toBe(false);
  // The same edit in a call the caller does not take for dfc's defineRule.
  expect(edit("f2: ['admin']", "f2: ['admin', 'owner']", byName('somethingElse'))).toBe(false);
  // A rules argument that becomes something else than one argument.
  expect(edit("{ read: { rule: 'allow' } }", "{ read: { rule: 'allow' } }), defineRule(blog, 'x', {}")).toBe(false);
});

test("a function's result depends only on its first two arguments when its return type names no other type parameter", () => {
  const declarations = (text: string) => parse(text).statements.filter(ts.isFunctionDeclaration);
  expect(returnsFromFirstTwo(declarations('declare function f<S, T, R>(s: S, t: T, r: R): Set<[S, T]>;'))).toBe(true);
  expect(returnsFromFirstTwo(declarations('declare function f<S, T>(s: S, t: T, r: unknown): RuleSet<S, T>;\ndeclare function f<S, T, R>(s: S, t: T, r: R): string;'))).toBe(true);
  expect(returnsFromFirstTwo(declarations('declare function f<S, T, R>(s: S, t: T, r: R): R;'))).toBe(false);
  expect(returnsFromFirstTwo(declarations('declare function f<S, T, R>(s: S, t: T, r: R): Set<[S, R]>;'))).toBe(false);
  expect(returnsFromFirstTwo(declarations('declare function f<S, T, R>(s: S, t: Box<T>, r: R): T;'))).toBe(false);
  expect(returnsFromFirstTwo(declarations('declare function f(s: string, t: string, r: unknown): typeof x;'))).toBe(false);
  expect(returnsFromFirstTwo(declarations('declare function f(s: string, t: string, r: unknown);'))).toBe(false);
  expect(returnsFromFirstTwo([])).toBe(false);
});

test('the rules argument an edit changed, and whether it is written as plain data', () => {
  const after = FILE.replace("f2: ['admin']", "f2: ['admin', 'owner']");
  const rules = changedRules(parse(FILE), parse(after), byName('defineRule'));
  expect(rules?.getText()).toBe("{\n  read: { rule: 'match', eval: 'in', type: 'string', f1: 'args.auth.role', f2: ['admin', 'owner'] },\n}");
  expect(changedRules(parse(FILE), parse(FILE), byName('defineRule'))).toBeUndefined();
  expect(changedRules(parse(FILE), parse(FILE.replace('limit = 10', 'limit = 11')), byName('defineRule'))).toBeUndefined();

  const plain = (text: string) => {
    const sf = parse(`x(${text});`);
    const call = (sf.statements[0] as ts.ExpressionStatement).expression as ts.CallExpression;
    return isPlainData(call.arguments[0]!);
  };
  expect(plain("{ read: { rule: 'and', clauses: [{ rule: 'allow' }, { rule: 'match', f1: 1.5, f2: -2, f3: null, f4: true, f5: `t` }] } }")).toBe(true);
  expect(plain('{ "read": { rule: false } }')).toBe(true);
  // Names, calls, functions, spreads, computed or repeated keys, templates with values.
  expect(plain('{ read: { rule: kind } }')).toBe(false);
  expect(plain("{ read: { rule: 'code', fn: () => true } }")).toBe(false);
  expect(plain("{ read: { rule: 'code', fn() { return true; } } }")).toBe(false);
  expect(plain("{ read: make('allow') }")).toBe(false);
  expect(plain('{ ...base }')).toBe(false);
  expect(plain("{ read: { rule: 'and', clauses: [...more] } }")).toBe(false);
  expect(plain("{ ['read']: { rule: 'allow' } }")).toBe(false);
  expect(plain("{ read: { rule: 'allow' }, read: { rule: 'deny' } }")).toBe(false);
  expect(plain("{ 1: { rule: 'allow' } }")).toBe(false);
  expect(plain('{ read: { rule: `${kind}` } }')).toBe(false);
  expect(plain("{ read: { rule: 'allow', n: +1 } }")).toBe(false);
  expect(plain("{ read: { rule: 'allow' } } as const")).toBe(false);
});
