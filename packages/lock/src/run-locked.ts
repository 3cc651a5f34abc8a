/**
 * `runLocked`: leader-only work inside a Node service. The task runs only while this process holds the lock
 * (the same `<prefix>/.lock` that `kvx lock` and `consul lock` use, so all three exclude each other), and
 * its `AbortSignal` fires as soon as leadership is lost, or is about to be: when the session cannot be
 * confirmed with Consul for long enough that it might expire (self-fencing, see `fence.ts`).
 *
 * @module
 */

import { AbortedError, Consul, InvalidArgumentError, SessionExpiredError, type ConsulOptions } from '@kvx/client';
import { contentionFor } from './contention.js';
import { LockTimeoutError } from './errors.js';
import { fencePlan } from './fence.js';
import { LeaseKeeper, lastConfirmedNs } from './lease-keeper.js';
import { DEFAULT_MONITOR_RETRIES, DEFAULT_MONITOR_RETRY_TIME_MS, DEFAULT_SESSION_TTL_MS } from './options.js';

/** What the task gets. */
export interface LockedContext {
  /**
   * Aborted when the task must stop: the lock was lost (reason: the client's `LockLostError` /
   * `SemaphoreLostError`, or `SessionExpiredError` when a renewal found the session gone), the session could
   * not be confirmed in time ({@link LeaseExpiredError}), or the caller's `signal` aborted.
   */
  signal: AbortSignal;
  /** Fencing token of this holding: larger for every later holder; pass it to systems that can reject stale writers. */
  fencingToken: bigint;
  /** The session holding the lock. */
  session: string;
}

/** Options of {@link runLocked}. */
export interface RunLockedOptions {
  /** Client to use (not closed). Default: one created from `consulOptions` and closed at the end. */
  consul?: Consul;
  /** Options of the client created when `consul` is not given. Default: `{}` (the `CONSUL_*` environment). */
  consulOptions?: ConsulOptions;
  /** Holder limit: 1 is a mutex at `<prefix>/.lock`, more is a semaphore under `<prefix>`. Default: `1`. */
  limit?: number;
  /** Session name. Default: `kvx runLocked at '<prefix>'`. */
  sessionName?: string;
  /** Session TTL (ms). Default: `15000`. */
  sessionTtlMs?: number;
  /** Session lock-delay (ms); `0` disables it. Default: the server's (15 s). */
  lockDelayMs?: number;
  /** Give up acquiring after this long (ms) with {@link LockTimeoutError}; `0` waits forever. Default: `0`. */
  timeoutMs?: number;
  /** Transient monitor errors tolerated in a row before the lock counts as lost. Default: `3`. */
  monitorRetries?: number;
  /** Pause between monitor retries (ms). Default: `1000`. */
  monitorRetryTimeMs?: number;
  /**
   * How long the task has, between its signal aborting because the session is unconfirmed and the moment
   * the session could expire (ms). Default: `5000`, shortened to fit in the TTL.
   */
  stopGraceMs?: number;
  /** Safety margin kept before the session could expire (ms). Default: TTL / 5. */
  fenceMarginMs?: number;
  /** Cancels the acquisition (rejecting with `AbortedError`) or, once running, aborts the task's signal. */
  signal?: AbortSignal;
}

/**
 * Acquires the lock at `prefix`, runs `task` while holding it, then releases it (and removes the key when
 * nobody else holds it, as `consul lock` does).
 *
 * The task must honour `ctx.signal`: an in-process task cannot be killed, so after the signal fires it
 * must stop touching the protected resource promptly (within `stopGraceMs` when fencing).
 *
 * @returns what the task returned (its rejection is passed on).
 * @throws {@link LockTimeoutError} when `timeoutMs` passes first; `AbortedError` when `signal` aborts the
 *   acquisition; the client's lock errors (conflict, limit conflict, request failures).
 */
export async function runLocked<T>(
  prefix: string,
  task: (ctx: LockedContext) => Promise<T> | T,
  options: RunLockedOptions = {},
): Promise<T> {
  if (typeof task !== 'function') throw new InvalidArgumentError('task must be a function');
  const ttlMs = options.sessionTtlMs ?? DEFAULT_SESSION_TTL_MS;
  const timeoutMs = options.timeoutMs ?? 0;
  if (!(timeoutMs >= 0)) throw new InvalidArgumentError('timeoutMs must not be negative');
  const plan = fencePlan({
    ttlMs,
    killGraceMs: options.stopGraceMs ?? 5000,
    ...(options.fenceMarginMs === undefined ? {} : { marginMs: options.fenceMarginMs }),
  });
  const cleanPrefix = prefix.startsWith('/') ? prefix.slice(1) : prefix;
  const consul = options.consul ?? new Consul(options.consulOptions ?? {});
  try {
    const contention = contentionFor(consul, {
      prefix: cleanPrefix,
      limit: options.limit ?? 1,
      sessionName: options.sessionName ?? `kvx runLocked at '${cleanPrefix}'`,
      sessionTtlMs: ttlMs,
      lockDelayMs: options.lockDelayMs,
      monitorRetries: options.monitorRetries ?? DEFAULT_MONITOR_RETRIES,
      monitorRetryTimeMs: options.monitorRetryTimeMs ?? DEFAULT_MONITOR_RETRY_TIME_MS,
      timeoutMs,
    });
    const callerSignal = options.signal ?? new AbortController().signal;
    const holding = await contention.acquire(callerSignal);
    if (holding === undefined) {
      if (callerSignal.aborted) throw new AbortedError('lock acquisition aborted', callerSignal.reason);
      throw new LockTimeoutError(cleanPrefix, timeoutMs);
    }

    const stop = new AbortController();
    const abort = (reason: unknown): void => stop.abort(reason);
    const keeper = new LeaseKeeper(
      {
        consul,
        sessionId: holding.session,
        renewer: holding.renewer,
        plan,
        onExpired: abort,
        onSessionGone: () => abort(new SessionExpiredError(holding.session, 'not-found')),
      },
      lastConfirmedNs(holding.renewer, plan.ttlMs),
    );
    holding.signal.addEventListener('abort', () => abort(holding.signal.reason), { once: true });
    callerSignal.addEventListener('abort', () => abort(callerSignal.reason), { once: true });
    if (callerSignal.aborted) abort(callerSignal.reason);
    await keeper.renewNow();
    keeper.start();
    try {
      return await task({ signal: stop.signal, fencingToken: holding.fencingToken, session: holding.session });
    } finally {
      keeper.stop();
      // The task's outcome matters more than the release's: a failed release still ends with the session,
      // which the renewer no longer renews.
      await holding.release().catch(() => undefined);
      await contention.cleanup().catch(() => undefined);
    }
  } finally {
    if (options.consul === undefined) await consul.close();
  }
}
