/**
 * Denial messages, in Cedar's style: lowercase, no final period, user input in
 * backticks. Shared by the interpreter, the generator and the runtime helpers so that
 * a denial reads the same whichever engine decided it (messages are data, not logic).
 */

const MAX_SHOWN = 80;

/** How an operand appears in a message: a string as written, anything else as JSON. */
export function show(value: unknown): string {
  let text: string;
  if (typeof value === 'string') text = value;
  else {
    try {
      text = JSON.stringify(value) ?? String(value);
    } catch {
      text = String(value);
    }
  }
  // Line breaks would split a log line; the rest is shown as written.
  text = text.replace(/[\r\n\u2028\u2029]/g, ' ');
  return text.length > MAX_SHOWN ? text.slice(0, MAX_SHOWN - 1) + '…' : text;
}

export const msg = {
  denied: () => 'the operation is denied',
  unauthenticated: () => 'authentication is required',
  missing: (path: string) => `\`${show(path)}\` is missing`,
  notA: (operand: unknown, what: 'string' | 'number' | 'boolean' | 'date' | 'list' | 'list of strings' | 'list of numbers') =>
    `\`${show(operand)}\` is not a ${what}`,
  notVariable: (operand: unknown, type: string) => `\`${show(operand)}\` is neither a ${type} nor a variable`,
  resInRule: (path: string) => `\`${show(path)}\` cannot be read when rules run`,
  forbidden: (path: string) => `\`${show(path)}\` reaches a forbidden property`,
  badPath: (path: string) => `\`${show(path)}\` is not a variable path`,
  badDate: (operand: unknown) => `\`${show(operand)}\` is not a valid date`,
  badDuration: (operand: unknown) => `\`${show(operand)}\` is not a valid duration`,
  badUnit: (operand: unknown) => `\`${show(operand)}\` is not a date unit`,
  dateRange: (operand: unknown) => `\`${show(operand)}\` gives a date out of range`,
  noLength: (path: string) => `\`${show(path)}\` has no length`,
  noClock: () => 'the clock is not available',
  badHelper: (operand: unknown) => `\`${show(operand)}\` is not a known helper`,
  badHelperArgs: (operand: unknown) => `\`${show(operand)}\` has the wrong arguments`,
  cannotCompare: (op: string, what: string) => `\`${show(op)}\` cannot compare ${what}`,
  unknownType: (type: unknown) => `\`${show(type)}\` is not a match type`,
  unknownEval: (op: unknown) => `\`${show(op)}\` is not a comparison`,
  needsList: (op: string, operand: unknown) => `\`${op}\` needs a list, but \`${show(operand)}\` is not one`,
  mismatch: (f1: unknown, op: string, f2: unknown) => `\`${show(f1)}\` ${op} \`${show(f2)}\` does not hold`,
  empty: (kind: string) => `\`${kind}\` has no clauses`,
  badField: (field: string) => `\`${show(field)}\` must start with \`args.\` or \`res.\``,
  badStore: (field: string) => `\`${show(field)}\` must start with \`args.\``,
  notSettable: (field: string) => `\`${show(field)}\` cannot be set`,
  notRemovable: (field: string) => `\`${show(field)}\` cannot be removed`,
  notStringField: (field: string) => `\`${show(field)}\` is not a string`,
  noCrypto: () => 'no encryption key is configured',
  notDecryptable: (field: string) => `\`${show(field)}\` could not be decrypted`,
  notEncryptable: (field: string) => `\`${show(field)}\` could not be encrypted`,
  noArgs: () => '`args` is missing',
  noQuery: () => 'no database is available to `query` rules',
  queryFailed: (db: string, col: string) => `the query on \`${show(db)}\`.\`${show(col)}\` failed`,
  queryEmpty: (db: string, col: string) => `the query on \`${show(db)}\`.\`${show(col)}\` found no rows`,
  noFetch: () => 'no webhook client is configured',
  webhookRefused: (url: string) => `the webhook \`${show(url)}\` refused the request`,
  webhookFailed: (url: string) => `the webhook \`${show(url)}\` failed`,
  webhookTimeout: (url: string) => `the webhook \`${show(url)}\` timed out`,
  webhookNotJson: (url: string) => `the webhook \`${show(url)}\` did not answer with JSON`,
  codeDenied: () => 'the code rule denied the request',
  codeFailed: () => 'the code rule failed',
  codeMissing: () => 'the code rule is not loaded',
  unknownRule: (kind: unknown) => `\`${show(kind)}\` is not a rule type`,
  requirementsFailed: (names: readonly string[]) =>
    names.length === 1
      ? `requirement \`${show(names[0])}\` failed`
      : `none of the requirements ${names.map((n) => `\`${show(n)}\``).join(', ')} passed`,
  emptyCollection: () => 'the requirement collection is empty',
  unknownRequirement: (type: unknown) => `\`${show(type)}\` is not a requirement type`,
  responseShape: () => 'the response is not a row or a list of rows',
  responseRow: () => 'a response row is not an object',
} as const;

/** Status for each denial code. */
export const STATUS = { unauthenticated: 401, denied: 403, error: 403, response: 500 } as const;

/** Default milliseconds a webhook may take. */
export const DEFAULT_WEBHOOK_TIMEOUT = 5000;
