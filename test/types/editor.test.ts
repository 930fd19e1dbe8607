/**
 * What an editor shows while a config is written: completions and hover text from
 * the TypeScript language service, over the real authoring types. (The type tests
 * next to this file pin what compiles; this pins what the editor offers.)
 */
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';
import ts from 'typescript';
import { describe, expect, test } from 'vitest';

const root = join(dirname(fileURLToPath(import.meta.url)), '../..');
const configIndex = join(root, 'packages/config/src/index.ts');
const file = join(root, 'test/types/__editor__.ts');

const header = `
import { defineService, defineRule, defineRole, defineApp, defineConfig, secret } from 'dfc';
const shop = defineService({
  name: 'shop',
  database: { type: 'sqlite', file: './shop.db' },
  tables: {
    posts: { columns: { id: 'integer', userId: 'string', title: 'string', isPublic: 'bool', tags: 'json' }, primaryKey: 'id' },
    users: { columns: { id: 'string', email: 'string', role: 'string' }, primaryKey: 'id' },
  },
});
`;

function service(text: string) {
  const options: ts.CompilerOptions = {
    strict: true,
    target: ts.ScriptTarget.ES2023,
    module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext,
    noEmit: true,
    skipLibCheck: true,
    types: [],
    baseUrl: root,
    paths: { dfc: [configIndex] },
  };
  const host: ts.LanguageServiceHost = {
    getScriptFileNames: () => [file],
    getScriptVersion: () => '1',
    getScriptSnapshot: (name) => {
      if (name === file) return ts.ScriptSnapshot.fromString(text);
      const content = ts.sys.readFile(name);
      return content === undefined ? undefined : ts.ScriptSnapshot.fromString(content);
    },
    getCurrentDirectory: () => root,
    getCompilationSettings: () => options,
    getDefaultLibFileName: (o) => ts.getDefaultLibFilePath(o),
    fileExists: (name) => name === file || ts.sys.fileExists(name),
    readFile: (name) => (name === file ? text : ts.sys.readFile(name)),
    readDirectory: ts.sys.readDirectory,
    directoryExists: ts.sys.directoryExists,
    getDirectories: ts.sys.getDirectories,
  };
  return ts.createLanguageService(host, ts.createDocumentRegistry());
}

/** Completion names at the `‸` in `body` (which follows the shared header). */
function completions(body: string): string[] {
  const text = header + body.replace('‸', '');
  const at = header.length + body.indexOf('‸');
  const info = service(text).getCompletionsAtPosition(file, at, {});
  return (info?.entries ?? []).map((e) => e.name);
}

/** Error messages of the program made of the header and `body`. */
function errors(body: string): string[] {
  const ls = service(header + body);
  return [...ls.getSyntacticDiagnostics(file), ...ls.getSemanticDiagnostics(file)].map((d) =>
    ts.flattenDiagnosticMessageText(d.messageText, '\n'),
  );
}

/** Hover text (signature and documentation) at the `‸`. */
function hover(body: string): string {
  const text = header + body.replace('‸', '');
  const at = header.length + body.indexOf('‸');
  const info = service(text).getQuickInfoAtPosition(file, at);
  const tags = (info?.tags ?? []).map((t) => `@${t.name} ${ts.displayPartsToString(t.text)}`);
  return [ts.displayPartsToString(info?.displayParts), ts.displayPartsToString(info?.documentation), ...tags].join('\n');
}

describe('completion', () => {
  test('rule paths: the variables of the operation, typed by the table', () => {
    const names = completions(`defineRule(shop, 'posts', { read: { rule: 'match', eval: '==', type: 'string', f1: '‸', f2: 'x' } });`);
    expect(names).toEqual(expect.arrayContaining(['args.find.userId', 'args.find.title', 'res.title', 'args.auth.id', 'args.opts.limit', 'utils.now()', 'utils.exists(args.find.userId)']));
    expect(names).not.toContain('args.doc.userId');
    expect(names).not.toContain('args.find.email');
  });

  test('rule paths of a create are under args.doc', () => {
    const names = completions(`defineRule(shop, 'posts', { create: { rule: 'force', field: '‸', value: 'args.auth.id' } });`);
    expect(names).toEqual(expect.arrayContaining(['args.doc.userId', 'res.title']));
    expect(names).not.toContain('args.find.userId');
  });

  test('a half-typed path', () => {
    const names = completions(`defineRule(shop, 'users', { update: { rule: 'remove', fields: ['args.update.$set.‸'] } });`);
    expect(names).toEqual(expect.arrayContaining(['args.update.$set.role', 'args.update.$set.email']));
  });

  test('rule kinds, evals and types', () => {
    expect(completions(`defineRule(shop, 'posts', { read: { rule: '‸' } });`)).toEqual(
      expect.arrayContaining(['allow', 'deny', 'authenticated', 'match', 'and', 'or', 'query', 'remove', 'force', 'encrypt', 'decrypt', 'hash', 'webhook', 'code']),
    );
    expect(completions(`defineRule(shop, 'posts', { read: { rule: 'match', type: '‸' } });`)).toEqual(
      expect.arrayContaining(['string', 'number', 'bool', 'date']),
    );
  });

  test('operations and tables', () => {
    expect(completions(`defineRule(shop, 'posts', { ‸ });`)).toEqual(expect.arrayContaining(['create', 'read', 'update', 'delete']));
    expect(completions(`defineRule(shop, '‸', {});`)).toEqual(expect.arrayContaining(['posts', 'users', 'default']));
  });

  test('query tables', () => {
    const names = completions(`defineRule(shop, 'posts', { read: { rule: 'query', db: 'shop', col: '‸', find: {} } });`);
    expect(names).toEqual(expect.arrayContaining(['posts', 'users']));
  });

  test('role components and filter columns of the entry’s table', () => {
    expect(completions(`defineRole({ name: 'r', access: [{ service: shop, component: '‸', verbs: ['GET'] }] });`)).toEqual(
      expect.arrayContaining(['*', '_table/*', '_table/posts', '_table/users', '_doc']),
    );
    const names = completions(
      `defineRole({ name: 'r', access: [{ service: shop, component: '_table/users', verbs: ['GET'], filters: [{ name: '‸', operator: '=' }] }] });`,
    );
    expect(names).toEqual(expect.arrayContaining(['id', 'email', 'role']));
    expect(names).not.toContain('title');
    expect(completions(`defineRole({ name: 'r', access: [{ service: shop, component: '*', verbs: ['‸'] }] });`)).toEqual(
      expect.arrayContaining(['GET', 'POST', 'PUT', 'PATCH', 'DELETE']),
    );
  });

  test('database and column types', () => {
    expect(completions(`defineService({ name: 's', database: { type: '‸' }, tables: {} });`)).toEqual(
      expect.arrayContaining(['sqlite', 'postgres', 'mysql']),
    );
    expect(completions(`defineService({ name: 's', database: { type: 'sqlite', file: 'x' }, tables: { t: { columns: { a: '‸' }, primaryKey: 'a' } } });`)).toEqual(
      expect.arrayContaining(['string', 'integer', 'number', 'bool', 'date', 'json']),
    );
  });
});

describe('hover', () => {
  test('options show their documentation', () => {
    expect(hover(`defineRule(shop, 'posts', { read: { rule: 'match', eval: '==', type: 'string', f‸1: 'args.auth.id', f2: 'x' } });`)).toContain(
      'left operand',
    );
    expect(
      hover(`defineRule(shop, 'posts', { read: { rule: 'or', clauses: [{ rule: 'remove', fie‸lds: ['res.title'] }] } });`),
    ).toContain('each returned row');
    expect(hover(`defineService({ name: 's', database: { type: 'sqlite', file: 'x' }, tables: {}, max‸Records: 5 });`)).toContain('@default 1000');
    expect(hover(`defineRole({ name: 'r', access: [{ service: shop, component: '_doc', verbs: ['GET'], filter‸Op: 'AND' }] });`)).toContain('How filters combine');
    expect(hover(`defineConfig({ services: [shop], environ‸ment: 'production' });`)).toContain("@default 'production'");
    expect(hover(`define‸Rule`)).toContain('typed against its');
  });
});

describe('messages', () => {
  test('a misspelled column names the column and the table', () => {
    expect(errors(`defineRule(shop, 'posts', { update: { rule: 'match', eval: '==', type: 'string', f1: 'args.auth.id', f2: 'args.find.usrId' } });`)).toEqual([
      "Type '\"args.find.usrId\"' is not assignable to type '\"unknown column `usrId` in table `posts`\"'.",
    ]);
  });

  test('a variable the operation does not have', () => {
    expect(errors(`defineRule(shop, 'posts', { read: { rule: 'force', field: 'args.find.userId', value: 'args.doc.userId' } });`)).toEqual([
      "Type '\"args.doc.userId\"' is not assignable to type '\"`args.doc` is not set in `read` rules\"'.",
    ]);
  });

  test('a quoted number in a number comparison', () => {
    expect(errors(`defineRule(shop, 'posts', { read: { rule: 'match', eval: '>', type: 'number', f1: 'args.find.id', f2: '3' } });`)).toEqual([
      "Type '\"3\"' is not assignable to type '\"`3` is not a number or a known path: write numbers without quotes\"'.",
    ]);
  });

  test('hashing a column that is not a string', () => {
    expect(errors(`defineRule(shop, 'posts', { create: { rule: 'hash', fields: ['args.doc.id'] } });`)).toEqual([
      "Type '\"args.doc.id\"' is not assignable to type '\"column `id` is integer: only string columns can be hashed\"'.",
    ]);
  });

  test('an unknown option of a rule', () => {
    expect(errors(`defineRule(shop, 'posts', { read: { rule: 'allow', clause: { rule: 'deny' } } });`)[0]).toContain(
      '`allow` rules have no option `clause`',
    );
  });

  test('a plaintext API key', () => {
    expect(errors(`defineApp({ name: 'web', apiKey: 'abc' });`)).toEqual(["Type 'string' is not assignable to type 'ApiKey'."]);
  });

  test('a filter column of another table', () => {
    expect(
      errors(`defineRole({ name: 'r', access: [{ service: shop, component: '_table/posts', verbs: ['GET'], filters: [{ name: 'email', operator: '=' }] }] });`),
    ).toEqual([`Type '"email"' is not assignable to type '"id" | "userId" | "title" | "isPublic" | "tags"'.`]);
  });

  test('a valid config has no errors', () => {
    expect(
      errors(`
export const r = defineRule(shop, 'posts', { read: { rule: 'allow' } });
export default defineConfig({ services: [shop], rules: [r], apps: [defineApp({ name: 'web', apiKey: secret('K') })] });`),
    ).toEqual([]);
  });
});
