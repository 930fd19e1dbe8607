/**
 * Every error the runtime can report, in one table (the fastify `FST_ERR_*` manner).
 * `status` is the HTTP status for errors a request can cause, or `null` for errors that
 * stop the runtime from starting or reloading (a broken artifact, a missing secret).
 *
 * invariant: docs/errors.md lists exactly these codes with these statuses
 * (checked by errors.test.ts).
 */
export const ERRORS = {
  // 400: the request itself is wrong
  DFC_ERR_BAD_REQUEST: { status: 400, message: 'bad request' },
  DFC_ERR_INVALID_JSON: { status: 400, message: 'the request body is not valid JSON' },
  DFC_ERR_JSON_TOO_DEEP: { status: 400, message: 'the request body is nested too deeply' },
  DFC_ERR_FORBIDDEN_KEY: { status: 400, message: 'the request body holds a forbidden key' },
  DFC_ERR_DUPLICATE_PARAMETER: { status: 400, message: 'a query parameter is repeated' },
  DFC_ERR_DUPLICATE_CREDENTIALS: { status: 400, message: 'the request carries conflicting credentials' },
  DFC_ERR_BAD_PARAMETER: { status: 400, message: 'a query parameter is invalid' },
  DFC_ERR_BAD_FILTER: { status: 400, message: 'the filter is invalid' },
  DFC_ERR_BAD_RECORD: { status: 400, message: 'a record in the request is invalid' },
  DFC_ERR_NO_RECORDS: { status: 400, message: 'the request names no records' },
  DFC_ERR_INVALID_DATA: { status: 400, message: 'the database refused a value in the request' },
  // 401: who is calling is unknown
  DFC_ERR_NO_API_KEY: { status: 401, message: 'an api key is required' },
  DFC_ERR_INVALID_API_KEY: { status: 401, message: 'the api key is not valid' },
  DFC_ERR_INVALID_TOKEN: { status: 401, message: 'the session token is not valid' },
  DFC_ERR_AUTH_REQUIRED: { status: 401, message: 'a session is required' },
  // 403: who is calling may not do this
  DFC_ERR_NO_ROLE: { status: 403, message: 'the app grants no role' },
  DFC_ERR_ROLE_INACTIVE: { status: 403, message: 'the role is not active' },
  DFC_ERR_ACCESS_DENIED: { status: 403, message: "the role's access does not allow this request" },
  DFC_ERR_REQUIREMENT_FAILED: { status: 403, message: 'a security requirement failed' },
  DFC_ERR_RULE_DENIED: { status: 403, message: 'a data rule denied the request' },
  DFC_ERR_WRITE_CHECK_FAILED: { status: 403, message: "a written record would fall outside the role's filters" },
  // 404, 405, 409, 413-415, 429
  DFC_ERR_NOT_FOUND: { status: 404, message: 'not found' },
  DFC_ERR_SERVICE_NOT_FOUND: { status: 404, message: 'unknown service' },
  DFC_ERR_TABLE_NOT_FOUND: { status: 404, message: 'unknown table' },
  DFC_ERR_RECORD_NOT_FOUND: { status: 404, message: 'record not found' },
  DFC_ERR_METHOD_NOT_ALLOWED: { status: 405, message: 'method not allowed' },
  DFC_ERR_CONFLICT: { status: 409, message: 'a record with the same unique value already exists' },
  DFC_ERR_BODY_TOO_LARGE: { status: 413, message: 'the request body is too large' },
  DFC_ERR_URI_TOO_LONG: { status: 414, message: 'the request URL is too long' },
  DFC_ERR_UNSUPPORTED_MEDIA_TYPE: { status: 415, message: 'only `application/json` request bodies are accepted' },
  DFC_ERR_RATE_LIMITED: { status: 429, message: 'too many failed authentication attempts' },
  // 5xx
  DFC_ERR_INTERNAL: { status: 500, message: 'internal error' },
  DFC_ERR_RESPONSE_REFUSED: { status: 500, message: 'the response could not be processed by its rules' },
  DFC_ERR_DB_UNAVAILABLE: { status: 503, message: 'the database is unavailable' },
  // startup and reload
  DFC_ERR_ARTIFACT_MISSING: { status: null, message: 'the policy artifact is missing' },
  DFC_ERR_ARTIFACT_JSON: { status: null, message: 'policy.json is not valid JSON' },
  DFC_ERR_ARTIFACT_SCHEMA: { status: null, message: 'policy.json does not match the artifact schema' },
  DFC_ERR_ARTIFACT_VERSION: { status: null, message: 'policy.json was built for another artifact version' },
  DFC_ERR_ARTIFACT_HASH: { status: null, message: 'policy.json and policy.mjs do not match' },
  DFC_ERR_ARTIFACT_MODULE: { status: null, message: 'policy.mjs could not be loaded' },
  DFC_ERR_ARTIFACT_UNSIGNED: { status: null, message: 'the policy is not signed' },
  DFC_ERR_ARTIFACT_SIGNATURE: { status: null, message: 'the policy signature does not verify' },
  DFC_ERR_TRUSTED_KEY: { status: null, message: 'a trusted key cannot be read' },
  DFC_ERR_SECRET_MISSING: { status: null, message: 'a secret is not set in the environment' },
  DFC_ERR_SECRET_DECRYPT: { status: null, message: 'an encrypted secret could not be decrypted' },
  DFC_ERR_MASTER_KEY: { status: null, message: '`DFC_MASTER_KEY` is not a base64 encoded 32-byte key' },
  DFC_ERR_JWT_CONFIG: { status: null, message: 'the session (JWT) configuration is not usable' },
  DFC_ERR_DEBUG_IN_PRODUCTION: { status: null, message: 'debug responses are refused in a production policy' },
  DFC_ERR_SERVER_CONFIG: { status: null, message: 'the server options are not usable' },
} as const satisfies Record<string, { status: number | null; message: string }>;

export type ErrorCode = keyof typeof ERRORS;

/** An error with a code from {@link ERRORS}; `message` is safe to show to any client. */
export class DfcError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  /** Shown only with debug on: internal detail (never a secret). */
  readonly detail?: string;
  /** Extra help, shown to clients. */
  readonly note?: string;
  readonly headers?: Record<string, string>;

  constructor(
    code: ErrorCode,
    message?: string,
    opts: { detail?: string; note?: string; headers?: Record<string, string>; cause?: unknown } = {},
  ) {
    super(message ?? ERRORS[code].message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = 'DfcError';
    this.code = code;
    this.status = ERRORS[code].status ?? 500;
    if (opts.detail !== undefined) this.detail = opts.detail;
    if (opts.note !== undefined) this.note = opts.note;
    if (opts.headers !== undefined) this.headers = opts.headers;
  }
}

export function isDfcError(e: unknown): e is DfcError {
  return e instanceof DfcError;
}

/** The JSON body of an error reply. */
export interface ErrorBody {
  error: { code: ErrorCode; status: number; message: string; requestId: string; note?: string; detail?: string };
}

export function errorBody(err: DfcError, requestId: string, debug: boolean): ErrorBody {
  const body: ErrorBody = { error: { code: err.code, status: err.status, message: err.message, requestId } };
  if (err.note) body.error.note = err.note;
  if (debug && err.detail) body.error.detail = err.detail;
  return body;
}

/** Wrap a name or value a user wrote in backticks, shortened so a message stays one line. */
export function q(value: unknown): string {
  let s = typeof value === 'string' ? value : JSON.stringify(value) ?? String(value);
  s = s.replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029`]/g, '?');
  if (s.length > 64) s = s.slice(0, 61) + '...';
  return '`' + s + '`';
}
