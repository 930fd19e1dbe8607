import { z } from 'zod';
import { JsonSchema, OPERATIONS, SourceRuleSchema } from './rule.js';

/**
 * zod schemas for a config as the user's module exports it (after `define*`, before
 * normalization). Objects are strict: an unknown key is an error, not a silent no-op.
 * Places where a plaintext secret is *possible* accept a string so that the analyze
 * stage can say precisely why it is refused (a zod "expected object" would not).
 */

export const VERBS = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'] as const;
export type Verb = (typeof VERBS)[number];

export const COLUMN_TYPES = ['string', 'integer', 'number', 'bool', 'date', 'json'] as const;
export type ColumnType = (typeof COLUMN_TYPES)[number];

export const DATABASE_TYPES = ['sqlite', 'postgres', 'mysql'] as const;
export type DatabaseType = (typeof DATABASE_TYPES)[number];

export const FILTER_OPERATORS = [
  '=',
  '!=',
  '<>',
  '>',
  '>=',
  '<',
  '<=',
  'in',
  'not in',
  'like',
  'starts with',
  'ends with',
  'contains',
  'is null',
  'is not null',
] as const;
export type FilterOperator = (typeof FILTER_OPERATORS)[number];

export const JWT_ALGORITHMS = [
  'HS256',
  'HS384',
  'HS512',
  'RS256',
  'RS384',
  'RS512',
  'PS256',
  'PS384',
  'PS512',
  'ES256',
  'ES384',
  'ES512',
  'EdDSA',
] as const;
export type JwtAlgorithm = (typeof JWT_ALGORITHMS)[number];

/** Names of services, tables, columns, roles, apps: what may appear in a URL or SQL identifier. */
export const NAME_PATTERN = /^[A-Za-z_][A-Za-z0-9_]*$/;
/** Service names may also hold `-` and `.` (DreamFactory allows them in URLs). */
export const SERVICE_NAME_PATTERN = /^[A-Za-z_][A-Za-z0-9_.-]*$/;
export const ENV_NAME_PATTERN = /^[A-Za-z_][A-Za-z0-9_]*$/;

const Name = z.string().regex(NAME_PATTERN, { message: 'must be a letter or `_` followed by letters, digits or `_`' });
const ServiceName = z
  .string()
  .regex(SERVICE_NAME_PATTERN, { message: 'must be a letter or `_` followed by letters, digits, `_`, `-` or `.`' });

export const SecretRefSchema = z.strictObject({ $secret: z.string().regex(ENV_NAME_PATTERN) });
export const EncryptedValueSchema = z.strictObject({ $encrypted: z.string().startsWith('dfcenc:v1:') });
export const SecretValueSchema = z.union([SecretRefSchema, EncryptedValueSchema]);
/** A value that must be a secret; a plain string is accepted here and refused by a lint. */
const SecretOrPlain = z.union([SecretValueSchema, z.string()]);

export const RequirementSchema = z.discriminatedUnion('type', [
  z.strictObject({ type: z.literal('allowAnonymous') }),
  z.strictObject({ type: z.literal('authenticated') }),
  z.strictObject({ type: z.literal('role'), roles: z.array(z.string().min(1)).min(1) }),
  z.strictObject({ type: z.literal('rule'), rule: SourceRuleSchema }),
]);
export const RequirementBlockSchema = z.record(z.string().min(1), RequirementSchema);

export const ColumnSchema = z.union([
  z.enum(COLUMN_TYPES),
  z.strictObject({
    type: z.enum(COLUMN_TYPES),
    nullable: z.boolean().optional(),
    description: z.string().optional(),
    security: RequirementBlockSchema.optional(),
  }),
]);

export const TableSchema = z.strictObject({
  columns: z.record(Name, ColumnSchema),
  primaryKey: Name,
  description: z.string().optional(),
  security: RequirementBlockSchema.optional(),
});

export const DatabaseSchema = z.discriminatedUnion('type', [
  z.strictObject({
    type: z.literal('sqlite'),
    /** Relative to the config file's directory. */
    file: z.string().min(1),
    /** A JSON file (relative to the config) of rows per table, inserted when `dfc serve` creates the database. */
    seed: z.string().min(1).optional(),
  }),
  z.strictObject({
    type: z.literal('postgres'),
    url: SecretOrPlain,
    schema: Name.optional(),
    pool: z.strictObject({ max: z.number().int().positive().max(1000).optional() }).optional(),
    preparedStatements: z.boolean().optional(),
  }),
  z.strictObject({
    type: z.literal('mysql'),
    url: SecretOrPlain,
    pool: z.strictObject({ max: z.number().int().positive().max(1000).optional() }).optional(),
  }),
]);

export const ServiceSchema = z.strictObject({
  name: ServiceName,
  description: z.string().optional(),
  database: DatabaseSchema,
  tables: z.record(Name, TableSchema),
  security: RequirementBlockSchema.optional(),
  /** Largest page a GET may return (DreamFactory's `max_records`). */
  maxRecords: z.number().int().positive().max(100_000).optional(),
});

export const RuleSetSchema = z.strictObject({
  service: ServiceName,
  table: z.union([Name, z.literal('default')]),
  rules: z.strictObject(Object.fromEntries(OPERATIONS.map((op) => [op, SourceRuleSchema.optional()]))),
});

/** A reference to a service: the object `defineService` returned, its name, or `*` for all. */
const ServiceRef = z.union([z.string().min(1), z.looseObject({ name: z.string() })]);
/** A reference to a role: the object `defineRole` returned, or its name. */
const RoleRef = z.union([z.string().min(1), z.looseObject({ name: z.string(), access: z.array(z.unknown()) })]);

export const RoleFilterSchema = z.strictObject({
  name: Name,
  operator: z.enum(FILTER_OPERATORS),
  value: JsonSchema.optional(),
});

export const AccessSchema = z.strictObject({
  service: ServiceRef,
  component: z.string(),
  verbs: z.array(z.enum(VERBS)),
  requestor: z.array(z.enum(['api', 'script'])).min(1).optional(),
  filters: z.array(RoleFilterSchema).optional(),
  filterOp: z.enum(['AND', 'OR']).optional(),
});

export const RoleSchema = z.strictObject({
  name: Name,
  description: z.string().optional(),
  active: z.boolean().optional(),
  access: z.array(AccessSchema),
});

export const AppSchema = z.strictObject({
  name: Name,
  description: z.string().optional(),
  apiKey: z.union([SecretOrPlain, z.strictObject({ sha256: z.string().regex(/^[0-9a-f]{64}$/) })]),
  /** The role a caller of this app gets when their session names none (or none of `roles`). */
  role: RoleRef.optional(),
  /** Roles a session may select for this app through the role claim. */
  roles: z.array(RoleRef).optional(),
  active: z.boolean().optional(),
});

export const CorsSchema = z.strictObject({
  path: z.string().min(1),
  description: z.string().optional(),
  origins: z.array(z.string().min(1)),
  methods: z.array(z.enum(VERBS)),
  headers: z.array(z.string().min(1)).optional(),
  exposedHeaders: z.array(z.string().min(1)).optional(),
  maxAge: z.number().int().min(0).max(86_400).optional(),
  supportsCredentials: z.boolean().optional(),
  enabled: z.boolean().optional(),
});

export const JwtSchema = z.strictObject({
  secret: SecretOrPlain.optional(),
  publicKey: SecretOrPlain.optional(),
  jwksUrl: z.url().optional(),
  algorithms: z.array(z.enum(JWT_ALGORITHMS)).min(1).optional(),
  issuer: z.string().min(1).optional(),
  audience: z.union([z.string().min(1), z.array(z.string().min(1)).min(1)]).optional(),
  /** Claim that names the user's role; the app decides whether it may be used. */
  roleClaim: z.string().min(1).optional(),
  /** Seconds of clock skew tolerated on `exp`/`nbf`/`iat`. */
  clockTolerance: z.number().int().min(0).max(60).optional(),
});

export const AuthSchema = z.strictObject({
  jwt: JwtSchema.optional(),
  /** Accept `?api_key=` and `?session_token=` (DreamFactory compatibility); default true. */
  queryCredentials: z.boolean().optional(),
});

export const ConfigSchema = z.strictObject({
  services: z.array(ServiceSchema).min(1),
  rules: z.array(RuleSetSchema).optional(),
  roles: z.array(RoleSchema).optional(),
  apps: z.array(AppSchema).optional(),
  cors: z.array(CorsSchema).optional(),
  auth: AuthSchema.optional(),
  /** `production` (the default) hides error details whatever `debug` says at run time. */
  environment: z.enum(['production', 'development']).optional(),
  /** Add error details and decision traces to responses. Refused in production. */
  debug: z.boolean().optional(),
  crypto: z.strictObject({ key: SecretOrPlain }).optional(),
  server: z
    .strictObject({
      defaultPageSize: z.number().int().positive().max(100_000).optional(),
      maxPageSize: z.number().int().positive().max(100_000).optional(),
      bodyLimit: z.number().int().positive().max(100 * 1024 * 1024).optional(),
    })
    .optional(),
  admin: z
    .strictObject({
      token: SecretOrPlain,
      host: z.string().optional(),
      port: z.number().int().min(0).max(65_535).optional(),
    })
    .optional(),
  webhooks: z
    .strictObject({
      /** Hosts that may resolve to private or loopback addresses (for local development). */
      allowPrivateHosts: z.array(z.string().min(1)).optional(),
      /** Allow `http:` webhook URLs (otherwise only `https:`). */
      allowHttp: z.boolean().optional(),
    })
    .optional(),
});

export type SecretRef = z.infer<typeof SecretRefSchema>;
export type EncryptedValue = z.infer<typeof EncryptedValueSchema>;
export type SecretValue = z.infer<typeof SecretValueSchema>;
export type Requirement = z.infer<typeof RequirementSchema>;
export type RequirementBlock = z.infer<typeof RequirementBlockSchema>;
export type ConfigColumn = z.infer<typeof ColumnSchema>;
export type ConfigTable = z.infer<typeof TableSchema>;
export type ConfigDatabase = z.infer<typeof DatabaseSchema>;
export type ConfigService = z.infer<typeof ServiceSchema>;
export type ConfigRuleSet = z.infer<typeof RuleSetSchema>;
export type ConfigRoleFilter = z.infer<typeof RoleFilterSchema>;
export type ConfigAccess = z.infer<typeof AccessSchema>;
export type ConfigRole = z.infer<typeof RoleSchema>;
export type ConfigApp = z.infer<typeof AppSchema>;
export type ConfigCors = z.infer<typeof CorsSchema>;
export type ConfigJwt = z.infer<typeof JwtSchema>;
export type ConfigAuth = z.infer<typeof AuthSchema>;
export type Config = z.infer<typeof ConfigSchema>;
