/**
 * Eager validation of lock and semaphore options, shared so both report mistakes in the same words.
 *
 * @module
 */

import { InvalidArgumentError } from '../errors.js';
import { durationOption } from './duration.js';

/** A duration option that must be positive; `fallback` (ms) when absent. */
export function positiveDuration(name: string, value: number | string | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  const ms = durationOption(name, value);
  if (ms <= 0) throw new InvalidArgumentError(`${name} must be positive`);
  return ms;
}

/** A duration option that may be zero; `fallback` (ms) when absent. */
export function nonNegativeDuration(name: string, value: number | string | undefined, fallback: number): number {
  return value === undefined ? fallback : durationOption(name, value);
}

/** A count that must be a non-negative integer; `fallback` when absent. */
export function nonNegativeInteger(name: string, value: number | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (!(Number.isSafeInteger(value) && value >= 0)) throw new InvalidArgumentError(`${name} must be a non-negative integer, got ${String(value)}`);
  return value;
}

/** The value stored with a lock or contender key; empty when absent. */
export function storedValue(value: Buffer | string | undefined): Buffer {
  if (value === undefined) return Buffer.alloc(0);
  if (typeof value === 'string') return Buffer.from(value, 'utf8');
  if (Buffer.isBuffer(value)) return value;
  throw new InvalidArgumentError('value must be a Buffer or a string');
}

/** A session id supplied by the caller; `undefined` when absent. */
export function suppliedSession(value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'string' || value === '') throw new InvalidArgumentError('session must be a non-empty session id');
  return value;
}

/** A boolean option; `false` when absent. */
export function flag(name: string, value: boolean | undefined): boolean {
  if (value === undefined) return false;
  if (typeof value !== 'boolean') throw new InvalidArgumentError(`${name} must be a boolean`);
  return value;
}
