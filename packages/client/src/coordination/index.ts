/**
 * Consul-compatible coordination: {@link Lock} (mutex), {@link Semaphore}, and the {@link SessionRenewer}
 * they keep their sessions alive with. Key layout, flags and session defaults match Consul's Go client and
 * `consul lock`, so kvx and Go contenders interoperate.
 *
 * @module
 */

export * from './constants.js';
export type { CoordinationClient, CoordinationKv, CoordinationSessions } from './coordination-client.js';
export type { ContenderSessionOptions } from './contender-session.js';
export { formatDuration, parseDuration } from './duration.js';
export * from './errors.js';
export { cleanPath, joinPath } from './key-path.js';
export { withDeadline, type DeadlineSignal } from './timing.js';
export type { AcquireOptions, HoldingEvents } from './coordination-primitive.js';
export { Lock, type LockAcquireOptions, type LockEvents, type LockHandle, type LockOptions } from './lock.js';
export {
  Semaphore,
  type SemaphoreAcquireOptions,
  type SemaphoreEvents,
  type SemaphoreHandle,
  type SemaphoreOptions,
} from './semaphore.js';
export {
  decodeSemaphoreRecord,
  encodeSemaphoreRecord,
  pruneDeadHolders,
  SemaphoreRecordError,
  type SemaphoreRecord,
} from './semaphore-record.js';
export {
  SessionRenewer,
  type RenewedSessionOptions,
  type SessionRenewerEvents,
  type SessionRenewerOptions,
  type SessionRenewerState,
  type SessionRenewerStopOptions,
} from './session-renewer.js';
