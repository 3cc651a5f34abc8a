/**
 * A lean axios adapter on an undici dispatcher (a `Pool` bound to the agent's origin). axios's own node adapter
 * pays on every request for features an agent connection never uses — redirects (follow-redirects), proxies,
 * decompression, stream pipelines, progress events — and `node:http` itself builds a stream and an event
 * emitter per request; together they cost more CPU than the HTTP exchange (bench/client-overhead.ts measures
 * each). undici's dispatcher hands the reply over in plain callbacks on a parser that keeps no per-request
 * stream, which is why this adapter sends every request of the client through it. It does what the client
 * needs and nothing else:
 *
 * - keep-alive connections, TLS and unix sockets, all set up on the dispatcher;
 * - request bodies as `Buffer`/`Uint8Array` or string, limited by `maxBodyLength` before sending;
 * - responses as a `Buffer` (`responseType: 'arraybuffer'`) or UTF-8 text (any other buffered type), limited by
 *   `maxContentLength` while they arrive — an oversize reply is cut off, never buffered whole;
 * - `timeout` as a deadline for the whole exchange, and `signal` for cancellation;
 * - `validateStatus` as axios's `settle` applies it.
 *
 * Settings that are the same for every request (base URL, response type, fixed headers, limits) are given to
 * {@link createUndiciAdapter} instead of axios's defaults, which axios merges field by field into every
 * request's config. The request config still overrides them.
 *
 * It never follows redirects (a 3xx is returned as is), never uses proxies, and never decompresses — it does
 * not ask for compression either (Consul compresses only when asked). Failures are axios errors with the
 * codes axios's node adapter uses: the network error's own code (`ECONNREFUSED`, `ECONNRESET`, …; undici's
 * "other side closed" is `ECONNRESET` too), `ETIMEDOUT` or `ECONNABORTED` for timeouts
 * (`transitional.clarifyTimeoutError`), `ERR_CANCELED` for aborts, `ERR_BAD_RESPONSE` for an oversize reply,
 * `ERR_BAD_REQUEST` for an oversize body or a header undici refuses, and `ERR_NOT_SUPPORT` for what it does not
 * implement (`params`, `auth`, a `proxy` object, streamed response types, object bodies, another origin).
 *
 * @module
 */

import {
  AxiosError,
  AxiosHeaders,
  CanceledError,
  type AxiosAdapter,
  type AxiosRequestConfig,
  type AxiosResponse,
  type InternalAxiosRequestConfig,
} from 'axios';
import type { IncomingHttpHeaders } from 'node:http';
import { StringDecoder } from 'node:string_decoder';
import type { Dispatcher } from 'undici';

/** Request settings the adapter applies when the request config leaves them unset. */
export interface UndiciAdapterDefaults
  extends Pick<AxiosRequestConfig, 'responseType' | 'maxContentLength' | 'maxBodyLength' | 'timeout'> {
  /** Headers sent with every request; the request's own headers replace them name by name. Default: none. */
  headers?: Record<string, string>;
  /** Time-outs fail with `ETIMEDOUT` rather than `ECONNABORTED` (axios's `transitional.clarifyTimeoutError`). Default: `false`. */
  clarifyTimeoutError?: boolean;
}

/** Where the adapter sends its requests. */
export interface UndiciAdapterTarget {
  /** The dispatcher every request goes through: the client's `ConnectionPool`, or an undici `Pool` or `Client`, of the base URL's origin. */
  dispatcher: Pick<Dispatcher, 'dispatch'>;
  /**
   * The base URL, `scheme://host[:port][/path]`: request URLs are resolved against it, and absolute request
   * URLs must have its origin.
   */
  baseURL: string;
}

const ABSOLUTE_URL = /^https?:\/\//i;

/** undici's error codes as the network error codes axios's node adapter reports for the same failures. */
const ERROR_CODES: Record<string, string> = {
  // The agent closed the connection before the reply was complete: a reset, as far as the request can tell.
  UND_ERR_SOCKET: 'ECONNRESET',
  UND_ERR_CONNECT_TIMEOUT: 'ETIMEDOUT',
  UND_ERR_HEADERS_TIMEOUT: 'ETIMEDOUT',
  UND_ERR_BODY_TIMEOUT: 'ETIMEDOUT',
  UND_ERR_INVALID_ARG: AxiosError.ERR_BAD_REQUEST,
  UND_ERR_NOT_SUPPORTED: AxiosError.ERR_NOT_SUPPORT,
};

function unsupported(config: InternalAxiosRequestConfig): string | undefined {
  if (config.params != null) return 'params (put the query into the url)';
  if (config.auth != null) return 'auth';
  if (config.proxy) return 'proxy';
  return undefined;
}

function requestBody(config: InternalAxiosRequestConfig): Uint8Array | string | undefined {
  const data: unknown = config.data;
  if (data === undefined || data === null) return undefined;
  if (typeof data === 'string' || data instanceof Uint8Array) return data;
  throw new AxiosError('the undici adapter sends only Buffer, Uint8Array or string bodies', AxiosError.ERR_NOT_SUPPORT, config);
}

/** A limit option: a finite non-negative number, or no limit (`-1`, `undefined`, `Infinity`). */
function limit(v: number | undefined): number {
  return v !== undefined && Number.isFinite(v) && v >= 0 ? v : Infinity;
}

function tooLarge(max: number, config: InternalAxiosRequestConfig): AxiosError {
  return new AxiosError(`maxContentLength size of ${max} exceeded`, AxiosError.ERR_BAD_RESPONSE, config);
}

/** The fixed headers, replaced name by name by the request's own. */
function requestHeaders(fixed: Record<string, string> | undefined, own: AxiosHeaders): Record<string, string> {
  if (Object.keys(own).length === 0) return fixed ?? {};
  const out: Record<string, string> = {};
  const ownLower = new Set(Object.keys(own).map((k) => k.toLowerCase()));
  for (const k in fixed) if (!ownLower.has(k.toLowerCase())) out[k] = fixed[k] as string;
  return Object.assign(out, own.toJSON(true));
}

/** A failure of undici (or of the connection under it) as the AxiosError axios's node adapter would give. */
function networkError(err: unknown, config: InternalAxiosRequestConfig): AxiosError {
  if (err instanceof AxiosError) return err;
  const e = err as NodeJS.ErrnoException;
  const code = typeof e?.code === 'string' ? (ERROR_CODES[e.code] ?? e.code) : undefined;
  return AxiosError.from(err, code, config);
}

/**
 * Response headers as undici parsed them: lower-case names, and an array for a repeated header. `AxiosHeaders`
 * keeps each header as an own property under the name it was set with, and axios normalises every response's
 * headers (names trimmed and de-duplicated case-insensitively, control characters stripped from values) —
 * work the parser has already done (llhttp refuses a control character in a value). So the parsed object is
 * copied in as is, and the plain normalisation is skipped; `normalize(true)` (header name formatting) still runs.
 */
class ParsedHeaders extends AxiosHeaders {
  static of(headers: IncomingHttpHeaders): ParsedHeaders {
    const parsed = new ParsedHeaders();
    for (const name in headers) {
      // A header named like a method ("normalize", "get", …) must not replace it: axios calls those.
      if (!(name in parsed)) (parsed as unknown as Record<string, unknown>)[name] = headers[name];
    }
    return parsed;
  }

  override normalize(format: boolean): AxiosHeaders {
    return format ? super.normalize(format) : this;
  }
}

interface Target {
  origin: string;
  /** Path prefix of the base URL, without a trailing `/`. */
  basePath: string;
}

function parseBase(baseURL: string): Target {
  let parsed: URL;
  try {
    parsed = new URL(baseURL);
  } catch {
    throw new TypeError(`Invalid base URL "${baseURL}"`);
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') throw new TypeError(`Unsupported protocol ${parsed.protocol}`);
  return { origin: parsed.origin, basePath: parsed.pathname.replace(/\/+$/, '') };
}

function concat(chunks: Buffer[], length: number): Buffer {
  return chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, length);
}

/**
 * The chunks as UTF-8 text, decoded one by one: a large reply is never copied into one buffer first, which
 * would allocate its size again outside the JavaScript heap (and bring the next full collection closer).
 */
function utf8(chunks: Buffer[]): string {
  if (chunks.length <= 1) return chunks[0]?.toString('utf8') ?? '';
  const decoder = new StringDecoder('utf8');
  let text = '';
  for (const chunk of chunks) text += decoder.write(chunk);
  return text + decoder.end();
}

/** What an {@link Exchange} needs to know besides the request config. */
interface ExchangeSettings {
  /** Largest reply body accepted, in bytes (`Infinity`: no limit). */
  maxContent: number;
  /** Give the body as a `Buffer` (`arraybuffer`) rather than as UTF-8 text. */
  asBuffer: boolean;
  signal: AbortSignal | undefined;
  /** Deadline of the whole exchange in ms (`0`: none). */
  timeout: number;
  clarifyTimeoutError: boolean;
}

function onTimeout(exchange: Exchange): void {
  exchange.timedOut();
}

/**
 * One request and its reply: undici's handler, the deadline and the cancellation, settling the adapter's promise
 * exactly once. A class rather than closures, since one is made for every request.
 */
class Exchange implements Dispatcher.DispatchHandler {
  private settled = false;
  private readonly timer: NodeJS.Timeout | undefined;
  /** Known once undici starts the request on a connection; a request settled before then is aborted there. */
  private controller: Dispatcher.DispatchController | undefined;
  private readonly onAbort: (() => void) | undefined;
  private status = 0;
  private statusText = '';
  private headers: IncomingHttpHeaders = {};
  private readonly chunks: Buffer[] = [];
  private received = 0;

  constructor(
    private readonly config: InternalAxiosRequestConfig,
    private readonly resolve: (r: AxiosResponse) => void,
    private readonly reject: (e: AxiosError) => void,
    private readonly settings: ExchangeSettings,
  ) {
    if (settings.signal !== undefined) {
      this.onAbort = () => this.abandon(new CanceledError(undefined, config));
      settings.signal.addEventListener('abort', this.onAbort, { once: true });
    }
    if (settings.timeout > 0) this.timer = setTimeout(onTimeout, settings.timeout, this);
  }

  /** Marks the exchange settled; `false` when it already was. */
  private finish(): boolean {
    if (this.settled) return false;
    this.settled = true;
    if (this.timer !== undefined) clearTimeout(this.timer);
    if (this.onAbort !== undefined) this.settings.signal?.removeEventListener('abort', this.onAbort);
    return true;
  }

  /** Settles with `err`. */
  fail(err: AxiosError): void {
    if (this.finish()) this.reject(err);
  }

  /** Settles with `err` and tears the exchange down (undici closes a connection whose reply is cut short). */
  private abandon(err: AxiosError): void {
    if (!this.finish()) return;
    this.controller?.abort(err);
    this.reject(err);
  }

  timedOut(): void {
    const { config, settings } = this;
    const message = config.timeoutErrorMessage ?? `timeout of ${settings.timeout}ms exceeded`;
    this.abandon(new AxiosError(message, settings.clarifyTimeoutError ? AxiosError.ETIMEDOUT : AxiosError.ECONNABORTED, config));
  }

  onRequestStart(controller: Dispatcher.DispatchController): void {
    this.controller = controller;
    if (this.settled) controller.abort(new CanceledError(undefined, this.config));
  }

  onResponseStart(_controller: Dispatcher.DispatchController, statusCode: number, headers: IncomingHttpHeaders, statusMessage?: string): void {
    this.status = statusCode;
    this.statusText = statusMessage ?? '';
    this.headers = headers;
    if (Number(headers['content-length']) > this.settings.maxContent) this.abandon(tooLarge(this.settings.maxContent, this.config));
  }

  onResponseData(_controller: Dispatcher.DispatchController, chunk: Buffer): void {
    if (this.settled) return;
    this.received += chunk.length;
    if (this.received > this.settings.maxContent) {
      this.abandon(tooLarge(this.settings.maxContent, this.config));
      return;
    }
    this.chunks.push(chunk);
  }

  onResponseEnd(): void {
    if (!this.finish()) return;
    const { chunks, status, config } = this;
    const response: AxiosResponse = {
      data: this.settings.asBuffer ? concat(chunks, this.received) : utf8(chunks),
      status,
      statusText: this.statusText,
      headers: ParsedHeaders.of(this.headers),
      config,
    };
    const validate = config.validateStatus;
    if (!validate || validate(status)) {
      this.resolve(response);
    } else {
      const code = status >= 400 && status < 500 ? AxiosError.ERR_BAD_REQUEST : AxiosError.ERR_BAD_RESPONSE;
      this.reject(new AxiosError(`Request failed with status code ${status}`, code, config, undefined, response));
    }
  }

  onResponseError(_controller: Dispatcher.DispatchController, err: Error): void {
    this.fail(networkError(err, this.config));
  }
}

/**
 * Creates the adapter; pass it as axios's `adapter` option.
 *
 * @param target the dispatcher and the base URL of every request.
 * @param defaults settings used when a request's config leaves them unset.
 * @throws TypeError for a base URL that is not an absolute `http`/`https` URL.
 */
export function createUndiciAdapter(target: UndiciAdapterTarget, defaults: UndiciAdapterDefaults = {}): AxiosAdapter {
  const { dispatcher } = target;
  const base = parseBase(target.baseURL);

  /** The path (with query) to send. */
  const requestPath = (config: InternalAxiosRequestConfig): string => {
    const url = config.url ?? '';
    // The client's own requests are paths; only something else needs the absolute-URL check.
    if (url.charCodeAt(0) === 0x2f) return base.basePath + url;
    if (ABSOLUTE_URL.test(url) && config.allowAbsoluteUrls !== false) {
      const i = url.indexOf('/', url.indexOf('//') + 2);
      const origin = i === -1 ? url : url.slice(0, i);
      if (origin.toLowerCase() !== base.origin) {
        throw new AxiosError(`the undici adapter sends only to ${base.origin}, not to ${origin}`, AxiosError.ERR_NOT_SUPPORT, config);
      }
      return i === -1 ? '/' : url.slice(i);
    }
    return `${base.basePath}/${url}`;
  };

  const start = (config: InternalAxiosRequestConfig, resolve: (r: AxiosResponse) => void, reject: (e: AxiosError) => void): void => {
    const notSupported = unsupported(config);
    const responseType = config.responseType ?? defaults.responseType;
    if (notSupported !== undefined || responseType === 'stream' || responseType === 'blob' || responseType === 'document' || responseType === 'formdata') {
      const what = notSupported ?? `responseType "${String(responseType)}"`;
      reject(new AxiosError(`the undici adapter does not support ${what}`, AxiosError.ERR_NOT_SUPPORT, config));
      return;
    }
    const signal = config.signal as AbortSignal | undefined;
    if (signal?.aborted) {
      reject(new CanceledError(undefined, config));
      return;
    }
    const path = requestPath(config);
    const body = requestBody(config);
    const maxBody = limit(config.maxBodyLength ?? defaults.maxBodyLength);
    if (body !== undefined && maxBody !== Infinity && Buffer.byteLength(body) > maxBody) {
      reject(new AxiosError('Request body larger than maxBodyLength limit', AxiosError.ERR_BAD_REQUEST, config));
      return;
    }
    const exchange = new Exchange(config, resolve, reject, {
      maxContent: limit(config.maxContentLength ?? defaults.maxContentLength),
      asBuffer: responseType === 'arraybuffer',
      signal,
      timeout: config.timeout ?? defaults.timeout ?? 0,
      clarifyTimeoutError: config.transitional?.clarifyTimeoutError ?? defaults.clarifyTimeoutError ?? false,
    });
    try {
      dispatcher.dispatch(
        {
          method: (config.method ?? 'get').toUpperCase(),
          path,
          headers: requestHeaders(defaults.headers, config.headers),
          body: body ?? null,
        },
        exchange,
      );
    } catch (err) {
      exchange.fail(networkError(err, config));
    }
  };

  return (config) =>
    new Promise((resolve, reject) => {
      try {
        start(config, resolve, reject);
      } catch (err) {
        reject(networkError(err, config));
      }
    });
}
