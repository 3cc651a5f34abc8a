/**
 * Errors of locks, semaphores and session renewal. Messages of the Go-equivalent errors are Go's own
 * (`Lock already held`, `semaphore limit conflict (lock: 1, local: 2)`, …) so logs read the same as with
 * `consul lock`; codes are stable.
 *
 * @module
 */

import { CircuitOpenError, ConnectionError, HttpError, KvxError, RateLimitedError } from '../errors.js';

/** `acquire()` was called while this lock is held or being acquired (Go's `ErrLockHeld`). */
export class LockHeldError extends KvxError {
  constructor() {
    super('KVX_LOCK_HELD', 'Lock already held');
  }
}

/** `release()` was called on a lock that is not held (Go's `ErrLockNotHeld`). */
export class LockNotHeldError extends KvxError {
  constructor() {
    super('KVX_LOCK_NOT_HELD', 'Lock not held');
  }
}

/** `destroy()` found the key held by a session (Go's `ErrLockInUse`). */
export class LockInUseError extends KvxError {
  constructor() {
    super('KVX_LOCK_IN_USE', 'Lock in use');
  }
}

/** The key exists with flags other than the lock flag, e.g. a semaphore's `.lock` (Go's `ErrLockConflict`). */
export class LockConflictError extends KvxError {
  constructor() {
    super('KVX_LOCK_CONFLICT', 'Existing key does not match lock use');
  }
}

/**
 * A Consul request made by a lock failed. The message is Go's (`failed to read lock: <err>`); `cause` is
 * the client error, whose `status`, `retryable` and `ambiguous` are copied.
 */
export class LockFailedError extends KvxError {
  constructor(what: string, cause: unknown) {
    super('KVX_LOCK_FAILED', `${what}: ${describe(cause)}`, inherited(cause));
  }
}

/** Why a held lock or semaphore slot was lost. */
export type LostReason =
  /** The key (or the semaphore's `.lock`) was deleted. */
  | 'key-deleted'
  /** The key is no longer held by any session: our session was invalidated (destroyed, expired). */
  | 'key-released'
  /** Another session holds the key. */
  | 'key-taken'
  /** Our session is no longer among the semaphore's holders. */
  | 'holder-removed'
  /** The session renewer gave up: Consul forgot the session, or renewals failed for longer than the TTL. */
  | 'session-expired'
  /** Watching the key failed with an error that was not retryable or after the monitor's retries. */
  | 'monitor-failed';

const LOST_TEXT: Record<LostReason, string> = {
  'key-deleted': 'the key was deleted',
  'key-released': 'the key is no longer held by the session (session invalidated)',
  'key-taken': 'another session holds the key',
  'holder-removed': 'the session is no longer a holder',
  'session-expired': 'the session expired',
  'monitor-failed': 'watching the key failed',
};

/**
 * A held lock was lost. It is the `reason` of the holding's aborted signal and the argument of the
 * `lost` event; the lock is then free to be acquired again.
 */
export class LockLostError extends KvxError {
  /** What happened. */
  readonly reason: LostReason;
  /** The lock key. */
  readonly key: string;

  constructor(key: string, reason: LostReason, cause?: unknown) {
    super('KVX_LOCK_LOST', `lock "${key}" lost: ${LOST_TEXT[reason]}${cause === undefined ? '' : `: ${describe(cause)}`}`, {
      cause,
    });
    this.reason = reason;
    this.key = key;
  }
}

/** The `reason` of a holding's signal when the holder released the lock itself. */
export class LockReleasedError extends KvxError {
  constructor(key: string) {
    super('KVX_LOCK_RELEASED', `lock "${key}" released`);
  }
}

/** `acquire()` was called while this semaphore slot is held or being acquired (Go's `ErrSemaphoreHeld`). */
export class SemaphoreHeldError extends KvxError {
  constructor() {
    super('KVX_SEMAPHORE_HELD', 'Semaphore already held');
  }
}

/** `release()` was called on a semaphore that is not held (Go's `ErrSemaphoreNotHeld`). */
export class SemaphoreNotHeldError extends KvxError {
  constructor() {
    super('KVX_SEMAPHORE_NOT_HELD', 'Semaphore not held');
  }
}

/** `destroy()` found live holders (Go's `ErrSemaphoreInUse`). */
export class SemaphoreInUseError extends KvxError {
  constructor() {
    super('KVX_SEMAPHORE_IN_USE', 'Semaphore in use');
  }
}

/** `<prefix>/.lock` exists with flags other than the semaphore flag, e.g. a mutex (Go's `ErrSemaphoreConflict`). */
export class SemaphoreConflictError extends KvxError {
  constructor() {
    super('KVX_SEMAPHORE_CONFLICT', 'Existing key does not match semaphore use');
  }
}

/** The semaphore was created with another limit; every contender must agree on it. */
export class SemaphoreLimitConflictError extends KvxError {
  /** Limit stored in `<prefix>/.lock`. */
  readonly lockLimit: number;
  /** Limit this contender was configured with. */
  readonly localLimit: number;

  constructor(lockLimit: number, localLimit: number) {
    super('KVX_SEMAPHORE_LIMIT_CONFLICT', `semaphore limit conflict (lock: ${lockLimit}, local: ${localLimit})`);
    this.lockLimit = lockLimit;
    this.localLimit = localLimit;
  }
}

/**
 * A Consul request made by a semaphore failed, or `.lock` could not be decoded. The message is Go's
 * (`failed to make contender entry: <err>`, `lock decoding failed: <err>`).
 */
export class SemaphoreFailedError extends KvxError {
  constructor(what: string, cause: unknown) {
    super('KVX_SEMAPHORE_FAILED', `${what}: ${describe(cause)}`, inherited(cause));
  }
}

/** A held semaphore slot was lost; see {@link LockLostError}. */
export class SemaphoreLostError extends KvxError {
  /** What happened. */
  readonly reason: LostReason;
  /** The semaphore prefix. */
  readonly prefix: string;

  constructor(prefix: string, reason: LostReason, cause?: unknown) {
    super(
      'KVX_SEMAPHORE_LOST',
      `semaphore "${prefix}" slot lost: ${LOST_TEXT[reason]}${cause === undefined ? '' : `: ${describe(cause)}`}`,
      { cause },
    );
    this.reason = reason;
    this.prefix = prefix;
  }
}

/** The `reason` of a holding's signal when the holder released its semaphore slot itself. */
export class SemaphoreReleasedError extends KvxError {
  constructor(prefix: string) {
    super('KVX_SEMAPHORE_RELEASED', `semaphore "${prefix}" slot released`);
  }
}

/** How a session was lost. */
export type SessionExpiry =
  /** Consul answered the renewal with 404: the session was destroyed or its TTL ran out. */
  | 'not-found'
  /** Renewals kept failing for longer than the TTL since the last successful one. */
  | 'renew-timeout';

/** A session can no longer be renewed (Go's `ErrSessionExpired`, plus the give-up case of `RenewPeriodic`). */
export class SessionExpiredError extends KvxError {
  /** The session id. */
  readonly sessionId: string;
  /** How it was lost. */
  readonly expiry: SessionExpiry;

  constructor(sessionId: string, expiry: SessionExpiry, cause?: unknown) {
    const what =
      expiry === 'not-found'
        ? 'Consul no longer knows it (destroyed or expired)'
        : `renewals failed for longer than its TTL${cause === undefined ? '' : `: ${describe(cause)}`}`;
    super('KVX_SESSION_EXPIRED', `session ${sessionId} expired: ${what}`, { cause });
    this.sessionId = sessionId;
    this.expiry = expiry;
  }
}

/**
 * Whether a failed read is worth retrying while watching a held lock: the cases Go's `IsRetryableError`
 * covers (HTTP 500, network errors) widened to every 5xx, 429, timeouts and an open circuit breaker — all
 * say "the agent is unavailable right now", none says "the lock is gone".
 */
export function isTransientConsulError(err: unknown): boolean {
  if (err instanceof ConnectionError || err instanceof CircuitOpenError || err instanceof RateLimitedError) return true;
  return err instanceof HttpError && err.status !== undefined && err.status >= 500;
}

function describe(cause: unknown): string {
  if (cause === undefined || cause === null) return '<nil>';
  if (cause instanceof Error) return cause.message;
  if (typeof cause === 'string') return cause;
  if (typeof cause === 'number' || typeof cause === 'bigint' || typeof cause === 'boolean') return cause.toString();
  return Object.prototype.toString.call(cause);
}

function inherited(cause: unknown): { cause: unknown; status?: number; retryable: boolean; ambiguous: boolean } {
  if (!(cause instanceof KvxError)) return { cause, retryable: false, ambiguous: false };
  return {
    cause,
    ...(cause.status === undefined ? {} : { status: cause.status }),
    retryable: cause.retryable,
    ambiguous: cause.ambiguous,
  };
}
