import { trace } from './trace.js';
import type { ApiKey, App, Role } from './values.js';

/**
 * A client of the API, identified by its API key (`X-Api-Key`). Give each kind of
 * client its own app and role rather than one blanket key.
 */
export interface AppOptions<N extends string = string, R extends string = string> {
  /**
   * The app's name.
   * @example name: 'web'
   */
  name: N;
  /** What the app is for. */
  description?: string;
  /**
   * The key callers send: `secret('ENV_NAME')`, an `encrypted(…)` value, or
   * `{ sha256: '<hex digest of the key>' }`. A key written in plain text is refused.
   * @example apiKey: secret('BLOG_WEB_KEY')
   */
  apiKey: ApiKey;
  /**
   * The role callers get when their session names none of `roles`: the object
   * `defineRole` returned, or its name (checked against the config's `roles`).
   * @example role: reader
   */
  role?: Role | R;
  /** Roles a session may select through the role claim (`auth.jwt.roleClaim`). */
  roles?: readonly (Role | R)[];
  /**
   * An inactive app's key is refused.
   * @default true
   */
  active?: boolean;
}

/**
 * Declares an app and its API key.
 *
 * @example
 * defineApp({ name: 'web', apiKey: secret('BLOG_WEB_KEY'), role: reader, roles: [editor] })
 */
export function defineApp<const N extends string, const R extends string = never>(app: AppOptions<N, R>): App<N, R> {
  return trace('app', app) as App<N, R>;
}
