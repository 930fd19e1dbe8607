export { ERRORS, DfcError, isDfcError, errorBody, type ErrorCode, type ErrorBody } from './errors.js';
export { loadArtifact, validatePolicy, checkModuleShape, type Artifact, type PolicyModule, type RuleFn, type ArtifactVerifier, type LoadArtifactOptions } from './artifact.js';
export { compilePolicy, appForKey, type CompiledPolicy, type CompiledService, type CompiledTable, type Collection } from './compiled.js';
export { decide, processResponse, operationOf, type DecideRequest, type DecideResult, type Allowed, type Denied, type Trace, type RequestArgs } from './decide.js';
export { resolveAccess, precomputeAccess, type AccessMatch, type Tier } from './access.js';
export { encryptSecret, decryptSecret, parseMasterKey, secretResolver, type Env, type SecretResolver } from './secrets.js';
export { compileCors, actualHeaders, preflight, normalizeOrigin, originAllowed, type CorsPolicy, type CorsEntry } from './cors.js';
export { readCredentials, createJwtVerifier, failureLimiter, type Credentials, type JwtVerifier, type FailureLimiter } from './auth.js';
