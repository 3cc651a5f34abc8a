/**
 * Clock and pauses for coordination loops. Times are monotonic (`performance.now()`), so a wall-clock
 * step never makes a session look fresher or staler than it is.
 *
 * @module
 */

import { AbortedError } from '../errors.js';
import { sleep } from '../transport/rate-limit.js';

/** Monotonic time in milliseconds (`performance.now()`). */
export function monotonicNow(): number {
  return performance.now();
}

/** `ms` spread uniformly over `±fraction` of itself, so many clients do not retry in lock-step. */
export function jittered(ms: number, fraction: number): number {
  return ms * (1 - fraction + 2 * fraction * Math.random());
}

/** Waits `ms`; resolves `false` instead of throwing when `signal` aborts first. */
export async function pause(ms: number, signal: AbortSignal): Promise<boolean> {
  try {
    await sleep(ms, signal);
    return true;
  } catch (err) {
    if (err instanceof AbortedError) return false;
    throw err;
  }
}

/** One signal that aborts when any of the given ones does (`undefined` entries are skipped). */
export function anySignal(...signals: (AbortSignal | undefined)[]): AbortSignal {
  return AbortSignal.any(signals.filter((s): s is AbortSignal => s !== undefined));
}
