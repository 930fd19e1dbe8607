/** The files `dfc init` writes. Each must be accepted by `dfc build` as is (tested). */
export function initTemplates(options: { name: string; dfcVersion: string }): Record<string, string> {
  return {
    'dfc.config.ts': CONFIG,
    'tsconfig.json': TSCONFIG,
    'package.json':
      JSON.stringify(
        {
          name: options.name,
          private: true,
          type: 'module',
          scripts: { build: 'dfc build', check: 'dfc check' },
          devDependencies: { dfc: `^${options.dfcVersion}` },
        },
        null,
        2,
      ) + '\n',
    '.gitignore': 'node_modules/\ndist/\n*.db\n.env\n',
    'README.md': README.replaceAll('{{name}}', options.name),
  };
}

const CONFIG = `/**
 * The policy for this project's data API. \`dfc build\` checks it and writes
 * dist/policy.json and dist/policy.mjs (\`npx dfc --help\` lists the commands).
 */
import { defineApp, defineConfig, defineRole, defineRule, defineService, secret } from 'dfc';

/** A service is a database exposed as REST: /api/v2/notes/_table/notes. */
export const notes = defineService({
  name: 'notes',
  database: { type: 'sqlite', file: './notes.db' },
  tables: {
    notes: {
      columns: { id: 'integer', ownerId: 'string', title: 'string', body: 'string', isPublic: 'bool' },
      primaryKey: 'id',
    },
  },
});

/** Data rules (Space Cloud's rule language), checked against the table's columns. */
export const noteRules = defineRule(notes, 'notes', {
  // Anyone with a session may read.
  read: { rule: 'authenticated' },
  // New notes always belong to the caller, whatever the request body says.
  create: {
    rule: 'and',
    clauses: [
      { rule: 'authenticated' },
      { rule: 'force', field: 'args.doc.ownerId', value: 'args.auth.id' },
    ],
  },
  // Only the owner changes or deletes a note.
  update: { rule: 'match', eval: '==', type: 'string', f1: 'args.auth.id', f2: 'args.find.ownerId' },
  delete: { rule: 'match', eval: '==', type: 'string', f1: 'args.auth.id', f2: 'args.find.ownerId' },
});

/** A role says which verbs a caller may use on which tables. */
export const writer = defineRole({
  name: 'writer',
  access: [{ service: notes, component: '_table/notes', verbs: ['GET', 'POST', 'PATCH', 'DELETE'] }],
});

export default defineConfig({
  services: [notes],
  rules: [noteRules],
  roles: [writer],
  // Each client app has its own API key, read from the environment at run time.
  apps: [defineApp({ name: 'web', apiKey: secret('NOTES_WEB_API_KEY'), role: writer })],
  auth: {
    jwt: {
      secret: secret('NOTES_JWT_SECRET'),
      issuer: 'https://id.example.com',
      audience: 'notes',
    },
  },
});
`;

const TSCONFIG =
  JSON.stringify(
    {
      compilerOptions: {
        target: 'ES2023',
        module: 'ESNext',
        moduleResolution: 'Bundler',
        strict: true,
        noEmit: true,
        skipLibCheck: true,
        types: [],
      },
      include: ['dfc.config.ts'],
    },
    null,
    2,
  ) + '\n';

const README = `# {{name}}

A data API policy written with [dfc](https://www.npmjs.com/package/dfc).

- \`dfc.config.ts\`: services (databases exposed as REST), data rules, roles, apps.
- \`npx dfc check\`: type-check, validate and lint the policy.
- \`npx dfc build\`: the same, then write \`dist/policy.json\` and \`dist/policy.mjs\`.

Secrets are never written in the config: \`secret('NOTES_WEB_API_KEY')\` names an
environment variable that is read where the policy runs.
`;
