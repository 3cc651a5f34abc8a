/**
 * The HTTP transport: axios on the client's own undici adapter ({@link createUndiciAdapter}) and a dedicated
 * keep-alive connection pool, wrapped by the retry policy and the per-address circuit breakers, with Consul's status
 * codes mapped to the kvx error family. The ACL token travels only in the `X-Consul-Token` header and never
 * reaches an error, a log line or a metric: reply bodies and other server-sent text are scrubbed of the
 * active tokens before they go into an error, since an agent or a proxy may echo the token back.
 *
 * @module
 */

import http from 'node:http';
import https from 'node:https';
import axios, { Axios, type AxiosRequestConfig, type RawAxiosRequestHeaders } from 'axios';
import type { RequestOptions } from '../api/types.js';
import {
  AbortedError,
  CLIENT_CLOSED,
  ConnectionError,
  HttpError,
  InvalidArgumentError,
  KvxError,
  PermissionDeniedError,
  RateLimitedError,
  ResponseTooLargeError,
  TimeoutError,
  TooLargeError,
} from '../errors.js';
import type { ClientMetrics } from '../metrics.js';
import type { Breaker, BreakerFactory, BreakerPolicy, BreakerStates } from './breaker.js';
import { checkTimeout, checkToken, MAX_TIMEOUT_MS, type ResolvedConfig } from './config.js';
import { ConnectionPool } from './connection-pool.js';
import { createUndiciAdapter } from './undici-adapter.js';
import { TokenBucket, type RateLimit } from './rate-limit.js';
import type { Retrier, RequestSafety } from './retry.js';

/** One logical request to the agent (retried as a whole). */
export interface HttpRequest {
  /** Metric name of the endpoint, e.g. `kv_get`. */
  endpoint: string;
  /** HTTP method. */
  method: 'GET' | 'PUT' | 'DELETE';
  /** URL path, already percent-encoded, e.g. `/v1/kv/a%20b`. */
  path: string;
  /** Query parameters; `''` sends a presence flag (`?recurse=`), `undefined` omits the parameter. */
  query?: Record<string, string | undefined>;
  /** Request body, if any. */
  body?: Buffer | string;
  /** Content type of `body`. Default: `application/octet-stream`. */
  contentType?: string;
  /** Statuses returned to the caller as values rather than errors (2xx always are). */
  accept?: readonly number[];
  /** Whether the request may be repeated after it reached the agent. */
  safety: RequestSafety;
  /** Per-call options (token, datacenter, signal, timeout). */
  options: RequestOptions | undefined;
  /** Blocking query parameters: sets `index`/`wait`, the long-poll timeout and the long-poll breaker. */
  blocking?: { index: bigint; waitMs: number };
  /**
   * The reply is text (JSON) to be read through {@link HttpResponse.text}: it is decoded from UTF-8 as it
   * arrives, never first copied into one buffer. Default: `false` (bytes, {@link HttpResponse.body}).
   */
  text?: boolean;
}

/** A reply from the agent. */
export interface HttpResponse {
  /** HTTP status (2xx, or one of the request's accepted statuses). */
  readonly status: number;
  /** A response header by lower-case name. */
  header(name: string): string | undefined;
  /** The raw body (of a `text` request: the UTF-8 bytes of its text, made on first use). */
  readonly body: Buffer;
  /** The body as UTF-8 text (decoded on first use, unless the request asked for `text`). */
  readonly text: string;
}

/** An {@link HttpResponse} holding its body as bytes or as text, and making the other form only when asked. */
class Reply implements HttpResponse {
  constructor(
    readonly status: number,
    private readonly headers: Record<string, unknown>,
    private bytes: Buffer | undefined,
    private decoded: string | undefined,
  ) {}

  header(name: string): string | undefined {
    const v = this.headers[name];
    // A repeated field reads as HTTP combines it, so a doubled X-Consul-Index is reported as malformed, not missing.
    return typeof v === 'string' ? v : Array.isArray(v) ? v.join(', ') : undefined;
  }

  get body(): Buffer {
    return (this.bytes ??= Buffer.from(this.decoded ?? '', 'utf8'));
  }

  get text(): string {
    return (this.decoded ??= (this.bytes ?? Buffer.alloc(0)).toString('utf8'));
  }
}

/** Everything the transport needs besides the resolved configuration. */
export interface TransportDeps {
  /** Retry policy with its budget. */
  retrier: Retrier;
  /** Breaker policy, or `false` for no breakers. */
  breakerPolicy: BreakerPolicy | false;
  /** Builds the breakers. */
  breakerFactory: BreakerFactory;
  /** Client-wide limit on GET requests, or `false`. */
  readLimit: RateLimit | false;
  /** Where request, retry and breaker metrics go. */
  metrics: ClientMetrics;
}

const NOT_SENT_CODES = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOENT', 'EADDRNOTAVAIL']);

/** Formats a wait for Consul like the Go client: integer milliseconds, at least `1ms`. */
export function formatWait(ms: number): string {
  return `${Math.max(1, Math.round(ms))}ms`;
}

/** A query parameter's value, percent-encoded. */
function encodeParam(name: string, value: string): string {
  if (!value.isWellFormed()) throw new InvalidArgumentError(`the ${name} parameter holds a lone UTF-16 surrogate`);
  return encodeURIComponent(value);
}

/** Appends `name=value` to a URL, starting the query string when the URL has none yet. */
function addParam(url: string, name: string, value: string): string {
  return `${url}${url.includes('?') ? '&' : '?'}${name}=${encodeParam(name, value)}`;
}

/** The request path with its query parameters, in the order given. */
function requestUrl(path: string, query: Record<string, string | undefined> | undefined): string {
  let url = path;
  let sep = '?';
  for (const k in query) {
    const v = query[k];
    if (v === undefined) continue;
    url += `${sep}${k}=${encodeParam(k, v)}`;
    sep = '&';
  }
  return url;
}

/** `Retry-After` as delay-seconds (fractions tolerated). */
const RETRY_AFTER_SECONDS = /^\d+(?:\.\d+)?$/;
/** `Retry-After` as an HTTP-date: IMF-fixdate, or the obsolete RFC 850 and asctime forms recipients must accept. */
const RETRY_AFTER_DATE =
  /^(?:[A-Z][a-z]{2}, \d{2} [A-Z][a-z]{2} \d{4} \d{2}:\d{2}:\d{2} GMT|[A-Z][a-z]+, \d{2}-[A-Z][a-z]{2}-\d{2} \d{2}:\d{2}:\d{2} GMT|[A-Z][a-z]{2} [A-Z][a-z]{2} [ \d]\d \d{2}:\d{2}:\d{2} \d{4})$/;

/**
 * Parses `Retry-After` (RFC 9110 §10.2.3) into milliseconds. Anything else — negative or exponent numbers,
 * free text, a date `Date.parse` would guess at — is ignored (`undefined`) rather than read as "retry now".
 */
export function parseRetryAfter(v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  const value = v.trim();
  if (RETRY_AFTER_SECONDS.test(value)) {
    const ms = Number(value) * 1000;
    return Number.isFinite(ms) ? ms : undefined;
  }
  if (!RETRY_AFTER_DATE.test(value)) return undefined;
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, date - Date.now());
}

/** What replaces a token in text that goes into an error. */
export const REDACTED = '<redacted>';

/** `text` with every occurrence of each secret replaced by {@link REDACTED}. */
export function redactSecrets(text: string, secrets: readonly (string | undefined)[]): string {
  // Longest first: a token containing another must not leave a fragment of itself behind.
  const present = secrets.filter((s): s is string => s !== undefined && s !== '' && text.includes(s)).sort((a, b) => b.length - a.length);
  for (const secret of present) text = text.split(secret).join(REDACTED);
  return text;
}

/** A failure without a reply, stripped of everything but its code and (scrubbed) message: no config, no headers. */
function sanitizedCause(err: { code?: unknown; message?: unknown; cause?: unknown }, redact: (text: string) => string): Error {
  const inner = err.cause as { code?: unknown; message?: unknown } | undefined;
  const code = typeof inner?.code === 'string' ? inner.code : typeof err.code === 'string' ? err.code : undefined;
  const message = redact(typeof inner?.message === 'string' ? inner.message : String(err.message));
  const cause = new Error(message);
  if (code !== undefined) Object.assign(cause, { code });
  return cause;
}

/** The axios-based transport of one {@link Consul} client. */
export class HttpTransport {
  private readonly axios: Axios;
  /** The connections of the direct path. */
  private readonly pool: ConnectionPool | undefined;
  /** The connections of the environment-proxy path (axios's own adapter). */
  private readonly agents: [http.Agent, https.Agent] | undefined;
  private readonly breaker: Breaker | undefined;
  private readonly longPollBreaker: Breaker | undefined;
  private readonly readBucket: TokenBucket | undefined;
  private closed = false;
  /** Aborted by {@link close}: ends the retry waits of requests in flight. */
  private readonly closing = new AbortController();

  constructor(
    private readonly config: ResolvedConfig,
    private readonly deps: TransportDeps,
  ) {
    const fixedHeaders = { 'User-Agent': 'kvx-client', ...(config.token !== undefined ? { 'X-Consul-Token': config.token } : {}) };
    const tls = {
      rejectUnauthorized: config.tls.verify,
      ...(config.tls.ca ? { ca: config.tls.ca } : {}),
      ...(config.tls.cert ? { cert: config.tls.cert } : {}),
      ...(config.tls.key ? { key: config.tls.key } : {}),
      ...(config.tls.serverName ? { servername: config.tls.serverName } : {}),
    };
    // Environment proxies need axios's own adapter; it must not follow redirects (they could carry the token
    // to another host) and must hand every status back for the mapping below.
    if (config.proxy) {
      const agentOptions = { keepAlive: true, keepAliveMsecs: 60_000, maxSockets: Infinity, scheduling: 'lifo' as const };
      this.agents = [new http.Agent(agentOptions), new https.Agent({ ...agentOptions, ...tls })];
      this.axios = axios.create({
        baseURL: config.baseUrl,
        httpAgent: this.agents[0],
        httpsAgent: this.agents[1],
        responseType: 'arraybuffer',
        timeout: config.timeout,
        headers: fixedHeaders,
        maxContentLength: config.maxResponseSize,
        adapter: 'http',
        maxRedirects: 0,
        transformResponse: [],
        validateStatus: () => true,
        transitional: { clarifyTimeoutError: true },
        redact: ['x-consul-token'],
      });
    } else {
      this.pool = new ConnectionPool(config.baseUrl, {
        keepAliveTimeout: config.keepAliveTimeout,
        connectTimeout: config.timeout,
        connect: {
          ...(config.socketPath !== undefined ? { socketPath: config.socketPath } : {}),
          ...(config.scheme === 'https' ? tls : {}),
          // TCP keep-alive probes on idle and long-polling connections once a minute.
          keepAlive: true,
          keepAliveInitialDelay: 60_000,
        },
      });
      // The fixed settings go to the adapter rather than to axios, which would merge each of them into every request.
      this.axios = new Axios({
        adapter: createUndiciAdapter(
          { dispatcher: this.pool, baseURL: config.baseUrl },
          {
            responseType: 'arraybuffer',
            timeout: config.timeout,
            headers: fixedHeaders,
            maxContentLength: config.maxResponseSize,
            clarifyTimeoutError: true,
          },
        ),
      });
    }
    if (deps.breakerPolicy !== false) {
      this.breaker = deps.breakerFactory(config.display, 'request', deps.breakerPolicy);
      this.longPollBreaker = deps.breakerFactory(config.display, 'longPoll', deps.breakerPolicy);
      this.breaker?.onStateChange((s) => deps.metrics.breakerState('request', s));
      this.longPollBreaker?.onStateChange((s) => deps.metrics.breakerState('longPoll', s));
    }
    this.readBucket = deps.readLimit ? new TokenBucket(deps.readLimit) : undefined;
  }

  /** The display address of the agent (never contains credentials). */
  get address(): string {
    return this.config.display;
  }

  /** Datacenter and consistency defaults of the client. */
  get defaults(): Pick<ResolvedConfig, 'consistency' | 'datacenter' | 'timeout'> {
    return this.config;
  }

  /** States of the breakers, for diagnostics and tests. */
  get breakerStates(): BreakerStates {
    return { request: this.breaker?.state, longPoll: this.longPollBreaker?.state };
  }

  /**
   * Sends a request with retries and the circuit breaker.
   *
   * @throws a {@link KvxError}: {@link HttpError} and its siblings for unaccepted statuses,
   *   {@link ConnectionError}/{@link TimeoutError} without a reply, {@link ResponseTooLargeError} for a reply
   *   above `maxResponseSize`, {@link AbortedError} on abort or close, and {@link InvalidArgumentError} for
   *   an invalid per-call `timeout` (before anything is sent).
   */
  async send(req: HttpRequest): Promise<HttpResponse> {
    const signal = req.options?.signal;
    checkTimeout('timeout', req.options?.timeout);
    if (this.closed) throw new AbortedError(CLIENT_CLOSED);
    if (signal?.aborted) throw new AbortedError();
    checkToken('the per-call ACL token', req.options?.token);
    if (this.readBucket && req.method === 'GET') await this.readBucket.take(signal);
    const breaker = req.blocking ? this.longPollBreaker : this.breaker;
    // `return await` settles in fewer microtask turns than returning the promise from an async function.
    return await this.deps.retrier.run(
      () => (breaker ? breaker.run(() => this.attempt(req)) : this.attempt(req)),
      req.safety,
      signal,
      (error) => this.deps.metrics.retry(req.endpoint, error.code),
      this.closing.signal,
    );
  }

  private async attempt(req: HttpRequest): Promise<HttpResponse> {
    if (this.closed) throw new AbortedError(CLIENT_CLOSED);
    const opts = req.options;
    let url = requestUrl(req.path, req.query);
    const dc = opts?.datacenter ?? this.config.datacenter;
    if (dc !== undefined) url = addParam(url, 'dc', dc);
    let timeout = opts?.timeout ?? this.config.timeout;
    if (req.blocking) {
      url = addParam(addParam(url, 'index', req.blocking.index.toString()), 'wait', formatWait(req.blocking.waitMs));
      // Consul adds up to wait/16 of jitter; the ordinary timeout on top is the network slack.
      timeout = Math.min(MAX_TIMEOUT_MS, req.blocking.waitMs + Math.ceil(req.blocking.waitMs / 16) + timeout);
    }
    // The client's token and user agent are fixed headers; only per-call ones travel here.
    let headers: RawAxiosRequestHeaders | undefined;
    if (opts?.token !== undefined) headers = { 'X-Consul-Token': opts.token };
    if (req.body !== undefined) (headers ??= {})['Content-Type'] = req.contentType ?? 'application/octet-stream';
    // Each field axios merges costs time; the client's own timeout is a default and needs none.
    const request: AxiosRequestConfig = { method: req.method, url };
    if (timeout !== this.config.timeout) request.timeout = timeout;
    if (headers) request.headers = headers;
    if (req.body !== undefined) request.data = req.body;
    if (opts?.signal) request.signal = opts.signal;
    if (req.text) request.responseType = 'text';

    const started = performance.now();
    try {
      const res = await this.axios.request<Buffer | string>(request);
      const status = res.status;
      this.deps.metrics.request(req.endpoint, req.method, String(status), performance.now() - started);
      const data: unknown = res.data;
      const reply =
        typeof data === 'string'
          ? new Reply(status, res.headers, undefined, data)
          : new Reply(status, res.headers, Buffer.isBuffer(data) ? data : Buffer.from((data ?? []) as Uint8Array), undefined);
      if ((status >= 200 && status < 300) || req.accept?.includes(status)) return reply;
      throw this.statusError(req, status, this.redact(reply.text, opts), reply.header('retry-after'));
    } catch (err) {
      if (err instanceof KvxError) throw err;
      const mapped = this.transportError(req, err, timeout, opts?.signal);
      this.deps.metrics.request(req.endpoint, req.method, mapped.code, performance.now() - started);
      throw mapped;
    }
  }

  /**
   * `text` without the client's token or the call's own: whatever the agent (or a proxy in front of it) sends
   * back must pass through here before it becomes part of an error.
   */
  redact(text: string, options: RequestOptions | undefined): string {
    // HTTP strips the spaces around a header value, so an agent echoes a padded token back without them.
    const call = options?.token;
    return redactSecrets(text, [this.config.token, this.config.token?.trim(), call, call?.trim()]);
  }

  private statusError(req: HttpRequest, status: number, body: string, retryAfter: string | undefined): KvxError {
    switch (status) {
      case 403:
        return new PermissionDeniedError(req.method, req.path, body);
      case 413:
        return new TooLargeError(req.method, req.path, body);
      case 429:
        return new RateLimitedError(req.method, req.path, body, parseRetryAfter(retryAfter));
      default:
        return new HttpError(status, req.method, req.path, body, status >= 500);
    }
  }

  private transportError(req: HttpRequest, err: unknown, timeout: number, signal: AbortSignal | undefined): KvxError {
    const e = (err ?? {}) as { code?: unknown; message?: unknown; cause?: unknown };
    const cause = sanitizedCause(e, (text) => this.redact(text, req.options));
    const what = `Consul ${req.method} ${req.path}`;
    if (this.closed) return new AbortedError(CLIENT_CLOSED, cause);
    if (signal?.aborted || axios.isCancel(err)) return new AbortedError(`${what} was aborted`, cause);
    const code = (cause as { code?: string }).code ?? '';
    // Both adapters fail an oversize reply this way (the node adapter mirrors axios's own).
    if (code === 'ERR_BAD_RESPONSE' && String(e.message).startsWith('maxContentLength size of')) {
      return new ResponseTooLargeError(req.method, req.path, this.config.maxResponseSize);
    }
    if (code === 'ETIMEDOUT' || code === 'ECONNABORTED') {
      return new TimeoutError(`${what} timed out after ${timeout} ms (agent ${this.config.display})`, cause);
    }
    const notSent = NOT_SENT_CODES.has(code);
    // Only a failure before sending means the agent could not be reached; after it, the exchange broke off.
    const failure = notSent ? 'cannot reach the Consul agent' : 'the connection to the Consul agent broke off';
    return new ConnectionError(`${what} failed: ${failure} at ${this.config.display} (${code || String(e.message)})`, {
      cause,
      ambiguous: !notSent,
    });
  }

  /**
   * Closes the sockets — which fails every in-flight request, reported as {@link AbortedError} — and the
   * breakers. Idempotent.
   */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.closing.abort();
    void this.pool?.destroy().catch(() => undefined);
    for (const agent of this.agents ?? []) agent.destroy();
    this.breaker?.shutdown();
    this.longPollBreaker?.shutdown();
  }
}
