/**
 * Every diagnostic the compiler can report, in one table. The thousands digit says
 * which stage raised it (1 load, 2 typecheck, 3 validate, 4 analyze, 5 emit,
 * 6 reading policies for review (`dfc diff`), 9 internal). A code never changes meaning once released; a retired code stays
 * reserved. docs/diagnostics.md documents each one with a failing and a fixed
 * example, and a test keeps the two in step.
 */

export type Severity = 'error' | 'warning' | 'info';

export interface CodeInfo {
  /** Short kebab-case name, shown in docs and usable in tooling. */
  readonly name: string;
  readonly severity: Severity;
}

export const CODES = {
  // 1xxx: finding and loading the config
  DFC1001: { name: 'config-not-found', severity: 'error' },
  DFC1002: { name: 'config-unsupported-file', severity: 'error' },
  DFC1003: { name: 'bundle-failed', severity: 'error' },
  DFC1004: { name: 'config-threw', severity: 'error' },
  DFC1005: { name: 'no-default-export', severity: 'error' },
  DFC1006: { name: 'default-export-not-object', severity: 'error' },

  // 2xxx: TypeScript
  DFC2001: { name: 'syntax-error', severity: 'error' },
  DFC2002: { name: 'module-not-found', severity: 'error' },
  DFC2003: { name: 'type-error', severity: 'error' },
  DFC2004: { name: 'missing-export', severity: 'error' },
  DFC2005: { name: 'tsconfig-error', severity: 'error' },

  // 3xxx: the shape of the config
  DFC3001: { name: 'wrong-type', severity: 'error' },
  DFC3002: { name: 'unknown-property', severity: 'error' },
  DFC3003: { name: 'invalid-value', severity: 'error' },
  DFC3004: { name: 'unknown-kind', severity: 'error' },
  DFC3005: { name: 'missing-property', severity: 'error' },
  DFC3006: { name: 'out-of-range', severity: 'error' },
  DFC3007: { name: 'duplicate-name', severity: 'error' },
  DFC3008: { name: 'too-deep', severity: 'error' },
  DFC3009: { name: 'code-rule-free-variable', severity: 'error' },
  DFC3010: { name: 'code-rule-not-portable', severity: 'error' },
  DFC3011: { name: 'config-cycle', severity: 'error' },
  DFC3012: { name: 'invalid-format', severity: 'error' },

  // 4xxx: lints over the normalized policy
  DFC4001: { name: 'cors-credentials-any-origin', severity: 'error' },
  DFC4002: { name: 'plaintext-secret', severity: 'error' },
  DFC4003: { name: 'unknown-column', severity: 'error' },
  DFC4004: { name: 'no-rule', severity: 'info' },
  DFC4005: { name: 'empty-and-or', severity: 'error' },
  DFC4006: { name: 'role-grants-nothing', severity: 'warning' },
  DFC4007: { name: 'debug-in-production', severity: 'error' },
  DFC4008: { name: 'unreachable-rule', severity: 'warning' },
  DFC4009: { name: 'unknown-role', severity: 'error' },
  DFC4010: { name: 'unknown-service', severity: 'error' },
  DFC4011: { name: 'unknown-table', severity: 'error' },
  DFC4012: { name: 'app-without-role', severity: 'warning' },
  DFC4013: { name: 'jwt-issuer-audience', severity: 'error' },
  DFC4014: { name: 'jwt-key-algorithm-mismatch', severity: 'error' },
  DFC4015: { name: 'jwt-no-key', severity: 'error' },
  DFC4016: { name: 'unknown-component', severity: 'error' },
  DFC4017: { name: 'absolute-path', severity: 'error' },
  DFC4018: { name: 'insecure-webhook-url', severity: 'error' },
  DFC4019: { name: 'page-size-order', severity: 'error' },
  DFC4020: { name: 'unknown-primary-key', severity: 'error' },
  DFC4021: { name: 'rule-type-mismatch', severity: 'error' },
  DFC4022: { name: 'unknown-variable', severity: 'error' },
  DFC4023: { name: 'role-filter-on-unsupported-component', severity: 'warning' },
  DFC4024: { name: 'encryption-without-key', severity: 'error' },
  DFC4025: { name: 'inactive-role-in-app', severity: 'warning' },
  DFC4026: { name: 'match-operator', severity: 'error' },
  DFC4027: { name: 'invalid-date', severity: 'error' },
  DFC4028: { name: 'in-needs-list', severity: 'error' },
  DFC4029: { name: 'response-field-in-condition', severity: 'error' },
  DFC4030: { name: 'write-to-unknown-variable', severity: 'warning' },
  DFC4031: { name: 'forbidden-path', severity: 'error' },
  DFC4032: { name: 'unsupported-path', severity: 'error' },
  DFC4033: { name: 'unknown-helper', severity: 'error' },
  DFC4034: { name: 'helper-arguments', severity: 'error' },
  DFC4036: { name: 'invalid-store-target', severity: 'error' },
  DFC4037: { name: 'unsalted-password-hash', severity: 'warning' },
  DFC4038: { name: 'unused-default-rule', severity: 'warning' },
  DFC4039: { name: 'constant-rule', severity: 'warning' },
  DFC4040: { name: 'match-types-disagree', severity: 'error' },
  DFC4041: { name: 'shadowed-access', severity: 'warning' },
  DFC4042: { name: 'dead-grant', severity: 'warning' },
  DFC4043: { name: 'blanket-api-key', severity: 'warning' },
  DFC4044: { name: 'docs-grant-exposes-data', severity: 'warning' },

  // 5xxx: writing the artifacts
  DFC5001: { name: 'output-dir-unusable', severity: 'error' },
  DFC5002: { name: 'write-failed', severity: 'error' },
  DFC5003: { name: 'signing-key-invalid', severity: 'error' },

  // 6xxx: reading policies for review
  DFC6001: { name: 'policy-unreadable', severity: 'error' },
  DFC6002: { name: 'revision-unavailable', severity: 'error' },

  // 9xxx: bugs in dfc itself
  DFC9001: { name: 'internal-error', severity: 'error' },
  DFC9002: { name: 'invalid-artifact', severity: 'error' },
} as const satisfies Record<string, CodeInfo>;

export type DiagnosticCode = keyof typeof CODES;

export function isDiagnosticCode(code: string): code is DiagnosticCode {
  return Object.hasOwn(CODES, code);
}
