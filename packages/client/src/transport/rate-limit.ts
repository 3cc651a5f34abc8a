/**
 * Token buckets: the client-side read rate limit, the per-watch loop limit (Consul's advice for blocking
 * loops: a small burst, then a steady rate) and the shared retry budget.
 *
 * @module
 */

import { AbortedError, InvalidArgumentError } from '../errors.js';

/** A token-bucket limit. */
export interface RateLimit {
  /** Tokens added per second (sustained rate). Must be > 0. */
  ratePerSecond: number;
  /** Bucket capacity: how many operations may run back to back after a quiet period. Must be ≥ 1. */
  burst: number;
}

/** Validates a {@link RateLimit} eagerly. */
export function validateRateLimit(name: string, limit: RateLimit): void {
  if (!(Number.isFinite(limit.ratePerSecond) && limit.ratePerSecond > 0)) {
    throw new InvalidArgumentError(`${name}.ratePerSecond must be a positive number`);
  }
  if (!(Number.isFinite(limit.burst) && limit.burst >= 1)) {
    throw new InvalidArgumentError(`${name}.burst must be at least 1`);
  }
}

/** A token bucket, refilled continuously; starts full. */
export class TokenBucket {
  private tokens: number;
  private updated: number;

  constructor(private readonly limit: RateLimit) {
    validateRateLimit('rateLimit', limit);
    this.tokens = limit.burst;
    this.updated = performance.now();
  }

  private refill(): void {
    const now = performance.now();
    this.tokens = Math.min(this.limit.burst, this.tokens + ((now - this.updated) / 1000) * this.limit.ratePerSecond);
    this.updated = now;
  }

  /** Takes a token if one is available right now; never waits. */
  tryTake(): boolean {
    this.refill();
    if (this.tokens >= 1) {
      this.tokens -= 1;
      return true;
    }
    return false;
  }

  /** Milliseconds until a token is available (0 when one is). */
  delayMs(): number {
    this.refill();
    return this.tokens >= 1 ? 0 : Math.ceil(((1 - this.tokens) / this.limit.ratePerSecond) * 1000);
  }

  /**
   * Waits until a token is available, then takes it.
   *
   * @throws {@link AbortedError} when `signal` aborts first.
   */
  async take(signal?: AbortSignal): Promise<void> {
    for (;;) {
      if (this.tryTake()) return;
      await sleep(this.delayMs(), signal);
    }
  }
}

/**
 * Sleeps for `ms` milliseconds, or until `signal` aborts.
 *
 * @throws {@link AbortedError} when `signal` aborts.
 */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  if (signal?.aborted) return Promise.reject(new AbortedError());
  if (ms <= 0) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(new AbortedError());
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
