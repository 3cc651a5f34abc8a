/**
 * Errors of the lock supervisor and of {@link runLocked}. Everything else it reports comes from
 * `@kvx/client` (lock, semaphore, session and transport errors).
 *
 * @module
 */

import { KvxError } from '@kvx/client';

/** The lock (or semaphore slot) was not acquired within the timeout. */
export class LockTimeoutError extends KvxError {
  /** The prefix contended for. */
  readonly prefix: string;

  constructor(prefix: string, timeoutMs: number) {
    super('KVX_LOCK_TIMEOUT', `lock at "${prefix}" not acquired within ${timeoutMs} ms`, { retryable: true });
    this.prefix = prefix;
  }
}

/**
 * The holder could not confirm its session with Consul for so long that the session may soon expire: its
 * work is stopped (fenced) before anyone else can acquire the lock. The `reason` of a task's signal.
 */
export class LeaseExpiredError extends KvxError {
  /** The session that could not be confirmed. */
  readonly sessionId: string;
  /** Milliseconds since the last confirmed renewal was sent. */
  readonly unconfirmedMs: number;

  constructor(sessionId: string, unconfirmedMs: number, ttlMs: number) {
    super(
      'KVX_LOCK_FENCED',
      `session ${sessionId} not confirmed for ${Math.round(unconfirmedMs)} ms (TTL ${Math.round(ttlMs)} ms): ` +
        'stopping the work before the session can expire',
    );
    this.sessionId = sessionId;
    this.unconfirmedMs = unconfirmedMs;
  }
}
