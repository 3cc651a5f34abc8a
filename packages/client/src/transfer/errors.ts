/**
 * Errors of the file-transport pipeline. Each has a stable `code` that {@link exitCodeFor} (and the CLI) maps
 * to an exit code; the messages name the key or file and say what to do, never a token.
 *
 * @module
 */

import { KvxError, PermissionDeniedError, TxnConflictError } from '../errors.js';

/** A stop key (`<prefix>/<key>/stop`) holds a non-empty reason: nothing is published or delivered. */
export class StoppedError extends KvxError {
  /** The kvexpress key that is stopped. */
  readonly key: string;
  /** The stop reason stored in Consul. */
  readonly reason: string;

  constructor(key: string, stopKey: string, reason: string) {
    super('KVX_STOPPED', `"${key}" is stopped by ${stopKey}: ${reason} (remove it with "kvx start")`);
    this.key = key;
    this.reason = reason;
  }
}

/** The target file is pinned on this host (`<prefix>/locks/<sha256(path)>/<host>`): it is left untouched. */
export class PinnedError extends KvxError {
  /** The absolute path of the pinned file. */
  readonly file: string;
  /** The pin reason stored in Consul. */
  readonly reason: string;

  constructor(file: string, pinKey: string, reason: string) {
    super('KVX_PINNED', `${file} is pinned on this host by ${pinKey}: ${reason} (remove it with "kvx unpin")`);
    this.file = file;
    this.reason = reason;
  }
}

/** Why a delivery was refused. */
export type VerifyFailure =
  /** The data key does not exist (nothing was ever published, or it was deleted). */
  | 'missing'
  /** Fewer lines (or bytes) than the configured minimum. */
  | 'too-short'
  /** The content is empty: never delivered, whatever the minimums. */
  | 'empty'
  /** The content does not hash to the checksum key. */
  | 'checksum-mismatch'
  /** The stored bytes could not be decoded (corrupt brotli, bad legacy gzip, broken chunk manifest). */
  | 'undecodable'
  /** The `validate` command rejected the staged file. */
  | 'validate-failed';

/** The content in Consul failed a check: nothing was written, the old file is kept. */
export class VerifyError extends KvxError {
  /** Which check failed. */
  readonly failure: VerifyFailure;

  /** @param options `retryable` marks a failure that a later attempt may not hit (a version replaced mid-read). */
  constructor(failure: VerifyFailure, message: string, options: { cause?: unknown; retryable?: boolean } = {}) {
    super('KVX_VERIFY', message, options);
    this.failure = failure;
  }
}

/** The data key carries KV flags kvx does not know: written by a newer or foreign tool. */
export class UnknownEncodingError extends KvxError {
  /** The flags found on the data key. */
  readonly flags: bigint;

  constructor(dataKey: string, flags: bigint) {
    super(
      'KVX_UNKNOWN_ENCODING',
      `${dataKey} has KV flags ${flags}, which is no encoding kvx knows (0 plain, 1 brotli, 2 chunked); ` +
        'it was written by another tool or a newer kvx',
    );
    this.flags = flags;
  }
}

/** Why an input was refused by `publish`. */
export type InputFailure =
  | 'empty'
  | 'too-short'
  | 'too-small'
  | 'not-a-file'
  /** The target exists but the file system refuses to replace it by rename (a bind mount, another file system). */
  | 'not-replaceable';

/** The content given to `publish` (or a local path) is not acceptable: nothing was sent to Consul. */
export class InputError extends KvxError {
  /** What is wrong with the input. */
  readonly failure: InputFailure;

  constructor(failure: InputFailure, message: string, cause?: unknown) {
    super('KVX_INPUT', message, cause === undefined ? {} : { cause });
    this.failure = failure;
  }
}

/**
 * Throws the {@link InputError} (`not-a-file`) for a path that is a directory, a device, a FIFO or a socket:
 * kvx reads, replaces and removes regular files only — a device would be read without end (/dev/zero) or
 * replaced by a regular file (/dev/null).
 */
export function assertRegularFile(path: string, stats: { isDirectory(): boolean; isFile(): boolean }): void {
  if (stats.isDirectory()) throw new InputError('not-a-file', `${path} is a directory, not a file`);
  if (!stats.isFile()) throw new InputError('not-a-file', `${path} is not a regular file (a device, FIFO or socket); kvx leaves it alone`);
}

/** Another writer kept changing the key while `publish` tried to commit, and the attempts ran out. */
export class ConflictError extends KvxError {
  /** The kvexpress key. */
  readonly key: string;

  constructor(key: string, attempts: number) {
    super(
      'KVX_CONFLICT',
      `"${key}" was changed by another writer during each of ${attempts} commit attempts; nothing of this ` +
        'publish was committed (run "kvx in" again, or serialise writers)',
      { retryable: true },
    );
    this.key = key;
  }
}

/** How a command ended. */
export interface CommandOutcome {
  /** Exit code, or `null` when it was killed by a signal. */
  exitCode: number | null;
  /** The signal that ended it, or `null`. */
  signal: NodeJS.Signals | null;
  /** True when kvx killed it because it ran past its timeout. */
  timedOut: boolean;
  /** The tail of its standard error (capped). */
  stderr: string;
}

/** Describes an outcome in a few words: `exit code 3`, `signal SIGKILL`, `timeout after 5000 ms`. */
export function describeOutcome(outcome: CommandOutcome, timeoutMs?: number): string {
  if (outcome.timedOut) return `timeout after ${timeoutMs ?? '?'} ms`;
  if (outcome.signal !== null) return `signal ${outcome.signal}`;
  return `exit code ${outcome.exitCode ?? '?'}`;
}

/** The `exec` command could not start, failed, or timed out (the file itself was delivered). */
export class ExecFailedError extends KvxError {
  /** How the command ended; `undefined` when it could not be started at all. */
  readonly outcome: CommandOutcome | undefined;

  constructor(message: string, outcome?: CommandOutcome, cause?: unknown) {
    super('KVX_EXEC_FAILED', message, cause === undefined ? {} : { cause });
    this.outcome = outcome;
  }
}

/**
 * Consul reports ACL denials inside a transaction as a rolled-back transaction (HTTP 409) whose operation
 * errors say `Permission denied`, not as HTTP 403. Returns the equivalent {@link PermissionDeniedError} for
 * such a rollback, so callers do not mistake it for a conflict; `undefined` for a genuine conflict.
 */
export function permissionDeniedInTxn(err: TxnConflictError): PermissionDeniedError | undefined {
  const denied = err.errors.find((e) => /permission denied|acl not found/i.test(e.what));
  return denied === undefined ? undefined : new PermissionDeniedError('PUT', '/v1/txn', denied.what);
}

/** Rethrows a transaction rollback caused by an ACL denial as {@link PermissionDeniedError}; other errors unchanged. */
export function rethrowTxnDenial(err: unknown): never {
  if (err instanceof TxnConflictError) throw permissionDeniedInTxn(err) ?? err;
  throw err;
}
