/**
 * The exit codes of the `kvx` command. They are a stable interface: scripts, Consul watch handlers and
 * systemd units branch on them, so a code never changes meaning. `kvx --help` prints this table and the
 * README is written from it.
 *
 * kvexpress exited 0 on almost every failure (Consul gave up, decode error, write error); kvx exits
 * non-zero whenever the requested file or key is not in the requested state, and says why on one line of
 * stderr (`kvx: <message>`).
 *
 * @module
 */

/** Every exit code `kvx` returns, by name. */
export const ExitCode = {
  /** The file or key was written, or was already up to date (nothing to do is success). */
  OK: 0,
  /**
   * Usage or bad input: an unknown command or flag, a missing or invalid flag value, a missing or unreadable
   * input file, a directory where a file is expected, an invalid config file, and for `in` an input that is
   * empty, too short (`--length`) or too small (`--min-bytes`): what is wrong is the command line or what it
   * points at, not what Consul holds. Nothing was written.
   */
  USAGE: 1,
  /** A stop key (`<prefix>/<key>/stop`) holds the fleet: nothing was delivered or published. */
  STOPPED: 2,
  /** The file is pinned on this host (`kvx pin`): `out` left it untouched. */
  PINNED: 3,
  /**
   * Verification failed while delivering (`out`, `raw`, `copy`, `diff`): the content read from Consul is
   * missing or too short (`--length`, `--min-bytes`), its checksum does not match, it cannot be decoded, or the
   * `--validate` command rejected it. Nothing was written.
   */
  VERIFICATION_FAILED: 4,
  /** Consul could not be reached after the retries, or the circuit breaker is open. */
  UNAVAILABLE: 5,
  /**
   * Permission denied: Consul refused the request (HTTP 403, the ACL token lacks a permission), or the local
   * file system did (EACCES/EPERM writing the file or changing its owner).
   */
  PERMISSION_DENIED: 6,
  /** Consul refused the value as over its size limit (HTTP 413), even after compression. */
  TOO_LARGE: 7,
  /** The file was written, but the `--exec` command failed (non-zero exit, signal or timeout). */
  EXEC_FAILED: 8,
  /**
   * An internal error: a bug in kvx or an unexpected reply. The message is printed on one line; the stack
   * trace only with `--verbose`. Value 70 is `EX_SOFTWARE` from sysexits(3).
   */
  INTERNAL: 70,
  /**
   * A one-shot command was interrupted by SIGINT (128 + 2, as a shell reports a process killed by it). The
   * command stopped cleanly first: its running `--exec`/`--validate` process group was terminated and its temp
   * file removed. Whether Consul or the file was already updated depends on when the signal came; the message
   * says what was interrupted. `out --watch`, `agent` and `demo` stop on SIGINT/SIGTERM by design and exit 0.
   */
  INTERRUPTED: 130,
  /** As {@link ExitCode.INTERRUPTED}, for SIGTERM (128 + 15). */
  TERMINATED: 143,
} as const;

/** One of the values of {@link ExitCode}. */
export type ExitCodeValue = (typeof ExitCode)[keyof typeof ExitCode];

/** The exit-code table as `kvx --help` prints it, one `code  meaning` line each. */
export const EXIT_CODE_HELP: readonly (readonly [ExitCodeValue, string])[] = [
  [ExitCode.OK, 'written, or already up to date'],
  [ExitCode.USAGE, 'usage or bad input (unknown flag, missing file, invalid value; for in: input empty, too short or too small); nothing written'],
  [ExitCode.STOPPED, 'stopped by a stop key'],
  [ExitCode.PINNED, 'the file is pinned on this host'],
  [ExitCode.VERIFICATION_FAILED, 'verification failed when delivering (out/raw/copy/diff: missing, empty, too short, checksum mismatch, undecodable, --validate failed); nothing written'],
  [ExitCode.UNAVAILABLE, 'Consul unreachable after retries, circuit breaker open, or its replies are not Consul\'s'],
  [ExitCode.PERMISSION_DENIED, 'permission denied (Consul ACL, HTTP 403; or the local file system)'],
  [ExitCode.TOO_LARGE, 'value over Consul\'s size limit, even compressed'],
  [ExitCode.EXEC_FAILED, 'the file was written but the --exec command failed'],
  [ExitCode.INTERNAL, 'internal error (a bug: run again with --verbose for the stack trace)'],
  [ExitCode.INTERRUPTED, 'interrupted by SIGINT (its --exec/--validate stopped, temp file removed; out --watch exits 0)'],
  [ExitCode.TERMINATED, 'interrupted by SIGTERM (likewise)'],
];

/** The exit-code section appended to `kvx --help`. */
export function exitCodeHelpText(): string {
  return `\nExit codes:\n${EXIT_CODE_HELP.map(([code, text]) => `  ${String(code).padStart(3)}  ${text}`).join('\n')}\n`;
}
