/**
 * The supervisor's handle on the child: it starts the reaper (`reaper.ts`), which runs the child in a process
 * group of its own, and talks to it over IPC. Termination always targets the whole group, so no grandchild
 * survives the child; a reaper that dies unexpectedly makes the supervisor SIGKILL the group itself.
 *
 * @module
 */

import { spawn, type ChildProcess } from 'node:child_process';
import { createRequire } from 'node:module';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { FromReaper, StopReason, ToReaper } from './reaper-protocol.js';

/** How the direct child ended. */
export interface ChildExit {
  /** Exit status, when it exited normally. */
  code: number | null;
  /** Signal that killed it, when it was killed. */
  signal: NodeJS.Signals | null;
  /** Why it could not be started (or why its reaper vanished), when it never ran to completion. */
  error?: string;
}

/** Deadlines on the system-wide monotonic clock, in nanoseconds (`process.hrtime.bigint()`). */
export interface Lease {
  termAt: bigint;
  killAt: bigint;
}

/** How the reaper runs; it is started ahead of the child, so a hot spare starts its child at once. */
export interface ReaperOptions {
  /** Let the child inherit stdin; otherwise it reads the null device. */
  passStdin: boolean;
  /** SIGTERM → SIGKILL grace (ms) when the supervisor itself disappears. */
  killGraceMs: number;
  /** Observer of the reaper's reports (for verbose logging). */
  onEvent?: (event: FromReaper) => void;
}

/** What to run. */
export interface ChildSpec {
  /** Program to execute. */
  file: string;
  /** Its arguments. */
  args: string[];
  /** Complete environment of the child. */
  env: Record<string, string | undefined>;
  /** The initial lease: the group is stopped at `termAt` and killed at `killAt` unless renewed. */
  lease: Lease;
}

function reaperCommand(): string[] {
  const self = import.meta.url;
  if (self.endsWith('.ts')) {
    // Running from TypeScript sources (tests, `--conditions=kvx-source`): the reaper needs the same loader.
    const tsx = pathToFileURL(createRequire(self).resolve('tsx')).href;
    return ['--import', tsx, fileURLToPath(new URL('./reaper.ts', self))];
  }
  return [fileURLToPath(new URL('./reaper.js', self))];
}

/** A child process group, seen through its reaper. */
export class ChildGroup {
  /** Resolves once the reaper runs and can start the child at once; rejects if the reaper cannot run. */
  readonly ready: Promise<void>;
  /** Resolves with the child's pid (= its process group id) once it runs; rejects if it cannot start. */
  readonly started: Promise<number>;
  /** Resolves when the direct child has exited (or could not start). */
  readonly exited: Promise<ChildExit>;
  /** Resolves when no process of the group is left and the reaper is gone. */
  readonly done: Promise<void>;

  readonly #reaper: ChildProcess;
  readonly #passStdin: boolean;
  readonly #killGraceMs: number;
  #pgid: number | undefined;
  #exit: ChildExit | undefined;
  #finished = false;
  #resolveReady!: () => void;
  #rejectReady!: (err: Error) => void;
  #resolveStarted!: (pid: number) => void;
  #rejectStarted!: (err: Error) => void;
  #resolveExited!: (exit: ChildExit) => void;
  #resolveDone!: () => void;

  private constructor(options: ReaperOptions) {
    this.ready = new Promise((resolve, reject) => {
      this.#resolveReady = resolve;
      this.#rejectReady = reject;
    });
    this.started = new Promise((resolve, reject) => {
      this.#resolveStarted = resolve;
      this.#rejectStarted = reject;
    });
    // Callers that only await `exited` or `done` must not see unhandled rejections.
    this.ready.catch(() => undefined);
    this.started.catch(() => undefined);
    this.exited = new Promise((resolve) => (this.#resolveExited = resolve));
    this.done = new Promise((resolve) => (this.#resolveDone = resolve));
    this.#passStdin = options.passStdin;
    this.#killGraceMs = options.killGraceMs;

    this.#reaper = spawn(process.execPath, reaperCommand(), {
      detached: true,
      stdio: [options.passStdin ? 'inherit' : 'ignore', 'inherit', 'inherit', 'ipc'],
    });
    this.#reaper.on('message', (message: FromReaper) => {
      this.#onMessage(message);
      options.onEvent?.(message);
    });
    this.#reaper.once('error', (err) => this.#onReaperGone(`could not start the reaper: ${err.message}`));
    // Messages still in the channel arrive before 'disconnect', so the reaper only counts as gone (without
    // having reported) once it has both exited and closed the channel.
    let exitStatus: string | undefined;
    let disconnected = false;
    const maybeGone = (): void => {
      if (exitStatus !== undefined && disconnected) this.#onReaperGone(`reaper exited unexpectedly (${exitStatus})`);
    };
    this.#reaper.once('exit', (code, signal) => {
      exitStatus = signal ?? `status ${String(code)}`;
      maybeGone();
    });
    this.#reaper.once('disconnect', () => {
      disconnected = true;
      maybeGone();
    });
  }

  /**
   * Starts a reaper, ready to run a child. Start it ahead of time (while acquiring) so that the child starts
   * without waiting for a Node process to boot; {@link dispose} it if no child is ever started.
   */
  static prepare(options: ReaperOptions): ChildGroup {
    return new ChildGroup(options);
  }

  /** The child's pid, which is also its process group id, once started. */
  get pid(): number | undefined {
    return this.#pgid;
  }

  /** Starts the child under the given lease. Await {@link started} to know it runs. */
  start(spec: ChildSpec): void {
    this.setLease(spec.lease);
    this.#send({
      type: 'start',
      file: spec.file,
      args: spec.args,
      env: spec.env,
      passStdin: this.#passStdin,
      killGraceMs: this.#killGraceMs,
    });
  }

  /** Extends the deadlines at which the reaper stops the group on its own. */
  setLease(lease: Lease): void {
    this.#send({ type: 'lease', termAt: String(lease.termAt), killAt: String(lease.killAt) });
  }

  /** Delivers `signal` to every process of the group. */
  signal(signal: NodeJS.Signals): void {
    this.#send({ type: 'signal', signal });
  }

  /**
   * SIGTERM to the group, SIGKILL after `graceMs` (or at the lease's kill deadline, if sooner); resolves when
   * no member is left. Before {@link start} it just ends the reaper.
   */
  async stop(reason: StopReason, graceMs: number): Promise<void> {
    this.#send({ type: 'stop', reason, graceMs });
    await this.done;
  }

  /** Ends a reaper whose child was never started. */
  async dispose(): Promise<void> {
    await this.stop('shutdown', 0);
  }

  #send(message: ToReaper): void {
    if (this.#finished || !this.#reaper.connected) return;
    try {
      this.#reaper.send(message);
    } catch {
      // The channel closed under us: the 'exit'/'disconnect' handlers take over.
    }
  }

  #onMessage(message: FromReaper): void {
    switch (message.type) {
      case 'ready':
        this.#resolveReady();
        break;
      case 'started':
        this.#pgid = message.pid;
        this.#resolveStarted(message.pid);
        break;
      case 'spawn-failed':
        this.#setExit({ code: null, signal: null, error: message.message });
        this.#rejectStarted(new Error(message.message));
        break;
      case 'exited':
        this.#setExit({ code: message.code, signal: message.signal });
        break;
      case 'done':
        this.#finish();
        break;
      default:
        break;
    }
  }

  #setExit(exit: ChildExit): void {
    if (this.#exit !== undefined) return;
    this.#exit = exit;
    this.#resolveExited(exit);
  }

  #onReaperGone(why: string): void {
    if (this.#finished) return;
    if (this.#pgid !== undefined) {
      try {
        // Without its reaper nobody would stop the group: kill it outright.
        process.kill(-this.#pgid, 'SIGKILL');
      } catch {}
    }
    const error = new Error(why);
    this.#rejectReady(error);
    this.#rejectStarted(error);
    this.#setExit({ code: null, signal: null, error: why });
    this.#finish();
  }

  #finish(): void {
    if (this.#finished) return;
    this.#finished = true;
    // A stop before the child started ends the reaper without any report: settle everything.
    this.#rejectReady(new Error('the reaper was stopped'));
    this.#rejectStarted(new Error('the child was never started'));
    this.#setExit({ code: null, signal: null, error: 'no exit status was reported (the child never started)' });
    if (this.#reaper.connected) this.#reaper.disconnect();
    this.#resolveDone();
  }
}
