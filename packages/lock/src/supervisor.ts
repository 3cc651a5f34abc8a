/**
 * The lock supervisor: `consul lock`'s flow (query the agent, set up, acquire, run the child while held,
 * stop it when the lock is lost or on SIGINT/SIGTERM, release, clean up) with kvx's corrections: the child
 * runs in a process group of its own watched by a reaper, every usual signal is forwarded to that group,
 * and the holder fences itself, stopping the child before its session could expire when it cannot reach
 * Consul.
 *
 * @module
 */

import { formatDuration, InvalidArgumentError, SessionExpiredError } from '@kvx/client';
import { ChildGroup, type ChildExit } from './child-group.js';
import { contentionFor, type Contention, type Holding } from './contention.js';
import type { LeaseExpiredError } from './errors.js';
import { hrNow, lastConfirmedNs, LeaseKeeper } from './lease-keeper.js';
import { lockDelayWarning, resolveSupervisorOptions, type ResolvedSupervisorOptions, type SupervisorOptions } from './options.js';
import type { FromReaper, StopReason } from './reaper-protocol.js';
import { isShutdownSignal, processSignals, type SignalSource } from './signals.js';

/** Environment variable set for the child, as `consul lock` does. */
export const LOCK_HELD_ENV = 'CONSUL_LOCK_HELD';
/** Environment variable with the fencing token (see `contention.ts`). */
export const LOCK_INDEX_ENV = 'KVX_LOCK_INDEX';
/** Environment variable with the holder's session id. */
export const LOCK_SESSION_ENV = 'KVX_LOCK_SESSION';

/** Go's `signal.String()` for the signals a child commonly dies of, for `consul lock`-like messages. */
const GO_SIGNAL_TEXT: Partial<Record<NodeJS.Signals, string>> = {
  SIGTERM: 'terminated',
  SIGKILL: 'killed',
  SIGINT: 'interrupt',
  SIGHUP: 'hangup',
  SIGQUIT: 'quit',
  SIGUSR1: 'user defined signal 1',
  SIGUSR2: 'user defined signal 2',
  SIGABRT: 'aborted',
  SIGSEGV: 'segmentation fault',
  SIGPIPE: 'broken pipe',
};

function describeExit(exit: ChildExit): string {
  if (exit.error !== undefined) return exit.error;
  if (exit.signal !== null) return `signal: ${GO_SIGNAL_TEXT[exit.signal] ?? exit.signal}`;
  return `exit status ${String(exit.code)}`;
}

function failed(exit: ChildExit): boolean {
  return exit.error !== undefined || exit.signal !== null || exit.code !== 0;
}

function message(err: unknown): string {
  const text = err instanceof Error ? err.message : String(err);
  return text.replace(/\s*\n\s*/g, ' ');
}

function whenAborted(signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) resolve();
    else signal.addEventListener('abort', () => resolve(), { once: true });
  });
}

type Outcome =
  | { kind: 'exited'; exit: ChildExit }
  | { kind: 'lost'; reason: unknown }
  | { kind: 'fenced'; reason: LeaseExpiredError }
  | { kind: 'shutdown' };

/** Runs a command while holding a Consul lock or semaphore slot; see the module description. */
export class LockSupervisor {
  readonly #o: ResolvedSupervisorOptions;
  #group: ChildGroup | undefined;
  #childStarted = false;
  #ran = false;

  /** @throws {@link @kvx/client!InvalidArgumentError} for invalid options, with `consul lock`'s messages. */
  constructor(options: SupervisorOptions) {
    this.#o = resolveSupervisorOptions(options);
  }

  /**
   * Supervises until the child is done and the lock released. Call it once per supervisor.
   *
   * @param signals where SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1 and SIGUSR2 come from; all are
   *   forwarded to the child's process group, and SIGINT/SIGTERM also end the supervision.
   * @returns the exit code, as `consul lock`'s: 0, 1 (setup, acquisition, timeout, release), or 2 for a failed
   *   child with `childExitCode`.
   */
  async run(signals: SignalSource = processSignals): Promise<number> {
    if (this.#ran) throw new InvalidArgumentError('a LockSupervisor runs once; create another one');
    this.#ran = true;
    const shutdown = new AbortController();
    const unsubscribe = signals.subscribe((signal) => {
      const group = this.#group;
      // SIGTERM is what stopping the child sends first anyway; forwarding it too would deliver it twice.
      if (group !== undefined && this.#childStarted && signal !== 'SIGTERM') {
        this.#o.log.info(`Forwarding ${signal} to child process group ${group.pid ?? ''}`.trimEnd());
        group.signal(signal);
      } else if (!isShutdownSignal(signal) && !this.#childStarted) {
        this.#o.log.info(`Ignoring ${signal}: no child is running`);
      }
      if (isShutdownSignal(signal)) shutdown.abort();
    });
    try {
      return await this.#supervise(shutdown.signal);
    } finally {
      unsubscribe();
      if (this.#group !== undefined) await this.#group.dispose();
    }
  }

  async #supervise(shutdown: AbortSignal): Promise<number> {
    const o = this.#o;
    const log = o.log;
    const warning = lockDelayWarning(o);
    if (warning !== undefined) log.error(warning);
    try {
      await o.consul.agent.self({ signal: shutdown });
    } catch (err) {
      log.error(`Error querying Consul agent: ${message(err)}`);
      return 1;
    }

    let contention: Contention;
    try {
      contention = contentionFor(o.consul, {
        ...o,
        onMonitorRetry: (err, left) => log.info(`Watching the lock failed (${message(err)}), retrying (${left} retries left)`),
      });
    } catch (err) {
      log.error(`Lock setup failed: ${message(err)}`);
      return 1;
    }
    log.info(contention.setupMessage);
    // The reaper boots while we wait, so a hot spare starts its child as soon as it gets the lock.
    this.#group = this.#prepareGroup();
    this.#group.ready.then(
      () => log.info('Reaper ready: the child can start as soon as the lock is acquired'),
      () => undefined,
    );

    log.info('Attempting lock acquisition');
    let holding: Holding | undefined;
    try {
      holding = await contention.acquire(shutdown);
    } catch (err) {
      log.error(`Lock acquisition failed: ${message(err)}`);
      return 1;
    }
    if (holding === undefined) {
      log.error('Shutdown triggered or timeout during lock acquisition');
      return 1;
    }
    log.info(`Lock acquired: session ${holding.session}, fencing token ${holding.fencingToken}`);

    let childCode = 0;
    if (shutdown.aborted) {
      log.error('Shutdown triggered during lock acquisition');
    } else {
      try {
        childCode = await this.#runChild(holding, shutdown);
      } catch (err) {
        // Only the reaper failing to boot gets here; the lock must still be released.
        log.error(`Error starting handler: ${message(err)}`);
        childCode = 2;
      }
    }
    return this.#finish(contention, holding, childCode);
  }

  #prepareGroup(): ChildGroup {
    return ChildGroup.prepare({
      passStdin: this.#o.passStdin,
      killGraceMs: this.#o.killGraceMs,
      onEvent: (event) => this.#onReaperEvent(event),
    });
  }

  /** Runs the child until it exits, the lock is lost, the lease runs out or a shutdown signal comes. */
  async #runChild(holding: Holding, shutdown: AbortSignal): Promise<number> {
    const o = this.#o;
    const log = o.log;
    const plan = o.fence;
    const fenced = new AbortController();
    // A renewal answered "no such session": the lock is gone even if the monitor has not seen it yet.
    const gone = new AbortController();
    const renewer = holding.renewer;
    const keeper = new LeaseKeeper(
      {
        consul: o.consul,
        sessionId: holding.session,
        renewer,
        plan,
        onLease: (lease) => this.#group?.setLease(lease),
        onExpired: (err) => fenced.abort(err),
        onSessionGone: () => gone.abort(new SessionExpiredError(holding.session, 'not-found')),
        onRenewFailed: (err, msLeft) =>
          log.info(`Session renewal failed (${message(err)}); the child is stopped in ${Math.max(0, Math.round(msLeft))} ms unless one succeeds`),
      },
      lastConfirmedNs(renewer, plan.ttlMs),
    );
    try {
      let group = this.#group;
      if (group === undefined || !(await group.ready.then(() => true, () => false))) {
        group = this.#group = this.#prepareGroup();
        await group.ready;
      }
      // With the reaper ready, a fresh confirmation gives the child the longest possible lease.
      await keeper.renewNow();
      if (shutdown.aborted) {
        log.error('Shutdown triggered during lock acquisition');
        return 0;
      }
      if (gone.signal.aborted || hrNow() >= keeper.lease.termAt) {
        log.error(`Session ${holding.session} could not be confirmed after acquisition, not starting the child`);
        return 0;
      }
      log.info('Starting handler');
      if (o.passStdin) log.info('Stdin passed to handler process');
      log.info(
        `Renewing session every ${formatDuration(plan.renewIntervalMs)}; the child is stopped if the session ` +
          `stays unconfirmed for ${formatDuration(plan.termAfterMs)} and killed at ${formatDuration(plan.killAfterMs)} ` +
          `(TTL ${formatDuration(plan.ttlMs)})`,
      );
      group.start({ ...this.#command(), env: this.#childEnv(holding), lease: keeper.lease });
      this.#childStarted = true;
      keeper.start();
      group.started.then(
        (pid) => log.info(`Child started: pid ${pid}, in process group ${pid}`),
        () => undefined,
      );

      const outcome = await Promise.race<Outcome>([
        group.exited.then((exit) => ({ kind: 'exited', exit })),
        whenAborted(holding.signal).then(() => ({ kind: 'lost', reason: holding.signal.reason as unknown })),
        whenAborted(gone.signal).then(() => ({ kind: 'lost', reason: gone.signal.reason as unknown })),
        whenAborted(fenced.signal).then(() => ({ kind: 'fenced', reason: fenced.signal.reason as LeaseExpiredError })),
        whenAborted(shutdown).then(() => ({ kind: 'shutdown' })),
      ]);

      if (outcome.kind === 'exited') {
        const code = this.#reportExit(outcome.exit) ? 2 : 0;
        log.info('Child terminated, releasing lock');
        await group.done;
        return code;
      }
      let reason: StopReason;
      if (outcome.kind === 'lost') {
        log.info(`Lock lost (${message(outcome.reason)}), killing child`);
        reason = 'lock-lost';
      } else if (outcome.kind === 'fenced') {
        log.error(`${outcome.reason.message}: killing child`);
        reason = 'fenced';
      } else {
        log.info('Shutdown triggered, killing child');
        reason = 'shutdown';
      }
      await group.stop(reason, reason === 'fenced' ? plan.fenceGraceMs : o.killGraceMs);
      this.#reportExit(await group.exited);
      log.info('Child terminated');
      return 0;
    } finally {
      keeper.stop();
      this.#childStarted = false;
    }
  }

  /** Logs a failed child as `consul lock` does; `true` when it failed. */
  #reportExit(exit: ChildExit): boolean {
    if (!failed(exit)) return false;
    const log = this.#o.log;
    if (exit.error !== undefined) log.error(`Error starting handler: ${exit.error}`);
    else log.error(`Error running handler: ${describeExit(exit)}`);
    return true;
  }

  async #finish(contention: Contention, holding: Holding, childCode: number): Promise<number> {
    const log = this.#o.log;
    try {
      await holding.release();
    } catch (err) {
      log.error(`Lock release failed: ${message(err)}`);
      return 1;
    }
    log.info(`Lock released, session ${holding.session} destroyed`);
    try {
      log.info((await contention.cleanup()) ? 'Cleanup succeeded' : 'Cleanup aborted, lock in use');
    } catch (err) {
      log.error(`Lock cleanup failed: ${message(err)}`);
      return 1;
    }
    return this.#o.childExitCode && childCode !== 0 ? childCode : 0;
  }

  #command(): { file: string; args: string[] } {
    const o = this.#o;
    if (!o.shell) return { file: o.command[0]!, args: o.command.slice(1) };
    const shell = o.env['SHELL'];
    return { file: shell === undefined || shell === '' ? '/bin/sh' : shell, args: ['-c', o.command.join(' ')] };
  }

  #childEnv(holding: Holding): Record<string, string | undefined> {
    return {
      ...this.#o.env,
      [LOCK_HELD_ENV]: 'true',
      [LOCK_INDEX_ENV]: String(holding.fencingToken),
      [LOCK_SESSION_ENV]: holding.session,
    };
  }

  #onReaperEvent(event: FromReaper): void {
    const log = this.#o.log;
    switch (event.type) {
      case 'terminating':
        if (event.reason === 'child-exited') log.info(`Terminating what is left of process group ${event.pid}`);
        else if (event.reason === 'fenced') log.info(`Terminating child pid ${event.pid} (lease ran out)`);
        else if (event.reason === 'supervisor-gone') log.info(`Terminating child pid ${event.pid} (supervisor gone)`);
        else log.info(`Terminating child pid ${event.pid}`);
        break;
      case 'grace-expired':
        log.info(`Child did not exit after grace period of ${formatDuration(event.graceMs)}`);
        break;
      case 'killing':
        log.info(`Killing child pid ${event.pid}`);
        break;
      case 'signal-failed':
        log.error(`Warning, could not forward signal: ${event.message}`);
        break;
      case 'done':
        if (event.lingering) log.error('Warning: processes of the child group survived SIGKILL (zombies or uninterruptible)');
        break;
      default:
        break;
    }
  }
}
