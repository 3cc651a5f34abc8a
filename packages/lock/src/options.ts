/**
 * Options of the lock supervisor, their defaults (those of `consul lock`, plus kvx's additions) and their
 * eager validation. Messages of the checks `consul lock` also makes are `consul lock`'s own.
 *
 * @module
 */

import { formatDuration, InvalidArgumentError, type Consul } from '@kvx/client';
import { fencePlan, type FencePlan } from './fence.js';

/** Default session TTL (Consul's `DefaultLockSessionTTL`). */
export const DEFAULT_SESSION_TTL_MS = 15_000;
/** Consul's server-side lock-delay, in effect when the session does not set one. */
export const DEFAULT_LOCK_DELAY_MS = 15_000;
/** Default SIGTERM → SIGKILL grace (`consul lock`'s `lockKillGracePeriod`). */
export const DEFAULT_KILL_GRACE_MS = 5_000;
/** Default number of monitor retries (`consul lock -monitor-retry`). */
export const DEFAULT_MONITOR_RETRIES = 3;
/** Pause between monitor retries (`consul lock`'s fixed `defaultMonitorRetryTime`). */
export const DEFAULT_MONITOR_RETRY_TIME_MS = 1_000;

/** Receives the supervisor's messages. */
export interface SupervisorLog {
  /** Progress messages; printed only in verbose mode. */
  info(message: string): void;
  /** Errors and warnings; always printed. */
  error(message: string): void;
}

/** What to run under the lock and how; every field but `prefix`, `command` and `consul` has a default. */
export interface SupervisorOptions {
  /** Key prefix. One leading `/` is stripped; the mutex key is `<prefix>/.lock`. */
  prefix: string;
  /** The child command: program and arguments, or with `shell` the words of a shell command. */
  command: readonly string[];
  /** Client to talk to Consul through. Not closed by the supervisor. */
  consul: Consul;
  /** Holder limit: 1 is a mutex at `<prefix>/.lock`, more is a semaphore under `<prefix>`. Default: `1`. */
  limit?: number;
  /** Session name. Default: `Consul lock for '<command joined by space>' at '<prefix>'`. */
  sessionName?: string;
  /** Let the child read the supervisor's stdin. Default: `false` (the child reads the null device). */
  passStdin?: boolean;
  /** Give up acquiring after this long (ms); `0` waits forever. Default: `0`. */
  timeoutMs?: number;
  /** Transient monitor errors tolerated in a row before the lock counts as lost. Default: `3`. */
  monitorRetries?: number;
  /** Pause between monitor retries (ms). Default: `1000`. */
  monitorRetryTimeMs?: number;
  /** Run `command` through `$SHELL -c` (`/bin/sh` when unset), words joined by single spaces. Default: `true`. */
  shell?: boolean;
  /** Exit with 2 when the child fails (non-zero status, signal, failure to start). Default: `false`. */
  childExitCode?: boolean;
  /** Session TTL (ms). Default: `15000`. */
  sessionTtlMs?: number;
  /** Session lock-delay (ms); `0` disables it. Default: the server's (15 s), not sent. */
  lockDelayMs?: number;
  /** SIGTERM → SIGKILL grace when stopping the child (ms). Default: `5000`. */
  killGraceMs?: number;
  /** Safety margin between the child's SIGKILL deadline and the session TTL (ms). Default: TTL / 5. */
  fenceMarginMs?: number;
  /** Environment of the child, before `CONSUL_LOCK_HELD` and `KVX_LOCK_*` are added. Default: `process.env`. */
  env?: Readonly<Record<string, string | undefined>>;
  /** Where messages go. Default: nowhere. */
  log?: SupervisorLog;
}

/** {@link SupervisorOptions} with every default applied and checked. */
export interface ResolvedSupervisorOptions {
  /** Key prefix ({@link SupervisorOptions.prefix}, `consul lock`'s PREFIX) with one leading `/` stripped; not empty. */
  prefix: string;
  /** The child command ({@link SupervisorOptions.command}, `consul lock`'s CHILD), copied; not empty. */
  command: readonly string[];
  /** Client to talk to Consul through ({@link SupervisorOptions.consul}). Not closed by the supervisor. */
  consul: Consul;
  /** Holder limit, a positive integer ({@link SupervisorOptions.limit}, `consul lock -n`). Default: `1`. */
  limit: number;
  /** Session name ({@link SupervisorOptions.sessionName}, `-name`). Default: `Consul lock for '<command>' at '<prefix>'`. */
  sessionName: string;
  /** Let the child read the supervisor's stdin ({@link SupervisorOptions.passStdin}, `-pass-stdin`). Default: `false`. */
  passStdin: boolean;
  /** Give up acquiring after this long (ms); `0` waits forever ({@link SupervisorOptions.timeoutMs}, `-timeout`). Default: `0`. */
  timeoutMs: number;
  /** Transient monitor errors tolerated in a row ({@link SupervisorOptions.monitorRetries}, `-monitor-retry`). Default: `3`. */
  monitorRetries: number;
  /** Pause between monitor retries (ms) ({@link SupervisorOptions.monitorRetryTimeMs}; no flag). Default: `1000`. */
  monitorRetryTimeMs: number;
  /** Run `command` through `$SHELL -c` ({@link SupervisorOptions.shell}, `-shell`). Default: `true`. */
  shell: boolean;
  /** Exit with 2 when the child fails ({@link SupervisorOptions.childExitCode}, `-child-exit-code`). Default: `false`. */
  childExitCode: boolean;
  /** Session TTL (ms), positive ({@link SupervisorOptions.sessionTtlMs}, `kvx lock --session-ttl`). Default: `15000`. */
  sessionTtlMs: number;
  /** Session lock-delay (ms) ({@link SupervisorOptions.lockDelayMs}, `--lock-delay`); `undefined`: not sent, the server's 15 s applies. */
  lockDelayMs: number | undefined;
  /** SIGTERM → SIGKILL grace when stopping the child (ms) ({@link SupervisorOptions.killGraceMs}, `--kill-grace`). Default: `5000`. */
  killGraceMs: number;
  /** Fencing schedule computed by {@link fencePlan} from `sessionTtlMs`, `killGraceMs` and {@link SupervisorOptions.fenceMarginMs}. */
  fence: FencePlan;
  /** Child's environment, before `CONSUL_LOCK_HELD` and `KVX_LOCK_*` are added ({@link SupervisorOptions.env}). Default: `process.env`. */
  env: Readonly<Record<string, string | undefined>>;
  /** Where messages go ({@link SupervisorOptions.log}). Default: a log that discards everything. */
  log: SupervisorLog;
}

const SILENT: SupervisorLog = { info: () => undefined, error: () => undefined };

function nonNegative(name: string, value: number): number {
  if (!(Number.isFinite(value) && value >= 0)) throw new InvalidArgumentError(`${name} must be a non-negative duration`);
  return value;
}

/** The session name `consul lock` gives a lock session. */
export function defaultSessionName(command: readonly string[], prefix: string): string {
  return `Consul lock for '${command.join(' ')}' at '${prefix}'`;
}

/**
 * The warning due when the lock-delay does not cover `TTL − fence margin`, `undefined` otherwise. A session
 * invalidated early by its node's failing `serfHealth` check frees the lock at once, while the holder's child
 * may run until `TTL − margin` after the last confirmed renewal; only a lock-delay at least that long keeps the
 * next holder out until then (docs/lock-fencing.md, assumption 5). A semaphore's contender keys are new keys,
 * which no lock-delay applies to, so the setting changes nothing there and no warning is given.
 */
export function lockDelayWarning(settings: Pick<ResolvedSupervisorOptions, 'limit' | 'lockDelayMs' | 'fence'>): string | undefined {
  if (settings.limit !== 1) return undefined;
  const lockDelayMs = settings.lockDelayMs ?? DEFAULT_LOCK_DELAY_MS;
  const needMs = settings.fence.killAfterMs;
  if (lockDelayMs >= needMs) return undefined;
  const which = settings.lockDelayMs === undefined ? ` (the server's default)` : '';
  return (
    `Warning: lock-delay ${formatDuration(lockDelayMs)}${which} is shorter than session TTL - fence margin ` +
    `(${formatDuration(needMs)}): a holder whose session is invalidated by a failing health check may still run ` +
    'when the next one starts (see docs/lock-fencing.md)'
  );
}

/**
 * Applies defaults and validates everything but the client, in `consul lock`'s order and with its messages
 * (the command line checks its flags with this before it builds a client, as `consul lock` does).
 *
 * @throws {@link @kvx/client!InvalidArgumentError} on the first invalid option.
 */
export function resolveSupervisorSettings(options: Omit<SupervisorOptions, 'consul'>): Omit<ResolvedSupervisorOptions, 'consul'> {
  const limit = options.limit ?? 1;
  if (!(Number.isInteger(limit) && limit > 0)) throw new InvalidArgumentError('Lock holder limit must be positive');
  if (options.prefix === '' || options.command.length === 0) {
    throw new InvalidArgumentError('Key prefix and child command must be specified');
  }
  const prefix = options.prefix.startsWith('/') ? options.prefix.slice(1) : options.prefix;
  const timeoutMs = options.timeoutMs ?? 0;
  if (!(timeoutMs >= 0)) throw new InvalidArgumentError('Timeout must be positive');
  const monitorRetries = options.monitorRetries ?? DEFAULT_MONITOR_RETRIES;
  if (!(Number.isInteger(monitorRetries) && monitorRetries >= 0)) {
    throw new InvalidArgumentError("Number for 'monitor-retry' must be >= 0");
  }
  const sessionTtlMs = options.sessionTtlMs ?? DEFAULT_SESSION_TTL_MS;
  if (!(Number.isFinite(sessionTtlMs) && sessionTtlMs > 0)) throw new InvalidArgumentError('Session TTL must be positive');
  const killGraceMs = nonNegative('Kill grace', options.killGraceMs ?? DEFAULT_KILL_GRACE_MS);
  const lockDelayMs = options.lockDelayMs === undefined ? undefined : nonNegative('Lock delay', options.lockDelayMs);
  const fence = fencePlan({
    ttlMs: sessionTtlMs,
    killGraceMs,
    ...(options.fenceMarginMs === undefined ? {} : { marginMs: options.fenceMarginMs }),
  });
  return {
    prefix,
    command: [...options.command],
    limit,
    sessionName: options.sessionName ?? defaultSessionName(options.command, prefix),
    passStdin: options.passStdin ?? false,
    timeoutMs,
    monitorRetries,
    monitorRetryTimeMs: nonNegative('Monitor retry time', options.monitorRetryTimeMs ?? DEFAULT_MONITOR_RETRY_TIME_MS),
    shell: options.shell ?? true,
    childExitCode: options.childExitCode ?? false,
    sessionTtlMs,
    lockDelayMs,
    killGraceMs,
    fence,
    env: options.env ?? process.env,
    log: options.log ?? SILENT,
  };
}

/**
 * Applies defaults and validates; see {@link resolveSupervisorSettings}.
 *
 * @throws {@link @kvx/client!InvalidArgumentError} on the first invalid option.
 */
export function resolveSupervisorOptions(options: SupervisorOptions): ResolvedSupervisorOptions {
  return { ...resolveSupervisorSettings(options), consul: options.consul };
}
