/**
 * Errors the dev agent raises while handling a request. Each carries the HTTP status and the exact body text
 * Consul would answer with, so the router can turn any of them into a response without knowing where it came from.
 *
 * @module
 */

/** Options shared by every dev-agent error. */
export interface AgentErrorOptions {
  /** Whether repeating the same request may succeed. Default: `false`. */
  retryable?: boolean;
  /** The underlying error. */
  cause?: unknown;
}

/** A request the agent answers with a non-2xx status and a plain-text body (Consul's wording). */
export class AgentHttpError extends Error {
  /** Stable machine-readable code, e.g. `KVX_AGENT_BAD_REQUEST`. */
  readonly code: string;
  /** HTTP status sent to the client. */
  readonly status: number;
  /** Whether repeating the same request may succeed. */
  readonly retryable: boolean;
  /** Extra response headers (e.g. `Allow` on 405). */
  readonly headers: Readonly<Record<string, string>>;

  constructor(
    code: string,
    status: number,
    message: string,
    options: AgentErrorOptions & { headers?: Record<string, string> } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    this.status = status;
    this.retryable = options.retryable ?? false;
    this.headers = options.headers ?? {};
  }
}

/** 400: the request is malformed (Consul's `HTTPError{StatusCode: 400}`). */
export class BadRequestError extends AgentHttpError {
  constructor(message: string) {
    super('KVX_AGENT_BAD_REQUEST', 400, message);
  }
}

/** 403: the ACL token lacks the permission the request needs. */
export class PermissionDeniedError extends AgentHttpError {
  constructor(message: string) {
    super('KVX_AGENT_PERMISSION_DENIED', 403, message);
  }
}

/** 404 with a text body (unknown endpoint, unknown session on renew). */
export class NotFoundError extends AgentHttpError {
  constructor(message: string) {
    super('KVX_AGENT_NOT_FOUND', 404, message);
  }
}

/** 405: the endpoint exists but not for this method. */
export class MethodNotAllowedError extends AgentHttpError {
  constructor(method: string, allow: string) {
    super('KVX_AGENT_METHOD_NOT_ALLOWED', 405, `method ${method} not allowed`, { headers: { Allow: allow } });
  }
}

/** 413: a body, a value or a transaction is over its configured limit. */
export class TooLargeError extends AgentHttpError {
  constructor(message: string) {
    super('KVX_AGENT_TOO_LARGE', 413, message);
  }
}

/**
 * 500: what Consul reports for state-store and RPC errors (invalid session, bad TTL, unparsable flags…).
 * Clients treat 500 as retryable, hence the marker.
 */
export class InternalError extends AgentHttpError {
  constructor(message: string, cause?: unknown) {
    super('KVX_AGENT_INTERNAL', 500, message, { retryable: true, cause });
  }
}

/** The agent's options or command-line flags are invalid (raised before anything starts). */
export class AgentConfigError extends Error {
  /** Stable machine-readable code. */
  readonly code = 'KVX_AGENT_CONFIG';

  constructor(message: string) {
    super(message);
    this.name = new.target.name;
  }
}

/** The data directory holds state the agent cannot read back (not a torn tail: real corruption). */
export class DataDirError extends Error {
  /** Stable machine-readable code. */
  readonly code = 'KVX_AGENT_DATA_DIR';

  constructor(message: string, cause?: unknown) {
    super(message, cause === undefined ? undefined : { cause });
    this.name = new.target.name;
  }
}
