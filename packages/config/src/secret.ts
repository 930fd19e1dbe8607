/**
 * A reference to a secret held in an environment variable. The policy stores the
 * variable's name, never its value; the runtime reads it when it starts.
 */
export interface SecretRef<Name extends string = string> {
  /** The environment variable's name. */
  readonly $secret: Name;
}

/** A value encrypted with `dfc encrypt` under `DFC_MASTER_KEY` (AES-256-GCM). */
export interface EncryptedValue {
  /** The `dfcenc:v1:…` envelope `dfc encrypt` printed. */
  readonly $encrypted: `dfcenc:v1:${string}`;
}

/** Where a credential may come from: an environment variable or an encrypted value, never plain text. */
export type SecretValue = SecretRef | EncryptedValue;

/**
 * Refer to a secret by the name of the environment variable that holds it.
 *
 * @example
 * auth: { jwt: { secret: secret('BLOG_JWT_SECRET') } }
 * database: { type: 'postgres', url: secret('BLOG_DB_URL') }
 */
export function secret<const Name extends string>(name: Name): SecretRef<Name> {
  return { $secret: name };
}

/**
 * A value encrypted with `dfc encrypt`; the runtime decrypts it with
 * `DFC_MASTER_KEY` when it needs it (for a database URL: when the pool opens).
 *
 * @example
 * database: { type: 'mysql', url: encrypted('dfcenc:v1:…') }
 */
export function encrypted(value: `dfcenc:v1:${string}`): EncryptedValue {
  return { $encrypted: value };
}
