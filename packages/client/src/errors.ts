/**
 * The kvx error family. Every error kvx throws on purpose is a {@link KvxError} with a stable `code`
 * (`KVX_…`), the HTTP status when the error came from Consul, and a `retryable` marker that the retry
 * policy reads. Messages say what failed and what to do; they never contain an ACL token.
 *
 * @module
 */

import type { TxnOpError } from './api/types.js';

/** Options shared by every kvx error. */
export interface KvxErrorOptions {
  /** HTTP status of the Consul reply that caused the error, when there was one. */
  status?: number;
  /** Whether repeating the same request may succeed. Default: `false`. */
  retryable?: boolean;
  /** The underlying error. */
  cause?: unknown;
  /**
   * Whether the request may have been applied by Consul although it failed from the client's point of
   * view (sent, then the connection broke or timed out). Default: `false`. Callers of conditional writes
   * (CAS, acquire, release, write transactions) must re-read the key to learn the outcome.
   */
  ambiguous?: boolean;
}

/** Base class of every error kvx throws on purpose. */
export class KvxError extends Error {
  /** Stable machine-readable code, e.g. `KVX_HTTP`. */
  readonly code: string;
  /** HTTP status of the Consul reply, when there was one. */
  readonly status: number | undefined;
  /** Whether the retry policy may repeat the request. */
  readonly retryable: boolean;
  /**
   * `true` when the request was sent and may have been applied: a conditional write that fails this way
   * is not retried, and the caller must re-read to learn whether it took effect.
   */
  readonly ambiguous: boolean;

  constructor(code: string, message: string, options: KvxErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    this.status = options.status;
    this.retryable = options.retryable ?? false;
    this.ambiguous = options.ambiguous ?? false;
  }
}

/** Invalid options or arguments given to a kvx API (caught before any request). */
export class InvalidArgumentError extends KvxError {
  constructor(message: string) {
    super('KVX_INVALID_ARGUMENT', message);
  }
}

/** Consul answered with an unexpected HTTP status (5xx, 400, 413, 429, …). */
export class HttpError extends KvxError {
  /** The reply body as text (truncated), for diagnostics. */
  readonly body: string;

  constructor(status: number, method: string, path: string, body: string, retryable: boolean) {
    const text = body.length > 300 ? `${body.slice(0, 300)}…` : body;
    super('KVX_HTTP', `Consul ${method} ${path} failed: HTTP ${status}${text ? `: ${text.trim()}` : ''}`, {
      status,
      retryable,
    });
    this.body = text;
  }
}

/** Consul refused the request with 403: the ACL token lacks the needed permission. */
export class PermissionDeniedError extends KvxError {
  constructor(method: string, path: string, body: string) {
    super(
      'KVX_PERMISSION_DENIED',
      `Consul ${method} ${path} was denied (HTTP 403${body ? `: ${body.trim()}` : ''}); check the ACL token's rules`,
      { status: 403 },
    );
  }
}

/** The agent could not be reached (refused, reset, DNS, TLS) or did not answer in time. */
export class ConnectionError extends KvxError {
  constructor(message: string, options: { cause?: unknown; code?: string; ambiguous?: boolean } = {}) {
    super(options.code ?? 'KVX_CONNECTION', message, {
      retryable: true,
      cause: options.cause,
      ambiguous: options.ambiguous ?? false,
    });
  }
}

/** A request took longer than its timeout. */
export class TimeoutError extends ConnectionError {
  constructor(message: string, cause?: unknown, ambiguous = true) {
    super(message, { cause, code: 'KVX_TIMEOUT', ambiguous });
  }
}

/** The circuit breaker for an agent address is open: requests fail fast until a probe succeeds. */
export class CircuitOpenError extends KvxError {
  /**
   * How long until the breaker lets a probe request through (ms), when the breaker knows; `0` while a probe is
   * already on its way. Retrying earlier only fails fast again.
   */
  readonly retryAfterMs: number | undefined;

  constructor(address: string, retryAfterMs?: number) {
    super('KVX_CIRCUIT_OPEN', `circuit breaker for Consul agent ${address} is open after repeated failures; retry later`, {
      retryable: false,
    });
    this.retryAfterMs = retryAfterMs;
  }
}

/** The message of an {@link AbortedError} for a request that met its client closed. */
export const CLIENT_CLOSED = 'the Consul client is closed';

/** The caller aborted the operation through its `AbortSignal`. */
export class AbortedError extends KvxError {
  constructor(message = 'operation aborted', cause?: unknown) {
    super('KVX_ABORTED', message, { cause });
  }
}

/** The reply from Consul could not be understood (bad JSON, wrong shape, bad header). */
export class ProtocolError extends KvxError {
  constructor(message: string, cause?: unknown) {
    super('KVX_PROTOCOL', message, { cause });
  }
}

/** Consul refused the request with 413: a value, a request body or a transaction is over its limit. */
export class TooLargeError extends KvxError {
  /** The reply body as text, Consul's explanation of the limit. */
  readonly body: string;

  constructor(method: string, path: string, body: string) {
    super('KVX_TOO_LARGE', `Consul ${method} ${path} was rejected as too large (HTTP 413${body ? `: ${body.trim()}` : ''})`, {
      status: 413,
    });
    this.body = body;
  }
}

/**
 * The agent's reply was longer than the client's `maxResponseSize`; it was cut off while it arrived. Not
 * retryable (the same request gets the same reply). Ambiguous: the request reached the agent, so a write
 * may have been applied. Raise `maxResponseSize`, or read a narrower prefix.
 */
export class ResponseTooLargeError extends KvxError {
  /** The limit the reply exceeded, in bytes. */
  readonly limit: number;

  constructor(method: string, path: string, limit: number) {
    super(
      'KVX_RESPONSE_TOO_LARGE',
      `Consul ${method} ${path} sent a reply larger than maxResponseSize (${limit} bytes); raise the limit or read less at once`,
      { ambiguous: true },
    );
    this.limit = limit;
  }
}

/**
 * Consul rate-limited the request (HTTP 429). Retryable: the retry policy waits at least `retryAfterMs`
 * when Consul sent `Retry-After`, unless that is longer than the policy's `maxDelay` or its remaining
 * `maxRetryTime` — then this error is surfaced at once, and the caller decides whether to wait.
 */
export class RateLimitedError extends KvxError {
  /** Delay Consul asked for through `Retry-After`, in milliseconds, when it sent one. */
  readonly retryAfterMs: number | undefined;

  constructor(method: string, path: string, body: string, retryAfterMs: number | undefined) {
    super(
      'KVX_RATE_LIMITED',
      `Consul ${method} ${path} was rate-limited (HTTP 429${body ? `: ${body.trim()}` : ''})`,
      { status: 429, retryable: true },
    );
    this.retryAfterMs = retryAfterMs;
  }
}

/** Consul rolled a transaction back (HTTP 409): at least one operation failed; nothing was applied. */
export class TxnConflictError extends KvxError {
  /** Every failed operation, in the order Consul reported them. */
  readonly errors: TxnOpError[];

  constructor(errors: TxnOpError[]) {
    const summary = errors.map((e) => `#${e.opIndex}: ${e.what}`).join('; ');
    super('KVX_TXN_CONFLICT', `Consul rolled the transaction back (HTTP 409)${summary ? `: ${summary}` : ''}`, {
      status: 409,
    });
    this.errors = errors;
  }
}
