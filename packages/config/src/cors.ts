import { trace } from './trace.js';
import type { Cors, Verb } from './values.js';

/** An origin: `*`, or scheme, host and optional port. */
export type Origin = '*' | `https://${string}` | `http://${string}`;

/** A CORS entry, with DreamFactory's fields. */
export interface CorsOptions {
  /**
   * The API path the entry covers; `*` at the end matches anything below.
   * @example path: '/api/v2/blog/*'
   */
  path: '*' | `/${string}`;
  /** What the entry is for. */
  description?: string;
  /**
   * Origins allowed to call (`Access-Control-Allow-Origin`). `*` with
   * `supportsCredentials` is refused by `dfc build`.
   * @example origins: ['https://blog.example.com']
   */
  origins: readonly Origin[];
  /**
   * Methods allowed (`Access-Control-Allow-Methods`).
   * @example methods: ['GET', 'POST']
   */
  methods: readonly Verb[];
  /**
   * Request headers allowed (`Access-Control-Allow-Headers`).
   * @example headers: ['Content-Type', 'Authorization', 'X-Api-Key']
   */
  headers?: readonly string[];
  /** Response headers the browser may read (`Access-Control-Expose-Headers`). */
  exposedHeaders?: readonly string[];
  /**
   * Seconds a browser may cache the preflight answer (`Access-Control-Max-Age`).
   * @default 0
   */
  maxAge?: number;
  /**
   * Whether credentials (cookies, `Authorization`) may be sent
   * (`Access-Control-Allow-Credentials`).
   * @default false
   */
  supportsCredentials?: boolean;
  /**
   * A disabled entry is kept in the config but not applied.
   * @default true
   */
  enabled?: boolean;
}

/**
 * Declares a CORS entry.
 *
 * @example
 * defineCors({ path: '/api/v2/blog/*', origins: ['https://blog.example.com'], methods: ['GET'] })
 */
export function defineCors(cors: CorsOptions): Cors {
  return trace('cors', cors) as Cors;
}
