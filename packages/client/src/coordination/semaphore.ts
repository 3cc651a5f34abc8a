/**
 * A counting semaphore under a Consul prefix, compatible with Consul's Go `api.Semaphore` and
 * `consul lock -n N`: each contender holds `<prefix>/<session>`, and `<prefix>/.lock` records the limit and
 * the holders, updated by check-and-set. Holders whose session died are pruned by whoever reads next.
 *
 * Differences from Go, none visible on the wire: a session already among the holders counts as holding
 * (Go would wait for a slot it already has); one-shot mode measures its budget like the mutex does (Go
 * subtracts the elapsed time from the already-reduced wait); loss resets the object and is published as
 * an `AbortSignal` and a `lost` event; acquisition aborts promptly; the listing reads `<prefix>/` rather
 * than the bare prefix, so a sibling prefix (`web` vs `web-canary`) never wakes or keeps alive the other.
 *
 * @module
 */

import type { KvPair, QueryResult } from '../api/types.js';
import { InvalidArgumentError, KvxError } from '../errors.js';
import { DEFAULT_LOCK_WAIT_TIME_MS, DEFAULT_SEMAPHORE_KEY, DEFAULT_SEMAPHORE_SESSION_NAME, SEMAPHORE_FLAG_VALUE } from './constants.js';
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
  SemaphoreConflictError,
  SemaphoreFailedError,
  SemaphoreHeldError,
  SemaphoreInUseError,
  SemaphoreLimitConflictError,
  SemaphoreLostError,
  SemaphoreNotHeldError,
  SemaphoreReleasedError,
} from './errors.js';
import { monitorHolding, type HoldingLoss } from './holding-monitor.js';
import { normalizeKey } from './key-path.js';
import { flag, positiveDuration } from './option-checks.js';
import { decodeSemaphoreRecord, encodeSemaphoreRecord, pruneDeadHolders, type SemaphoreRecord } from './semaphore-record.js';

/** Options of {@link Semaphore}. Durations are milliseconds or Go duration strings (`"15s"`). */
export interface SemaphoreOptions {
  /** The semaphore prefix. Required. Path-joined like Go's `path.Join`; a leading `/` is dropped. */
  prefix: string;
  /** Number of holders allowed at once. Required, a positive integer; every contender must use the same. */
  limit: number;
  /** Value stored in this contender's key `<prefix>/<session>`. Default: empty. */
  value?: Buffer | string;
  /**
   * Contend with this existing session instead of creating one. kvx never renews or destroys it; the
   * session options below are then ignored. Default: a session is created per acquisition.
   */
  session?: string;
  /** Name of the created session. Default: `"Consul API Semaphore"`. */
  sessionName?: string;
  /** TTL of the created session; renewed every TTL/2 while held. Default: `"15s"`. */
  sessionTtl?: number | string;
  /**
   * Further settings of the created session, applied over the defaults. Default: none — behaviour `delete`
   * (the contender key disappears with the session) and Consul's default checks, as Go uses.
   */
  sessionOptions?: ContenderSessionOptions;
  /** Consecutive transient errors (5xx, network) the monitor rides out before declaring the slot lost. Default: `0`. */
  monitorRetries?: number;
  /** Pause between monitor retries. Default: 2 s. */
  monitorRetryTime?: number | string;
  /** Longest blocking read while waiting; with `semaphoreTryOnce`, the total time to wait. Default: 15 s. */
  semaphoreWaitTime?: number | string;
  /** Give up (resolve `undefined`) once `semaphoreWaitTime` has passed without a slot. Default: `false`. */
  semaphoreTryOnce?: boolean;
}

/** Options of {@link Semaphore.acquire}. */
export type SemaphoreAcquireOptions = AcquireOptions;

/** One holding of a semaphore slot, from acquisition until release or loss. */
export interface SemaphoreHandle {
  /** The semaphore prefix. */
  readonly prefix: string;
  /** The holder's session. */
  readonly session: string;
  /** This contender's key, `<prefix>/<session>`. */
  readonly contenderKey: string;
  /**
   * Aborted when this holding ends: with a {@link SemaphoreLostError} when lost, a
   * {@link SemaphoreReleasedError} when released.
   */
  readonly signal: AbortSignal;
  /** Releases this holding; see {@link Semaphore.release}. */
  release(): Promise<void>;
}

/** Events of {@link Semaphore}. */
export type SemaphoreEvents = HoldingEvents<SemaphoreHandle, SemaphoreLostError>;

interface ResolvedSemaphoreOptions extends SharedSettings {
  prefix: string;
  lockKey: string;
  limit: number;
  waitTime: number;
  tryOnce: boolean;
}

function resolveOptions(options: SemaphoreOptions): ResolvedSemaphoreOptions {
  if (typeof options !== 'object' || options === null) throw new InvalidArgumentError('semaphore options are required');
  if (options.prefix === undefined) throw new InvalidArgumentError('missing prefix');
  const prefix = normalizeKey('prefix', options.prefix);
  if (!(Number.isSafeInteger(options.limit) && options.limit > 0)) throw new InvalidArgumentError('semaphore limit must be positive');
  return {
    prefix,
    lockKey: normalizeKey('key', prefix, DEFAULT_SEMAPHORE_KEY),
    limit: options.limit,
    ...resolveSharedOptions(options, { name: DEFAULT_SEMAPHORE_SESSION_NAME, behavior: 'delete' }),
    waitTime: positiveDuration('semaphoreWaitTime', options.semaphoreWaitTime, DEFAULT_LOCK_WAIT_TIME_MS),
    tryOnce: flag('semaphoreTryOnce', options.semaphoreTryOnce),
  };
}

const SEMAPHORE_ERRORS: PrimitiveErrors<SemaphoreLostError> = {
  Held: SemaphoreHeldError,
  NotHeld: SemaphoreNotHeldError,
  Failed: SemaphoreFailedError,
  Lost: SemaphoreLostError,
  Released: SemaphoreReleasedError,
};

/**
 * A Consul semaphore: at most `limit` holders at once. One object holds at most one slot at a time.
 *
 * ```ts
 * const sem = new Semaphore(consul, { prefix: 'jobs/reindex', limit: 2 });
 * const slot = await sem.acquire();
 * try { await work(slot.signal); } finally { await slot.release(); }
 * ```
 */
export class Semaphore extends CoordinationPrimitive<SemaphoreHandle, SemaphoreLostError, true> {
  readonly #o: ResolvedSemaphoreOptions;

  /** @throws {@link InvalidArgumentError} for a missing prefix, a non-positive limit or malformed options. */
  constructor(client: CoordinationClient, options: SemaphoreOptions) {
    const o = resolveOptions(options);
    super(client, o.prefix, o, SEMAPHORE_ERRORS);
    this.#o = o;
  }

  /** The normalised prefix. */
  get prefix(): string {
    return this.#o.prefix;
  }

  /** The holder limit. */
  get limit(): number {
    return this.#o.limit;
  }

  /**
   * Enters contention, then runs Go's acquisition loop. Besides the base's errors, throws
   * {@link SemaphoreConflictError} when `<prefix>/.lock` is not a semaphore record (e.g. a mutex),
   * {@link SemaphoreLimitConflictError} when the record has another limit, and {@link SemaphoreFailedError}
   * when the record cannot be decoded.
   */
  protected override async contend(session: ContenderSession, signal: AbortSignal | undefined): Promise<true | undefined> {
    await this.#enterContention(session);
    return this.#waitForSlot(session, signal);
  }

  protected override makeHandle(session: ContenderSession, _won: true, signal: AbortSignal, release: () => Promise<void>): SemaphoreHandle {
    return {
      prefix: this.#o.prefix,
      session: session.id,
      contenderKey: this.#contenderKey(session.id),
      signal,
      release,
    };
  }

  protected override watch(session: ContenderSession, _won: true, settings: MonitorSettings): Promise<HoldingLoss | undefined> {
    const o = this.#o;
    return monitorHolding<KvPair[]>({
      ...settings,
      read: (index, signal) => this.client.kv.list(this.#listPrefix(), { index, consistency: 'consistent', signal }),
      check: (pairs) => {
        const lockPair = pairs.find((p) => p.key === o.lockKey);
        if (lockPair === undefined) return 'key-deleted';
        const record = this.#decode(lockPair);
        pruneDeadHolders(record, pairs);
        return record.holders.has(session.id) ? undefined : 'holder-removed';
      },
      startIndex: 0n,
    });
  }

  /** Go's `Release`: removes the holder by check-and-set, then deletes the contender key. */
  protected override async leave(session: string): Promise<void> {
    try {
      await this.#leave(session);
    } catch (err) {
      throw err instanceof SemaphoreFailedError ? err : new SemaphoreFailedError('failed to release semaphore', err);
    }
  }

  /** Unlike a lock key, the holders record outlives a caller's session, so it is always tidied. */
  protected override leavesAfterLoss(): boolean {
    return true;
  }

  /**
   * Deletes `<prefix>/.lock` when no live holder remains; contender keys are left alone. Throws
   * {@link SemaphoreConflictError} when `.lock` is not a semaphore record, {@link SemaphoreInUseError} when
   * live holders remain, {@link SemaphoreFailedError} on request or decoding failures.
   */
  protected override async destroyUnheld(): Promise<void> {
    let pairs: KvPair[];
    try {
      pairs = (await this.client.kv.list(this.#listPrefix(), { consistency: 'default' })).value;
    } catch (err) {
      throw new SemaphoreFailedError('failed to read prefix', err);
    }
    const lockPair = pairs.find((p) => p.key === this.#o.lockKey);
    if (lockPair === undefined) return;
    if (lockPair.flags !== SEMAPHORE_FLAG_VALUE) throw new SemaphoreConflictError();
    const record = this.#decode(lockPair);
    pruneDeadHolders(record, pairs);
    if (record.holders.size > 0) throw new SemaphoreInUseError();
    let deleted: boolean;
    try {
      deleted = await this.client.kv.delete(this.#o.lockKey, { cas: lockPair.modifyIndex });
    } catch (err) {
      throw new SemaphoreFailedError('failed to remove semaphore', err);
    }
    if (!deleted) throw new SemaphoreInUseError();
  }

  /** Writes the contender key `<prefix>/<session>`, held by the session. */
  async #enterContention(session: ContenderSession): Promise<void> {
    let made: boolean;
    try {
      made = await this.client.kv.acquire(this.#contenderKey(session.id), this.#o.value, session.id, { flags: SEMAPHORE_FLAG_VALUE });
    } catch (err) {
      throw new SemaphoreFailedError('failed to make contender entry', err);
    }
    if (!made) throw new SemaphoreFailedError('failed to make contender entry', undefined);
  }

  /** Go's acquisition loop; `undefined` when abandoned (signal or one-shot timeout). */
  async #waitForSlot(session: ContenderSession, userSignal: AbortSignal | undefined): Promise<true | undefined> {
    const o = this.#o;
    const kv = this.client.kv;
    const contention = new Contention(session, userSignal, o.waitTime, o.tryOnce);
    const { signal } = contention;

    let index = 0n;
    for (;;) {
      if (signal.aborted) return contention.abandoned();
      const wait = contention.nextWait();
      if (wait === undefined) return undefined;

      let listing: QueryResult<KvPair[]>;
      try {
        listing = await kv.list(this.#listPrefix(), { index, wait, consistency: 'default', signal });
      } catch (err) {
        if (signal.aborted) return contention.abandoned();
        throw new SemaphoreFailedError('failed to read prefix', err);
      }
      const lockPair = listing.value.find((p) => p.key === o.lockKey);
      if (lockPair !== undefined && lockPair.flags !== SEMAPHORE_FLAG_VALUE) throw new SemaphoreConflictError();
      const record = this.#decode(lockPair);
      if (record.limit !== o.limit) throw new SemaphoreLimitConflictError(record.limit, o.limit);
      pruneDeadHolders(record, listing.value);
      if (record.holders.has(session.id)) return true;
      if (record.holders.size >= o.limit) {
        index = listing.index < index ? 0n : listing.index;
        continue;
      }

      record.holders.set(session.id, true);
      // Not aborted mid-request: the outcome of the update must be known to be undone.
      let updated: boolean;
      try {
        updated = await kv.cas(o.lockKey, encodeSemaphoreRecord(record), lockPair?.modifyIndex ?? 0n, { flags: SEMAPHORE_FLAG_VALUE });
      } catch (err) {
        if (err instanceof KvxError && err.ambiguous) {
          // It may have been applied: the next listing shows whether this session became a holder.
          index = 0n;
          continue;
        }
        throw new SemaphoreFailedError('failed to update lock', err);
      }
      if (!updated) {
        // Lost a race with another contender: re-read at once.
        index = 0n;
        continue;
      }
      if (signal.aborted) {
        await this.leaveQuietly(session.id);
        return contention.abandoned();
      }
      return true;
    }
  }

  /** Removes `session` from the holders (CAS, re-read on conflict), then deletes its contender key. */
  async #leave(session: string): Promise<void> {
    const kv = this.client.kv;
    for (;;) {
      let pair: KvPair | undefined;
      try {
        pair = (await kv.get(this.#o.lockKey, { consistency: 'default' })).value;
      } catch (err) {
        throw new SemaphoreFailedError('failed to read lock', err);
      }
      const record = this.#decode(pair);
      if (!record.holders.delete(session)) break;
      let updated: boolean;
      try {
        updated = await kv.cas(this.#o.lockKey, encodeSemaphoreRecord(record), pair?.modifyIndex ?? 0n, { flags: SEMAPHORE_FLAG_VALUE });
      } catch (err) {
        throw new SemaphoreFailedError('failed to update lock', err);
      }
      if (updated) break;
    }
    try {
      await kv.delete(this.#contenderKey(session));
    } catch (err) {
      throw new SemaphoreFailedError('failed to remove contender entry', err);
    }
  }

  /** Decodes `.lock` (absent: an empty record with this contender's limit). */
  #decode(pair: KvPair | undefined): SemaphoreRecord {
    try {
      return decodeSemaphoreRecord(pair?.value ?? Buffer.alloc(0), this.#o.limit);
    } catch (err) {
      throw new SemaphoreFailedError('lock decoding failed', err);
    }
  }

  #contenderKey(session: string): string {
    return normalizeKey('key', this.#o.prefix, session);
  }

  #listPrefix(): string {
    return `${this.#o.prefix}/`;
  }
}
