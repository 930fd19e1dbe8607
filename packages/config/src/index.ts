/**
 * @dfc/config: the functions and types for writing `dfc.config.ts`. Every
 * define* function returns its argument (`defineRule` wraps it with the service
 * and table); the types do the work, in the editor and in `dfc build`.
 */
/**
 * Settings a program may merge into with a module augmentation; an editor never
 * sees them. `dfc build` sets them when it type-checks a config:
 *
 * - `hoverDocs: false`: it shows no hover text, so it leaves out the
 *   documentation-only types the define* functions intersect a valid argument with
 *   (their JSDoc is what an editor shows on hover). They never change what is
 *   accepted, and relating every rule, clause list and access entry to them was most
 *   of the type checker's work on large configs.
 * - `checks: false` (first pass only): the define* functions take their arguments
 *   as written, without the checks that turn a wrong path, column, table or role
 *   into an error (`CheckRuleSet`, `CheckService`, `CheckRole`, `CheckConfig`) and
 *   without the completion types of every rule option. The build's own validation
 *   and lints report the same mistakes; when they find one, `dfc build` checks the
 *   config again with these checks on and reports what they say, so the messages
 *   are the editor's. Code rules' `fn` keeps its typed arguments. The build also
 *   gives `defineRule` a signature of its own for rule sets without a code rule
 *   (`RuleSetWithoutCode`), tried first.
 *
 * @example
 * declare module '@dfc/config' { interface TypeSettings { hoverDocs: false; checks: false } }
 */
// eslint-disable-next-line @typescript-eslint/no-empty-object-type -- filled by module augmentation
export interface TypeSettings {}

/** `D`, a documentation-only type; `unknown` when the program turned hover text off. */
export type HoverDocs<D> = TypeSettings extends { hoverDocs: false } ? unknown : D;

/** `true` when the program turned the authoring checks off (see `TypeSettings`). */
export type ChecksOff = TypeSettings extends { checks: false } ? true : false;

export { defineConfig } from './config.js';
export { defineService } from './service.js';
export { defineRule } from './rule-set.js';
export { defineRole } from './role.js';
export { defineApp } from './app.js';
export { defineCors } from './cors.js';
export { secret, encrypted } from './secret.js';
export { definePolicyTest, definePolicyTests } from './policy-test.js';
export { TRACE_HOOK } from './trace.js';

export type { DefinitionKind, TraceHook } from './trace.js';
export type { SecretRef, EncryptedValue, SecretValue } from './secret.js';
export type {
  ColumnType,
  ColumnTypes,
  ColumnValue,
  JsonValue,
  KnownPath,
  FieldPath,
  Operation,
  Row,
  RuleContext,
  SuggestedPath,
  UpdateOperator,
  VariablePath,
} from './context.js';
export type {
  AllowRule,
  AndRule,
  AuthenticatedRule,
  BoolMatchRule,
  BoolOperand,
  Claims,
  CodeArgs,
  CodeRule,
  DateMatchRule,
  DecryptRule,
  DenyRule,
  EncryptRule,
  FieldOperand,
  FindOperator,
  FindValue,
  ForceRule,
  HashRule,
  MatchRule,
  NumberInRule,
  NumberMatchRule,
  NumberOperand,
  OrRule,
  QueryRule,
  RemoveRule,
  Rule,
  RuleDocs,
  RuleKind,
  StringInRule,
  StringMatchRule,
  StringOperand,
  WebhookRule,
} from './rules.js';
export type {
  AllowAnonymousRequirement,
  AuthenticatedRequirement,
  ColumnDefinition,
  ColumnOptions,
  DatabaseOptions,
  MysqlDatabase,
  PoolOptions,
  PostgresDatabase,
  Requirement,
  RequirementBlock,
  RoleRequirement,
  RuleRequirement,
  Service,
  ServiceOptions,
  SqliteDatabase,
  TableOptions,
  TableValue,
} from './service.js';
export type { LooseRule, LooseRuleSet, RuleFor, RuleSetOptions, RuleSetWithoutCode, RuleWithoutCode } from './rule-set.js';
export type { AccessOptions, CheckRole, Component, FilterLookup, RoleFilterOptions, RoleOptions } from './role.js';
export type { AppOptions } from './app.js';
export type {
  EncryptedFixture,
  ExpectedArgs,
  HashedFixture,
  PolicyTest,
  PolicyTestExpect,
  PolicyTestOptions,
  PolicyTestRequest,
  ServiceEndpoint,
  StoredRow,
  TestRow,
  TestUpdate,
  WebhookFixture,
} from './policy-test.js';
export type { CorsOptions, Origin } from './cors.js';
export type {
  AdminOptions,
  AuthOptions,
  CheckConfig,
  Config,
  ConfigOptions,
  CryptoOptions,
  JwtAlgorithm,
  JwtJwksOptions,
  JwtOptions,
  JwtPublicKeyOptions,
  JwtSecretOptions,
  ServerOptions,
  WebhookOptions,
} from './config.js';
export type {
  CheckBlock,
  CheckPath,
  CheckRule,
  CheckRuleSet,
  CheckService,
  ContextOf,
  DateLiteral,
  PathError,
  RuleTable,
  ServiceLike,
  TablesOf,
} from './check.js';
export type {
  AccessValue,
  ApiKey,
  App,
  Cors,
  FilterOperator,
  MatchEval,
  MatchType,
  RequirementBlockValue,
  RequirementValue,
  Role,
  RoleFilterValue,
  RuleSet,
  RuleSetRules,
  RuleValue,
  Verb,
  Writable,
} from './values.js';
