import type * as TS from 'typescript';
import { ts } from './typescript.js';

/**
 * A `code` rule's function travels to policy.mjs as source text (`fn.toString()` of
 * the loaded function), so it must be self-contained: it may use its parameters, its
 * own locals and the standard globals below, nothing from the config's scope.
 */

/** Globals a code rule may use: pure language built-ins, no I/O, no code evaluation. */
export const CODE_RULE_GLOBALS: ReadonlySet<string> = new Set([
  'undefined',
  'NaN',
  'Infinity',
  'Math',
  'JSON',
  'Date',
  'Number',
  'String',
  'Boolean',
  'Array',
  'Object',
  'RegExp',
  'Error',
  'TypeError',
  'RangeError',
  'Set',
  'Map',
  'WeakMap',
  'WeakSet',
  'Promise',
  'Symbol',
  'BigInt',
  'Intl',
  'URL',
  'URLSearchParams',
  'TextEncoder',
  'TextDecoder',
  'parseInt',
  'parseFloat',
  'isNaN',
  'isFinite',
  'encodeURIComponent',
  'decodeURIComponent',
  'encodeURI',
  'decodeURI',
  'structuredClone',
  'arguments',
]);

/** Names refused even when declared locally: they reach outside the rule (STYLE.md, security checklist C4). */
const FORBIDDEN_NAMES: ReadonlySet<string> = new Set(['eval', 'Function', 'globalThis', 'process', 'require', 'global', 'module', 'exports']);
const FORBIDDEN_PROPERTIES: ReadonlySet<string> = new Set(['constructor', '__proto__', 'prototype']);

export type CodeRuleProblem =
  | { kind: 'free'; name: string }
  | { kind: 'forbidden'; name: string }
  | { kind: 'forbidden-property'; name: string }
  | { kind: 'this' }
  | { kind: 'dynamic-import' }
  | { kind: 'not-a-function'; detail: string };

export interface CodeRuleSource {
  /** A JavaScript expression that evaluates to the function. */
  source: string;
  async: boolean;
  problems: CodeRuleProblem[];
}

/**
 * Turns `fn.toString()` into an expression (a method `check(args) { … }` becomes a
 * function expression) and finds what it uses from outside itself.
 */
export function analyzeCodeRule(fn: (...args: never[]) => unknown): CodeRuleSource {
  const text = Function.prototype.toString.call(fn);
  if (/\{\s*\[native code\]\s*\}\s*$/.test(text)) {
    return { source: '', async: false, problems: [{ kind: 'not-a-function', detail: 'a built-in or bound function has no source' }] };
  }
  const asExpression = parse(`(${text}\n)`);
  let fnNode = asExpression && functionIn(asExpression);
  let source = text;
  if (!fnNode) {
    // Method syntax: `check(args) { … }`, `async check(args) { … }`.
    const asMethod = parse(`({${text}\n})`);
    const method = asMethod && methodIn(asMethod);
    if (!method || !method.body) {
      return { source: '', async: false, problems: [{ kind: 'not-a-function', detail: 'its source is not a function' }] };
    }
    const sf = method.getSourceFile();
    const isAsync = method.modifiers?.some((m) => m.kind === ts.SyntaxKind.AsyncKeyword) ?? false;
    const star = method.asteriskToken ? '*' : '';
    const params = sf.text.slice(method.parameters.pos, method.parameters.end);
    source = `${isAsync ? 'async ' : ''}function${star} (${params}) ${method.body.getText(sf)}`;
    const reparsed = parse(`(${source}\n)`);
    fnNode = reparsed && functionIn(reparsed);
    if (!fnNode) return { source: '', async: false, problems: [{ kind: 'not-a-function', detail: 'its source is not a function' }] };
  }
  const isAsync = fnNode.modifiers?.some((m) => m.kind === ts.SyntaxKind.AsyncKeyword) ?? false;
  if (fnNode.asteriskToken) {
    return { source, async: isAsync, problems: [{ kind: 'not-a-function', detail: 'a generator cannot decide a rule' }] };
  }
  return { source, async: isAsync, problems: scan(fnNode) };
}

function parse(text: string): TS.SourceFile | undefined {
  const sf = ts.createSourceFile('code-rule.js', text, ts.ScriptTarget.Latest, true, ts.ScriptKind.JS);
  const diagnostics = (sf as unknown as { parseDiagnostics?: unknown[] }).parseDiagnostics ?? [];
  return diagnostics.length === 0 ? sf : undefined;
}

type FunctionNode = TS.ArrowFunction | TS.FunctionExpression;

function functionIn(sf: TS.SourceFile): FunctionNode | undefined {
  const stmt = sf.statements[0];
  if (sf.statements.length !== 1 || !stmt || !ts.isExpressionStatement(stmt)) return undefined;
  let e: TS.Expression = stmt.expression;
  while (ts.isParenthesizedExpression(e)) e = e.expression;
  return ts.isArrowFunction(e) || ts.isFunctionExpression(e) ? e : undefined;
}

function methodIn(sf: TS.SourceFile): TS.MethodDeclaration | undefined {
  const fn = sf.statements[0];
  if (sf.statements.length !== 1 || !fn || !ts.isExpressionStatement(fn)) return undefined;
  let e: TS.Expression = fn.expression;
  while (ts.isParenthesizedExpression(e)) e = e.expression;
  if (!ts.isObjectLiteralExpression(e) || e.properties.length !== 1) return undefined;
  const m = e.properties[0]!;
  return ts.isMethodDeclaration(m) ? m : undefined;
}

/**
 * Conservative scope analysis: a name counts as declared if any declaration of it
 * appears anywhere inside the function (ignoring block scope), so this can accept a
 * rule that would throw at run time (it then denies) but never lets a reference to
 * the config's scope through.
 */
function scan(fn: FunctionNode): CodeRuleProblem[] {
  const declared = new Set<string>();
  const collectBinding = (name: TS.BindingName): void => {
    if (ts.isIdentifier(name)) declared.add(name.text);
    else for (const el of name.elements) if (!ts.isOmittedExpression(el)) collectBinding(el.name);
  };
  const declare = (node: TS.Node): void => {
    if (ts.isParameter(node) || ts.isVariableDeclaration(node) || ts.isBindingElement(node)) collectBinding(node.name);
    else if ((ts.isFunctionDeclaration(node) || ts.isFunctionExpression(node) || ts.isClassDeclaration(node) || ts.isClassExpression(node)) && node.name) {
      declared.add(node.name.text);
    } else if (ts.isCatchClause(node) && node.variableDeclaration) collectBinding(node.variableDeclaration.name);
    ts.forEachChild(node, declare);
  };
  declare(fn);

  const problems: CodeRuleProblem[] = [];
  const seen = new Set<string>();
  const add = (p: CodeRuleProblem) => {
    const key = JSON.stringify(p);
    if (!seen.has(key)) {
      seen.add(key);
      problems.push(p);
    }
  };
  /** Whether `this` at `node` is the rule's own (or the config's), not a nested function's. */
  const isRuleThis = (node: TS.Node): boolean => {
    for (let p = node.parent; p && p !== fn; p = p.parent) {
      if (ts.isFunctionExpression(p) || ts.isFunctionDeclaration(p) || ts.isMethodDeclaration(p) || ts.isAccessor(p) || ts.isConstructorDeclaration(p) || ts.isClassLike(p)) {
        return false;
      }
    }
    return true;
  };
  const visit = (node: TS.Node): void => {
    if (node.kind === ts.SyntaxKind.ThisKeyword && isRuleThis(node)) add({ kind: 'this' });
    if (ts.isCallExpression(node) && node.expression.kind === ts.SyntaxKind.ImportKeyword) add({ kind: 'dynamic-import' });
    if (ts.isMetaProperty(node)) add({ kind: 'dynamic-import' });
    if (ts.isPropertyAccessExpression(node) && FORBIDDEN_PROPERTIES.has(node.name.text)) add({ kind: 'forbidden-property', name: node.name.text });
    if (ts.isElementAccessExpression(node)) {
      const arg = node.argumentExpression;
      if (ts.isStringLiteralLike(arg) && FORBIDDEN_PROPERTIES.has(arg.text)) add({ kind: 'forbidden-property', name: arg.text });
    }
    if (ts.isIdentifier(node) && isReference(node)) {
      const name = node.text;
      if (FORBIDDEN_NAMES.has(name)) add({ kind: 'forbidden', name });
      else if (!declared.has(name) && !CODE_RULE_GLOBALS.has(name)) add({ kind: 'free', name });
    }
    ts.forEachChild(node, visit);
  };
  visit(fn);
  return problems;
}

/** Whether an identifier is a use of a variable (not a property name, label or declaration). */
function isReference(id: TS.Identifier): boolean {
  const p = id.parent;
  if (!p) return true;
  if (ts.isPropertyAccessExpression(p) && p.name === id) return false;
  if ((ts.isPropertyAssignment(p) || ts.isMethodDeclaration(p) || ts.isPropertyDeclaration(p) || ts.isGetAccessor(p) || ts.isSetAccessor(p)) && p.name === id) return false;
  if (ts.isBindingElement(p) && p.propertyName === id) return false;
  if (ts.isLabeledStatement(p) || ts.isBreakOrContinueStatement(p)) return false;
  if ((ts.isParameter(p) || ts.isVariableDeclaration(p) || ts.isFunctionDeclaration(p) || ts.isFunctionExpression(p) || ts.isClassDeclaration(p) || ts.isClassExpression(p) || ts.isBindingElement(p)) && p.name === id) return false;
  if (ts.isMetaProperty(p)) return false;
  return true;
}
