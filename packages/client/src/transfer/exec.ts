/**
 * Runs the commands of the pipeline (`exec` after a delivery, `validate` before the swap). Unlike kvexpress
 * (blank-split argv, output discarded, no timeout, exit status ignored):
 *
 * - a string is split into argv by {@link splitShellWords} and run without a shell, unless `shell: true`
 *   (then it runs as `/bin/sh -c <command>`); an array is used as argv as is;
 * - the command runs in its own process group; on timeout or abort the whole group gets SIGTERM, then SIGKILL
 *   after a grace period, so a shell's children do not linger;
 * - stdout and stderr are captured (the last `maxOutput` bytes of each) and returned for the log;
 * - the exit status is reported; the caller decides what a failure means.
 *
 * @module
 */

import { spawn } from 'node:child_process';

import { InvalidArgumentError } from '../errors.js';
import { type CommandOutcome, ExecFailedError } from './errors.js';
import { splitShellWords } from './shell-words.js';

/** A command: a string (split into argv, or given to `/bin/sh -c` with `shell`) or an argv array. */
export type Command = string | readonly string[];

/** Options of {@link runCommand}. */
export interface RunCommandOptions {
  /** The command. */
  command: Command;
  /** Run a string command through `/bin/sh -c` (pipes, `||`, variables). Default: `false`. */
  shell?: boolean;
  /** Milliseconds before the process group is killed. Default: `60000`. `0` disables the timeout. */
  timeout?: number;
  /** Milliseconds between SIGTERM and SIGKILL when killing. Default: `2000`. */
  killGrace?: number;
  /** Variables added to the inherited environment. Default: none. */
  env?: Readonly<Record<string, string>>;
  /** Working directory. Default: the current one. */
  cwd?: string;
  /** Kills the command (like a timeout) when aborted. */
  signal?: AbortSignal;
  /** Bytes kept from the end of stdout and of stderr. Default: `65536`. */
  maxOutput?: number;
}

/** What a command did. */
export interface CommandResult extends CommandOutcome {
  /** The argv that was started. */
  argv: string[];
  /** The tail of its standard output (capped). */
  stdout: string;
  /** Wall time in milliseconds. */
  durationMs: number;
}

/** The argv a command runs as. */
export function commandArgv(command: Command, shell = false): string[] {
  if (typeof command !== 'string') {
    if (command.length === 0 || command[0] === '') throw new InvalidArgumentError('command argv must not be empty');
    if (shell) throw new InvalidArgumentError('the shell option needs the command as one string');
    return [...command];
  }
  if (command.trim() === '') throw new InvalidArgumentError('command must not be empty');
  if (shell) return ['/bin/sh', '-c', command];
  const argv = splitShellWords(command);
  if (argv.length === 0) throw new InvalidArgumentError(`command ${JSON.stringify(command)} has no words`);
  return argv;
}

/** Renders an argv for logs and messages. */
export function describeArgv(argv: readonly string[]): string {
  return argv.map((a) => (/^[\w@%+=:,./-]+$/.test(a) ? a : JSON.stringify(a))).join(' ');
}

class TailBuffer {
  private chunks: Buffer[] = [];
  private size = 0;
  constructor(private readonly limit: number) {}

  push(chunk: Buffer): void {
    this.chunks.push(chunk);
    this.size += chunk.length;
    while (this.size - (this.chunks[0]?.length ?? 0) >= this.limit && this.chunks.length > 1) {
      this.size -= (this.chunks.shift() as Buffer).length;
    }
  }

  text(): string {
    const all = Buffer.concat(this.chunks);
    return all.subarray(Math.max(0, all.length - this.limit)).toString('utf8');
  }
}

function checkNonNegative(name: string, value: number): number {
  if (!Number.isFinite(value) || value < 0) throw new InvalidArgumentError(`${name} must be a number ≥ 0, got ${value}`);
  return value;
}

/**
 * Runs a command to completion and reports how it ended. It rejects only for invalid options and when the
 * command cannot be started ({@link ExecFailedError} without an outcome); a non-zero exit, a signal or a
 * timeout resolve normally.
 */
export async function runCommand(options: RunCommandOptions): Promise<CommandResult> {
  const argv = commandArgv(options.command, options.shell ?? false);
  const timeout = checkNonNegative('timeout', options.timeout ?? 60_000);
  const killGrace = checkNonNegative('killGrace', options.killGrace ?? 2_000);
  const maxOutput = checkNonNegative('maxOutput', options.maxOutput ?? 65_536);
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const [file, ...args] = argv as [string, ...string[]];
    const child = spawn(file, args, {
      cwd: options.cwd,
      env: { ...process.env, ...options.env },
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const stdout = new TailBuffer(maxOutput);
    const stderr = new TailBuffer(maxOutput);
    child.stdout.on('data', (chunk: Buffer) => stdout.push(chunk));
    child.stderr.on('data', (chunk: Buffer) => stderr.push(chunk));
    let timedOut = false;
    let killTimer: NodeJS.Timeout | undefined;
    let exited = false;
    const killGroup = (signal: NodeJS.Signals): void => {
      if (exited || child.pid === undefined) return;
      try {
        process.kill(-child.pid, signal);
      } catch {
        // The group is already gone.
      }
    };
    const terminate = (): void => {
      killGroup('SIGTERM');
      killTimer ??= setTimeout(() => killGroup('SIGKILL'), killGrace);
    };
    const timer =
      timeout > 0
        ? setTimeout(() => {
            timedOut = true;
            terminate();
          }, timeout)
        : undefined;
    const onAbort = (): void => terminate();
    options.signal?.addEventListener('abort', onAbort, { once: true });
    if (options.signal?.aborted) terminate();
    const cleanup = (): void => {
      clearTimeout(timer);
      clearTimeout(killTimer);
      options.signal?.removeEventListener('abort', onAbort);
    };
    child.once('error', (err) => {
      cleanup();
      reject(new ExecFailedError(`cannot start ${describeArgv(argv)}: ${err.message}`, undefined, err));
    });
    child.once('exit', (exitCode, signal) => {
      exited = true;
      cleanup();
      // A daemon started by the command may keep the pipes open: give them a moment, then stop listening.
      let finished = false;
      const finish = (): void => {
        if (finished) return;
        finished = true;
        clearTimeout(drain);
        child.stdout.destroy();
        child.stderr.destroy();
        resolve({
          argv,
          exitCode,
          signal,
          timedOut,
          stdout: stdout.text(),
          stderr: stderr.text(),
          durationMs: performance.now() - started,
        });
      };
      const drain = setTimeout(finish, 200);
      child.once('close', finish);
    });
  });
}

/** True when the command exited with status 0. */
export function succeeded(result: CommandOutcome): boolean {
  return result.exitCode === 0 && !result.timedOut;
}
