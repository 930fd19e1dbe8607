import { z } from 'zod';
import {
  COLUMN_TYPES,
  FILTER_OPERATORS,
  JWT_ALGORITHMS,
  SecretValueSchema,
  VERBS,
  type ColumnType,
  type FilterOperator,
  type JwtAlgorithm,
  type SecretValue,
  type Verb,
} from './config.js';
import { JsonSchema, OPERATIONS, RuleSchema, type Json, type Operation, type Rule } from './rule.js';

/**
 * The artifact: what `dfc build` writes to policy.json and the runtime loads. It is
 * the normalized IR: references resolved to names, defaults filled, maps keyed by
 * name (and serialized with sorted keys), secrets kept as references.
 *
 * invariant: nothing in a Policy is a plaintext secret, an absolute path or a time.
 */

/** Bumped when the artifact's shape changes incompatibly; the runtime refuses others. */
export const ARTIFACT_VERSION = 1;

/** A named requirement of a collection, in the order written. */
export interface PolicyRequirement {
  name: string;
  type: 'allowAnonymous' | 'authenticated' | 'role' | 'rule';
  roles?: string[];
  rule?: Rule;
}

export interface PolicyColumn {
  type: ColumnType;
  nullable: boolean;
  /** Input-field requirement collection (Aptify field level). */
  security?: PolicyRequirement[];
}

export interface PolicyTable {
  primaryKey: string;
  columns: Record<string, PolicyColumn>;
  /** Route-level requirement collection. */
  security?: PolicyRequirement[];
}

export type PolicyDatabase =
  | { type: 'sqlite'; file: string; seed?: string }
  | { type: 'postgres'; url: SecretValue; schema?: string; poolMax: number; preparedStatements?: false }
  | { type: 'mysql'; url: SecretValue; poolMax: number };

export interface PolicyService {
  database: PolicyDatabase;
  maxRecords: number;
  tables: Record<string, PolicyTable>;
  /** Endpoint-level requirement collection; `authenticated` is implied unless it allows anonymous. */
  security: PolicyRequirement[];
}

export interface PolicyRoleFilter {
  name: string;
  operator: FilterOperator;
  value?: Json;
}

export interface PolicyAccess {
  /** A service name, or `*` for all services. */
  service: string;
  /** `*`, `_table/*`, `_table/<name>`, `_schema`, `_doc`. */
  component: string;
  verbs: Verb[];
  requestor: ('api' | 'script')[];
  filters: PolicyRoleFilter[];
  filterOp: 'AND' | 'OR';
}

export interface PolicyRole {
  description?: string;
  active: boolean;
  access: PolicyAccess[];
}

export interface PolicyApp {
  description?: string;
  apiKey: SecretValue | { sha256: string };
  role: string | null;
  roles: string[];
  active: boolean;
}

export interface PolicyCors {
  path: string;
  description?: string;
  origins: string[];
  methods: Verb[];
  headers: string[];
  exposedHeaders: string[];
  maxAge: number;
  supportsCredentials: boolean;
  enabled: boolean;
}

export interface PolicyJwt {
  secret?: SecretValue;
  publicKey?: SecretValue | string;
  jwksUrl?: string;
  algorithms: JwtAlgorithm[];
  issuer?: string;
  audience?: string[];
  roleClaim?: string;
  clockTolerance: number;
}

export type TableRules = Partial<Record<Operation, Rule>>;

export interface Policy {
  $schema: string;
  artifactVersion: number;
  dfcVersion: string;
  /** `sha256:` of the canonical JSON of every other field. */
  hash: string;
  environment: 'production' | 'development';
  debug: boolean;
  services: Record<string, PolicyService>;
  /** service → table (or `default`) → operation → rule. */
  rules: Record<string, Record<string, TableRules>>;
  roles: Record<string, PolicyRole>;
  apps: Record<string, PolicyApp>;
  /** Sorted by path. */
  cors: PolicyCors[];
  auth: { jwt?: PolicyJwt; queryCredentials: boolean };
  crypto?: { key: SecretValue };
  server: { defaultPageSize: number; maxPageSize: number; bodyLimit: number };
  admin?: { token: SecretValue; host: string; port: number };
  webhooks: { allowPrivateHosts: string[]; allowHttp: boolean };
}

// ---------------------------------------------------------------------------
// zod, for validating an artifact on load and for policy.schema.json

const RequirementSchema = z.strictObject({
  name: z.string().min(1),
  type: z.enum(['allowAnonymous', 'authenticated', 'role', 'rule']),
  roles: z.array(z.string()).optional(),
  rule: RuleSchema.optional(),
});

const DatabaseSchema = z.discriminatedUnion('type', [
  z.strictObject({ type: z.literal('sqlite'), file: z.string().min(1), seed: z.string().min(1).optional() }),
  z.strictObject({
    type: z.literal('postgres'),
    url: SecretValueSchema,
    schema: z.string().optional(),
    poolMax: z.number().int().positive(),
    /** Present (false) only when reads must not be named prepared statements. */
    preparedStatements: z.literal(false).optional(),
  }),
  z.strictObject({ type: z.literal('mysql'), url: SecretValueSchema, poolMax: z.number().int().positive() }),
]);

export const PolicySchema = z.strictObject({
  $schema: z.string(),
  artifactVersion: z.literal(ARTIFACT_VERSION),
  dfcVersion: z.string(),
  hash: z.string().regex(/^sha256:[0-9a-f]{64}$/),
  environment: z.enum(['production', 'development']),
  debug: z.boolean(),
  services: z.record(
    z.string(),
    z.strictObject({
      database: DatabaseSchema,
      maxRecords: z.number().int().positive(),
      tables: z.record(
        z.string(),
        z.strictObject({
          primaryKey: z.string(),
          columns: z.record(
            z.string(),
            z.strictObject({
              type: z.enum(COLUMN_TYPES),
              nullable: z.boolean(),
              security: z.array(RequirementSchema).optional(),
            }),
          ),
          security: z.array(RequirementSchema).optional(),
        }),
      ),
      security: z.array(RequirementSchema),
    }),
  ),
  rules: z.record(z.string(), z.record(z.string(), z.partialRecord(z.enum(OPERATIONS), RuleSchema))),
  roles: z.record(
    z.string(),
    z.strictObject({
      description: z.string().optional(),
      active: z.boolean(),
      access: z.array(
        z.strictObject({
          service: z.string(),
          component: z.string(),
          verbs: z.array(z.enum(VERBS)),
          requestor: z.array(z.enum(['api', 'script'])),
          filters: z.array(
            z.strictObject({ name: z.string(), operator: z.enum(FILTER_OPERATORS), value: JsonSchema.optional() }),
          ),
          filterOp: z.enum(['AND', 'OR']),
        }),
      ),
    }),
  ),
  apps: z.record(
    z.string(),
    z.strictObject({
      description: z.string().optional(),
      apiKey: z.union([SecretValueSchema, z.strictObject({ sha256: z.string().regex(/^[0-9a-f]{64}$/) })]),
      role: z.string().nullable(),
      roles: z.array(z.string()),
      active: z.boolean(),
    }),
  ),
  cors: z.array(
    z.strictObject({
      path: z.string(),
      description: z.string().optional(),
      origins: z.array(z.string()),
      methods: z.array(z.enum(VERBS)),
      headers: z.array(z.string()),
      exposedHeaders: z.array(z.string()),
      maxAge: z.number().int().min(0),
      supportsCredentials: z.boolean(),
      enabled: z.boolean(),
    }),
  ),
  auth: z.strictObject({
    jwt: z
      .strictObject({
        secret: SecretValueSchema.optional(),
        publicKey: z.union([SecretValueSchema, z.string()]).optional(),
        jwksUrl: z.string().optional(),
        algorithms: z.array(z.enum(JWT_ALGORITHMS)).min(1),
        issuer: z.string().optional(),
        audience: z.array(z.string()).optional(),
        roleClaim: z.string().optional(),
        clockTolerance: z.number().int().min(0).max(60),
      })
      .optional(),
    queryCredentials: z.boolean(),
  }),
  crypto: z.strictObject({ key: SecretValueSchema }).optional(),
  server: z.strictObject({
    defaultPageSize: z.number().int().positive(),
    maxPageSize: z.number().int().positive(),
    bodyLimit: z.number().int().positive(),
  }),
  admin: z.strictObject({ token: SecretValueSchema, host: z.string(), port: z.number().int() }).optional(),
  webhooks: z.strictObject({ allowPrivateHosts: z.array(z.string()), allowHttp: z.boolean() }),
}) satisfies z.ZodType<Policy>;

/** The JSON Schema written next to policy.json as policy.schema.json. */
export function policyJsonSchema(): Record<string, unknown> {
  return z.toJSONSchema(PolicySchema, { target: 'draft-2020-12', unrepresentable: 'any' }) as Record<string, unknown>;
}
