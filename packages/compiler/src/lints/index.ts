import { roleAccess, roleReferences } from './access.js';
import { blanketKeys, deadGrants, docsExposure, shadowedAccess } from './grants.js';
import type { Lint } from './context.js';
import { encryptionKey, missingRules, ruleIssues, ruleSetTargets } from './rules.js';
import { corsCredentials, debugInProduction, jwtSettings, plaintextSecrets } from './security.js';
import { absolutePaths, pageSizes, primaryKeys } from './structure.js';

/** Every lint analyze runs, in a fixed order (diagnostics are sorted afterwards anyway). */
export const LINTS: readonly Lint[] = [
  plaintextSecrets,
  corsCredentials,
  debugInProduction,
  jwtSettings,
  absolutePaths,
  primaryKeys,
  pageSizes,
  ruleSetTargets,
  ruleIssues,
  encryptionKey,
  missingRules,
  roleAccess,
  roleReferences,
  shadowedAccess,
  deadGrants,
  blanketKeys,
  docsExposure,
];

export type { Lint, LintContext } from './context.js';
