/**
 * What the supervisor contends for, exactly as `consul lock` sets it up: a {@link Lock} at `<prefix>/.lock`
 * for a limit of 1 (so a mutex and a semaphore on one prefix collide on the same key and report a
 * conflict), a {@link Semaphore} under `<prefix>` otherwise. Both behind one small interface, with the
 * fencing token the child receives.
 *
 * @module
 */

import {
  DEFAULT_SEMAPHORE_KEY,
  joinPath,
  Lock,
  LockInUseError,
  Semaphore,
  SemaphoreFailedError,
  SemaphoreInUseError,
  type Consul,
  type SessionRenewer,
} from '@kvx/client';
import { DEFAULT_LOCK_DELAY_MS } from './options.js';

/** Settings shared by the lock and the semaphore. */
export interface ContentionSettings {
  prefix: string;
  limit: number;
  sessionName: string;
  sessionTtlMs: number;
  /** `undefined`: the server's default (15 s). */
  lockDelayMs: number | undefined;
  monitorRetries: number;
  monitorRetryTimeMs: number;
  /** `0`: wait forever; otherwise one-shot acquisition bounded by this. */
  timeoutMs: number;
  /** Told about each transient error the monitor of a held lock rides out. */
  onMonitorRetry?: (error: unknown, retriesLeft: number) => void;
}

/** A held lock or semaphore slot. */
export interface Holding {
  /** The session holding it. */
  readonly session: string;
  /**
   * Fencing token: larger for every later holder. For the mutex, the key's `ModifyIndex` at acquisition (its
   * `LockIndex` restarts at 1 whenever `consul lock`'s cleanup deletes the key); for the semaphore, the
   * `ModifyIndex` of `<prefix>/.lock` read right after joining its holders.
   */
  readonly fencingToken: bigint;
  /** Aborted when the holding ends (lost, or released). */
  readonly signal: AbortSignal;
  /** Renewer of the holding's session. */
  readonly renewer: SessionRenewer | undefined;
  /** Releases it (and destroys its session). */
  release(): Promise<void>;
}

/** A lock or a semaphore, as the supervisor uses it. */
export interface Contention {
  /** `consul lock`'s set-up message. */
  readonly setupMessage: string;
  /** Waits for the lock or a slot; `undefined` on abort or one-shot timeout. */
  acquire(signal: AbortSignal): Promise<Holding | undefined>;
  /** Go's `Destroy`: removes the coordination key when unused; `false` when still in use. */
  cleanup(): Promise<boolean>;
}

/**
 * Pause before retrying an acquisition refused by lock-delay. Go sleeps a fixed 5 s; a quarter of the
 * lock-delay (at most 5 s, at least 50 ms) lets a fleet configured with a short lock-delay take over soon
 * after it ends, and the Lock adds ±20 % jitter so waiters do not retry in lock-step.
 */
export function lockRetryTimeMs(lockDelayMs: number | undefined): number {
  return Math.min(5000, Math.max(50, (lockDelayMs ?? DEFAULT_LOCK_DELAY_MS) / 4));
}

function mutex(consul: Consul, s: ContentionSettings): Contention {
  const key = joinPath(s.prefix, DEFAULT_SEMAPHORE_KEY);
  const lock = new Lock(consul, {
    key,
    sessionName: s.sessionName,
    sessionTtl: s.sessionTtlMs,
    ...(s.lockDelayMs === undefined ? {} : { lockDelay: s.lockDelayMs }),
    monitorRetries: s.monitorRetries,
    monitorRetryTime: s.monitorRetryTimeMs,
    lockRetryTime: lockRetryTimeMs(s.lockDelayMs),
    ...(s.timeoutMs > 0 ? { lockTryOnce: true, lockWaitTime: s.timeoutMs } : {}),
  });
  if (s.onMonitorRetry !== undefined) lock.on('monitorRetry', s.onMonitorRetry);
  return {
    setupMessage: `Setting up lock at path: ${key}`,
    async acquire(signal) {
      const handle = await lock.acquire({ signal });
      if (handle === undefined) return undefined;
      return {
        session: handle.session,
        fencingToken: handle.fencingToken,
        signal: handle.signal,
        renewer: lock.sessionRenewer,
        release: () => handle.release(),
      };
    },
    async cleanup() {
      try {
        await lock.destroy();
        return true;
      } catch (err) {
        if (err instanceof LockInUseError) return false;
        throw err;
      }
    },
  };
}

function semaphore(consul: Consul, s: ContentionSettings): Contention {
  const sem = new Semaphore(consul, {
    prefix: s.prefix,
    limit: s.limit,
    sessionName: s.sessionName,
    sessionTtl: s.sessionTtlMs,
    ...(s.lockDelayMs === undefined ? {} : { sessionOptions: { lockDelay: s.lockDelayMs } }),
    monitorRetries: s.monitorRetries,
    monitorRetryTime: s.monitorRetryTimeMs,
    ...(s.timeoutMs > 0 ? { semaphoreTryOnce: true, semaphoreWaitTime: s.timeoutMs } : {}),
  });
  if (s.onMonitorRetry !== undefined) sem.on('monitorRetry', s.onMonitorRetry);
  const lockKey = joinPath(sem.prefix, DEFAULT_SEMAPHORE_KEY);
  return {
    setupMessage: `Setting up semaphore (limit ${s.limit}) at prefix: ${s.prefix}`,
    async acquire(signal) {
      const handle = await sem.acquire({ signal });
      if (handle === undefined) return undefined;
      const renewer = sem.sessionRenewer;
      let token: bigint;
      try {
        // Joining the holders is a CAS on `.lock`, so its ModifyIndex read now is at least that write's index,
        // and any later holder joins with a later CAS.
        const record = await consul.kv.get(lockKey, { consistency: 'consistent' });
        token = record.value?.modifyIndex ?? record.index;
      } catch (err) {
        await handle.release().catch(() => undefined);
        throw new SemaphoreFailedError('failed to read the fencing index', err);
      }
      return {
        session: handle.session,
        fencingToken: token,
        signal: handle.signal,
        renewer,
        release: () => handle.release(),
      };
    },
    async cleanup() {
      try {
        await sem.destroy();
        return true;
      } catch (err) {
        if (err instanceof SemaphoreInUseError) return false;
        throw err;
      }
    },
  };
}

/** The lock (`limit` 1) or semaphore `consul lock` would use for these settings. */
export function contentionFor(consul: Consul, settings: ContentionSettings): Contention {
  return settings.limit === 1 ? mutex(consul, settings) : semaphore(consul, settings);
}
