import type * as TS from 'typescript';
import { ts } from './typescript.js';

/**
 * Whether `after` is `before` with nothing changed but the rules (third) argument of
 * one `defineRule` call: then every type the file exports is the same, because
 * `defineRule`'s return type is made from its first two arguments alone (which
 * `isRulesCall` checks of the callee's declarations). The most common edit in
 * `--watch`, a change to one rule, needs no declaration emit to tell that the
 * files importing it need no new check.
 *
 * The texts are compared as one changed span (their common prefix and suffix aside):
 * it must lie inside the same argument in both parses, which starts at the same
 * offset and is followed by the same text, so the rest of the file is the same.
 */
export function onlyRulesChanged(before: TS.SourceFile, after: TS.SourceFile, isRulesCall: (call: TS.CallExpression) => boolean): boolean {
  return before.text === after.text || changedRules(before, after, isRulesCall) !== undefined;
}

/**
 * The rules argument, in `after`, of the one `defineRule` call whose rules hold every
 * difference between the texts (see {@link onlyRulesChanged}); undefined when the texts
 * are the same or differ anywhere else.
 */
export function changedRules(before: TS.SourceFile, after: TS.SourceFile, isRulesCall: (call: TS.CallExpression) => boolean): TS.Expression | undefined {
  const a = before.text;
  const b = after.text;
  if (a === b) return undefined;
  const shorter = Math.min(a.length, b.length);
  let prefix = 0;
  while (prefix < shorter && a.charCodeAt(prefix) === b.charCodeAt(prefix)) prefix++;
  let suffix = 0;
  while (suffix < shorter - prefix && a.charCodeAt(a.length - 1 - suffix) === b.charCodeAt(b.length - 1 - suffix)) suffix++;
  const inAfter = rulesArguments(after, prefix, b.length - suffix).find((c) => isRulesCall(c.call));
  if (!inAfter) return undefined;
  const callStart = inAfter.call.getStart(after);
  const inBefore = rulesArguments(before, prefix, a.length - suffix).find((c) => c.call.getStart(before) === callStart);
  const same =
    inBefore !== undefined &&
    inBefore.arg.getStart(before) === inAfter.arg.getStart(after) &&
    a.length - inBefore.arg.end === b.length - inAfter.arg.end;
  return same ? inAfter.arg : undefined;
}

/**
 * Whether an expression is written as plain data: object literals (with plain keys,
 * each once), array literals, strings, numbers, booleans and null, and nothing else (no
 * names, calls, functions, spreads or templates with values). Such a value's type is
 * its text alone: checking it against a type needs nothing from the file around it.
 */
export function isPlainData(node: TS.Expression): boolean {
  if (ts.isObjectLiteralExpression(node)) {
    const keys = new Set<string>();
    for (const p of node.properties) {
      if (!ts.isPropertyAssignment(p)) return false;
      const name = p.name;
      if (!ts.isIdentifier(name) && !ts.isStringLiteral(name)) return false;
      if (keys.has(name.text)) return false;
      keys.add(name.text);
      if (!isPlainData(p.initializer)) return false;
    }
    return true;
  }
  if (ts.isArrayLiteralExpression(node)) return node.elements.every((e) => !ts.isSpreadElement(e) && !ts.isOmittedExpression(e) && isPlainData(e));
  if (ts.isPrefixUnaryExpression(node)) return node.operator === ts.SyntaxKind.MinusToken && ts.isNumericLiteral(node.operand);
  return (
    ts.isStringLiteral(node) ||
    ts.isNoSubstitutionTemplateLiteral(node) ||
    ts.isNumericLiteral(node) ||
    node.kind === ts.SyntaxKind.TrueKeyword ||
    node.kind === ts.SyntaxKind.FalseKeyword ||
    node.kind === ts.SyntaxKind.NullKeyword
  );
}

/** Calls of three arguments whose third holds the span from `start` to `end`, outermost first. */
function rulesArguments(sf: TS.SourceFile, start: number, end: number): { call: TS.CallExpression; arg: TS.Expression }[] {
  const found: { call: TS.CallExpression; arg: TS.Expression }[] = [];
  let node: TS.Node = sf;
  for (;;) {
    const child: TS.Node | undefined = node.forEachChild((c) => (c.getStart(sf) <= start && end <= c.end ? c : undefined));
    if (!child) return found;
    node = child;
    if (ts.isCallExpression(node) && node.arguments.length === 3) {
      const arg = node.arguments[2]!;
      if (arg.getStart(sf) <= start && end <= arg.end) found.push({ call: node, arg });
    }
  }
}

/**
 * Whether every declaration of a function returns a type made only from its first two
 * parameters' types (`defineRule<S, T, …>(service: S, table: T, rules: …): RuleSet<S['name'], T>`).
 */
export function returnsFromFirstTwo(declarations: readonly TS.Declaration[]): boolean {
  return (
    declarations.length > 0 &&
    declarations.every((d) => {
      if (!ts.isFunctionDeclaration(d) || !d.type) return false;
      const typeParameters = new Set((d.typeParameters ?? []).map((p) => p.name.text));
      const fromArguments = new Set(
        d.parameters.slice(0, 2).map((p) => (p.type && ts.isTypeReferenceNode(p.type) && ts.isIdentifier(p.type.typeName) ? p.type.typeName.text : '')),
      );
      let independent = true;
      const visit = (n: TS.Node): void => {
        if (ts.isTypeQueryNode(n) || ts.isInferTypeNode(n)) independent = false;
        else if (ts.isTypeReferenceNode(n) && ts.isIdentifier(n.typeName) && typeParameters.has(n.typeName.text) && !fromArguments.has(n.typeName.text)) independent = false;
        n.forEachChild(visit);
      };
      visit(d.type);
      return independent;
    })
  );
}
