/**
 * The two commands of a delivery:
 *
 * - **validate** runs against the staged temp file before it replaces the target (like `nginx -t -c {}`). The
 *   temp file is passed three ways: every `{}` in the command is replaced by its path (shell-quoted with
 *   `shell: true`), and the environment has `KVX_TEMP_FILE` (the staged file) besides `KVX_FILE` (the target).
 *   A non-zero exit, a signal or a timeout is a {@link VerifyError} (`validate-failed`): the temp file is removed
 *   and the old file stays.
 * - **exec** runs after the file is in place (after the optional splay). A failure is an {@link ExecFailedError};
 *   the new file stays.
 *
 * Both get `KVX_KEY`, `KVX_FILE`, `KVX_CHECKSUM` and `KVX_PREVIOUS_CHECKSUM` (empty when there was no file).
 * Their output is logged (debug on success, warn on failure).
 *
 * @module
 */

import { describeOutcome, ExecFailedError, VerifyError } from './errors.js';
import { commandArgv, describeArgv, runCommand, succeeded, type Command, type CommandResult } from './exec.js';
import type { TransferLogger } from './logger.js';
import { shellQuote } from './shell-words.js';

/** How to run a hook. */
export interface HookSpec {
  command: Command;
  /** Through `/bin/sh -c`. */
  shell: boolean;
  /** Timeout in ms (`0`: none). */
  timeout: number;
}

/** The environment a hook receives. */
export interface HookEnv {
  KVX_KEY: string;
  KVX_FILE: string;
  KVX_CHECKSUM: string;
  KVX_PREVIOUS_CHECKSUM: string;
  KVX_TEMP_FILE?: string;
}

function substitute(command: Command, shell: boolean, path: string): Command {
  if (typeof command === 'string') {
    if (shell) return command.split('{}').join(shellQuote(path));
    return commandArgv(command).map((arg) => arg.split('{}').join(path));
  }
  return command.map((arg) => arg.split('{}').join(path));
}

function logOutcome(logger: TransferLogger, what: string, result: CommandResult, ok: boolean): void {
  logger(ok ? 'debug' : 'warn', `${what} ${ok ? 'succeeded' : 'failed'}: ${describeArgv(result.argv)}`, {
    exitCode: result.exitCode,
    signal: result.signal,
    timedOut: result.timedOut,
    durationMs: Math.round(result.durationMs),
    stdout: result.stdout,
    stderr: result.stderr,
  });
}

/** Runs the validate command on the staged file; throws {@link VerifyError} when it rejects it. */
export async function runValidate(
  spec: HookSpec,
  tempPath: string,
  env: HookEnv,
  logger: TransferLogger,
  signal?: AbortSignal,
): Promise<CommandResult> {
  let result: CommandResult;
  try {
    result = await runCommand({
      command: substitute(spec.command, spec.shell, tempPath),
      shell: spec.shell,
      timeout: spec.timeout,
      env: { ...env, KVX_TEMP_FILE: tempPath },
      ...(signal === undefined ? {} : { signal }),
    });
  } catch (err) {
    throw new VerifyError('validate-failed', `validate command could not run: ${(err as Error).message}`, { cause: err });
  }
  const ok = succeeded(result);
  logOutcome(logger, 'validate', result, ok);
  if (!ok) {
    const tail = result.stderr.trim().split('\n').slice(-3).join(' | ');
    throw new VerifyError(
      'validate-failed',
      `validate command ${describeArgv(result.argv)} rejected the new ${env.KVX_FILE} (${describeOutcome(result, spec.timeout)})` +
        (tail ? `: ${tail}` : '') +
        '; the old file was kept',
      { cause: new ExecFailedError('validate failed', result) },
    );
  }
  return result;
}

/** Runs the exec command; throws {@link ExecFailedError} when it fails. */
export async function runExec(spec: HookSpec, env: HookEnv, logger: TransferLogger, signal?: AbortSignal): Promise<CommandResult> {
  const result = await runCommand({
    command: spec.command,
    shell: spec.shell,
    timeout: spec.timeout,
    env: { ...env },
    ...(signal === undefined ? {} : { signal }),
  });
  const ok = succeeded(result);
  logOutcome(logger, 'exec', result, ok);
  if (!ok) {
    const tail = result.stderr.trim().split('\n').slice(-3).join(' | ');
    throw new ExecFailedError(
      `exec command ${describeArgv(result.argv)} failed after ${env.KVX_FILE || env.KVX_KEY} was updated ` +
        `(${describeOutcome(result, spec.timeout)})${tail ? `: ${tail}` : ''}`,
      result,
    );
  }
  return result;
}
