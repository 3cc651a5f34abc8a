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

import type { KvPair, QueryResult } from '../api/types.js';
import { InvalidArgumentError, KvxError } from '../errors.js';
import { DEFAULT_LOCK_RETRY_TIME_MS, DEFAULT_LOCK_SESSION_NAME, DEFAULT_LOCK_WAIT_TIME_MS, LOCK_FLAG_VALUE } from './constants.js';
import type { ContenderSession, ContenderSessionOptions } from './contender-session.js';
import { Contention } from './contention.js';
import type { CoordinationClient } from './coordination-client.js';
import {
  CoordinationPrimitive,
  resolveSharedOptions,
  type AcquireOptions,
  type HoldingEvents,
  type MonitorSettings,
  type PrimitiveErrors,
  type SharedSettings,
} from './coordination-primitive.js';
import {
  LockConflictError,
  LockFailedError,
  LockHeldError,
  LockInUseError,
  LockLostError,
  LockNotHeldError,
  LockReleasedError,
} from './errors.js';
import { monitorHolding, type HoldingLoss } from './holding-monitor.js';
import { normalizeKey } from './key-path.js';
import { flag, positiveDuration } from './option-checks.js';
import { jittered, pause } from './timing.js';

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
export type LockAcquireOptions = AcquireOptions;

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
export type LockEvents = HoldingEvents<LockHandle, LockLostError>;

interface Acquired {
  pair: KvPair;
  index: bigint;
}

interface ResolvedLockOptions extends SharedSettings {
  key: string;
  lockWaitTime: number;
  lockTryOnce: boolean;
  lockRetryTime: number;
}

function resolveOptions(options: LockOptions): ResolvedLockOptions {
  if (typeof options !== 'object' || options === null) throw new InvalidArgumentError('lock options are required');
  if (options.key === undefined) throw new InvalidArgumentError('missing key');
  return {
    key: normalizeKey('key', options.key),
    ...resolveSharedOptions(options, { name: DEFAULT_LOCK_SESSION_NAME, behavior: 'release', lockDelay: options.lockDelay }),
    lockWaitTime: positiveDuration('lockWaitTime', options.lockWaitTime, DEFAULT_LOCK_WAIT_TIME_MS),
    lockTryOnce: flag('lockTryOnce', options.lockTryOnce),
    lockRetryTime: positiveDuration('lockRetryTime', options.lockRetryTime, DEFAULT_LOCK_RETRY_TIME_MS),
  };
}

const LOCK_ERRORS: PrimitiveErrors<LockLostError> = {
  Held: LockHeldError,
  NotHeld: LockNotHeldError,
  Failed: LockFailedError,
  Lost: LockLostError,
  Released: LockReleasedError,
};

/**
 * A Consul mutex. One object holds the lock at most once at a time; create one object per contender.
 *
 * ```ts
 * const lock = new Lock(consul, { key: 'service/web/leader' });
 * const held = await lock.acquire();
 * try { await work(held.signal); } finally { await held.release(); }
 * ```
 */
export class Lock extends CoordinationPrimitive<LockHandle, LockLostError, Acquired> {
  readonly #o: ResolvedLockOptions;

  /** @throws {@link InvalidArgumentError} for a missing key or malformed options. */
  constructor(client: CoordinationClient, options: LockOptions) {
    const o = resolveOptions(options);
    super(client, o.key, o, LOCK_ERRORS);
    this.#o = o;
  }

  /** The normalised lock key. */
  get key(): string {
    return this.#o.key;
  }

  /**
   * Go's acquisition loop. Besides the base's errors, throws {@link LockConflictError} when the key is not
   * a lock (e.g. a semaphore's `.lock`).
   */
  protected override async contend(session: ContenderSession, userSignal: AbortSignal | undefined): Promise<Acquired | undefined> {
    const o = this.#o;
    const kv = this.client.kv;
    const contention = new Contention(session, userSignal, o.lockWaitTime, o.lockTryOnce);
    const { signal } = contention;
    const read = async (index: bigint, wait: number): Promise<QueryResult<KvPair | undefined> | undefined> => {
      try {
        return await kv.get(o.key, { index, wait, consistency: 'default', signal });
      } catch (err) {
        if (signal.aborted) return contention.abandoned();
        throw new LockFailedError('failed to read lock', err);
      }
    };

    let index = 0n;
    for (;;) {
      if (signal.aborted) return contention.abandoned();
      const wait = contention.nextWait();
      if (wait === undefined) return undefined;

      const current = await read(index, wait);
      if (current === undefined) return contention.abandoned();
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
          await this.leaveQuietly(session.id);
          return contention.abandoned();
        }
        return confirmed;
      }

      // Refused: held by someone (block on it) or lock-delay in effect (pause, then retry).
      const why = await read(0n, wait);
      if (why === undefined) return contention.abandoned();
      if (why.value?.session !== undefined) {
        index = why.index;
        continue;
      }
      if (!(await pause(jittered(o.lockRetryTime, LOCK_RETRY_JITTER_FRACTION), signal))) return contention.abandoned();
      index = 0n;
    }
  }

  /** Consistent read right after a successful acquire: the fencing indexes, or `undefined` if already gone. */
  async #confirm(session: ContenderSession): Promise<Acquired | undefined> {
    let result: QueryResult<KvPair | undefined>;
    try {
      result = await this.client.kv.get(this.#o.key, { consistency: 'consistent' });
    } catch (err) {
      await this.leaveQuietly(session.id);
      throw new LockFailedError('failed to read lock', err);
    }
    const pair = result.value;
    return pair?.session === session.id ? { pair, index: result.index } : undefined;
  }

  protected override makeHandle(session: ContenderSession, acquired: Acquired, signal: AbortSignal, release: () => Promise<void>): LockHandle {
    return {
      key: this.#o.key,
      session: session.id,
      lockIndex: acquired.pair.lockIndex,
      modifyIndex: acquired.pair.modifyIndex,
      fencingToken: acquired.pair.modifyIndex,
      signal,
      release,
    };
  }

  protected override watch(session: ContenderSession, acquired: Acquired, settings: MonitorSettings): Promise<HoldingLoss | undefined> {
    return monitorHolding<KvPair | undefined>({
      ...settings,
      read: (index, signal) => this.client.kv.get(this.#o.key, { index, consistency: 'consistent', signal }),
      check: (pair) => {
        if (pair === undefined) return 'key-deleted';
        if (pair.session === undefined) return 'key-released';
        return pair.session === session.id ? undefined : 'key-taken';
      },
      startIndex: acquired.index,
    });
  }

  /** Go's `Unlock`: clears the key's session, keeping its value and flags, without lock-delay. */
  protected override async leave(session: string): Promise<void> {
    try {
      await this.client.kv.release(this.#o.key, this.#o.value, session, { flags: LOCK_FLAG_VALUE });
    } catch (err) {
      throw new LockFailedError('failed to release lock', err);
    }
  }

  /** Only a monitor that could not see the key leaves a caller's session possibly still holding it. */
  protected override leavesAfterLoss(error: LockLostError): boolean {
    return error.reason === 'monitor-failed';
  }

  /**
   * Throws {@link LockConflictError} when the key is not a lock, {@link LockInUseError} when a session holds
   * it, {@link LockFailedError} on request failures; a missing key is fine.
   */
  protected override async destroyUnheld(): Promise<void> {
    let pair: KvPair | undefined;
    try {
      pair = (await this.client.kv.get(this.#o.key, { consistency: 'default' })).value;
    } catch (err) {
      throw new LockFailedError('failed to read lock', err);
    }
    if (pair === undefined) return;
    if (pair.flags !== LOCK_FLAG_VALUE) throw new LockConflictError();
    if (pair.session !== undefined) throw new LockInUseError();
    let deleted: boolean;
    try {
      deleted = await this.client.kv.delete(this.#o.key, { cas: pair.modifyIndex });
    } catch (err) {
      throw new LockFailedError('failed to remove lock', err);
    }
    if (!deleted) throw new LockInUseError();
  }
}

/** The index to block on next, reset when Consul's index went backwards (blocking-query rules). */
function nextIndex(previous: bigint, returned: bigint): bigint {
  return returned < previous ? 0n : returned;
}
