/**
 * The watch a holder keeps on its lock or semaphore (Go's `monitorLock`): consistent blocking reads for as
 * long as the holding is intact. Transient errors are ridden out `retries` times, `retryTime` apart, with
 * the budget restored after every successful read — so a leader election does not drop the lock (Consul
 * issues #1162, #985).
 *
 * @module
 */

import type { QueryResult } from '../api/types.js';
import { isTransientConsulError, type LostReason } from './errors.js';
import { jittered, pause } from './timing.js';

/** Spread of the pause between monitor retries. */
const RETRY_JITTER_FRACTION = 0.1;

/** What a holding monitor needs. */
export interface HoldingMonitorOptions<T> {
  /** One consistent read; blocking on `index` unless it is `0n`. */
  read(index: bigint, signal: AbortSignal): Promise<QueryResult<T>>;
  /**
   * `undefined` while the read value shows the holding intact, else why it is lost. Throwing (an
   * undecodable record) loses the holding as `monitor-failed` with the error as cause.
   */
  check(value: T): LostReason | undefined;
  /** Index to block on first (`0n`: start with a plain read). */
  startIndex: bigint;
  /** Consecutive transient errors tolerated. */
  retries: number;
  /** Pause before each retry (ms). */
  retryTime: number;
  /** Stops the monitor quietly (the holder released). */
  signal: AbortSignal;
  /** Told about each transient error that is being retried. */
  onRetry(error: unknown, retriesLeft: number): void;
}

/** How a holding was lost. */
export interface HoldingLoss {
  reason: LostReason;
  cause?: unknown;
}

/** Watches until the holding is lost (resolves with why) or `signal` aborts (resolves `undefined`). */
export async function monitorHolding<T>(options: HoldingMonitorOptions<T>): Promise<HoldingLoss | undefined> {
  const { signal } = options;
  let index = options.startIndex;
  for (;;) {
    let retries = options.retries;
    let result: QueryResult<T> | undefined;
    while (result === undefined) {
      try {
        result = await options.read(index, signal);
      } catch (err) {
        if (signal.aborted) return undefined;
        if (retries <= 0 || !isTransientConsulError(err)) return { reason: 'monitor-failed', cause: err };
        retries--;
        options.onRetry(err, retries);
        if (!(await pause(jittered(options.retryTime, RETRY_JITTER_FRACTION), signal))) return undefined;
        index = 0n;
      }
    }
    if (signal.aborted) return undefined;
    let reason: LostReason | undefined;
    try {
      reason = options.check(result.value);
    } catch (err) {
      return { reason: 'monitor-failed', cause: err };
    }
    if (reason !== undefined) return { reason };
    // An index that went backwards (agent restart, snapshot restore) must not be blocked on.
    index = result.index < index ? 0n : result.index;
  }
}
