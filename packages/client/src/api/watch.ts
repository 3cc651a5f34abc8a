/**
 * Watches: an async iterator over the successive results of a blocking query, following Consul's client
 * rules — reset the index to 0 when it goes backwards (agent restart, tombstone reaping), never block on 0,
 * keep the HTTP timeout above `wait + wait/16`, rate-limit the loop, back off with jitter on errors and keep
 * going on transient ones. A watch never stops silently: it ends on abort (`endReason: 'aborted'`) or throws
 * a non-retryable error (`endReason: 'error'`). In steady state it sends exactly one request per change.
 *
 * @module
 */

import { AbortedError, CircuitOpenError, InvalidArgumentError, KvxError } from '../errors.js';
import type { ClientMetrics } from '../metrics.js';
import { sleep, TokenBucket, validateRateLimit, type RateLimit } from '../transport/rate-limit.js';
import { backoffDelay } from '../transport/retry.js';
import { DEFAULT_WAIT_MS, MAX_WAIT_MS } from './query.js';
import type { QueryOptions, QueryResult } from './types.js';

/** Backoff after failed iterations: capped exponential with full jitter. */
export interface WatchBackoff {
  /** Ceiling of the first wait, in ms. Default: `250`. */
  minDelay?: number;
  /** Cap of the ceiling, in ms. Default: `30000`. */
  maxDelay?: number;
  /** Growth of the ceiling per consecutive failure. Default: `2`. */
  factor?: number;
}

/** Options of {@link Watch}. */
export interface WatchOptions {
  /** Ends the watch (and cancels its in-flight long poll). Default: none. */
  signal?: AbortSignal;
  /** Blocking time of each query, in ms (Consul caps it at 600 s). Default: `300000`. */
  wait?: number;
  /**
   * Limit on iterations, so a churning key cannot turn the loop into a busy loop; `false` disables it.
   * Default: `{ ratePerSecond: 2, burst: 5 }`.
   */
  rateLimit?: RateLimit | false;
  /** Minimum time between the starts of two iterations, in ms. Default: `0`. */
  minInterval?: number;
  /** Backoff after failures. Default: see {@link WatchBackoff}. */
  backoff?: WatchBackoff;
  /** Index to start from: `0n` yields the current result first. Default: `0n`. */
  index?: bigint;
}

/** Why a watch ended: the caller aborted or stopped it, or a non-retryable error ended it. */
export type WatchEndReason = 'aborted' | 'error';

/** A blocking query run by a {@link Watch}; it must pass `index`, `wait` and `signal` through. */
export type WatchQuery<T> = (options: QueryOptions) => Promise<QueryResult<T>>;

/** What the owning client observes of a watch. */
export interface WatchHooks {
  /** Receives wake-up and error counts. */
  metrics?: ClientMetrics;
  /** Called once the watch has ended or was stopped. */
  onEnd?: () => void;
}

const DEFAULT_RATE: RateLimit = { ratePerSecond: 2, burst: 5 };

/**
 * The successive results of a blocking query. Iterate it once with `for await`; the first result is always
 * yielded, later ones only when the index changed. The watch is pull-based: its next long poll starts when
 * the consumer asks for the next result, so a slow consumer never builds a backlog, and each yield reflects
 * the state at the time of its request.
 */
export class Watch<T> implements AsyncIterable<QueryResult<T>> {
  private readonly controller = new AbortController();
  private readonly bucket: TokenBucket | undefined;
  private readonly wait: number;
  private readonly minInterval: number;
  private readonly backoff: Required<WatchBackoff>;
  private started = false;
  private reason: WatchEndReason | undefined;
  private failure: unknown;
  private lastIndex: bigint;

  /** @internal use `consul.watch(query, options)`. */
  constructor(
    private readonly query: WatchQuery<T>,
    private readonly options: WatchOptions = {},
    private readonly hooks: WatchHooks = {},
  ) {
    const wait = options.wait ?? DEFAULT_WAIT_MS;
    if (!(Number.isFinite(wait) && wait > 0 && wait <= MAX_WAIT_MS)) {
      throw new InvalidArgumentError(`watch wait must be in (0, ${MAX_WAIT_MS}] ms, got ${String(options.wait)}`);
    }
    this.wait = wait;
    this.minInterval = options.minInterval ?? 0;
    if (!(Number.isFinite(this.minInterval) && this.minInterval >= 0)) throw new InvalidArgumentError('watch minInterval must be ≥ 0');
    this.backoff = { minDelay: 250, maxDelay: 30_000, factor: 2, ...definedOnly(options.backoff ?? {}) };
    if (!(this.backoff.minDelay >= 0 && this.backoff.maxDelay >= this.backoff.minDelay && this.backoff.factor >= 1)) {
      throw new InvalidArgumentError('watch backoff needs 0 ≤ minDelay ≤ maxDelay and factor ≥ 1');
    }
    const rate = options.rateLimit === undefined ? DEFAULT_RATE : options.rateLimit;
    if (rate) validateRateLimit('watch rateLimit', rate);
    this.bucket = rate ? new TokenBucket(rate) : undefined;
    if (options.index !== undefined && (typeof options.index !== 'bigint' || options.index < 0n)) {
      throw new InvalidArgumentError('watch index must be a non-negative bigint');
    }
    this.lastIndex = options.index ?? 0n;
    this.controller.signal.addEventListener('abort', () => hooks.onEnd?.(), { once: true });
    if (options.signal?.aborted) this.controller.abort();
    else options.signal?.addEventListener('abort', () => this.controller.abort(), { once: true });
  }

  /** Why the watch ended; `undefined` while it runs. */
  get endReason(): WatchEndReason | undefined {
    return this.reason;
  }

  /** The error that ended the watch when `endReason` is `'error'`. */
  get error(): unknown {
    return this.failure;
  }

  /** Index of the last yielded result (`0n` before the first). */
  get index(): bigint {
    return this.lastIndex;
  }

  /** Ends the watch, cancelling its in-flight long poll; the iteration finishes with `endReason: 'aborted'`. */
  stop(): void {
    this.controller.abort();
  }

  /**
   * The successive results, each with an index other than the one before; a watch can be iterated once.
   *
   * @throws {@link InvalidArgumentError} when iterated a second time; the iteration itself throws the error
   *   that ended the watch when it is not retryable (`endReason: 'error'`).
   */
  [Symbol.asyncIterator](): AsyncIterator<QueryResult<T>> {
    if (this.started) throw new InvalidArgumentError('a watch can be iterated only once');
    this.started = true;
    return this.run();
  }

  private async *run(): AsyncGenerator<QueryResult<T>, void, undefined> {
    const signal = this.controller.signal;
    let requestIndex = this.lastIndex;
    let yielded = false;
    let failures = 0;
    let lastStart = -Infinity;
    try {
      while (!signal.aborted) {
        await this.bucket?.take(signal);
        await sleep(lastStart + this.minInterval - performance.now(), signal);
        lastStart = performance.now();
        let result: QueryResult<T>;
        try {
          result = await this.query({ index: requestIndex, wait: this.wait, signal });
          failures = 0;
        } catch (err) {
          if (signal.aborted || err instanceof AbortedError) break;
          this.hooks.metrics?.watchError(err instanceof KvxError ? err.code : 'UNKNOWN');
          if (!(err instanceof KvxError && (err.retryable || err instanceof CircuitOpenError))) {
            this.reason = 'error';
            this.failure = err;
            throw err;
          }
          // An open breaker says when it will try the agent again: wait for that (plus jitter, so that the watches
          // of a client do not all line up behind its probe) rather than let the fast failures compound the backoff.
          // While its probe is already out (`0`), which for long polls can take minutes, back off as usual.
          if (err instanceof CircuitOpenError && err.retryAfterMs !== undefined && err.retryAfterMs > 0) {
            await sleep(err.retryAfterMs + backoffDelay(1, this.backoff.minDelay, this.backoff.maxDelay, this.backoff.factor), signal);
            continue;
          }
          failures++;
          await sleep(backoffDelay(failures, this.backoff.minDelay, this.backoff.maxDelay, this.backoff.factor), signal);
          continue;
        }
        const changed = !yielded || result.index !== this.lastIndex;
        this.hooks.metrics?.watchWakeup(changed);
        // Consul's rules: an index that goes backwards restarts from a plain read; never block on 0.
        if (result.index < requestIndex) requestIndex = 0n;
        else requestIndex = result.index < 1n ? 1n : result.index;
        if (changed) {
          yielded = true;
          this.lastIndex = result.index;
          yield result;
        }
      }
    } catch (err) {
      if (!(err instanceof AbortedError) || this.reason === 'error') throw err;
    } finally {
      this.reason ??= 'aborted';
      this.hooks.onEnd?.();
    }
  }
}

function definedOnly<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}
