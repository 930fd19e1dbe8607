import type { AllColumns, ServiceLike, TablesOf, UnknownOption } from './check.js';
import type { JsonValue } from './context.js';
import type { ChecksOff, HoverDocs } from './index.js';
import { trace } from './trace.js';
import type { FilterOperator, Role, Verb } from './values.js';

/**
 * The part of a service an access entry covers: everything (`*`), every table
 * (`_table/*`), one table (`_table/posts`, which also covers `_table/posts/{id}`),
 * the schema endpoints, or the OpenAPI description (`_doc`).
 */
export type Component<T extends string = string> =
  | '*'
  | '_table/*'
  | `_table/${T}`
  | '_schema'
  | '_schema/*'
  | `_schema/${T}`
  | '_doc';

/** Lookups a filter value may use; they become bound parameters, never text in SQL. */
export type FilterLookup = '{user.id}' | '{user.email}' | '{user.role}' | `{user.${string}}`;

/**
 * A server-side row condition (DreamFactory's role filter), applied to every query
 * the role makes on the table; written rows must satisfy it too.
 * @example { name: 'userId', operator: '=', value: '{user.id}' }
 */
export interface RoleFilterOptions {
  /** The column compared. */
  name: string;
  /** The comparison. */
  operator: FilterOperator;
  /**
   * The value: a literal, a list (for `in`), or a lookup such as `{user.id}`
   * (the session's claim). Absent for `is null` / `is not null`.
   */
  value?: '{user.id}' | '{user.email}' | '{user.role}' | (string & {}) | number | boolean | null | readonly JsonValue[];
}

/** What callers holding a role may do on (part of) a service. */
export interface AccessOptions {
  /**
   * The service: the object `defineService` returned, or `'*'` for every service
   * (then `component` must be `'*'`).
   */
  service: ServiceLike | '*';
  /**
   * The part of the service: `'*'`, `'_table/*'`, `'_table/<table>'`, `'_schema'`,
   * `'_schema/*'`, `'_schema/<table>'` or `'_doc'`. The most specific matching
   * entry decides.
   * @example component: '_table/posts'
   */
  component: '*' | '_table/*' | '_schema' | '_schema/*' | '_doc' | (string & {});
  /**
   * HTTP verbs allowed. PUT and PATCH are updates, POST creates, DELETE deletes.
   * @example verbs: ['GET', 'POST']
   */
  verbs: readonly Verb[];
  /**
   * Who may use the entry: API callers, server-side scripts, or both.
   * @default ['api']
   */
  requestor?: readonly ('api' | 'script')[];
  /** Row conditions applied to every query through this entry. */
  filters?: readonly RoleFilterOptions[];
  /**
   * How filters combine.
   * @default 'AND'
   */
  filterOp?: 'AND' | 'OR';
}

/** A named set of access entries (DreamFactory's role). (`N` keeps the name literal.) */
export interface RoleOptions<N extends string = string> {
  /**
   * The role's name, used by apps, sessions (the role claim) and `role` requirements.
   * @example name: 'editor'
   */
  name: N;
  /** What the role is for. */
  description?: string;
  /**
   * An inactive role grants nothing.
   * @default true
   */
  active?: boolean;
  /** The access entries. */
  access: readonly AccessOptions[];
}

/**
 * The constraint `defineRole` infers with: tuples, so each access entry keeps its
 * own service and component (and its filters are checked against that table).
 */
type RoleInput<N extends string> = RoleOptions<N> & {
  // A tuple, also for the build's first pass: an array literal typed by an array type
  // is the union of its elements' types, reduced pairwise (1,000 entries: seconds).
  access: readonly [] | readonly [AccessInput, ...AccessInput[]];
};
type AccessInput = AccessOptions & { filters?: readonly [] | readonly [RoleFilterOptions, ...RoleFilterOptions[]] };

type AccessKey = keyof AccessOptions;
type RoleKey = keyof RoleOptions;
type FilterKey = keyof RoleFilterOptions;

type TableNames<S extends ServiceLike> = keyof S['tables'] & string;

type FilterColumns<S extends ServiceLike, C> = C extends `_table/${infer T}`
  ? T extends TableNames<S>
    ? keyof TablesOf<S>[T] & string
    : keyof AllColumns<TablesOf<S>> & string
  : keyof AllColumns<TablesOf<S>> & string;

type CheckFilters<S extends ServiceLike, C, F> = F extends readonly unknown[]
  ? {
      [I in keyof F]: {
        [K in keyof F[I]]: K extends 'name'
          ? F[I][K] extends FilterColumns<S, C>
            ? F[I][K]
            : FilterColumns<S, C>
          : K extends FilterKey
            ? F[I][K]
            : UnknownOption<K, 'a role filter'>;
      };
    }
  : F;

type CheckAccess<E> = E extends { service: infer Svc }
  ? {
      [K in keyof E]: K extends 'component'
        ? Svc extends ServiceLike
          ? E[K] extends Component<TableNames<Svc>>
            ? E[K]
            : // written out (not `Component<…>`) so the error lists the components
              | '*'
              | '_table/*'
              | `_table/${TableNames<Svc>}`
              | '_schema'
              | '_schema/*'
              | `_schema/${TableNames<Svc>}`
              | '_doc'
          : '*'
        : K extends 'filters'
          ? Svc extends ServiceLike
            ? CheckFilters<Svc, E extends { component: infer C } ? C : never, E[K]>
            : E[K]
          : K extends AccessKey
            ? E[K]
            : UnknownOption<K, 'an access entry'>;
    }
  : E;

/** Each entry checked (a homomorphic map over the tuple, so `length` stays as is). */
type CheckAccessList<L> = { [I in keyof L]: CheckAccess<L[I]> & HoverDocs<AccessOptions> };

/** Checks a role: components and filter columns against each entry's service. */
export type CheckRole<R> = {
  [K in keyof R]: K extends 'access'
    ? R[K] extends readonly unknown[]
      ? CheckAccessList<R[K]>
      : R[K]
    : K extends RoleKey
      ? R[K]
      : UnknownOption<K, 'a role'>;
};

/**
 * Declares a role: which verbs on which services and tables, with optional row
 * filters. Components and filter columns are checked against the service.
 *
 * @example
 * export const editor = defineRole({
 *   name: 'editor',
 *   access: [{ service: blog, component: '_table/posts', verbs: ['GET', 'POST', 'PATCH'],
 *              filters: [{ name: 'userId', operator: '=', value: '{user.id}' }] }],
 * });
 */
export function defineRole<N extends string, R extends RoleInput<N>>(
  // Valid: the checked shape with the declared options, whose JSDoc becomes hover
  // text (also inside access entries). Invalid: the check's messages.
  role: ChecksOff extends true ? R : R extends CheckRole<R> ? CheckRole<R> & HoverDocs<RoleOptions> : CheckRole<R>,
): Role<R['name']> {
  const value: unknown = role; // the checked parameter type is not needed past this point
  return trace('role', value) as Role<R['name']>;
}
