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

/** A signal bounded by a deadline, from {@link withDeadline}. */
export interface DeadlineSignal {
  /** Aborts when the parent signal does (with its reason) or when the deadline passes (with a `TimeoutError` DOMException). */
  readonly signal: AbortSignal;
  /** Releases the timer and the listener on the parent; call it once the bounded operation is over. */
  clear(): void;
}

/**
 * A signal that aborts when `parent` does or after `ms`, whichever comes first. Node's
 * `AbortSignal.any([parent, AbortSignal.timeout(ms)])` must not be used for this: its timer holds the timeout
 * signal only weakly, and inside `any` nothing else holds it, so a garbage collection before the deadline can
 * take the signal and the deadline with it (nodejs/node#57736). Here the timer holds the controller.
 */
export function withDeadline(parent: AbortSignal, ms: number): DeadlineSignal {
  const controller = new AbortController();
  const onAbort = (): void => controller.abort(parent.reason);
  const timer = setTimeout(() => controller.abort(new DOMException(`deadline of ${ms} ms passed`, 'TimeoutError')), ms);
  if (parent.aborted) onAbort();
  else parent.addEventListener('abort', onAbort, { once: true });
  return {
    signal: controller.signal,
    clear: () => {
      clearTimeout(timer);
      parent.removeEventListener('abort', onAbort);
    },
  };
}
