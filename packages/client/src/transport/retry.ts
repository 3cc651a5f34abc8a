/**
 * The retry policy: which failures are repeated, how long to wait (capped exponential backoff with full
 * jitter, or Consul's `Retry-After` within the policy's limits), and the client-wide retry budget that keeps
 * a fleet of failing callers from multiplying the load on a struggling agent. Built on p-retry.
 *
 * @module
 */

import pRetry from 'p-retry';
import { AbortedError, CLIENT_CLOSED, ConnectionError, InvalidArgumentError, KvxError, RateLimitedError } from '../errors.js';
import { sleep, TokenBucket, validateRateLimit, type RateLimit } from './rate-limit.js';

/** How transient failures are retried. */
export interface RetryPolicy {
  /** Retries after the first attempt. Default: `4`. */
  retries?: number;
  /** Backoff ceiling for the first retry, in ms (the actual wait is uniformly random below it). Default: `100`. */
  minDelay?: number;
  /**
   * Cap of the backoff ceiling, and of a wait Consul asks for with `Retry-After`, in ms (a longer
   * `Retry-After` surfaces the {@link RateLimitedError} instead). Default: `5000`.
   */
  maxDelay?: number;
  /** Growth of the backoff ceiling per retry. Default: `2`. */
  factor?: number;
  /**
   * Give up retrying once this much time (ms) has passed since the first attempt; a `Retry-After` beyond the
   * time left surfaces the {@link RateLimitedError} at once. Default: `30000`.
   */
  maxRetryTime?: number;
  /**
   * Retry budget shared by every request of the client: each retry takes a token; when the bucket is empty
   * the failure is surfaced at once. `false` disables the budget. Default: `{ ratePerSecond: 10, burst: 50 }`.
   */
  budget?: RateLimit | false;
}

/**
 * Whether a request may be repeated after it reached the agent. `conditional` requests (CAS, acquire,
 * release, write transactions, session creation, event fire) are retried only when they provably were not
 * applied: the connection was never established, the circuit was open, or Consul answered 429.
 */
export type RequestSafety = 'idempotent' | 'conditional';

/** A resolved retry policy with its budget. */
export interface Retrier {
  /**
   * Runs `attempt` until it succeeds or fails in a way that must not be retried.
   *
   * @param onRetry called before each wait, with the failure and the chosen delay.
   * @param closing the client's own signal: once aborted, no retry waits or starts (an {@link AbortedError}).
   */
  run<T>(
    attempt: (attemptNumber: number) => Promise<T>,
    safety: RequestSafety,
    signal: AbortSignal | undefined,
    onRetry?: (error: KvxError, delayMs: number) => void,
    closing?: AbortSignal,
  ): Promise<T>;
}

const DEFAULTS = { retries: 4, minDelay: 100, maxDelay: 5000, factor: 2, maxRetryTime: 30_000 };
const DEFAULT_BUDGET: RateLimit = { ratePerSecond: 10, burst: 50 };

/** Whether `error` may be retried for a request of the given safety class. */
export function isRetryable(error: unknown, safety: RequestSafety): error is KvxError {
  if (!(error instanceof KvxError) || !error.retryable) return false;
  if (safety === 'idempotent') return true;
  return error instanceof RateLimitedError || (error instanceof ConnectionError && !error.ambiguous);
}

/** Full-jitter delay for the `retryNumber`-th retry (1-based). */
export function backoffDelay(retryNumber: number, minDelay: number, maxDelay: number, factor: number): number {
  const ceiling = Math.min(maxDelay, minDelay * factor ** (retryNumber - 1));
  return Math.floor(Math.random() * ceiling);
}

/** Validates a policy and builds its {@link Retrier}. `false` never retries. */
export function createRetrier(policy: RetryPolicy | false | undefined): Retrier {
  if (policy === false) {
    return { run: (attempt) => attempt(1) };
  }
  const p = { ...DEFAULTS, ...stripUndefined(policy ?? {}) };
  if (!(Number.isInteger(p.retries) && p.retries >= 0)) throw new InvalidArgumentError('retry.retries must be a non-negative integer');
  for (const k of ['minDelay', 'maxDelay', 'maxRetryTime'] as const) {
    if (!(Number.isFinite(p[k]) && p[k] >= 0)) throw new InvalidArgumentError(`retry.${k} must be a non-negative number`);
  }
  if (!(Number.isFinite(p.factor) && p.factor >= 1)) throw new InvalidArgumentError('retry.factor must be at least 1');
  if (p.maxDelay < p.minDelay) throw new InvalidArgumentError('retry.maxDelay must not be below retry.minDelay');
  const budgetLimit = policy?.budget === false ? undefined : (policy?.budget ?? DEFAULT_BUDGET);
  if (budgetLimit) validateRateLimit('retry.budget', budgetLimit);
  const budget = budgetLimit ? new TokenBucket(budgetLimit) : undefined;

  /**
   * Decides whether to retry after the `retryNumber`-th failure, and waits the backoff if so. A `Retry-After`
   * is honoured only within the policy (`maxDelay` and the time left of `maxRetryTime`): a server asking for
   * longer gets its {@link RateLimitedError} surfaced at once rather than stalling the caller.
   */
  const retryAfterFailure = async (
    error: unknown,
    retryNumber: number,
    started: number,
    safety: RequestSafety,
    signal: AbortSignal | undefined,
    onRetry: ((error: KvxError, delayMs: number) => void) | undefined,
    closing: AbortSignal | undefined,
  ): Promise<boolean> => {
    if (signal?.aborted) throw new AbortedError();
    if (closing?.aborted) throw new AbortedError(CLIENT_CLOSED);
    if (!isRetryable(error, safety)) return false;
    let delay = backoffDelay(retryNumber, p.minDelay, p.maxDelay, p.factor);
    if (error instanceof RateLimitedError && error.retryAfterMs !== undefined) {
      const allowed = Math.min(p.maxDelay, p.maxRetryTime - (performance.now() - started));
      if (error.retryAfterMs > allowed) return false;
      delay = Math.min(Math.max(delay, error.retryAfterMs), allowed);
    }
    // Taken last: a failure that is surfaced anyway must not spend the shared budget.
    if (budget && !budget.tryTake()) return false;
    onRetry?.(error, delay);
    // Only a failing request pays for joining the two signals.
    await sleep(delay, closing === undefined ? signal : signal === undefined ? closing : AbortSignal.any([signal, closing])).catch((err: unknown) => {
      throw closing?.aborted === true ? new AbortedError(CLIENT_CLOSED) : err;
    });
    return true;
  };

  return {
    async run<T>(
      attempt: (attemptNumber: number) => Promise<T>,
      safety: RequestSafety,
      signal: AbortSignal | undefined,
      onRetry?: (error: KvxError, delayMs: number) => void,
      closing?: AbortSignal,
    ): Promise<T> {
      const started = performance.now();
      // The first attempt runs outside p-retry: most requests succeed, and they should not pay for it.
      try {
        return await attempt(1);
      } catch (err) {
        if (p.retries === 0 || !(await retryAfterFailure(err, 1, started, safety, signal, onRetry, closing))) throw err;
      }
      return pRetry((n) => attempt(n + 1), {
        retries: p.retries - 1,
        maxRetryTime: Math.max(0, p.maxRetryTime - (performance.now() - started)),
        // The wait happens in shouldRetry, where the failure (Retry-After) and the budget are known.
        minTimeout: 0,
        shouldRetry: ({ error, retriesConsumed }) => retryAfterFailure(error, retriesConsumed + 2, started, safety, signal, onRetry, closing),
      });
    },
  };
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}
