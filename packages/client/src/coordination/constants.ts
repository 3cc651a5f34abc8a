/**
 * Constants shared with Consul's Go `api` package (`api/lock.go`, `api/semaphore.go`). The flag values and
 * session defaults must be bit-identical to Go's so that kvx contenders and `consul lock` recognise each
 * other's keys.
 *
 * @module
 */

/** `Flags` of a mutex key (`LockFlagValue`, 0x2ddccbc058a50c18). Above 2^53: only exact as a bigint. */
export const LOCK_FLAG_VALUE = 0x2ddccbc058a50c18n;

/** `Flags` of every semaphore key (`SemaphoreFlagValue`, 0xe0f69a2baa414de0). */
export const SEMAPHORE_FLAG_VALUE = 0xe0f69a2baa414de0n;

/** Session name used by a {@link Lock} that creates its own session. */
export const DEFAULT_LOCK_SESSION_NAME = 'Consul API Lock';

/** Session name used by a {@link Semaphore} that creates its own session. */
export const DEFAULT_SEMAPHORE_SESSION_NAME = 'Consul API Semaphore';

/** TTL of sessions created by locks and semaphores, as the Go duration string Consul stores. */
export const DEFAULT_SESSION_TTL = '15s';

/** Longest blocking read while waiting for a lock or a semaphore slot (ms). */
export const DEFAULT_LOCK_WAIT_TIME_MS = 15_000;

/** Pause before retrying an acquisition refused by lock-delay (ms); kvx adds jitter around it. */
export const DEFAULT_LOCK_RETRY_TIME_MS = 5_000;

/** Pause between monitor retries after a transient error (ms). */
export const DEFAULT_MONITOR_RETRY_TIME_MS = 2_000;

/** Name of the coordination key under a semaphore prefix (and of `consul lock`'s mutex key). */
export const DEFAULT_SEMAPHORE_KEY = '.lock';
