/**
 * Keeps a TTL session alive with Consul's `Session.RenewPeriodic` rule: renew every TTL/2, adopt the TTL
 * Consul returns, and after a failure retry every second until more than a TTL has passed since the last
 * successful renewal; a 404 means the session is gone. kvx adds jitter (so a fleet does not renew in
 * lock-step after a leader election), bounds each attempt by the time left, and publishes `lastConfirmed`
 * so holders can fence themselves before Consul may invalidate the session.
 *
 * @module
 */

import { EventEmitter } from 'node:events';
import type { SessionCreateOptions, SessionEntry } from '../api/types.js';
import { InvalidArgumentError } from '../errors.js';
import type { CoordinationClient } from './coordination-client.js';
import { durationOption, formatDuration, parseDuration } from './duration.js';
import { SessionExpiredError } from './errors.js';
import { jittered, monotonicNow, pause, withDeadline } from './timing.js';

/** Consul's pause between renewals after a failure (ms). */
const RENEW_RETRY_INTERVAL_MS = 1000;
/** Renewals happen between 45 % and 50 % of the TTL: earlier is safe, later is not. */
const RENEW_JITTER_FRACTION = 0.05;
/** Spread of the retry interval. */
const RETRY_JITTER_FRACTION = 0.1;

/** Options of {@link SessionRenewer}. */
export interface SessionRenewerOptions {
  /**
   * The session's TTL: milliseconds or a Go duration string (`"15s"`). Required. Replaced by the TTL Consul
   * returns with each renewal (Consul may raise it under load).
   */
  ttl: number | string;
  /**
   * Pause between renewal attempts after a failure: milliseconds or a Go duration string, with ±10 % jitter.
   * Default: 1000 ms as in Consul's Go client, or TTL/4 when the TTL is below 4 s, so that several retries
   * fit in the TTL.
   */
  retryInterval?: number | string;
  /**
   * Monotonic time (`performance.now()`) at which the session was last known to be alive — pass the moment
   * the create request was sent. Default: the moment the renewer is constructed.
   */
  confirmedAt?: number;
}

/** Options of {@link SessionRenewer.stop}. */
export interface SessionRenewerStopOptions {
  /** Destroy the session after stopping (releasing or deleting its locks). Default: `false`. */
  destroy?: boolean;
}

/** Events of {@link SessionRenewer}. */
export interface SessionRenewerEvents {
  /** A renewal succeeded; Consul's view of the session. */
  renewed: [entry: SessionEntry];
  /** A renewal failed; the renewer retries until a TTL has passed since the last success. */
  renewFailed: [error: unknown];
  /** The session is lost for good; the renewer has stopped. Emitted once. */
  lost: [error: SessionExpiredError];
}

/** Lifecycle of a {@link SessionRenewer}. */
export type SessionRenewerState = 'running' | 'stopped' | 'lost';

/** Options of {@link SessionRenewer.create}: session options with a required TTL. */
export type RenewedSessionOptions = SessionCreateOptions & {
  /** The session's TTL: milliseconds (sent as a Go duration) or a Go duration string (`"15s"`). Required. */
  ttl: number | string;
};

/**
 * Renews one session in the background from construction until {@link SessionRenewer.stop} or loss.
 *
 * Self-fencing: Consul never invalidates a session sooner than one TTL after the renewal that reset its
 * timer, and {@link lastConfirmed} is taken when that renewal was *sent*, so until {@link validUntil} the
 * session certainly exists. A holder that must never overlap with the next one stops its work before then.
 */
export class SessionRenewer extends EventEmitter<SessionRenewerEvents> {
  /** The renewed session. */
  readonly sessionId: string;

  readonly #client: Pick<CoordinationClient, 'session'>;
  readonly #retryInterval: number | undefined;
  readonly #stop = new AbortController();
  readonly #lost = new AbortController();
  readonly #done: Promise<void>;
  #ttl: number;
  #lastConfirmed: number;
  #state: SessionRenewerState = 'running';
  #lostError: SessionExpiredError | undefined;

  /**
   * Creates a session and starts renewing it.
   *
   * @param sessionOptions passed to `session.create`; `ttl` is required. A TTL given in milliseconds is sent
   *   as a Go duration (`15000` → `"15s"`), as Consul's Go client does.
   */
  static async create(
    client: Pick<CoordinationClient, 'session'>,
    sessionOptions: RenewedSessionOptions,
    options: Omit<SessionRenewerOptions, 'ttl' | 'confirmedAt'> = {},
  ): Promise<SessionRenewer> {
    const ttl = durationOption('ttl', sessionOptions.ttl);
    if (ttl <= 0) throw new InvalidArgumentError('a renewed session needs a positive ttl');
    const ttlText = typeof sessionOptions.ttl === 'number' ? formatDuration(sessionOptions.ttl) : sessionOptions.ttl;
    const sentAt = monotonicNow();
    const id = await client.session.create({ ...sessionOptions, ttl: ttlText });
    return new SessionRenewer(client, id, { ...options, ttl, confirmedAt: sentAt });
  }

  /** Starts renewing `sessionId` at once. */
  constructor(client: Pick<CoordinationClient, 'session'>, sessionId: string, options: SessionRenewerOptions) {
    super();
    if (typeof sessionId !== 'string' || sessionId === '') throw new InvalidArgumentError('sessionId must be a non-empty string');
    if (options.ttl === undefined) throw new InvalidArgumentError('ttl is required');
    const ttl = durationOption('ttl', options.ttl);
    if (ttl <= 0) throw new InvalidArgumentError('ttl must be positive');
    this.#retryInterval = options.retryInterval === undefined ? undefined : durationOption('retryInterval', options.retryInterval);
    if (this.#retryInterval === 0) throw new InvalidArgumentError('retryInterval must be positive');
    if (options.confirmedAt !== undefined && !Number.isFinite(options.confirmedAt)) {
      throw new InvalidArgumentError('confirmedAt must be a performance.now() time');
    }
    this.#client = client;
    this.sessionId = sessionId;
    this.#ttl = ttl;
    this.#lastConfirmed = options.confirmedAt ?? monotonicNow();
    // A throwing event listener is a bug in the caller; failing closed (session reported lost) is safest.
    this.#done = this.#run().catch((err: unknown) => this.#lose(new SessionExpiredError(sessionId, 'renew-timeout', err)));
  }

  /** `running`, `stopped` (by {@link stop}) or `lost`. */
  get state(): SessionRenewerState {
    return this.#state;
  }

  /** Current TTL in milliseconds (the last one Consul returned). */
  get ttl(): number {
    return this.#ttl;
  }

  /** Monotonic time (`performance.now()`, ms) at which the last successful renewal or the creation was sent. */
  get lastConfirmed(): number {
    return this.#lastConfirmed;
  }

  /** `lastConfirmed + ttl`: until then Consul cannot have invalidated the session by TTL. */
  get validUntil(): number {
    return this.#lastConfirmed + this.#ttl;
  }

  /** Aborted when the session is lost, with the {@link SessionExpiredError} as reason. Not aborted by {@link stop}. */
  get signal(): AbortSignal {
    return this.#lost.signal;
  }

  /** Why the session was lost, once it is. */
  get lostError(): SessionExpiredError | undefined {
    return this.#lostError;
  }

  /**
   * Stops renewing; with `destroy`, then destroys the session (harmless when it is already gone). Resolves
   * once the renewal loop has ended.
   *
   * @throws the client error when the destroy request fails.
   */
  async stop(options: SessionRenewerStopOptions = {}): Promise<void> {
    if (this.#state === 'running') this.#state = 'stopped';
    this.#stop.abort();
    await this.#done;
    if (options.destroy === true) {
      await this.#client.session.destroy(this.sessionId);
    }
  }

  async #run(): Promise<void> {
    const stop = this.#stop.signal;
    let failing = false;
    for (;;) {
      const delay = failing ? jittered(this.#defaultRetryInterval(), RETRY_JITTER_FRACTION) : (this.#ttl / 2) * (1 - RENEW_JITTER_FRACTION * 2 * Math.random());
      if (!(await pause(delay, stop))) return;
      const sentAt = monotonicNow();
      // An attempt that outlives the TTL could not save the session anyway; bound it so loss is reported on time.
      const budget = Math.max(1, Math.ceil(this.validUntil - sentAt));
      let entry: SessionEntry | undefined;
      const bounded = withDeadline(stop, budget);
      try {
        entry = await this.#client.session.renew(this.sessionId, { signal: bounded.signal });
      } catch (err) {
        if (stop.aborted) return;
        failing = true;
        this.emit('renewFailed', err);
        if (monotonicNow() - this.#lastConfirmed >= this.#ttl) {
          this.#lose(new SessionExpiredError(this.sessionId, 'renew-timeout', err));
          return;
        }
        continue;
      } finally {
        bounded.clear();
      }
      if (entry === undefined) {
        this.#lose(new SessionExpiredError(this.sessionId, 'not-found'));
        return;
      }
      this.#lastConfirmed = sentAt;
      this.#adoptTtl(entry.ttl);
      failing = false;
      if (stop.aborted) return;
      this.emit('renewed', entry);
    }
  }

  #defaultRetryInterval(): number {
    return this.#retryInterval ?? (this.#ttl < 4 * RENEW_RETRY_INTERVAL_MS ? this.#ttl / 4 : RENEW_RETRY_INTERVAL_MS);
  }

  #adoptTtl(text: string): void {
    try {
      const ttl = parseDuration(text);
      if (ttl > 0) this.#ttl = ttl;
    } catch {
      // A TTL Consul cannot have produced (it validated it on create) is ignored; the known TTL stays safe.
    }
  }

  #lose(error: SessionExpiredError): void {
    if (this.#lostError !== undefined) return;
    this.#state = 'lost';
    this.#lostError = error;
    this.#lost.abort(error);
    this.emit('lost', error);
  }
}
