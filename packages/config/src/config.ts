import type { UnknownOption } from './check.js';
import type { SecretValue } from './secret.js';
import type { Service } from './service.js';
import type { ChecksOff, HoverDocs } from './index.js';
import { trace } from './trace.js';
import type { App, Cors, Role, RuleSet, Writable } from './values.js';

/** JWT signature algorithms. */
export type JwtAlgorithm =
  | 'HS256'
  | 'HS384'
  | 'HS512'
  | 'RS256'
  | 'RS384'
  | 'RS512'
  | 'PS256'
  | 'PS384'
  | 'PS512'
  | 'ES256'
  | 'ES384'
  | 'ES512'
  | 'EdDSA';

interface JwtCommonOptions {
  /**
   * Algorithms accepted; others are refused (never `none`).
   * @default ['HS256'] with `secret`; with a PEM `publicKey`, the key's algorithm (ES256/384/512,
   * EdDSA, PS256 or RS256); otherwise (`jwksUrl`, a key held in a secret) ['RS256']
   */
  algorithms?: readonly JwtAlgorithm[];
  /**
   * Required `iss` claim.
   * @example issuer: 'https://id.example.com'
   */
  issuer?: string;
  /**
   * Required `aud` claim (one of them, when a list).
   * @example audience: 'blog'
   */
  audience?: string | readonly [string, ...string[]];
  /**
   * The claim that names the caller's role; an app decides which roles it accepts.
   * @example roleClaim: 'role'
   */
  roleClaim?: string;
  /**
   * Seconds of clock skew tolerated on `exp`, `nbf` and `iat`, at most 60.
   * @default 30
   */
  clockTolerance?: number;
}

/** Sessions signed with a shared secret (HS256/384/512). */
export interface JwtSecretOptions extends JwtCommonOptions {
  /**
   * The HMAC secret (at least 32 bytes), as a secret reference.
   * @example secret: secret('BLOG_JWT_SECRET')
   */
  secret: SecretValue;
  publicKey?: never;
  jwksUrl?: never;
}

/** Sessions signed with a private key whose public key is given here. */
export interface JwtPublicKeyOptions extends JwtCommonOptions {
  /** A PEM public key (`-----BEGIN PUBLIC KEY-----…`) or a secret holding one. */
  publicKey: SecretValue | `-----BEGIN ${string}`;
  secret?: never;
  jwksUrl?: never;
}

/** Sessions signed by an identity provider that publishes its keys (JWKS). */
export interface JwtJwksOptions extends JwtCommonOptions {
  /**
   * The JWKS URL.
   * @example jwksUrl: 'https://id.example.com/.well-known/jwks.json'
   */
  jwksUrl: `https://${string}` | `http://${string}`;
  secret?: never;
  publicKey?: never;
}

/** How session tokens (`Authorization: Bearer …`) are verified: exactly one key source. */
export type JwtOptions = JwtSecretOptions | JwtPublicKeyOptions | JwtJwksOptions;

/** Authentication options. */
export interface AuthOptions {
  /** Session tokens (JWT). Without it, no request has a session. */
  jwt?: JwtOptions;
  /**
   * Accept `?api_key=` and `?session_token=` (DreamFactory compatibility).
   * Query strings end up in logs; prefer headers.
   * @default true
   */
  queryCredentials?: boolean;
}

/** HTTP server limits. */
export interface ServerOptions {
  /**
   * Rows a GET returns when it sets no `limit`.
   * @default 100
   */
  defaultPageSize?: number;
  /**
   * Largest `limit` a GET may ask for (a service's `maxRecords` may lower it).
   * @default 1000
   */
  maxPageSize?: number;
  /**
   * Largest request body, in bytes.
   * @default 1048576
   */
  bodyLimit?: number;
}

/** The admin endpoints (health, readiness, policy hash, reload, metrics). */
export interface AdminOptions {
  /**
   * Token required on every admin request, as a secret.
   * @example token: secret('BLOG_ADMIN_TOKEN')
   */
  token: SecretValue;
  /**
   * Address the admin endpoints listen on, apart from the API.
   * @default '127.0.0.1'
   */
  host?: string;
  /** Port of the admin endpoints. */
  port?: number;
}

/** Limits on where `webhook` rules may call. */
export interface WebhookOptions {
  /** Hosts that may resolve to private or loopback addresses (local development). */
  allowPrivateHosts?: readonly string[];
  /**
   * Allow `http:` webhook URLs.
   * @default false
   */
  allowHttp?: boolean;
}

/** Field encryption for `encrypt`/`decrypt` rules. */
export interface CryptoOptions {
  /**
   * The AES-256 key: base64 of 32 random bytes, as a secret.
   * @example key: secret('BLOG_FIELD_KEY')
   */
  key: SecretValue;
}

/** The whole policy: the default export of `dfc.config.ts`. */
export interface ConfigOptions {
  /** The services exposed (at least one). */
  services: readonly [Service, ...Service[]];
  /** Data rules, one `defineRule` per table (and `default`). */
  rules?: readonly [] | readonly [RuleSet, ...RuleSet[]];
  /** Roles. */
  roles?: readonly [] | readonly [Role, ...Role[]];
  /** Apps and their API keys. */
  apps?: readonly [] | readonly [App, ...App[]];
  /** CORS entries. */
  cors?: readonly [] | readonly [Cors, ...Cors[]];
  /** Sessions. */
  auth?: AuthOptions;
  /**
   * `production` hides error details whatever `debug` says.
   * @default 'production'
   */
  environment?: 'production' | 'development';
  /**
   * Add error details and decision traces to responses; refused in production.
   * @default false
   */
  debug?: boolean;
  /** Field encryption key. */
  crypto?: CryptoOptions;
  /** HTTP limits. */
  server?: ServerOptions;
  /** Admin endpoints. */
  admin?: AdminOptions;
  /** Webhook limits. */
  webhooks?: WebhookOptions;
}

/** What `defineConfig` returns: the config as plain data (plus code rules' functions). */
export type Config = {
  services: Service[];
  rules?: RuleSet[];
  roles?: Role[];
  apps?: App[];
  cors?: Cors[];
  auth?: Writable<AuthOptions>;
  environment?: 'production' | 'development';
  debug?: boolean;
  crypto?: CryptoOptions;
  server?: ServerOptions;
  admin?: AdminOptions;
  webhooks?: Writable<WebhookOptions>;
};

type NamesOf<L> = L extends readonly unknown[] ? (L[number] extends { name: infer N } ? N : never) : never;
type ConfigKey = keyof ConfigOptions;

type CheckRuleSets<C, L> = L extends readonly unknown[]
  ? {
      [I in keyof L]: L[I] extends { service: infer S extends string }
        ? S extends NamesOf<C extends { services: infer V } ? V : never>
          ? L[I]
          : `rules for service \`${S}\`, which is not in \`services\``
        : L[I];
    }
  : L;

type RoleNames<C> = NamesOf<C extends { roles: infer V } ? V : never> & string;

type CheckRoleRef<C, R> = R extends string
  ? string extends R
    ? R
    : R extends RoleNames<C>
      ? R
      : RoleNames<C> | Role<RoleNames<C>>
  : R extends Role<infer N>
    ? string extends N
      ? R
      : N extends RoleNames<C>
        ? R
        : RoleNames<C> | Role<RoleNames<C>>
    : R;

type CheckApps<C, L> = L extends readonly unknown[]
  ? {
      [I in keyof L]: {
        [K in keyof L[I]]: K extends 'role'
          ? CheckRoleRef<C, L[I][K]>
          : K extends 'roles'
            ? CheckRoleRef<C, L[I][K] extends readonly (infer E)[] | undefined ? E : never>[]
            : L[I][K];
      };
    }
  : L;

/** Checks a config: rule sets name listed services, apps name listed roles. */
export type CheckConfig<C> = {
  [K in keyof C]: K extends 'rules'
    ? CheckRuleSets<C, C[K]>
    : K extends 'apps'
      ? CheckApps<C, C[K]>
      : K extends ConfigKey
        ? C[K]
        : UnknownOption<K, 'the config'>;
};

/**
 * Declares the config; `dfc.config.ts` exports it as default.
 *
 * @example
 * export default defineConfig({
 *   services: [blog],
 *   rules: [posts],
 *   roles: [editor],
 *   apps: [defineApp({ name: 'web', apiKey: secret('BLOG_WEB_KEY'), role: editor })],
 *   auth: { jwt: { secret: secret('BLOG_JWT_SECRET'), issuer: 'https://id.example.com', audience: 'blog' } },
 * });
 */
export function defineConfig<C extends ConfigOptions>(
  config: ChecksOff extends true ? C : C extends CheckConfig<C> ? C & HoverDocs<ConfigOptions> : CheckConfig<C>,
): Config {
  const value: unknown = config; // the checked parameter type is not needed past this point
  return trace('config', value) as Config;
}
