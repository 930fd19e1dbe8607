import type { ColumnType, JsonValue } from './context.js';
import type { SecretValue } from './secret.js';

/**
 * What the define* functions return, with the precise authoring types erased:
 * (Type aliases rather than interfaces: they get implicit index signatures, which
 * zod's loose object types ask for.)
 * the plain shapes the config loader validates (they match `@dfc/schema`'s zod
 * schemas). Names of services, tables, columns, roles and apps stay literal so
 * later definitions can be checked against them.
 */

/** HTTP verbs a role may grant and a CORS entry may allow. */
export type Verb = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

/** Comparison operators of `match` rules. */
export type MatchEval = '==' | '!=' | '>' | '>=' | '<' | '<=' | 'in' | 'notIn';
/** Operand types of `match` rules. */
export type MatchType = 'string' | 'number' | 'bool' | 'date';

interface Meta {
  /** Shown in denial messages and logs. */
  name?: string;
  /** Replaces the denial message. */
  error?: string;
}

/** A rule in its plain form (paths are strings; a `code` rule's function takes any args). */
export type RuleValue =
  | ({ rule: 'allow' } & Meta)
  | ({ rule: 'deny' } & Meta)
  | ({ rule: 'authenticated' } & Meta)
  | ({ rule: 'match'; eval: MatchEval; type: MatchType; f1: JsonValue; f2: JsonValue } & Meta)
  | ({ rule: 'and'; clauses: RuleValue[] } & Meta)
  | ({ rule: 'or'; clauses: RuleValue[] } & Meta)
  | ({
      rule: 'query';
      db: string;
      col: string;
      find: { [column: string]: JsonValue };
      store?: string;
      clause?: RuleValue;
    } & Meta)
  | ({ rule: 'remove'; fields: string[]; clause?: RuleValue } & Meta)
  | ({ rule: 'force'; field: string; value: JsonValue; clause?: RuleValue } & Meta)
  | ({ rule: 'encrypt'; fields: string[]; clause?: RuleValue } & Meta)
  | ({ rule: 'decrypt'; fields: string[]; clause?: RuleValue } & Meta)
  | ({ rule: 'hash'; fields: string[]; clause?: RuleValue } & Meta)
  | ({ rule: 'webhook'; url: string; timeout?: number; store?: string; clause?: RuleValue } & Meta)
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- erased form: the typed one is CodeRule
  | ({ rule: 'code'; fn: (args: any) => boolean | Promise<boolean> } & Meta);

/** A requirement in its plain form. */
export type RequirementValue =
  | { type: 'allowAnonymous' }
  | { type: 'authenticated' }
  | { type: 'role'; roles: string[] }
  | { type: 'rule'; rule: RuleValue };

/** A requirement collection: requirement name → requirement. */
export type RequirementBlockValue = { [name: string]: RequirementValue };

/** A column in its plain form. */
export type ColumnValueDefinition<T extends ColumnType = ColumnType> =
  | T
  | { type: T; nullable?: boolean; description?: string; security?: RequirementBlockValue };

/** A database in its plain form. */
export type DatabaseValue =
  | { type: 'sqlite'; file: string; seed?: string }
  | { type: 'postgres'; url: SecretValue; schema?: string; pool?: { max?: number }; preparedStatements?: boolean }
  | { type: 'mysql'; url: SecretValue; pool?: { max?: number } };

/** The operations of a rule set, each with its rule. */
export type RuleSetRules = {
  create?: RuleValue;
  read?: RuleValue;
  update?: RuleValue;
  delete?: RuleValue;
};

/** What `defineRule` returns: the rules of one table (or `default`) of one service. */
export type RuleSet<S extends string = string, T extends string = string> = {
  /** The service's name. */
  service: S;
  /** The table, or `default` for the service's fallback rules. */
  table: T;
  rules: RuleSetRules;
};

/** A role filter in its plain form. */
export type RoleFilterValue = {
  name: string;
  operator: FilterOperator;
  value?: JsonValue;
};

/** Filter operators of role filters (DreamFactory's). */
export type FilterOperator =
  | '='
  | '!='
  | '<>'
  | '>'
  | '>='
  | '<'
  | '<='
  | 'in'
  | 'not in'
  | 'like'
  | 'starts with'
  | 'ends with'
  | 'contains'
  | 'is null'
  | 'is not null';

/** A role access entry in its plain form. */
export type AccessValue = {
  service: string | { name: string };
  component: string;
  verbs: Verb[];
  requestor?: ('api' | 'script')[];
  filters?: RoleFilterValue[];
  filterOp?: 'AND' | 'OR';
};

/** What `defineRole` returns. */
export type Role<N extends string = string> = {
  name: N;
  description?: string;
  active?: boolean;
  access: AccessValue[];
};

/** An API key: a secret reference or the SHA-256 (hex) of the key. Never the key itself. */
export type ApiKey = SecretValue | { sha256: string };

/** What `defineApp` returns (`R`: the role names it refers to by string). */
export type App<N extends string = string, R extends string = string> = {
  name: N;
  description?: string;
  apiKey: ApiKey;
  role?: R | Role;
  roles?: (R | Role)[];
  active?: boolean;
};

/** What `defineCors` returns. */
export type Cors = {
  path: string;
  description?: string;
  origins: string[];
  methods: Verb[];
  headers?: string[];
  exposedHeaders?: string[];
  maxAge?: number;
  supportsCredentials?: boolean;
  enabled?: boolean;
};

/** `T` with every `readonly` removed, deeply (for plain data returned to the loader). */
export type Writable<T> = T extends (...args: never[]) => unknown
  ? T
  : T extends readonly (infer E)[]
    ? Writable<E>[]
    : T extends object
      ? { -readonly [K in keyof T]: Writable<T[K]> }
      : T;
