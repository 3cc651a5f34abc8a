/**
 * Errors the CLI raises itself, and the mapping from any thrown error to an exit code and a one-line
 * message. Errors are matched by their stable `code` rather than by class, so a copy of `@kvx/client` loaded
 * twice still maps correctly. This module does not load `@kvx/client`: `kvx --help` and flag errors stay
 * fast; the caller hands in the transfer library's `exitCodeFor` for everything else.
 *
 * @module
 */

import type { ShutdownSignal } from './context.js';
import { ExitCode, type ExitCodeValue } from './exit-codes.js';

/**
 * Bad command-line input: unknown flag, invalid value, missing file. Exit code 1. Same shape as the
 * `KvxError` family (`code`, `status`, `retryable`), without loading the client library to extend it.
 */
export class UsageError extends Error {
  /** Always `KVX_USAGE`. */
  readonly code = 'KVX_USAGE';
  /** Never an HTTP error. */
  readonly status: number | undefined = undefined;
  /** Repeating the same command line fails the same way. */
  readonly retryable = false;

  constructor(message: string, cause?: unknown) {
    super(message, cause === undefined ? undefined : { cause });
    this.name = 'UsageError';
  }
}

/**
 * A one-shot command stopped because of SIGINT/SIGTERM. Exit code 130 or 143 (see exit-codes.ts). The message
 * says what was interrupted: the library's own report of the cancelled step, when it gave one.
 */
export class InterruptedError extends Error {
  /** Always `KVX_INTERRUPTED`. */
  readonly code = 'KVX_INTERRUPTED';
  /** Never an HTTP error. */
  readonly status: number | undefined = undefined;
  /** Running the command again may well succeed. */
  readonly retryable = true;

  constructor(
    /** The signal that interrupted the command. */
    readonly signal: ShutdownSignal,
    cause: unknown,
  ) {
    const code = (cause as { code?: unknown } | undefined)?.code;
    const detail = code === 'KVX_ABORTED' || cause === undefined ? '' : `: ${oneLineMessage(cause)}`;
    super(`interrupted by ${signal}${detail}`, { cause });
    this.name = 'InterruptedError';
  }
}

/**
 * Codes the transfer library's `exitCodeFor` does not know: the CLI's own usage error, and client errors
 * that reach the CLI from commands outside the transfer pipeline.
 */
const CLI_EXIT_CODES: Readonly<Record<string, ExitCodeValue>> = {
  KVX_USAGE: ExitCode.USAGE,
  KVX_TOO_LARGE: ExitCode.TOO_LARGE,
  KVX_RATE_LIMITED: ExitCode.UNAVAILABLE,
};

/**
 * Consul reports an ACL denial inside a transaction as a rolled-back transaction (HTTP 409) whose operation
 * errors say "Permission denied", not as a 403.
 */
function isDeniedTransaction(err: unknown): boolean {
  const errors = (err as { errors?: unknown }).errors;
  return Array.isArray(errors) && errors.some((e) => /permission denied/i.test(String((e as { what?: unknown }).what)));
}

/**
 * The exit code for an error that ended a command (see exit-codes.ts): the CLI's own codes first, then
 * `libraryExitCode` (the transfer library's `exitCodeFor`), or {@link ExitCode.INTERNAL} without it.
 */
export function exitCodeForError(err: unknown, libraryExitCode?: (err: unknown) => number): ExitCodeValue {
  const code = typeof err === 'object' && err !== null ? (err as { code?: unknown }).code : undefined;
  if (code === 'KVX_TXN_CONFLICT' && isDeniedTransaction(err)) return ExitCode.PERMISSION_DENIED;
  if (err instanceof InterruptedError) return err.signal === 'SIGINT' ? ExitCode.INTERRUPTED : ExitCode.TERMINATED;
  const own = typeof code === 'string' ? CLI_EXIT_CODES[code] : undefined;
  return own ?? ((libraryExitCode?.(err) ?? ExitCode.INTERNAL) as ExitCodeValue);
}

/** Whether {@link exitCodeForError} can map `err` without the transfer library. */
export function isCliError(err: unknown): boolean {
  const code = typeof err === 'object' && err !== null ? (err as { code?: unknown }).code : undefined;
  return err instanceof InterruptedError || (typeof code === 'string' && code in CLI_EXIT_CODES);
}

/** The error's message on one line, for `kvx: <message>`. */
export function oneLineMessage(err: unknown): string {
  const text = err instanceof Error ? err.message : String(err);
  return text.replace(/\s*\n\s*/g, ' ').trim() || (err instanceof Error ? err.name : 'unknown error');
}
