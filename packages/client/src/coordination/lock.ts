/**
 * A mutex on one Consul key, compatible with Consul's Go `api.Lock` and `consul lock` (same key layout,
 * flags, session defaults and acquisition algorithm), so kvx and Go contenders exclude each other.
 *
 * Differences from Go, none visible on the wire: the lock-delay retry is jittered; a lost lock resets the
 * object (Go keeps reporting `Lock already held` until `Unlock()`, issue #4902) and cleans up its owned
 * session; loss is published as an `AbortSignal` and a `lost` event, and also follows the session renewer
 * giving up; acquisition aborts promptly through an `AbortSignal`, in-flight blocking reads included; the
 * holding carries a fencing token.
 *
 * @module
 */

import { EventEmitter } from 'node:events';
import type { KvPair, QueryResult } from '../api/types.js';
import { InvalidArgumentError, KvxError } from '../errors.js';
import {
  DEFAULT_LOCK_RETRY_TIME_MS,
  DEFAULT_LOCK_SESSION_NAME,
  DEFAULT_LOCK_WAIT_TIME_MS,
  DEFAULT_MONITOR_RETRY_TIME_MS,
  DEFAULT_SESSION_TTL,
  LOCK_FLAG_VALUE,
} from './constants.js';
import {
  closeContenderSession,
  openContenderSession,
  type ContenderSession,
  type ContenderSessionOptions,
} from './contender-session.js';
import type { CoordinationClient } from './coordination-client.js';
import { durationOption, formatDuration } from './duration.js';
import {
  LockConflictError,
  LockFailedError,
  LockHeldError,
  LockInUseError,
  LockLostError,
  LockNotHeldError,
  LockReleasedError,
} from './errors.js';
import { monitorHolding } from './holding-monitor.js';
import { normalizeKey } from './key-path.js';
import { flag, nonNegativeDuration, nonNegativeInteger, positiveDuration, storedValue, suppliedSession } from './option-checks.js';
import type { RenewedSessionOptions, SessionRenewer } from './session-renewer.js';
import { anySignal, jittered, monotonicNow, pause } from './timing.js';

/** Spread of the pause after a refusal by lock-delay, so waiters do not retry in lock-step (Consul #9469). */
const LOCK_RETRY_JITTER_FRACTION = 0.2;

/** Options of {@link Lock}. Durations are milliseconds or Go duration strings (`"15s"`). */
export interface LockOptions {
  /** The lock key. Required. Path-joined like Go's `path.Join` (`a//b/` is `a/b`); a leading `/` is dropped. */
  key: string;
  /** Value stored in the key while held (and kept on release). Default: empty. */
  value?: Buffer | string;
  /**
   * Contend with this existing session instead of creating one. kvx never renews or destroys it; the
   * session options below are then ignored. Default: a session is created per acquisition.
   */
  session?: string;
  /** Name of the created session. Default: `"Consul API Lock"`. */
  sessionName?: string;
  /** TTL of the created session; renewed every TTL/2 while held. Default: `"15s"`. */
  sessionTtl?: number | string;
  /**
   * Lock-delay of the created session: after the session is invalidated, nobody can acquire the key for this
   * long. Default: Consul's (15 s). `0` disables it (which Go's `LockOpts` cannot express).
   */
  lockDelay?: number | string;
  /**
   * Further settings of the created session, applied over the defaults above (e.g. `nodeChecks`). Default:
   * none — behaviour `release` and Consul's default checks, as `consul lock` uses.
   */
  sessionOptions?: ContenderSessionOptions;
  /** Consecutive transient errors (5xx, network) the monitor rides out before declaring the lock lost. Default: `0`. */
  monitorRetries?: number;
  /** Pause between monitor retries. Default: 2 s. */
  monitorRetryTime?: number | string;
  /** Longest blocking read while waiting; with `lockTryOnce`, the total time to wait. Default: 15 s. */
  lockWaitTime?: number | string;
  /** Give up (resolve `undefined`) once `lockWaitTime` has passed without acquiring. Default: `false`. */
  lockTryOnce?: boolean;
  /** Pause before retrying when lock-delay refused the acquisition, ±20 % jitter. Default: 5 s (Go's constant). */
  lockRetryTime?: number | string;
}

/** Options of {@link Lock.acquire}. */
export interface LockAcquireOptions {
  /** Abandons the acquisition: `acquire` then resolves `undefined`, as Go's `Lock(stopCh)` returns `(nil, nil)`. */
  signal?: AbortSignal;
}

/** One holding of a lock, from acquisition until release or loss. */
export interface LockHandle {
  /** The lock key. */
  readonly key: string;
  /** The session holding the key. */
  readonly session: string;
  /** The key's `LockIndex` right after acquisition: how many times it has been acquired. */
  readonly lockIndex: bigint;
  /** The key's `ModifyIndex` right after acquisition. */
  readonly modifyIndex: bigint;
  /**
   * Fencing token: strictly greater for every later holding of this key, even across deletion and
   * re-creation of the key (it is the `ModifyIndex` of the acquisition, drawn from Consul's global index).
   * Pass it to downstream systems so they can refuse a stale holder.
   */
  readonly fencingToken: bigint;
  /**
   * Aborted when this holding ends: with a {@link LockLostError} when lost, a {@link LockReleasedError}
   * when released (Go's lock channel closes in both cases).
   */
  readonly signal: AbortSignal;
  /** Releases this holding; see {@link Lock.release}. */
  release(): Promise<void>;
}

/** Events of {@link Lock}. */
export interface LockEvents {
  /** The lock was acquired. */
  acquired: [handle: LockHandle];
  /** The held lock was lost; the lock object is free to acquire again. */
  lost: [error: LockLostError];
  /** The holder released the lock. */
  released: [];
  /** The monitor hit a transient error and will retry. */
  monitorRetry: [error: unknown, retriesLeft: number];
}

interface Holding {
  state: 'held' | 'lost' | 'closed';
  readonly session: ContenderSession;
  readonly ended: AbortController;
  readonly monitor: AbortController;
  handle: LockHandle | undefined;
  cleanup: Promise<void>;
}

interface Acquired {
  pair: KvPair;
  index: bigint;
}

interface ResolvedLockOptions {
  key: string;
  value: Buffer;
  session: string | undefined;
  create: RenewedSessionOptions;
  monitorRetries: number;
  monitorRetryTime: number;
  lockWaitTime: number;
  lockTryOnce: boolean;
  lockRetryTime: number;
}

function resolveOptions(options: LockOptions): ResolvedLockOptions {
  if (typeof options !== 'object' || options === null) throw new InvalidArgumentError('lock options are required');
  if (options.key === undefined) throw new InvalidArgumentError('missing key');
  const key = normalizeKey('key', options.key);
  const ttl = options.sessionTtl ?? DEFAULT_SESSION_TTL;
  const ttlMs = durationOption('sessionTtl', ttl);
  if (ttlMs <= 0) throw new InvalidArgumentError('invalid sessionTtl: must be positive');
  const create: RenewedSessionOptions = {
    name: options.sessionName ?? DEFAULT_LOCK_SESSION_NAME,
    ttl: typeof ttl === 'number' ? formatDuration(ttl) : ttl,
    behavior: 'release',
    ...(options.lockDelay === undefined ? {} : { lockDelay: durationOption('lockDelay', options.lockDelay) }),
    ...options.sessionOptions,
  };
  return {
    key,
    value: storedValue(options.value),
    session: suppliedSession(options.session),
    create,
    monitorRetries: nonNegativeInteger('monitorRetries', options.monitorRetries, 0),
    monitorRetryTime: nonNegativeDuration('monitorRetryTime', options.monitorRetryTime, DEFAULT_MONITOR_RETRY_TIME_MS),
    lockWaitTime: positiveDuration('lockWaitTime', options.lockWaitTime, DEFAULT_LOCK_WAIT_TIME_MS),
    lockTryOnce: flag('lockTryOnce', options.lockTryOnce),
    lockRetryTime: positiveDuration('lockRetryTime', options.lockRetryTime, DEFAULT_LOCK_RETRY_TIME_MS),
  };
}

/**
 * A Consul mutex. One object holds the lock at most once at a time; create one object per contender.
 *
 * ```ts
 * const lock = new Lock(consul, { key: 'service/web/leader' });
 * const held = await lock.acquire();
 * try { await work(held.signal); } finally { await held.release(); }
 * ```
 */
export class Lock extends EventEmitter<LockEvents> {
  readonly #client: CoordinationClient;
  readonly #o: ResolvedLockOptions;
  #acquiring = false;
  #holding: Holding | undefined;

  /** @throws {@link InvalidArgumentError} for a missing key or malformed options. */
  constructor(client: CoordinationClient, options: LockOptions) {
    super();
    this.#client = client;
    this.#o = resolveOptions(options);
  }

  /** The normalised lock key. */
  get key(): string {
    return this.#o.key;
  }

  /** Whether the lock is held right now (`false` again once lost or released). */
  get isHeld(): boolean {
    return this.#holding?.state === 'held';
  }

  /** The current holding, while held. */
  get handle(): LockHandle | undefined {
    return this.isHeld ? this.#holding?.handle : undefined;
  }

  /** Signal of the latest holding (see {@link LockHandle.signal}); `undefined` before the first acquisition. */
  get lostSignal(): AbortSignal | undefined {
    return this.#holding?.ended.signal;
  }

  /**
   * Renewer of the session this lock created for the current holding (`undefined` with a caller-supplied
   * session). Its `validUntil` tells a holder how long the session is certain to live.
   */
  get sessionRenewer(): SessionRenewer | undefined {
    return this.isHeld ? this.#holding?.session.renewer : undefined;
  }

  /**
   * Waits until the lock is acquired (Go's `Lock`). Resolves `undefined` when `signal` aborts or, with
   * `lockTryOnce`, when `lockWaitTime` passes first.
   *
   * @throws {@link LockHeldError} when held or being acquired by this object;
   *   {@link LockConflictError} when the key is not a lock (e.g. a semaphore's `.lock`);
   *   {@link SessionExpiredError} when the created session is lost while waiting;
   *   {@link LockFailedError} when a Consul request fails.
   */
  async acquire(options: LockAcquireOptions = {}): Promise<LockHandle | undefined> {
    if (this.#acquiring || this.isHeld) throw new LockHeldError();
    const { signal } = options;
    if (signal?.aborted) return undefined;
    this.#acquiring = true;
    try {
      let session: ContenderSession;
      try {
        session = await openContenderSession(this.#client, this.#o.session, this.#o.create);
      } catch (err) {
        throw new LockFailedError('failed to create session', err);
      }
      let acquired: Acquired | undefined;
      try {
        acquired = await this.#waitForLock(session, signal);
      } catch (err) {
        await closeContenderSession(session);
        throw err;
      }
      if (acquired === undefined) {
        await closeContenderSession(session);
        return undefined;
      }
      return this.#hold(session, acquired);
    } finally {
      this.#acquiring = false;
    }
  }

  /**
   * Releases the lock (Go's `Unlock`): clears the key's session (keeping its value and flags, without
   * lock-delay), then destroys the session this lock created. After the lock was lost, resolves once the
   * loss's cleanup is done.
   *
   * @throws {@link LockNotHeldError} when not held; {@link LockFailedError} when the release request fails
   *   (the owned session is destroyed anyway, which frees the key after its lock-delay).
   */
  async release(): Promise<void> {
    const holding = this.#holding;
    if (holding === undefined) throw new LockNotHeldError();
    await this.#release(holding);
  }

  /**
   * Deletes the lock key when nobody holds it (Go's `Destroy`); a missing key is fine.
   *
   * @throws {@link LockHeldError} when this object holds it; {@link LockConflictError} when the key is not a
   *   lock; {@link LockInUseError} when a session holds it; {@link LockFailedError} on request failures.
   */
  async destroy(): Promise<void> {
    if (this.#acquiring || this.isHeld) throw new LockHeldError();
    let pair: KvPair | undefined;
    try {
      pair = (await this.#client.kv.get(this.#o.key, { consistency: 'default' })).value;
    } catch (err) {
      throw new LockFailedError('failed to read lock', err);
    }
    if (pair === undefined) return;
    if (pair.flags !== LOCK_FLAG_VALUE) throw new LockConflictError();
    if (pair.session !== undefined) throw new LockInUseError();
    let deleted: boolean;
    try {
      deleted = await this.#client.kv.delete(this.#o.key, { cas: pair.modifyIndex });
    } catch (err) {
      throw new LockFailedError('failed to remove lock', err);
    }
    if (!deleted) throw new LockInUseError();
  }

  /** Go's acquisition loop; `undefined` when abandoned (signal or one-shot timeout). */
  async #waitForLock(session: ContenderSession, userSignal: AbortSignal | undefined): Promise<Acquired | undefined> {
    const o = this.#o;
    const kv = this.#client.kv;
    const signal = anySignal(userSignal, session.renewer?.signal);
    const abandoned = (): undefined => {
      const lost = session.renewer?.lostError;
      if (lost !== undefined) throw lost;
      return undefined;
    };
    const read = async (index: bigint, wait: number): Promise<QueryResult<KvPair | undefined> | undefined> => {
      try {
        return await kv.get(o.key, { index, wait, consistency: 'default', signal });
      } catch (err) {
        if (signal.aborted) return abandoned();
        throw new LockFailedError('failed to read lock', err);
      }
    };

    const start = monotonicNow();
    let attempts = 0;
    let index = 0n;
    let wait = o.lockWaitTime;
    for (;;) {
      if (signal.aborted) return abandoned();
      if (o.lockTryOnce && attempts > 0) {
        const elapsed = monotonicNow() - start;
        if (elapsed > o.lockWaitTime) return undefined;
        wait = o.lockWaitTime - elapsed;
      }
      attempts++;

      const current = await read(index, wait);
      if (current === undefined) return abandoned();
      const pair = current.value;
      if (pair !== undefined && pair.flags !== LOCK_FLAG_VALUE) throw new LockConflictError();
      if (pair?.session === session.id) return { pair, index: current.index };
      if (pair?.session !== undefined) {
        index = nextIndex(index, current.index);
        continue;
      }

      // Not aborted mid-request: the outcome of an acquire must be known to be undone.
      let locked: boolean;
      try {
        locked = await kv.acquire(o.key, o.value, session.id, { flags: LOCK_FLAG_VALUE });
      } catch (err) {
        if (err instanceof KvxError && err.ambiguous) {
          // It may have been applied: a fresh read tells (our session on the key means we hold it).
          index = 0n;
          continue;
        }
        throw new LockFailedError('failed to acquire lock', err);
      }
      if (locked) {
        const confirmed = await this.#confirm(session);
        if (confirmed === undefined) {
          index = 0n;
          continue;
        }
        if (signal.aborted) {
          await this.#releaseQuietly(session.id);
          return abandoned();
        }
        return confirmed;
      }

      // Refused: held by someone (block on it) or lock-delay in effect (pause, then retry).
      const why = await read(0n, wait);
      if (why === undefined) return abandoned();
      if (why.value?.session !== undefined) {
        index = why.index;
        continue;
      }
      if (!(await pause(jittered(o.lockRetryTime, LOCK_RETRY_JITTER_FRACTION), signal))) return abandoned();
      index = 0n;
    }
  }

  /** Consistent read right after a successful acquire: the fencing indexes, or `undefined` if already gone. */
  async #confirm(session: ContenderSession): Promise<Acquired | undefined> {
    let result: QueryResult<KvPair | undefined>;
    try {
      result = await this.#client.kv.get(this.#o.key, { consistency: 'consistent' });
    } catch (err) {
      await this.#releaseQuietly(session.id);
      throw new LockFailedError('failed to read lock', err);
    }
    const pair = result.value;
    return pair?.session === session.id ? { pair, index: result.index } : undefined;
  }

  #hold(session: ContenderSession, acquired: Acquired): LockHandle {
    const holding: Holding = {
      state: 'held',
      session,
      ended: new AbortController(),
      monitor: new AbortController(),
      handle: undefined,
      cleanup: Promise.resolve(),
    };
    const handle: LockHandle = {
      key: this.#o.key,
      session: session.id,
      lockIndex: acquired.pair.lockIndex,
      modifyIndex: acquired.pair.modifyIndex,
      fencingToken: acquired.pair.modifyIndex,
      signal: holding.ended.signal,
      release: () => this.#release(holding),
    };
    holding.handle = handle;
    this.#holding = holding;
    session.renewer?.once('lost', (err) => this.#lose(holding, new LockLostError(this.#o.key, 'session-expired', err)));
    this.#monitor(holding, acquired.index).catch((err: unknown) =>
      this.#lose(holding, new LockLostError(this.#o.key, 'monitor-failed', err)),
    );
    this.emit('acquired', handle);
    return handle;
  }

  async #monitor(holding: Holding, startIndex: bigint): Promise<void> {
    const o = this.#o;
    const loss = await monitorHolding<KvPair | undefined>({
      read: (index, signal) => this.#client.kv.get(o.key, { index, consistency: 'consistent', signal }),
      check: (pair) => {
        if (pair === undefined) return 'key-deleted';
        if (pair.session === undefined) return 'key-released';
        return pair.session === holding.session.id ? undefined : 'key-taken';
      },
      startIndex,
      retries: o.monitorRetries,
      retryTime: o.monitorRetryTime,
      signal: holding.monitor.signal,
      onRetry: (err, left) => this.emit('monitorRetry', err, left),
    });
    if (loss !== undefined) this.#lose(holding, new LockLostError(o.key, loss.reason, loss.cause));
  }

  #lose(holding: Holding, error: LockLostError): void {
    if (holding.state !== 'held') return;
    holding.state = 'lost';
    holding.monitor.abort();
    holding.cleanup = this.#cleanUpAfterLoss(holding, error);
    holding.ended.abort(error);
    this.emit('lost', error);
  }

  /**
   * A lost holding must not linger: an owned session is destroyed (if it still holds the key, Consul frees
   * it with lock-delay, protecting the next holder); a caller's session that may still hold the key because
   * the monitor could not see it is released.
   */
  async #cleanUpAfterLoss(holding: Holding, error: LockLostError): Promise<void> {
    if (holding.session.renewer !== undefined) {
      await closeContenderSession(holding.session);
    } else if (error.reason === 'monitor-failed') {
      await this.#releaseQuietly(holding.session.id);
    }
  }

  async #release(holding: Holding): Promise<void> {
    if (holding.state === 'closed') throw new LockNotHeldError();
    if (holding.state === 'lost') {
      holding.state = 'closed';
      await holding.cleanup;
      return;
    }
    holding.state = 'closed';
    holding.monitor.abort();
    let failure: unknown;
    try {
      await this.#client.kv.release(this.#o.key, this.#o.value, holding.session.id, { flags: LOCK_FLAG_VALUE });
    } catch (err) {
      failure = err;
    }
    await closeContenderSession(holding.session);
    holding.ended.abort(new LockReleasedError(this.#o.key));
    this.emit('released');
    if (failure !== undefined) throw new LockFailedError('failed to release lock', failure);
  }

  async #releaseQuietly(session: string): Promise<void> {
    try {
      await this.#client.kv.release(this.#o.key, this.#o.value, session, { flags: LOCK_FLAG_VALUE });
    } catch {
      // Best effort: an owned session is destroyed next, and a caller's session is the caller's to end.
    }
  }
}

/** The index to block on next, reset when Consul's index went backwards (blocking-query rules). */
function nextIndex(previous: bigint, returned: bigint): bigint {
  return returned < previous ? 0n : returned;
}
