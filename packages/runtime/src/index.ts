export { ERRORS, DfcError, isDfcError, errorBody, type ErrorCode, type ErrorBody } from './errors.js';
export { loadArtifact, signatureVerifier, validatePolicy, checkModuleShape, type Artifact, type PolicyModule, type RuleFn, type ArtifactVerifier, type LoadArtifactOptions } from './artifact.js';
export { compilePolicy, appForKey, configPath, type CompileOptions, type CompiledPolicy, type CompiledService, type CompiledTable, type Collection } from './compiled.js';
export {
  decide,
  decideNow,
  processResponse,
  operationOf,
  mutations,
  type DecideRequest,
  type DecideResult,
  type Allowed,
  type Denied,
  type Trace,
  type TracedCollection,
  type Mutation,
  type RequestArgs,
} from './decide.js';
export { explain, type Explanation, type ExplainOptions } from './explain.js';
export { findRows, ruleFind, matchesOperators, type RuleFind } from './rule-query.js';
export { matchesWhere, parseFilter, parseId, printFilter } from './data/index.js';
export { resolveAccess, precomputeAccess, verbBit, type AccessMatch, type Tier } from './access.js';
export { encryptSecret, decryptSecret, parseMasterKey, secretResolver, type Env, type SecretResolver } from './secrets.js';
export { compileCors, actualHeaders, preflight, normalizeOrigin, originAllowed, type CorsPolicy, type CorsEntry } from './cors.js';
export { readCredentials, createJwtVerifier, failureLimiter, type Credentials, type JwtVerifier, type FailureLimiter } from './auth.js';
export { redisFailureLimiter, type RedisFailureLimiter, type RedisLimiterOptions } from './limiter.js';
export { RedisClient, RedisReplyError, type RedisOptions, type RespValue } from './redis.js';
export { dfcPlugin, dfcPlugin as dfc, toDfcError, type DfcPluginOptions } from './plugin.js';
export { createServer, redactUrl, REDACTED_HEADERS, type ServerOptions, type DfcServer } from './server.js';
export { Runtime, type RuntimeOptions, type State } from './runtime.js';
export { createFieldCrypto, type FieldCrypto } from './field-crypto.js';
export { openApiFor } from './openapi.js';
export { Metrics } from './metrics.js';
export { parseJsonBody, checkJson, isJsonMediaType } from './body.js';
export { createAndSeedSqlite, seedTransform, type SeedResult } from './seed.js';
export { openDataSource, createTables, seed, DataError, FilterError, type DataSource } from './data/index.js';
export { sampleKeys, sampleTokens, isDevelopmentEnvFile, type SampleKey, type SampleToken } from './dev.js';
export type { Decision, ResponseAction, RuleContext, RuleInput, TraceEvent, TracedOperand } from './rule-types.js';
