import { ARTIFACT_VERSION, DFC_VERSION, policyHash, type Policy } from '@dfc/schema';
import type { Artifact, PolicyModule, RuleFn } from './artifact.js';
import { checkModuleShape } from './artifact.js';

/**
 * Helpers for tests that need a policy without running the compiler: a Policy with
 * defaults filled and its hash computed, and an in-memory artifact pairing it with rule
 * closures of the same shape as policy.mjs exports.
 */

export type PolicyInput = Partial<Omit<Policy, 'hash' | 'artifactVersion' | '$schema' | 'dfcVersion'>>;

export function makePolicy(input: PolicyInput): Policy {
  const base: Omit<Policy, 'hash'> = {
    $schema: './policy.schema.json',
    artifactVersion: ARTIFACT_VERSION,
    dfcVersion: DFC_VERSION,
    environment: 'production',
    debug: false,
    services: {},
    rules: {},
    roles: {},
    apps: {},
    cors: [],
    auth: { queryCredentials: true },
    server: { defaultPageSize: 100, maxPageSize: 1000, bodyLimit: 1024 * 1024 },
    webhooks: { allowPrivateHosts: [], allowHttp: false },
    ...input,
  };
  return { ...base, hash: policyHash(base) } as Policy;
}

export function makeArtifact(
  policy: Policy,
  exportsOf: { rules?: Record<string, RuleFn>; requirements?: Record<string, RuleFn>; code?: Record<string, unknown> } = {},
  dir = process.cwd(),
): Artifact {
  const module: PolicyModule = checkModuleShape({ hash: policy.hash, ...exportsOf });
  return { policy, module, dir };
}
