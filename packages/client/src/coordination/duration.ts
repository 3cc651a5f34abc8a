/**
 * Go `time.Duration` text, as Consul stores session TTLs (`"15s"`) and as `consul lock` users write them.
 * Durations are handled in milliseconds (fractions allowed), the unit of every kvx option.
 *
 * @module
 */

import { InvalidArgumentError } from '../errors.js';

const UNIT_MS: ReadonlyMap<string, number> = new Map([
  ['ns', 1e-6],
  ['us', 1e-3],
  ['\u00b5s', 1e-3], // micro sign
  ['\u03bcs', 1e-3], // Greek mu
  ['ms', 1],
  ['s', 1e3],
  ['m', 60e3],
  ['h', 3600e3],
]);

function isDigit(c: string | undefined): boolean {
  return c !== undefined && c >= '0' && c <= '9';
}

/**
 * Parses a Go duration (`250ms`, `1.5h`, `1m30s`, `-2s`, bare `0`) into milliseconds, with Go's grammar:
 * a sequence of decimal numbers, each with a unit, and no bare non-zero number.
 *
 * @throws {@link InvalidArgumentError} worded like Go's `time.ParseDuration`.
 */
export function parseDuration(text: string): number {
  const invalid = (): InvalidArgumentError => new InvalidArgumentError(`time: invalid duration ${JSON.stringify(text)}`);
  let rest = text;
  let sign = 1;
  if (rest.startsWith('-') || rest.startsWith('+')) {
    if (rest.startsWith('-')) sign = -1;
    rest = rest.slice(1);
  }
  if (rest === '0') return 0;
  if (rest === '') throw invalid();
  let total = 0;
  while (rest !== '') {
    let i = 0;
    while (isDigit(rest[i])) i++;
    const whole = rest.slice(0, i);
    let fraction = '';
    if (rest[i] === '.') {
      const start = ++i;
      while (isDigit(rest[i])) i++;
      fraction = rest.slice(start, i);
    }
    if (whole === '' && fraction === '') throw invalid();
    const unitStart = i;
    while (i < rest.length && rest[i] !== '.' && !isDigit(rest[i])) i++;
    const unit = rest.slice(unitStart, i);
    if (unit === '') throw new InvalidArgumentError(`time: missing unit in duration ${JSON.stringify(text)}`);
    const scale = UNIT_MS.get(unit);
    if (scale === undefined) {
      throw new InvalidArgumentError(`time: unknown unit ${JSON.stringify(unit)} in duration ${JSON.stringify(text)}`);
    }
    total += Number(`${whole || '0'}.${fraction || '0'}`) * scale;
    rest = rest.slice(i);
  }
  if (!Number.isFinite(total)) throw invalid();
  return sign * total;
}

function trimFraction(digits: string): string {
  const trimmed = digits.replace(/0+$/, '');
  return trimmed === '' ? '' : `.${trimmed}`;
}

/**
 * Formats milliseconds the way Go's `Duration.String` does (`15s`, `1m30s`, `250ms`, `1h0m0s`, `1.5µs`),
 * to nanosecond precision — the spelling Consul echoes back as a session's `TTL`.
 */
export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms)) throw new InvalidArgumentError(`cannot format ${ms} as a duration`);
  let ns = BigInt(Math.round(ms * 1e6));
  const sign = ns < 0n ? '-' : '';
  if (ns < 0n) ns = -ns;
  if (ns === 0n) return '0s';
  if (ns < 1_000n) return `${sign}${ns}ns`;
  if (ns < 1_000_000n) return `${sign}${ns / 1_000n}${trimFraction((ns % 1_000n).toString().padStart(3, '0'))}\u00b5s`;
  if (ns < 1_000_000_000n) return `${sign}${ns / 1_000_000n}${trimFraction((ns % 1_000_000n).toString().padStart(6, '0'))}ms`;
  const seconds = ns / 1_000_000_000n;
  const secondsText = `${seconds % 60n}${trimFraction((ns % 1_000_000_000n).toString().padStart(9, '0'))}s`;
  const minutes = seconds / 60n;
  if (minutes === 0n) return `${sign}${secondsText}`;
  const hours = minutes / 60n;
  if (hours === 0n) return `${sign}${minutes}m${secondsText}`;
  return `${sign}${hours}h${minutes % 60n}m${secondsText}`;
}

/**
 * Reads a duration option: a number of milliseconds or a Go duration string.
 *
 * @throws {@link InvalidArgumentError} naming the option when it is malformed or negative.
 */
export function durationOption(name: string, value: number | string): number {
  let ms: number;
  if (typeof value === 'number') {
    ms = value;
  } else if (typeof value === 'string') {
    try {
      ms = parseDuration(value);
    } catch (err) {
      throw new InvalidArgumentError(`invalid ${name}: ${(err as Error).message}`);
    }
  } else {
    throw new InvalidArgumentError(`${name} must be milliseconds or a Go duration string`);
  }
  if (!(Number.isFinite(ms) && ms >= 0)) throw new InvalidArgumentError(`invalid ${name}: must be a non-negative duration, got ${String(value)}`);
  return ms;
}
