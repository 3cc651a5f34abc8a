/**
 * Messages between the supervisor and its reaper (see `reaper.ts`), carried over Node's IPC channel.
 * Deadlines are absolute readings of the system-wide monotonic clock (`process.hrtime.bigint()`, the same
 * `CLOCK_MONOTONIC` in every process of the machine), sent as decimal strings because JSON has no bigint.
 *
 * @module
 */

/** Why the child group is being stopped. */
export type StopReason = 'shutdown' | 'lock-lost' | 'fenced' | 'supervisor-gone' | 'child-exited';

/** Supervisor → reaper. */
export type ToReaper =
  | {
      type: 'start';
      /** Program to execute (a shell when `--shell`). */
      file: string;
      args: string[];
      /** Complete environment of the child. */
      env: Record<string, string | undefined>;
      /** Whether the child inherits stdin (otherwise it reads the null device). */
      passStdin: boolean;
      /** SIGTERM → SIGKILL grace in milliseconds, used when the supervisor disappears. */
      killGraceMs: number;
    }
  /** The session is confirmed: stop the group at `termAt`, kill it at `killAt`, unless a newer lease comes. */
  | { type: 'lease'; termAt: string; killAt: string }
  | { type: 'signal'; signal: NodeJS.Signals }
  /** Stop the group now: SIGTERM, then SIGKILL after `graceMs` (or at the lease's `killAt`, if sooner). */
  | { type: 'stop'; reason: StopReason; graceMs: number };

/** Reaper → supervisor. */
export type FromReaper =
  /** The reaper is up and waiting for `start`. */
  | { type: 'ready' }
  | { type: 'started'; pid: number }
  | { type: 'spawn-failed'; message: string }
  /** SIGTERM was sent to the group. */
  | { type: 'terminating'; pid: number; reason: StopReason }
  /** The grace period ran out (SIGKILL follows). */
  | { type: 'grace-expired'; graceMs: number }
  /** SIGKILL was sent to the group. */
  | { type: 'killing'; pid: number }
  | { type: 'signal-failed'; signal: NodeJS.Signals; message: string }
  /** The direct child exited (`code` or `signal` is set). */
  | { type: 'exited'; code: number | null; signal: NodeJS.Signals | null }
  /** No process of the group is left (or the survivors were SIGKILLed and cannot run any more code). */
  | { type: 'done'; lingering: boolean };
