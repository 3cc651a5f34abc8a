/**
 * `@kvx/lock`: run 1 of N processes with hot spares, compatible with `consul lock` on the same keys, with
 * process-group termination, signal forwarding and self-fencing; and {@link runLocked} for leader-only work
 * inside a Node service.
 *
 * @packageDocumentation
 */

export {
  DEFAULT_PROGRAM_NAME,
  lockMain,
  parseLockArgs,
  type DogStatsdAddress,
  type LockCommandLine,
  type LockIo,
} from './command.js';
export { normaliseArgv, VALUE_FLAGS } from './argv.js';
export {
  LockSupervisor,
  LOCK_HELD_ENV,
  LOCK_INDEX_ENV,
  LOCK_SESSION_ENV,
} from './supervisor.js';
export {
  DEFAULT_KILL_GRACE_MS,
  DEFAULT_LOCK_DELAY_MS,
  DEFAULT_MONITOR_RETRIES,
  DEFAULT_MONITOR_RETRY_TIME_MS,
  DEFAULT_SESSION_TTL_MS,
  defaultSessionName,
  lockDelayWarning,
  resolveSupervisorOptions,
  resolveSupervisorSettings,
  type ResolvedSupervisorOptions,
  type SupervisorLog,
  type SupervisorOptions,
} from './options.js';
export { fencePlan, type FencePlan, type FenceSettings } from './fence.js';
export { lockRetryTimeMs } from './contention.js';
export { FORWARDED_SIGNALS, processSignals, type SignalSource, type SupervisorSignal } from './signals.js';
export { LeaseExpiredError, LockTimeoutError } from './errors.js';
export { runLocked, type LockedContext, type RunLockedOptions } from './run-locked.js';
