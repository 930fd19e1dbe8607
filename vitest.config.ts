import { defineConfig } from 'vitest/config';

// Tests import each package's TypeScript sources through the `@dfc/source` export
// condition; subprocess tests (the CLI, the server) run the built `dist/` instead,
// which `npm test` builds first. Vitest also passes these to Node as `--conditions`
// for external packages, where `import` or `module` would make a CommonJS `require`
// (pg requiring pg-pool) load an ES module: keep this list to our own condition.
const conditions = ['@dfc/source', 'node'];

export default defineConfig({
  resolve: { conditions },
  ssr: { resolve: { conditions, externalConditions: ['@dfc/source'] } },
  test: {
    include: ['packages/*/src/**/*.test.ts', 'test/**/*.test.ts'],
    exclude: ['**/node_modules/**', '**/dist/**', 'test/.tmp/**'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: 'forks',
    typecheck: {
      enabled: true,
      include: ['test/types/**/*.test-d.ts'],
      tsconfig: 'test/types/tsconfig.json',
    },
  },
});
