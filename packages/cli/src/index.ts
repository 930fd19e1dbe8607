/**
 * The `dfc` package: the authoring API that configs import (`import { defineConfig } from 'dfc'`).
 * The command line lives in bin.ts.
 */
export * from '@dfc/config';
