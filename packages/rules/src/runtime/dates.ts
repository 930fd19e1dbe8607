/**
 * Dates as Space Cloud reads them (Go's RFC 3339 parser, or `YYYY-MM-DD` at midnight
 * UTC), kept to the nanosecond: an instant is whole seconds since the epoch, the
 * nanoseconds within that second, and the offset (minutes) it was written with, which
 * `utils.addDuration` and `utils.roundUpDate` keep in their output as Go does.
 */

export interface Instant {
  readonly sec: number;
  readonly nsec: number;
  readonly off: number;
}

const DATE_ONLY = /^(\d{4})-(\d{2})-(\d{2})$/;
const DATE_TIME = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(?:(Z)|([+-])(\d{2}):(\d{2}))$/;

function isLeap(y: number): boolean {
  return (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0;
}

function daysIn(y: number, m: number): number {
  return m === 2 ? (isLeap(y) ? 29 : 28) : [4, 6, 9, 11].includes(m) ? 30 : 31;
}

/** Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm). */
export function daysFromCivil(y: number, m: number, d: number): number {
  const yy = m <= 2 ? y - 1 : y;
  const era = Math.floor(yy / 400);
  const yoe = yy - era * 400;
  const doy = Math.floor((153 * (m + (m > 2 ? -3 : 9)) + 2) / 5) + d - 1;
  const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy;
  return era * 146097 + doe - 719468;
}

export function civilFromDays(z: number): [number, number, number] {
  const zz = z + 719468;
  const era = Math.floor(zz / 146097);
  const doe = zz - era * 146097;
  const yoe = Math.floor((doe - Math.floor(doe / 1460) + Math.floor(doe / 36524) - Math.floor(doe / 146096)) / 365);
  const doy = doe - (365 * yoe + Math.floor(yoe / 4) - Math.floor(yoe / 100));
  const mp = Math.floor((5 * doy + 2) / 153);
  const d = doy - Math.floor((153 * mp + 2) / 5) + 1;
  const m = mp < 10 ? mp + 3 : mp - 9;
  return [yoe + era * 400 + (m <= 2 ? 1 : 0), m, d];
}

/** Parse a date operand: an RFC 3339 or `YYYY-MM-DD` string, or a valid `Date`. */
export function parseDate(value: unknown): Instant | undefined {
  if (value instanceof Date) {
    const ms = value.getTime();
    if (!Number.isFinite(ms)) return undefined;
    const sec = Math.floor(ms / 1000);
    return { sec, nsec: (ms - sec * 1000) * 1e6, off: 0 };
  }
  if (typeof value !== 'string') return undefined;
  let m = DATE_ONLY.exec(value);
  if (m) {
    const y = +m[1]!, mo = +m[2]!, d = +m[3]!;
    if (mo < 1 || mo > 12 || d < 1 || d > daysIn(y, mo)) return undefined;
    return { sec: daysFromCivil(y, mo, d) * 86400, nsec: 0, off: 0 };
  }
  m = DATE_TIME.exec(value);
  if (!m) return undefined;
  const y = +m[1]!, mo = +m[2]!, d = +m[3]!, h = +m[4]!, mi = +m[5]!, s = +m[6]!;
  if (mo < 1 || mo > 12 || d < 1 || d > daysIn(y, mo) || h > 23 || mi > 59 || s > 59) return undefined;
  const nsec = m[7] ? +m[7].padEnd(9, '0') : 0;
  let off = 0;
  if (!m[8]) {
    const oh = +m[10]!, om = +m[11]!;
    if (oh > 23 || om > 59) return undefined;
    off = (m[9] === '-' ? -1 : 1) * (oh * 60 + om);
  }
  return { sec: daysFromCivil(y, mo, d) * 86400 + h * 3600 + mi * 60 + s - off * 60, nsec, off };
}

/** -1, 0 or 1 as instant `a` is before, at or after `b`. */
export function compareInstants(a: Instant, b: Instant): number {
  if (a.sec !== b.sec) return a.sec < b.sec ? -1 : 1;
  return a.nsec === b.nsec ? 0 : a.nsec < b.nsec ? -1 : 1;
}

const pad = (n: number, w: number) => String(n).padStart(w, '0');

/** RFC 3339 with nanoseconds, trailing zeros trimmed, in the instant's own offset; undefined outside years 0–9999. */
export function formatInstant(t: Instant): string | undefined {
  const wall = t.sec + t.off * 60;
  const days = Math.floor(wall / 86400);
  const rem = wall - days * 86400;
  const [y, mo, d] = civilFromDays(days);
  if (y < 0 || y > 9999) return undefined;
  let out = `${pad(y, 4)}-${pad(mo, 2)}-${pad(d, 2)}T${pad(Math.floor(rem / 3600), 2)}:${pad(Math.floor((rem % 3600) / 60), 2)}:${pad(rem % 60, 2)}`;
  if (t.nsec > 0) out += '.' + pad(t.nsec, 9).replace(/0+$/, '');
  if (t.off === 0) return out + 'Z';
  const a = Math.abs(t.off);
  return out + (t.off < 0 ? '-' : '+') + pad(Math.floor(a / 60), 2) + ':' + pad(a % 60, 2);
}

const UNITS: Record<string, bigint> = {
  ns: 1n,
  us: 1000n,
  'µs': 1000n,
  'μs': 1000n,
  ms: 1_000_000n,
  s: 1_000_000_000n,
  m: 60_000_000_000n,
  h: 3_600_000_000_000n,
};
const DURATION_PART = /^(\d*)(?:\.(\d*))?([a-zµμ]+)/;
const MAX_DURATION = 9_223_372_036_854_775_807n;

/** Go's `time.ParseDuration` (`1h30m`, `-1.5h`, `300ms`), in nanoseconds; undefined when malformed or out of range. */
export function parseDuration(text: unknown): bigint | undefined {
  if (typeof text !== 'string' || text === '') return undefined;
  let s = text;
  let neg = false;
  if (s[0] === '-' || s[0] === '+') {
    neg = s[0] === '-';
    s = s.slice(1);
  }
  if (s === '0') return 0n;
  if (s === '') return undefined;
  let total = 0n;
  while (s !== '') {
    const m = DURATION_PART.exec(s);
    if (!m) return undefined;
    const [all, int = '', frac = '', unitName = ''] = m;
    if (int === '' && frac === '') return undefined;
    const unit = Object.hasOwn(UNITS, unitName) ? UNITS[unitName]! : undefined;
    if (unit === undefined) return undefined;
    let part = BigInt(int === '' ? '0' : int) * unit;
    if (frac !== '') part += (BigInt(frac) * unit) / 10n ** BigInt(frac.length);
    total += part;
    if (total > MAX_DURATION + (neg ? 1n : 0n)) return undefined;
    s = s.slice(all.length);
  }
  return neg ? -total : total;
}

const BILLION = 1_000_000_000n;

/** The instant plus a duration in nanoseconds, keeping its offset. */
export function addNanos(t: Instant, nanos: bigint): Instant {
  const total = BigInt(t.sec) * BILLION + BigInt(t.nsec) + nanos;
  let sec = total / BILLION;
  let nsec = total % BILLION;
  if (nsec < 0n) {
    nsec += BILLION;
    sec -= 1n;
  }
  return { sec: Number(sec), nsec: Number(nsec), off: t.off };
}

export const DATE_UNITS = ['year', 'month', 'day', 'hour', 'minute', 'second'] as const;

/** Truncate to the start of the unit in the instant's own offset (Space Cloud's `roundUpDate` rounds down). */
export function truncateInstant(t: Instant, unit: string): Instant | undefined {
  const wall = t.sec + t.off * 60;
  const days = Math.floor(wall / 86400);
  const rem = wall - days * 86400;
  const [y, mo] = civilFromDays(days);
  let w: number;
  switch (unit) {
    case 'year':
      w = daysFromCivil(y, 1, 1) * 86400;
      break;
    case 'month':
      w = daysFromCivil(y, mo, 1) * 86400;
      break;
    case 'day':
      w = days * 86400;
      break;
    case 'hour':
      w = days * 86400 + Math.floor(rem / 3600) * 3600;
      break;
    case 'minute':
      w = days * 86400 + Math.floor(rem / 60) * 60;
      break;
    case 'second':
      w = wall;
      break;
    default:
      return undefined;
  }
  return { sec: w - t.off * 60, nsec: 0, off: t.off };
}
