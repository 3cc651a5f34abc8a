/**
 * The exit code a `kvx` file-transport command returns for an error thrown by this library. Matching is by the
 * stable `code`, not by class, so two loaded copies of `@kvx/client` still agree.
 *
 * | code | meaning | error codes |
 * |---|---|---|
 * | 1 | bad input or arguments; nothing written | `KVX_INVALID_ARGUMENT`, `KVX_INPUT`, `KVX_CONFLICT`, a local path error (`ENOENT`, `EISDIR`, …) |
 * | 2 | stopped by a stop key | `KVX_STOPPED` |
 * | 3 | pinned on this host | `KVX_PINNED` |
 * | 4 | verification failed (missing, empty, too short, checksum, undecodable, validate) | `KVX_VERIFY`, `KVX_UNKNOWN_ENCODING` |
 * | 5 | Consul unreachable, or what answered is not a usable Consul | `KVX_CONNECTION`, `KVX_TIMEOUT`, `KVX_CIRCUIT_OPEN`, `KVX_HTTP` with a 5xx status, `KVX_PROTOCOL`, `KVX_RESPONSE_TOO_LARGE` |
 * | 6 | permission denied (ACL, or the local file system) | `KVX_PERMISSION_DENIED`, `EACCES`, `EPERM`, `EROFS` |
 * | 7 | a value over Consul's limit was refused (HTTP 413) | `KVX_TOO_LARGE`, `KVX_HTTP` with status 413 |
 * | 8 | the file was written but the command failed | `KVX_EXEC_FAILED` |
 * | 70 | anything else (a bug, an unexpected reply) | |
 *
 * `KVX_CONFLICT` maps to 1 because it means "another writer won; run again", which a caller handles like a
 * refused input rather than an outage.
 *
 * @module
 */

const BY_CODE: Readonly<Record<string, number>> = {
  KVX_INVALID_ARGUMENT: 1,
  KVX_INPUT: 1,
  KVX_CONFLICT: 1,
  KVX_STOPPED: 2,
  KVX_PINNED: 3,
  KVX_VERIFY: 4,
  KVX_UNKNOWN_ENCODING: 4,
  KVX_CONNECTION: 5,
  KVX_TIMEOUT: 5,
  KVX_CIRCUIT_OPEN: 5,
  // A reply that is not Consul's (a proxy's error page, a reply cut short) leaves Consul as unusable as an outage.
  KVX_PROTOCOL: 5,
  KVX_RESPONSE_TOO_LARGE: 5,
  KVX_PERMISSION_DENIED: 6,
  KVX_TOO_LARGE: 7,
  KVX_EXEC_FAILED: 8,
  EACCES: 6,
  EPERM: 6,
  EROFS: 6,
  ENOENT: 1,
  EISDIR: 1,
  ENOTDIR: 1,
  ENAMETOOLONG: 1,
  ELOOP: 1,
};

/** Exit code for errors that are not recognised. */
export const INTERNAL_EXIT_CODE = 70;

/** Maps an error thrown by the transfer functions to the `kvx` exit code (see the module table). */
export function exitCodeFor(error: unknown): number {
  if (typeof error !== 'object' || error === null) return INTERNAL_EXIT_CODE;
  const { code, status } = error as { code?: unknown; status?: unknown };
  if (typeof code !== 'string') return INTERNAL_EXIT_CODE;
  const mapped = BY_CODE[code];
  if (mapped !== undefined) return mapped;
  if (code === 'KVX_HTTP' && typeof status === 'number') {
    if (status === 413) return 7;
    if (status >= 500) return 5;
    if (status === 400) return 1;
  }
  return INTERNAL_EXIT_CODE;
}
