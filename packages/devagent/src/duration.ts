/**
 * Go `time.Duration` text, as Consul reads it in `wait=`, session `TTL`/`LockDelay` and its config, and as Go
 * prints it in error messages. Durations are handled in nanoseconds (a JS number: exact up to ~104 days, more
 * than any duration Consul accepts).
 *
 * @module
 */

const UNIT_NS: ReadonlyMap<string, number> = new Map([
  ['ns', 1],
  ['us', 1e3],
  ['µs', 1e3], // U+00B5 micro sign
  ['μs', 1e3], // U+03BC Greek mu
  ['ms', 1e6],
  ['s', 1e9],
  ['m', 60e9],
  ['h', 3600e9],
]);

/** Nanoseconds per millisecond. */
export const NS_PER_MS = 1e6;

/** Go's overflow bound: a magnitude above 2^63 ns does not fit a `time.Duration` (int64). */
const DURATION_OVERFLOW_NS = 2 ** 63;

/**
 * The largest double that fits an int64 (2^63 − 1024). Go's longest duration, 2^63 − 1 ns, rounds up to 2^63 as
 * a double, which would be emitted as an integer no Go client can decode; it is returned as this instead.
 */
export const MAX_DURATION_NS = 2 ** 63 - 1024;

/** A duration string Go's `time.ParseDuration` would reject; `message` is Go's wording. */
export class DurationSyntaxError extends Error {
  /** Stable machine-readable code. */
  readonly code = 'KVX_AGENT_DURATION';

  constructor(message: string) {
    super(message);
    this.name = new.target.name;
  }
}

function quote(text: string): string {
  return JSON.stringify(text);
}

function isDigit(c: string | undefined): boolean {
  return c !== undefined && c >= '0' && c <= '9';
}

/**
 * Parses a Go duration (`300ms`, `1.5h`, `1m30s`, `-2s`, bare `0`) into nanoseconds.
 *
 * @throws DurationSyntaxError with Go's message (`time: invalid duration "x"`, `time: missing unit…`).
 */
export function parseGoDuration(text: string): number {
  let rest = text;
  let negative = false;
  if (rest.startsWith('-') || rest.startsWith('+')) {
    negative = rest.startsWith('-');
    rest = rest.slice(1);
  }
  if (rest === '0') return 0;
  if (rest === '') throw new DurationSyntaxError(`time: invalid duration ${quote(text)}`);
  let total = 0;
  while (rest !== '') {
    let i = 0;
    while (isDigit(rest[i])) i++;
    const whole = rest.slice(0, i);
    let fraction = '';
    if (rest[i] === '.') {
      i++;
      const start = i;
      while (isDigit(rest[i])) i++;
      fraction = rest.slice(start, i);
    }
    if (whole === '' && fraction === '') throw new DurationSyntaxError(`time: invalid duration ${quote(text)}`);
    const unitStart = i;
    while (i < rest.length && rest[i] !== '.' && !isDigit(rest[i])) i++;
    const unit = rest.slice(unitStart, i);
    if (unit === '') throw new DurationSyntaxError(`time: missing unit in duration ${quote(text)}`);
    const scale = UNIT_NS.get(unit);
    if (scale === undefined) {
      throw new DurationSyntaxError(`time: unknown unit ${quote(unit)} in duration ${quote(text)}`);
    }
    const value = Number(`${whole || '0'}.${fraction || '0'}`);
    total += value * scale;
    if (total > DURATION_OVERFLOW_NS) throw new DurationSyntaxError(`time: invalid duration ${quote(text)}`);
    rest = rest.slice(i);
  }
  const rounded = Math.floor(total);
  return negative ? -rounded : Math.min(rounded, MAX_DURATION_NS);
}

function trimFraction(whole: number, fraction: number, digits: number): string {
  if (fraction === 0) return String(whole);
  const text = String(fraction).padStart(digits, '0').replace(/0+$/, '');
  return `${whole}.${text}`;
}

/** Formats nanoseconds the way Go's `time.Duration.String()` does (`0s`, `250ms`, `1m30s`, `24h0m0s`). */
export function formatGoDuration(ns: number): string {
  const sign = ns < 0 ? '-' : '';
  const abs = Math.round(Math.abs(ns));
  if (abs === 0) return '0s';
  if (abs < 1e3) return `${sign}${abs}ns`;
  if (abs < 1e6) return `${sign}${trimFraction(Math.floor(abs / 1e3), abs % 1e3, 3)}µs`;
  if (abs < 1e9) return `${sign}${trimFraction(Math.floor(abs / 1e6), abs % 1e6, 6)}ms`;
  const hours = Math.floor(abs / 3600e9);
  const minutes = Math.floor((abs % 3600e9) / 60e9);
  const secondsNs = abs % 60e9;
  const seconds = trimFraction(Math.floor(secondsNs / 1e9), secondsNs % 1e9, 9);
  if (hours > 0) return `${sign}${hours}h${minutes}m${seconds}s`;
  if (minutes > 0) return `${sign}${minutes}m${seconds}s`;
  return `${sign}${seconds}s`;
}

/** Parses a Go duration and returns milliseconds (possibly fractional). */
export function parseGoDurationMs(text: string): number {
  return parseGoDuration(text) / NS_PER_MS;
}
