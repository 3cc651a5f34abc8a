/**
 * Circuit breakers per agent address (opossum). Only transport failures, 5xx and 429 count as failures —
 * a 403 or a failed CAS says nothing about the agent's health. Blocking queries use their own breaker
 * without a timeout, so a five-minute long poll never trips the breaker of ordinary requests.
 *
 * @module
 */

import CircuitBreaker from 'opossum';
import { AbortedError, CircuitOpenError, CLIENT_CLOSED, ConnectionError, HttpError, InvalidArgumentError, KvxError, RateLimitedError } from '../errors.js';

/** Breaker tuning; every field has a default suited to a local Consul agent. */
export interface BreakerPolicy {
  /** Failure percentage in the rolling window above which the circuit opens. Default: `50`. */
  errorThresholdPercentage?: number;
  /** Requests needed in the rolling window before the circuit may open at all. Default: `10`. */
  volumeThreshold?: number;
  /** Time the circuit stays open before one probe request is let through (half-open), in ms. Default: `5000`. */
  resetTimeout?: number;
  /** Length of the rolling statistics window, in ms. Default: `10000`. */
  rollingCountTimeout?: number;
  /** Give blocking queries their own breaker (`'separate'`) or none (`'none'`). Default: `'separate'`. */
  longPolls?: 'separate' | 'none';
}

/** State of a breaker. */
export type BreakerState = 'closed' | 'open' | 'halfOpen';

/** Which class of requests a breaker guards. */
export type BreakerKind = 'request' | 'longPoll';

/** The states of a client's two breakers (`undefined` where the policy or the factory made none). */
export interface BreakerStates {
  /** The breaker of ordinary requests. */
  readonly request: BreakerState | undefined;
  /** The breaker of blocking queries (`longPolls: 'separate'`); `undefined` with `longPolls: 'none'`. */
  readonly longPoll: BreakerState | undefined;
}

/** A circuit breaker guarding the requests to one agent. */
export interface Breaker {
  /**
   * Runs `action` through the breaker.
   *
   * @throws {@link CircuitOpenError} without running `action` while the circuit is open.
   */
  run<T>(action: () => Promise<T>): Promise<T>;
  /** Current state. */
  readonly state: BreakerState;
  /** Registers a listener for state changes. */
  onStateChange(listener: (state: BreakerState) => void): void;
  /** Releases timers. */
  shutdown(): void;
}

/**
 * Builds the breaker for one agent address and request class; return `undefined` for no breaker.
 * Injected through `ConsulOptions.breakerFactory`.
 */
export type BreakerFactory = (address: string, kind: BreakerKind, policy: BreakerPolicy) => Breaker | undefined;

/** Whether a failure says something about the agent's health. */
export function countsAsFailure(error: unknown): boolean {
  if (error instanceof ConnectionError || error instanceof RateLimitedError) return true;
  return error instanceof HttpError && error.status !== undefined && error.status >= 500;
}

const DEFAULTS = {
  errorThresholdPercentage: 50,
  volumeThreshold: 10,
  resetTimeout: 5000,
  rollingCountTimeout: 10_000,
  longPolls: 'separate',
} as const;

/** Validates a breaker policy and fills in the defaults. */
export function resolveBreakerPolicy(policy: BreakerPolicy = {}): Required<BreakerPolicy> {
  const p: Required<BreakerPolicy> = {
    errorThresholdPercentage: policy.errorThresholdPercentage ?? DEFAULTS.errorThresholdPercentage,
    volumeThreshold: policy.volumeThreshold ?? DEFAULTS.volumeThreshold,
    resetTimeout: policy.resetTimeout ?? DEFAULTS.resetTimeout,
    rollingCountTimeout: policy.rollingCountTimeout ?? DEFAULTS.rollingCountTimeout,
    longPolls: policy.longPolls ?? DEFAULTS.longPolls,
  };
  if (!(p.errorThresholdPercentage > 0 && p.errorThresholdPercentage <= 100)) {
    throw new InvalidArgumentError('breaker.errorThresholdPercentage must be in (0, 100]');
  }
  if (!(Number.isInteger(p.volumeThreshold) && p.volumeThreshold >= 1)) {
    throw new InvalidArgumentError('breaker.volumeThreshold must be a positive integer');
  }
  if (!(Number.isFinite(p.resetTimeout) && p.resetTimeout > 0)) throw new InvalidArgumentError('breaker.resetTimeout must be positive');
  if (!(Number.isFinite(p.rollingCountTimeout) && p.rollingCountTimeout >= 10)) {
    throw new InvalidArgumentError('breaker.rollingCountTimeout must be at least 10 ms');
  }
  if (p.longPolls !== 'separate' && p.longPolls !== 'none') throw new InvalidArgumentError("breaker.longPolls must be 'separate' or 'none'");
  return p;
}

/** The default factory: one opossum breaker per address and kind, no opossum timeout (requests carry their own). */
export const opossumBreakerFactory: BreakerFactory = (address, kind, policy) => {
  const p = resolveBreakerPolicy(policy);
  if (kind === 'longPoll' && p.longPolls === 'none') return undefined;
  const cb = new CircuitBreaker((action: () => Promise<unknown>) => action(), {
    name: `consul:${address}:${kind}`,
    timeout: false,
    errorThresholdPercentage: p.errorThresholdPercentage,
    volumeThreshold: p.volumeThreshold,
    resetTimeout: p.resetTimeout,
    rollingCountTimeout: p.rollingCountTimeout,
    // Only the counts decide when to open. Latency percentiles and periodic snapshots would sort every
    // latency of the window once per bucket interval, a cost paid by busy clients for figures kvx never reads.
    rollingPercentilesEnabled: false,
    enableSnapshots: false,
    errorFilter: (err: unknown) => !countsAsFailure(err),
  });
  const listeners: ((s: BreakerState) => void)[] = [];
  const emit = (s: BreakerState): void => listeners.forEach((l) => l(s));
  // When the open circuit will let its probe through; opossum keeps this to itself.
  let probeAt = 0;
  cb.on('open', () => {
    probeAt = performance.now() + p.resetTimeout;
    emit('open');
  });
  cb.on('halfOpen', () => emit('halfOpen'));
  cb.on('close', () => emit('closed'));
  const translate = (err: unknown): never => {
    if (err instanceof KvxError) throw err;
    const code = (err as { code?: unknown }).code;
    if (code === 'EOPENBREAKER') throw new CircuitOpenError(address, Math.max(0, Math.ceil(probeAt - performance.now())));
    // Shut down with the client: a request between two retries meets it.
    if (code === 'ESHUTDOWN') throw new AbortedError(CLIENT_CLOSED);
    throw err;
  };
  return {
    run<T>(action: () => Promise<T>): Promise<T> {
      return (cb.fire(action) as Promise<T>).catch(translate);
    },
    get state(): BreakerState {
      return cb.opened ? 'open' : cb.halfOpen ? 'halfOpen' : 'closed';
    },
    onStateChange(listener) {
      listeners.push(listener);
    },
    shutdown() {
      cb.shutdown();
    },
  };
};
