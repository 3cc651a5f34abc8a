/**
 * Options shared by every transfer function, and the eager checks of numeric options.
 *
 * @module
 */

import type { Consul } from '../consul.js';
import { InvalidArgumentError } from '../errors.js';
import { MAX_TIMEOUT_MS } from '../transport/config.js';
import type { TransferLogger } from './logger.js';
import type { TransferMetrics } from './transfer-metrics.js';

/** Options every transfer function accepts. */
export interface TransferOptions {
  /** The Consul client (its address, token, TLS, retry and breaker settings apply). */
  consul: Consul;
  /** KV prefix; leading and trailing `/` are removed. Default: `kvexpress`. */
  prefix?: string;
  /** DogStatsD metrics and events. Default: none. */
  metrics?: TransferMetrics;
  /** Structured log callback (`--verbose`). Default: silent. */
  logger?: TransferLogger;
  /** Cancels the operation (requests in flight, waits and commands). */
  signal?: AbortSignal;
}

/** kvexpress's default minimum line count (`--length`). */
export const DEFAULT_MIN_LINES = 10;

/** Checks an integer option ≥ `min`; returns `fallback` when it is `undefined`. */
export function integerOption(name: string, value: number | undefined, fallback: number, min = 0): number {
  if (value === undefined) return fallback;
  if (!Number.isSafeInteger(value) || value < min) {
    throw new InvalidArgumentError(`${name} must be an integer ≥ ${min}, got ${String(value)}`);
  }
  return value;
}

/**
 * Checks a duration option in milliseconds (0 to {@link MAX_TIMEOUT_MS}, what a timer holds: a longer one
 * would fire at once); returns `fallback` when it is `undefined`.
 */
export function durationOption(name: string, value: number | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0 || value > MAX_TIMEOUT_MS) {
    throw new InvalidArgumentError(`${name} must be a number of milliseconds from 0 to ${MAX_TIMEOUT_MS} (24.8 days), got ${String(value)}`);
  }
  return value;
}

/** Checks that a reason (of a stop, of a pin) is one line: every report of it — errors, status rows, logs — is. */
export function oneLineOption(name: string, value: string): string {
  if (/[\r\n]/.test(value)) throw new InvalidArgumentError(`${name} must be one line`);
  return value;
}

/** The content as bytes (strings are UTF-8). */
export function contentBytes(content: Buffer | string): Buffer {
  if (typeof content === 'string') return Buffer.from(content, 'utf8');
  if (Buffer.isBuffer(content)) return content;
  throw new InvalidArgumentError('content must be a Buffer or a string');
}
