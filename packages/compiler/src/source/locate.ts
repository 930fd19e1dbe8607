import { readFileSync } from 'node:fs';
import type * as TS from 'typescript';
import type { RawPath } from '../diagnostics/config-path.js';
import type { SourceSpan } from '../diagnostics/diagnostic.js';
import { ts } from './typescript.js';
import type { SiteLookup } from './trace.js';

/** Where a define* call ran, from its stack (1-based line and column, source-mapped). */
export interface CallSite {
  file: string;
  line: number;
  column: number;
}

/** The span of `[start, end)` in `sf`, 1-based, with an end on the same line or later. */
export function spanOfNode(sf: TS.SourceFile, start: number, end: number): SourceSpan {
  const s = sf.getLineAndCharacterOfPosition(start);
  const e = sf.getLineAndCharacterOfPosition(Math.max(start, end));
  return { file: sf.fileName, line: s.line + 1, column: s.character + 1, endLine: e.line + 1, endColumn: e.character + 1 };
}

function nodeSpan(node: TS.Node): SourceSpan {
  const sf = node.getSourceFile();
  return spanOfNode(sf, node.getStart(sf), node.getEnd());
}

function unwrap(node: TS.Node): TS.Node {
  let n = node;
  for (;;) {
    if (
      ts.isParenthesizedExpression(n) ||
      ts.isAsExpression(n) ||
      ts.isSatisfiesExpression(n) ||
      ts.isNonNullExpression(n) ||
      ts.isTypeAssertionExpression(n)
    ) {
      n = n.expression;
    } else {
      return n;
    }
  }
}

function propertyName(name: TS.PropertyName): string | undefined {
  if (ts.isIdentifier(name) || ts.isPrivateIdentifier(name)) return name.text;
  if (ts.isStringLiteral(name) || ts.isNumericLiteral(name) || ts.isNoSubstitutionTemplateLiteral(name)) return name.text;
  if (ts.isComputedPropertyName(name)) {
    const e = unwrap(name.expression);
    if (ts.isStringLiteralLike(e) || ts.isNumericLiteral(e)) return e.text;
  }
  return undefined;
}

export type LocateMode = 'value' | 'key';

interface Descent {
  node: TS.Node;
  consumed: number;
}

/**
 * Follows `path` through object and array literals from `start`, as far as the source
 * spells the value out. It stops at anything else (an identifier, a call, a spread):
 * that node is where the value comes from, so that is where a diagnostic points.
 */
export function descend(start: TS.Node, path: RawPath, mode: LocateMode = 'value'): Descent {
  let node = unwrap(start);
  let i = 0;
  while (i < path.length) {
    const seg = path[i]!;
    if (ts.isObjectLiteralExpression(node)) {
      const key = String(seg);
      // The last property of a name wins, as in JavaScript.
      const prop = [...node.properties].reverse().find((p) => p.name !== undefined && propertyName(p.name) === key);
      if (!prop) break;
      i++;
      if (ts.isPropertyAssignment(prop)) {
        if (mode === 'key' && i === path.length) return { node: prop.name, consumed: i };
        node = unwrap(prop.initializer);
        continue;
      }
      node = ts.isShorthandPropertyAssignment(prop) ? prop.name : prop;
      break;
    }
    if (ts.isArrayLiteralExpression(node) && typeof seg === 'number') {
      const upTo = node.elements.slice(0, seg + 1);
      if (upTo.length <= seg || upTo.some(ts.isSpreadElement)) break;
      node = unwrap(node.elements[seg]!);
      i++;
      continue;
    }
    break;
  }
  return { node, consumed: i };
}

/** The innermost call whose callee covers `pos` (V8 reports a call at its callee's last name). */
export function findCallAt(sf: TS.SourceFile, line: number, column: number): TS.CallExpression | undefined {
  let pos: number;
  try {
    pos = sf.getPositionOfLineAndCharacter(line - 1, column - 1);
  } catch {
    return undefined;
  }
  let best: TS.CallExpression | undefined;
  const visit = (node: TS.Node): void => {
    if (pos < node.getFullStart() || pos > node.getEnd()) return;
    if (ts.isCallExpression(node) && node.getStart(sf) <= pos && pos <= node.expression.getEnd()) {
      if (!best || node.getWidth(sf) <= best.getWidth(sf)) best = node;
    }
    ts.forEachChild(node, visit);
  };
  visit(sf);
  return best;
}

/** The expression after `export default`, following one `const x = …; export default x`. */
export function findDefaultExport(sf: TS.SourceFile): TS.Node | undefined {
  for (const stmt of sf.statements) {
    if (!ts.isExportAssignment(stmt) || stmt.isExportEquals) continue;
    const expr = unwrap(stmt.expression);
    if (ts.isIdentifier(expr)) {
      const init = findConstInitializer(sf, expr.text);
      if (init) return unwrap(init);
    }
    return expr;
  }
  return undefined;
}

function findConstInitializer(sf: TS.SourceFile, name: string): TS.Expression | undefined {
  for (const stmt of sf.statements) {
    if (!ts.isVariableStatement(stmt)) continue;
    for (const decl of stmt.declarationList.declarations) {
      if (ts.isIdentifier(decl.name) && decl.name.text === name && decl.initializer) return decl.initializer;
    }
  }
  return undefined;
}

/**
 * Maps config paths to source positions. Starts from the deepest object on the path
 * whose define* call was recorded while loading (or from the default export), then
 * follows the rest of the path through the literal written at that call.
 */
export class Locator {
  readonly #sites: SiteLookup;
  readonly #root: unknown;
  readonly #entry: string;
  readonly #program: TS.Program | undefined;
  readonly #files = new Map<string, TS.SourceFile | undefined>();

  constructor(options: { root: unknown; sites: SiteLookup; entry: string; program?: TS.Program | undefined }) {
    this.#root = options.root;
    this.#sites = options.sites;
    this.#entry = options.entry;
    this.#program = options.program;
  }

  sourceFile(file: string): TS.SourceFile | undefined {
    const fromProgram = this.#program?.getSourceFile(file);
    if (fromProgram) return fromProgram;
    if (!this.#files.has(file)) {
      let sf: TS.SourceFile | undefined;
      try {
        sf = ts.createSourceFile(file, readFileSync(file, 'utf8'), ts.ScriptTarget.Latest, true);
      } catch {
        sf = undefined;
      }
      this.#files.set(file, sf);
    }
    return this.#files.get(file);
  }

  /** The call site recorded for a config object, if any. */
  siteOf(value: unknown): CallSite | undefined {
    return value !== null && typeof value === 'object' ? this.#sites.get(value) : undefined;
  }

  locate(path: RawPath, mode: LocateMode = 'value'): SourceSpan | undefined {
    // Find the deepest recorded object along the path.
    let value: unknown = this.#root;
    let site: CallSite | undefined = this.siteOf(value);
    let from = 0;
    for (let i = 0; i < path.length; i++) {
      const seg = path[i]!;
      if (value === null || typeof value !== 'object' || !Object.hasOwn(value, seg)) break;
      value = (value as Record<string | number, unknown>)[seg];
      const s = this.siteOf(value);
      if (s) {
        site = s;
        from = i + 1;
      }
    }
    const rest = path.slice(from);
    if (site) {
      const sf = this.sourceFile(site.file);
      const call = sf && findCallAt(sf, site.line, site.column);
      if (call) return nodeSpan(this.#descendCall(call, rest, mode));
      if (sf) return { file: sf.fileName, line: site.line, column: site.column };
    }
    const sf = this.sourceFile(this.#entry);
    const root = sf && findDefaultExport(sf);
    if (!root) return sf ? { file: sf.fileName, line: 1, column: 1 } : undefined;
    return nodeSpan(descend(root, path, mode).node);
  }

  /**
   * Descends from a call's arguments. A define* function may wrap its argument (as
   * `defineRule(service, 'posts', { … })` returns `{ service, table, rules: { … } }`),
   * so the first path segment may have no counterpart in the source.
   */
  #descendCall(call: TS.CallExpression, rest: RawPath, mode: LocateMode): TS.Node {
    if (rest.length === 0) return call;
    let best: Descent = { node: call, consumed: 0 };
    for (const arg of call.arguments) {
      for (const skip of [0, 1]) {
        if (skip > rest.length) continue;
        const d = descend(arg, rest.slice(skip), mode);
        if (d.consumed === 0) continue;
        const total = d.consumed + skip;
        if (total > best.consumed) best = { node: d.node, consumed: total };
      }
    }
    if (best.consumed === 0 && call.arguments.length === 1) return unwrap(call.arguments[0]!);
    return best.node;
  }
}
