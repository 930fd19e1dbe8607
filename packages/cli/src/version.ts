import { createRequire } from 'node:module';

/** This package's version (the same for every dfc package; changesets bumps them together). */
export const VERSION: string = (createRequire(import.meta.url)('../package.json') as { version: string }).version;
