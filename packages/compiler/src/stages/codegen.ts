import { createRequire } from 'node:module';
import { dirname, resolve } from 'node:path';
import { build as esbuild } from 'esbuild';
import { OPERATIONS, PolicySchema, exactJson, type Policy } from '@dfc/schema';
import { generate, type GenerateCache, type GenerateInput, type RequirementCollection } from '@dfc/rules';
import { diagnostic, type Diagnostic } from '../diagnostics/diagnostic.js';
import { formatRelativePath } from '../diagnostics/config-path.js';
import type { CodeRuleEntry } from './normalize.js';

export interface CodegenInput {
  policy: Policy;
  code: Record<string, CodeRuleEntry>;
  /** Closure factories kept from the previous build (`--watch`): only changed rules are generated again. */
  cache?: GenerateCache | undefined;
}

export interface CodegenOutput {
  diagnostics: Diagnostic[];
  /** The text of policy.mjs. */
  module?: string;
}

const key = (...segments: string[]) => formatRelativePath(segments);

/**
 * The rule sets the previous build's `checkPolicy` found valid (`--watch`), by service,
 * table and exact JSON: a rebuild checks only the rule sets an edit changed, and the
 * rest of the policy as before. Holds only those of the latest check.
 */
export interface PolicyCheckCache {
  valid?: ReadonlySet<string>;
}

const RULES = PolicySchema.shape.rules;

/**
 * Whether the policy matches the artifact schema, and the first way it does not: defence in depth
 * before anything uses the compiled policy. With a cache, the rules of each table are
 * checked on their own and only when they changed; a policy with any problem is checked
 * again as a whole, so what is reported is always what a whole check reports.
 */
export function checkPolicy(policy: Policy, cache?: PolicyCheckCache): { ok: true } | { ok: false; issue?: { path: PropertyKey[]; message: string } } {
  if (cache && isPlainRecord(policy.rules)) {
    const valid = new Set<string>();
    let ok = PolicySchema.safeParse({ ...policy, rules: {} }).success;
    for (const [service, tables] of Object.entries(policy.rules)) {
      if (!ok || !isPlainRecord(tables)) {
        ok = false;
        break;
      }
      for (const [table, set] of Object.entries(tables)) {
        const text = exactJson(set);
        const id = text === undefined ? undefined : `${JSON.stringify([service, table])}${text}`;
        if (id === undefined || !cache.valid?.has(id)) ok = RULES.safeParse({ [service]: { [table]: set } }).success;
        if (!ok) break;
        if (id !== undefined) valid.add(id);
      }
    }
    cache.valid = ok ? valid : undefined;
    if (ok) return { ok };
  }
  const check = PolicySchema.safeParse(policy);
  if (check.success) return { ok: true };
  const issue = check.error.issues[0];
  return issue ? { ok: false, issue } : { ok: false };
}

function isPlainRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * The keyed view of the policy that policy.mjs is generated from: one rule per
 * `service/table/operation` (a table without its own rule for an operation gets the
 * `default` table's, as in Space Cloud), and one requirement collection per service,
 * table and column that has one.
 */
export function moduleInput(policy: Policy, code: Record<string, CodeRuleEntry>): GenerateInput {
  const rules: GenerateInput['rules'] = {};
  const requirements: Record<string, RequirementCollection> = {};
  for (const serviceName of Object.keys(policy.services).sort()) {
    const service = policy.services[serviceName]!;
    const sets = policy.rules[serviceName] ?? {};
    const fallback = sets['default'] ?? {};
    requirements[serviceName] = {
      collection: service.security,
      path: key('services', serviceName, 'security'),
      // Aptify: the service level implies `authenticated` unless it allows anonymous callers.
      implicitAuthenticated: true,
    };
    for (const tableName of Object.keys(service.tables).sort()) {
      const table = service.tables[tableName]!;
      const own = sets[tableName] ?? {};
      for (const op of OPERATIONS) {
        const rule = own[op];
        const fromDefault = rule === undefined ? fallback[op] : undefined;
        if (rule) rules[`${serviceName}/${tableName}/${op}`] = { rule, path: key('rules', serviceName, tableName, op) };
        else if (fromDefault) rules[`${serviceName}/${tableName}/${op}`] = { rule: fromDefault, path: key('rules', serviceName, 'default', op) };
      }
      if (table.security) {
        requirements[`${serviceName}/${tableName}`] = {
          collection: table.security,
          path: key('services', serviceName, 'tables', tableName, 'security'),
          implicitAuthenticated: false,
        };
      }
      for (const columnName of Object.keys(table.columns).sort()) {
        const column = table.columns[columnName]!;
        if (!column.security) continue;
        requirements[`${serviceName}/${tableName}/${columnName}`] = {
          collection: column.security,
          path: key('services', serviceName, 'tables', tableName, 'columns', columnName, 'security'),
          implicitAuthenticated: false,
        };
      }
    }
  }
  const sources: Record<string, string> = {};
  for (const id of Object.keys(code).sort()) sources[id] = code[id]!.source;
  return { hash: policy.hash, rules, requirements, code: sources };
}

/**
 * policy.mjs, from @dfc/rules' generator (user data never reaches it except JSON-quoted),
 * then bundled with the rule helpers it imports: the artifact is self-contained, so a
 * `dist/` copied anywhere loads without `node_modules`, and it always runs the helpers
 * of the dfc that generated it, never whatever `@dfc/rules` happens to be installed
 * next to it.
 */
export async function codegen(input: CodegenInput): Promise<CodegenOutput> {
  let source: string;
  try {
    source = generate(moduleInput(input.policy, input.code), input.cache);
  } catch (error) {
    return { diagnostics: [internal('generating policy.mjs failed', error)] };
  }
  try {
    return { diagnostics: [], module: await bundleModule(source) };
  } catch (error) {
    return { diagnostics: [internal('bundling policy.mjs with the rule helpers failed', error)] };
  }
}

const RUNTIME_SPECIFIER = '@dfc/rules/runtime';

/** The built helpers (`dist/`, whichever export condition the caller runs under), so the output is the same from tests and from the CLI. */
function runtimeEntry(): string {
  return createRequire(import.meta.url).resolve(RUNTIME_SPECIFIER);
}

async function bundleModule(source: string): Promise<string> {
  const entry = runtimeEntry();
  // Paths esbuild prints in comments are relative to this: `dist/runtime/index.js` on any machine.
  const packageDir = resolve(dirname(entry), '..', '..');
  const result = await esbuild({
    stdin: { contents: source, loader: 'js', sourcefile: 'policy.mjs', resolveDir: packageDir },
    absWorkingDir: packageDir,
    bundle: true,
    write: false,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    legalComments: 'none',
    logLevel: 'silent',
    banner: { js: '// generated by dfc, do not edit: policy.json is the source of truth\n// rules and requirement collections compiled to closures, with the rule helpers they use' },
    plugins: [
      {
        name: 'dfc-rules-runtime',
        setup(b) {
          // invariant: the generated module imports nothing but the rule helpers.
          b.onResolve({ filter: /.*/ }, (args) => {
            if (args.kind === 'entry-point') return undefined;
            if (args.path === RUNTIME_SPECIFIER) return { path: entry };
            if (args.importer.startsWith(packageDir) && args.path.startsWith('.')) return undefined;
            if (args.path.startsWith('node:')) return { path: args.path, external: true };
            return { errors: [{ text: `policy.mjs may not import \`${args.path}\`` }] };
          });
        },
      },
    ],
  });
  return result.outputFiles[0]!.text;
}

function internal(message: string, error: unknown): Diagnostic {
  return diagnostic('DFC9002', message, {
    notes: [error instanceof Error ? error.message : String(error), 'this is a bug in dfc; please report it with the config that caused it'],
  });
}
