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
  static of(headers: Record<string, string | string[] | undefined>): ParsedHeaders {
    return Object.assign(new ParsedHeaders(), headers);
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
    if (ABSOLUTE_URL.test(url) && config.allowAbsoluteUrls !== false) {
      const i = url.indexOf('/', url.indexOf('//') + 2);
      const origin = i === -1 ? url : url.slice(0, i);
      if (origin.toLowerCase() !== base.origin) {
        throw new AxiosError(`the undici adapter sends only to ${base.origin}, not to ${origin}`, AxiosError.ERR_NOT_SUPPORT, config);
      }
      return i === -1 ? '/' : url.slice(i);
    }
    return base.basePath + (url.startsWith('/') ? url : `/${url}`);
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
    const maxContent = limit(config.maxContentLength ?? defaults.maxContentLength);
    const asBuffer = responseType === 'arraybuffer';

    let settled = false;
    let timer: NodeJS.Timeout | undefined;
    // Known once undici starts the request on a connection; a request settled before then is aborted there.
    let controller: Dispatcher.DispatchController | undefined;
    const finish = (): boolean => {
      if (settled) return false;
      settled = true;
      if (timer !== undefined) clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      return true;
    };
    const fail = (err: AxiosError): void => {
      if (finish()) reject(err);
    };
    /** Settles with `err` and tears the exchange down (undici closes a connection whose reply is cut short). */
    const abandon = (err: AxiosError): void => {
      if (!finish()) return;
      controller?.abort(err);
      reject(err);
    };

    let status = 0;
    let statusText = '';
    let headers: Record<string, string | string[] | undefined> = {};
    const chunks: Buffer[] = [];
    let received = 0;

    const handler: Dispatcher.DispatchHandler = {
      onRequestStart(ctl) {
        controller = ctl;
        if (settled) ctl.abort(new CanceledError(undefined, config));
      },
      onResponseStart(ctl, statusCode, parsed, statusMessage) {
        status = statusCode;
        statusText = statusMessage ?? '';
        headers = parsed;
        if (Number(headers['content-length']) > maxContent) abandon(tooLarge(maxContent, config));
      },
      onResponseData(ctl, chunk) {
        if (settled) return;
        received += chunk.length;
        if (received > maxContent) {
          abandon(tooLarge(maxContent, config));
          return;
        }
        chunks.push(chunk);
      },
      onResponseEnd() {
        if (!finish()) return;
        const raw = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, received);
        const response: AxiosResponse = {
          data: asBuffer ? raw : raw.toString('utf8'),
          status,
          statusText,
          headers: ParsedHeaders.of(headers),
          config,
        };
        const validate = config.validateStatus;
        if (!validate || validate(status)) {
          resolve(response);
        } else {
          const code = status >= 400 && status < 500 ? AxiosError.ERR_BAD_REQUEST : AxiosError.ERR_BAD_RESPONSE;
          reject(new AxiosError(`Request failed with status code ${status}`, code, config, undefined, response));
        }
      },
      onResponseError(ctl, err) {
        fail(networkError(err, config));
      },
    };

    const onAbort = (): void => abandon(new CanceledError(undefined, config));
    signal?.addEventListener('abort', onAbort, { once: true });
    const timeout = config.timeout ?? defaults.timeout ?? 0;
    if (timeout > 0) {
      timer = setTimeout(() => {
        const clarify = config.transitional?.clarifyTimeoutError ?? defaults.clarifyTimeoutError;
        const message = config.timeoutErrorMessage ?? `timeout of ${timeout}ms exceeded`;
        abandon(new AxiosError(message, clarify ? AxiosError.ETIMEDOUT : AxiosError.ECONNABORTED, config));
      }, timeout);
    }
    try {
      dispatcher.dispatch(
        {
          method: (config.method ?? 'get').toUpperCase(),
          path,
          headers: requestHeaders(defaults.headers, config.headers),
          body: body ?? null,
        },
        handler,
      );
    } catch (err) {
      fail(networkError(err, config));
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
