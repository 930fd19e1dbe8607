/**
 * The two errors the data layer throws on purpose. Both carry messages that are safe
 * to show a client: no SQL, no driver text, no file path. The original driver error,
 * when there is one, is kept as `cause` for server-side logs only.
 */

/** Which request parameter a {@link FilterError} is about. */
export type FilterParameter = 'filter' | 'order' | 'fields' | 'ids' | 'limit' | 'offset';

/**
 * A client-supplied `filter`, `order`, `fields`, `ids`, `limit` or `offset` that does
 * not parse or names something the table does not have. Always a 400.
 */
export class FilterError extends Error {
  override readonly name = 'FilterError';
  /** The parameter the text came from. */
  readonly parameter: FilterParameter;
  /** 1-based character position in the parameter's text, where one applies. */
  readonly position?: number;
  /** Extra help, shown after the message. */
  readonly note?: string;

  constructor(parameter: FilterParameter, message: string, position?: number, note?: string) {
    super(message);
    this.parameter = parameter;
    if (position !== undefined) this.position = position;
    if (note !== undefined) this.note = note;
  }
}

/**
 * What went wrong talking to the database, classified:
 * - `unique`: a write collided with a primary key or unique constraint (409);
 * - `invalid`: a value does not fit its column (wrong type, null into a required
 *   column, a NUL byte PostgreSQL cannot store, …) (400);
 * - `unavailable`: the database cannot be reached or timed out (503, retry later);
 * - `not_found`: the table is not part of the service (404);
 * - `internal`: anything else (500).
 */
export type DataErrorKind = 'unique' | 'invalid' | 'unavailable' | 'not_found' | 'internal';

/** A database failure mapped to a kind and a message safe to show a client. */
export class DataError extends Error {
  override readonly name = 'DataError';
  readonly kind: DataErrorKind;
  /** The column the error is about, where known. */
  readonly column?: string;

  constructor(kind: DataErrorKind, message: string, options?: { column?: string; cause?: unknown }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.kind = kind;
    if (options?.column !== undefined) this.column = options.column;
  }
}
