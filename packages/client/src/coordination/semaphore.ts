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

import { EventEmitter } from 'node:events';
import type { KvPair, QueryResult } from '../api/types.js';
import { InvalidArgumentError, KvxError } from '../errors.js';
import {
  DEFAULT_LOCK_WAIT_TIME_MS,
  DEFAULT_MONITOR_RETRY_TIME_MS,
  DEFAULT_SEMAPHORE_KEY,
  DEFAULT_SEMAPHORE_SESSION_NAME,
  DEFAULT_SESSION_TTL,
  SEMAPHORE_FLAG_VALUE,
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
  SemaphoreConflictError,
  SemaphoreFailedError,
  SemaphoreHeldError,
  SemaphoreInUseError,
  SemaphoreLimitConflictError,
  SemaphoreLostError,
  SemaphoreNotHeldError,
  SemaphoreReleasedError,
} from './errors.js';
import { monitorHolding } from './holding-monitor.js';
import { normalizeKey } from './key-path.js';
import { flag, nonNegativeDuration, nonNegativeInteger, positiveDuration, storedValue, suppliedSession } from './option-checks.js';
import { decodeSemaphoreRecord, encodeSemaphoreRecord, pruneDeadHolders, type SemaphoreRecord } from './semaphore-record.js';
import type { RenewedSessionOptions, SessionRenewer } from './session-renewer.js';
import { anySignal, monotonicNow } from './timing.js';

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
export interface SemaphoreAcquireOptions {
  /** Abandons the acquisition: `acquire` then resolves `undefined`, as Go's `Acquire(stopCh)` returns `(nil, nil)`. */
  signal?: AbortSignal;
}

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
export interface SemaphoreEvents {
  /** A slot was acquired. */
  acquired: [handle: SemaphoreHandle];
  /** The held slot was lost; the semaphore object is free to acquire again. */
  lost: [error: SemaphoreLostError];
  /** The holder released its slot. */
  released: [];
  /** The monitor hit a transient error and will retry. */
  monitorRetry: [error: unknown, retriesLeft: number];
}

interface Holding {
  state: 'held' | 'lost' | 'closed';
  readonly session: ContenderSession;
  readonly ended: AbortController;
  readonly monitor: AbortController;
  handle: SemaphoreHandle | undefined;
  cleanup: Promise<void>;
}

interface ResolvedSemaphoreOptions {
  prefix: string;
  lockKey: string;
  limit: number;
  value: Buffer;
  session: string | undefined;
  create: RenewedSessionOptions;
  monitorRetries: number;
  monitorRetryTime: number;
  waitTime: number;
  tryOnce: boolean;
}

function resolveOptions(options: SemaphoreOptions): ResolvedSemaphoreOptions {
  if (typeof options !== 'object' || options === null) throw new InvalidArgumentError('semaphore options are required');
  if (options.prefix === undefined) throw new InvalidArgumentError('missing prefix');
  const prefix = normalizeKey('prefix', options.prefix);
  if (!(Number.isSafeInteger(options.limit) && options.limit > 0)) throw new InvalidArgumentError('semaphore limit must be positive');
  const ttl = options.sessionTtl ?? DEFAULT_SESSION_TTL;
  const ttlMs = durationOption('sessionTtl', ttl);
  if (ttlMs <= 0) throw new InvalidArgumentError('invalid sessionTtl: must be positive');
  return {
    prefix,
    lockKey: normalizeKey('key', prefix, DEFAULT_SEMAPHORE_KEY),
    limit: options.limit,
    value: storedValue(options.value),
    session: suppliedSession(options.session),
    create: {
      name: options.sessionName ?? DEFAULT_SEMAPHORE_SESSION_NAME,
      ttl: typeof ttl === 'number' ? formatDuration(ttl) : ttl,
      behavior: 'delete',
      ...options.sessionOptions,
    },
    monitorRetries: nonNegativeInteger('monitorRetries', options.monitorRetries, 0),
    monitorRetryTime: nonNegativeDuration('monitorRetryTime', options.monitorRetryTime, DEFAULT_MONITOR_RETRY_TIME_MS),
    waitTime: positiveDuration('semaphoreWaitTime', options.semaphoreWaitTime, DEFAULT_LOCK_WAIT_TIME_MS),
    tryOnce: flag('semaphoreTryOnce', options.semaphoreTryOnce),
  };
}

/**
 * A Consul semaphore: at most `limit` holders at once. One object holds at most one slot at a time.
 *
 * ```ts
 * const sem = new Semaphore(consul, { prefix: 'jobs/reindex', limit: 2 });
 * const slot = await sem.acquire();
 * try { await work(slot.signal); } finally { await slot.release(); }
 * ```
 */
export class Semaphore extends EventEmitter<SemaphoreEvents> {
  readonly #client: CoordinationClient;
  readonly #o: ResolvedSemaphoreOptions;
  #acquiring = false;
  #holding: Holding | undefined;

  /** @throws {@link InvalidArgumentError} for a missing prefix, a non-positive limit or malformed options. */
  constructor(client: CoordinationClient, options: SemaphoreOptions) {
    super();
    this.#client = client;
    this.#o = resolveOptions(options);
  }

  /** The normalised prefix. */
  get prefix(): string {
    return this.#o.prefix;
  }

  /** The holder limit. */
  get limit(): number {
    return this.#o.limit;
  }

  /** Whether a slot is held right now (`false` again once lost or released). */
  get isHeld(): boolean {
    return this.#holding?.state === 'held';
  }

  /** The current holding, while held. */
  get handle(): SemaphoreHandle | undefined {
    return this.isHeld ? this.#holding?.handle : undefined;
  }

  /** Signal of the latest holding (see {@link SemaphoreHandle.signal}); `undefined` before the first acquisition. */
  get lostSignal(): AbortSignal | undefined {
    return this.#holding?.ended.signal;
  }

  /** Renewer of the session this semaphore created for the current holding (`undefined` with a caller-supplied session). */
  get sessionRenewer(): SessionRenewer | undefined {
    return this.isHeld ? this.#holding?.session.renewer : undefined;
  }

  /**
   * Waits for a slot (Go's `Acquire`). Resolves `undefined` when `signal` aborts or, with
   * `semaphoreTryOnce`, when `semaphoreWaitTime` passes first.
   *
   * @throws {@link SemaphoreHeldError} when held or being acquired by this object;
   *   {@link SemaphoreConflictError} when `<prefix>/.lock` is not a semaphore record (e.g. a mutex);
   *   {@link SemaphoreLimitConflictError} when the record has another limit;
   *   {@link SessionExpiredError} when the created session is lost while waiting;
   *   {@link SemaphoreFailedError} when a Consul request fails or the record cannot be decoded.
   */
  async acquire(options: SemaphoreAcquireOptions = {}): Promise<SemaphoreHandle | undefined> {
    if (this.#acquiring || this.isHeld) throw new SemaphoreHeldError();
    const { signal } = options;
    if (signal?.aborted) return undefined;
    this.#acquiring = true;
    try {
      let session: ContenderSession;
      try {
        session = await openContenderSession(this.#client, this.#o.session, this.#o.create);
      } catch (err) {
        throw new SemaphoreFailedError('failed to create session', err);
      }
      let held: boolean;
      try {
        await this.#enterContention(session);
        held = await this.#waitForSlot(session, signal);
      } catch (err) {
        await closeContenderSession(session);
        throw err;
      }
      if (!held) {
        await closeContenderSession(session);
        return undefined;
      }
      return this.#hold(session);
    } finally {
      this.#acquiring = false;
    }
  }

  /**
   * Releases the slot (Go's `Release`): removes this session from the holders by check-and-set, deletes the
   * contender key, then destroys the session this semaphore created. After the slot was lost, resolves once
   * the loss's cleanup is done.
   *
   * @throws {@link SemaphoreNotHeldError} when not held; {@link SemaphoreFailedError} when a request fails
   *   (the owned session is destroyed anyway, which frees the slot for the next pruning reader).
   */
  async release(): Promise<void> {
    const holding = this.#holding;
    if (holding === undefined) throw new SemaphoreNotHeldError();
    await this.#release(holding);
  }

  /**
   * Deletes `<prefix>/.lock` when no live holder remains (Go's `Destroy`); contender keys are left alone.
   *
   * @throws {@link SemaphoreHeldError} when this object holds a slot; {@link SemaphoreConflictError} when
   *   `.lock` is not a semaphore record; {@link SemaphoreInUseError} when live holders remain;
   *   {@link SemaphoreFailedError} on request or decoding failures.
   */
  async destroy(): Promise<void> {
    if (this.#acquiring || this.isHeld) throw new SemaphoreHeldError();
    let pairs: KvPair[];
    try {
      pairs = (await this.#client.kv.list(this.#listPrefix(), { consistency: 'default' })).value;
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
      deleted = await this.#client.kv.delete(this.#o.lockKey, { cas: lockPair.modifyIndex });
    } catch (err) {
      throw new SemaphoreFailedError('failed to remove semaphore', err);
    }
    if (!deleted) throw new SemaphoreInUseError();
  }

  /** Writes the contender key `<prefix>/<session>`, held by the session. */
  async #enterContention(session: ContenderSession): Promise<void> {
    let made: boolean;
    try {
      made = await this.#client.kv.acquire(this.#contenderKey(session.id), this.#o.value, session.id, { flags: SEMAPHORE_FLAG_VALUE });
    } catch (err) {
      throw new SemaphoreFailedError('failed to make contender entry', err);
    }
    if (!made) throw new SemaphoreFailedError('failed to make contender entry', undefined);
  }

  /** Go's acquisition loop; `false` when abandoned (signal or one-shot timeout). */
  async #waitForSlot(session: ContenderSession, userSignal: AbortSignal | undefined): Promise<boolean> {
    const o = this.#o;
    const kv = this.#client.kv;
    const signal = anySignal(userSignal, session.renewer?.signal);
    const abandoned = (): false => {
      const lost = session.renewer?.lostError;
      if (lost !== undefined) throw lost;
      return false;
    };

    const start = monotonicNow();
    let attempts = 0;
    let index = 0n;
    let wait = o.waitTime;
    for (;;) {
      if (signal.aborted) return abandoned();
      if (o.tryOnce && attempts > 0) {
        const elapsed = monotonicNow() - start;
        if (elapsed > o.waitTime) return false;
        wait = o.waitTime - elapsed;
      }
      attempts++;

      let listing: QueryResult<KvPair[]>;
      try {
        listing = await kv.list(this.#listPrefix(), { index, wait, consistency: 'default', signal });
      } catch (err) {
        if (signal.aborted) return abandoned();
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
        await this.#leaveQuietly(session.id);
        return abandoned();
      }
      return true;
    }
  }

  #hold(session: ContenderSession): SemaphoreHandle {
    const holding: Holding = {
      state: 'held',
      session,
      ended: new AbortController(),
      monitor: new AbortController(),
      handle: undefined,
      cleanup: Promise.resolve(),
    };
    const handle: SemaphoreHandle = {
      prefix: this.#o.prefix,
      session: session.id,
      contenderKey: this.#contenderKey(session.id),
      signal: holding.ended.signal,
      release: () => this.#release(holding),
    };
    holding.handle = handle;
    this.#holding = holding;
    session.renewer?.once('lost', (err) => this.#lose(holding, new SemaphoreLostError(this.#o.prefix, 'session-expired', err)));
    this.#monitor(holding).catch((err: unknown) => this.#lose(holding, new SemaphoreLostError(this.#o.prefix, 'monitor-failed', err)));
    this.emit('acquired', handle);
    return handle;
  }

  async #monitor(holding: Holding): Promise<void> {
    const o = this.#o;
    const loss = await monitorHolding<KvPair[]>({
      read: (index, signal) => this.#client.kv.list(this.#listPrefix(), { index, consistency: 'consistent', signal }),
      check: (pairs) => {
        const lockPair = pairs.find((p) => p.key === o.lockKey);
        if (lockPair === undefined) return 'key-deleted';
        const record = this.#decode(lockPair);
        pruneDeadHolders(record, pairs);
        return record.holders.has(holding.session.id) ? undefined : 'holder-removed';
      },
      startIndex: 0n,
      retries: o.monitorRetries,
      retryTime: o.monitorRetryTime,
      signal: holding.monitor.signal,
      onRetry: (err, left) => this.emit('monitorRetry', err, left),
    });
    if (loss !== undefined) this.#lose(holding, new SemaphoreLostError(o.prefix, loss.reason, loss.cause));
  }

  #lose(holding: Holding, error: SemaphoreLostError): void {
    if (holding.state !== 'held') return;
    holding.state = 'lost';
    holding.monitor.abort();
    holding.cleanup = this.#cleanUpAfterLoss(holding);
    holding.ended.abort(error);
    this.emit('lost', error);
  }

  /**
   * A lost holding must not linger: an owned session is destroyed (its contender key goes with it and
   * readers prune it from the holders); with a caller's session, what release would do is done quietly.
   */
  async #cleanUpAfterLoss(holding: Holding): Promise<void> {
    if (holding.session.renewer !== undefined) await closeContenderSession(holding.session);
    else await this.#leaveQuietly(holding.session.id);
  }

  async #release(holding: Holding): Promise<void> {
    if (holding.state === 'closed') throw new SemaphoreNotHeldError();
    if (holding.state === 'lost') {
      holding.state = 'closed';
      await holding.cleanup;
      return;
    }
    holding.state = 'closed';
    holding.monitor.abort();
    let failure: SemaphoreFailedError | undefined;
    try {
      await this.#leave(holding.session.id);
    } catch (err) {
      failure = err instanceof SemaphoreFailedError ? err : new SemaphoreFailedError('failed to release semaphore', err);
    }
    await closeContenderSession(holding.session);
    holding.ended.abort(new SemaphoreReleasedError(this.#o.prefix));
    this.emit('released');
    if (failure !== undefined) throw failure;
  }

  /** Removes `session` from the holders (CAS, re-read on conflict), then deletes its contender key. */
  async #leave(session: string): Promise<void> {
    const kv = this.#client.kv;
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

  async #leaveQuietly(session: string): Promise<void> {
    try {
      await this.#leave(session);
    } catch {
      // Best effort: an owned session is destroyed next, and dead holders are pruned by every reader.
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
