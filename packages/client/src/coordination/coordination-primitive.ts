/**
 * The holding lifecycle that {@link Lock} and {@link Semaphore} share: one holding per object at a time,
 * contended for with a {@link ContenderSession}, watched while held, and ended by release or loss. Each
 * primitive supplies only its algorithm (how to contend, watch, leave and destroy) and its error classes,
 * so both report the same situations in the same order.
 *
 * @module
 */

import { EventEmitter } from 'node:events';
import { InvalidArgumentError, type KvxError } from '../errors.js';
import { DEFAULT_MONITOR_RETRY_TIME_MS, DEFAULT_SESSION_TTL } from './constants.js';
import { closeContenderSession, openContenderSession, type ContenderSession, type ContenderSessionOptions } from './contender-session.js';
import type { CoordinationClient } from './coordination-client.js';
import { durationOption, formatDuration } from './duration.js';
import type { LostReason } from './errors.js';
import type { HoldingLoss, HoldingMonitorOptions } from './holding-monitor.js';
import { nonNegativeDuration, nonNegativeInteger, storedValue, suppliedSession } from './option-checks.js';
import type { RenewedSessionOptions, SessionRenewer } from './session-renewer.js';

/** Options of `acquire`. */
export interface AcquireOptions {
  /** Abandons the acquisition: `acquire` then resolves `undefined`, as Go's `Lock(stopCh)` / `Acquire(stopCh)` return `(nil, nil)`. */
  signal?: AbortSignal;
}

/** Events of a lock or semaphore. */
export interface HoldingEvents<Handle, Lost> {
  /** The lock or slot was acquired. */
  acquired: [handle: Handle];
  /** The holding was lost; the object is free to acquire again. */
  lost: [error: Lost];
  /** The holder released the lock or slot. */
  released: [];
  /** The monitor hit a transient error and will retry. */
  monitorRetry: [error: unknown, retriesLeft: number];
}

/** The error classes a primitive reports its lifecycle with (each takes the same arguments as its peer). */
export interface PrimitiveErrors<Lost> {
  /** `acquire` or `destroy` while held or being acquired. */
  Held: new () => KvxError;
  /** `release` while not held. */
  NotHeld: new () => KvxError;
  /** A Consul request failed (`failed to create session: …`). */
  Failed: new (what: string, cause: unknown) => KvxError;
  /** The holding was lost; named by the key or prefix. */
  Lost: new (name: string, reason: LostReason, cause?: unknown) => Lost;
  /** The reason of a holding's signal after release; named by the key or prefix. */
  Released: new (name: string) => KvxError;
}

/** The options every primitive takes with the same meaning (each documents them for its own use). */
export interface SharedOptions {
  value?: Buffer | string;
  session?: string;
  sessionName?: string;
  sessionTtl?: number | string;
  sessionOptions?: ContenderSessionOptions;
  monitorRetries?: number;
  monitorRetryTime?: number | string;
}

/** {@link SharedOptions} validated, with the session to create when none is supplied. */
export interface SharedSettings {
  value: Buffer;
  session: string | undefined;
  create: RenewedSessionOptions;
  monitorRetries: number;
  monitorRetryTime: number;
}

/**
 * Validates the shared options in a fixed order (the primitive's own key options before, its wait options
 * after), so that with several mistakes the one reported does not depend on which primitive is used.
 */
export function resolveSharedOptions(
  options: SharedOptions,
  created: { name: string; behavior: 'release' | 'delete'; lockDelay?: number | string | undefined },
): SharedSettings {
  const ttl = options.sessionTtl ?? DEFAULT_SESSION_TTL;
  const ttlMs = durationOption('sessionTtl', ttl);
  if (ttlMs <= 0) throw new InvalidArgumentError('invalid sessionTtl: must be positive');
  const create: RenewedSessionOptions = {
    name: options.sessionName ?? created.name,
    ttl: typeof ttl === 'number' ? formatDuration(ttl) : ttl,
    behavior: created.behavior,
    ...(created.lockDelay === undefined ? {} : { lockDelay: durationOption('lockDelay', created.lockDelay) }),
    ...options.sessionOptions,
  };
  return {
    value: storedValue(options.value),
    session: suppliedSession(options.session),
    create,
    monitorRetries: nonNegativeInteger('monitorRetries', options.monitorRetries, 0),
    monitorRetryTime: nonNegativeDuration('monitorRetryTime', options.monitorRetryTime, DEFAULT_MONITOR_RETRY_TIME_MS),
  };
}

/** What the base gives a primitive's watch: the monitor settings of this holding. */
export type MonitorSettings = Pick<HoldingMonitorOptions<unknown>, 'retries' | 'retryTime' | 'signal' | 'onRetry'>;

interface Holding<Handle> {
  state: 'held' | 'lost' | 'closed';
  readonly session: ContenderSession;
  readonly ended: AbortController;
  readonly monitor: AbortController;
  handle: Handle | undefined;
  cleanup: Promise<void>;
  /** Listener on the renewer's `lost` event, removed when the holding ends (the renewer may outlive it). */
  onSessionLost: ((err: Error) => void) | undefined;
}

/**
 * A lock or semaphore: `Handle` describes one holding, `Lost` is its loss error, and `Won` is what the
 * acquisition loop learned that the handle and the monitor start from.
 */
export abstract class CoordinationPrimitive<Handle, Lost extends KvxError, Won> extends EventEmitter<HoldingEvents<Handle, Lost>> {
  protected readonly client: CoordinationClient;
  readonly #name: string;
  readonly #settings: SharedSettings;
  readonly #errors: PrimitiveErrors<Lost>;
  #acquiring = false;
  #holding: Holding<Handle> | undefined;

  /** @param name the key or prefix, as loss and release errors name it. */
  protected constructor(client: CoordinationClient, name: string, settings: SharedSettings, errors: PrimitiveErrors<Lost>) {
    super();
    this.client = client;
    this.#name = name;
    this.#settings = settings;
    this.#errors = errors;
  }

  /** Whether the lock or slot is held right now (`false` again once lost or released). */
  get isHeld(): boolean {
    return this.#holding?.state === 'held';
  }

  /** The current holding, while held. */
  get handle(): Handle | undefined {
    return this.isHeld ? this.#holding?.handle : undefined;
  }

  /** Signal of the latest holding (see the handle's `signal`); `undefined` before the first acquisition. */
  get lostSignal(): AbortSignal | undefined {
    return this.#holding?.ended.signal;
  }

  /**
   * Renewer of the session created for the current holding (`undefined` with a caller-supplied session).
   * Its `validUntil` tells a holder how long the session is certain to live.
   */
  get sessionRenewer(): SessionRenewer | undefined {
    return this.isHeld ? this.#holding?.session.renewer : undefined;
  }

  /**
   * Waits until the lock or a slot is held (Go's `Lock` / `Acquire`). Resolves `undefined` when `signal`
   * aborts or, in one-shot mode, when the wait time passes first.
   *
   * @throws the primitive's `…HeldError` when held or being acquired by this object;
   *   {@link SessionExpiredError} when the created session is lost while waiting; the primitive's
   *   conflict errors for keys it does not recognise; its `…FailedError` when a Consul request fails.
   */
  async acquire(options: AcquireOptions = {}): Promise<Handle | undefined> {
    if (this.#acquiring || this.isHeld) throw new this.#errors.Held();
    const { signal } = options;
    if (signal?.aborted) return undefined;
    this.#acquiring = true;
    try {
      let session: ContenderSession;
      try {
        session = await openContenderSession(this.client, this.#settings.session, this.#settings.create);
      } catch (err) {
        throw new this.#errors.Failed('failed to create session', err);
      }
      let won: Won | undefined;
      try {
        won = await this.contend(session, signal);
      } catch (err) {
        await closeContenderSession(session);
        throw err;
      }
      if (won === undefined) {
        await closeContenderSession(session);
        return undefined;
      }
      return this.#hold(session, won);
    } finally {
      this.#acquiring = false;
    }
  }

  /**
   * Releases the holding (Go's `Unlock` / `Release`), then destroys the session created for it. After a
   * loss, resolves once the loss's cleanup is done.
   *
   * @throws the primitive's `…NotHeldError` when not held; its `…FailedError` when a release request fails
   *   (the owned session is destroyed anyway, which frees the holding).
   */
  async release(): Promise<void> {
    const holding = this.#holding;
    if (holding === undefined) throw new this.#errors.NotHeld();
    await this.#release(holding);
  }

  /**
   * Deletes the coordination key when nobody holds it (Go's `Destroy`).
   *
   * @throws the primitive's `…HeldError` when this object holds it, `…ConflictError` when the key belongs to
   *   another kind of primitive, `…InUseError` when a session still holds it, `…FailedError` when a request
   *   fails. A missing key is not an error.
   */
  async destroy(): Promise<void> {
    if (this.#acquiring || this.isHeld) throw new this.#errors.Held();
    await this.destroyUnheld();
  }

  /** The acquisition loop; `undefined` when abandoned (signal or one-shot timeout). */
  protected abstract contend(session: ContenderSession, signal: AbortSignal | undefined): Promise<Won | undefined>;

  /** The handle of a new holding, ending with `signal` and released by `release`. */
  protected abstract makeHandle(session: ContenderSession, won: Won, signal: AbortSignal, release: () => Promise<void>): Handle;

  /** Watches the holding with `monitorHolding` until it is lost or `settings.signal` aborts. */
  protected abstract watch(session: ContenderSession, won: Won, settings: MonitorSettings): Promise<HoldingLoss | undefined>;

  /** Gives up what `session` holds; throws the primitive's `…FailedError`. */
  protected abstract leave(session: string): Promise<void>;

  /** Whether a caller's session is made to leave after `error` (an owned session is destroyed anyway). */
  protected abstract leavesAfterLoss(error: Lost): boolean;

  /** `destroy` once this object is known not to hold or be acquiring. */
  protected abstract destroyUnheld(): Promise<void>;

  protected async leaveQuietly(session: string): Promise<void> {
    try {
      await this.leave(session);
    } catch {
      // Best effort: an owned session is destroyed next, and a caller's session is the caller's to end
      // (a semaphore's readers prune it once it dies).
    }
  }

  #hold(session: ContenderSession, won: Won): Handle {
    const holding: Holding<Handle> = {
      state: 'held',
      session,
      ended: new AbortController(),
      monitor: new AbortController(),
      handle: undefined,
      cleanup: Promise.resolve(),
      onSessionLost: undefined,
    };
    const handle = this.makeHandle(session, won, holding.ended.signal, () => this.#release(holding));
    holding.handle = handle;
    this.#holding = holding;
    if (session.renewer !== undefined) {
      holding.onSessionLost = (err) => this.#lose(holding, new this.#errors.Lost(this.#name, 'session-expired', err));
      session.renewer.once('lost', holding.onSessionLost);
    }
    this.#monitor(holding, won).catch((err: unknown) => this.#lose(holding, new this.#errors.Lost(this.#name, 'monitor-failed', err)));
    this.emit('acquired', handle);
    return handle;
  }

  async #monitor(holding: Holding<Handle>, won: Won): Promise<void> {
    const loss = await this.watch(holding.session, won, {
      retries: this.#settings.monitorRetries,
      retryTime: this.#settings.monitorRetryTime,
      signal: holding.monitor.signal,
      onRetry: (err, left) => this.emit('monitorRetry', err, left),
    });
    if (loss !== undefined) this.#lose(holding, new this.#errors.Lost(this.#name, loss.reason, loss.cause));
  }

  #lose(holding: Holding<Handle>, error: Lost): void {
    if (holding.state !== 'held') return;
    holding.state = 'lost';
    this.#stopListening(holding);
    holding.monitor.abort();
    holding.cleanup = this.#cleanUpAfterLoss(holding, error);
    holding.ended.abort(error);
    this.emit('lost', error);
  }

  /**
   * A lost holding must not linger: an owned session is destroyed (Consul frees what it still holds, with
   * lock-delay for a lock, protecting the next holder); a caller's session leaves as the primitive decides.
   */
  async #cleanUpAfterLoss(holding: Holding<Handle>, error: Lost): Promise<void> {
    if (holding.session.renewer !== undefined) await closeContenderSession(holding.session);
    else if (this.leavesAfterLoss(error)) await this.leaveQuietly(holding.session.id);
  }

  #stopListening(holding: Holding<Handle>): void {
    if (holding.onSessionLost !== undefined) holding.session.renewer?.off('lost', holding.onSessionLost);
    holding.onSessionLost = undefined;
  }

  async #release(holding: Holding<Handle>): Promise<void> {
    if (holding.state === 'closed') throw new this.#errors.NotHeld();
    if (holding.state === 'lost') {
      holding.state = 'closed';
      await holding.cleanup;
      return;
    }
    holding.state = 'closed';
    this.#stopListening(holding);
    holding.monitor.abort();
    try {
      await this.leave(holding.session.id);
    } finally {
      // Even when leaving failed: destroying the owned session frees the holding after all.
      await closeContenderSession(holding.session);
      holding.ended.abort(new this.#errors.Released(this.#name));
      this.emit('released');
    }
  }
}
