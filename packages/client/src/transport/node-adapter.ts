/**
 * A lean axios adapter on `node:http`/`node:https` for talking to a Consul agent. axios's own node adapter
 * pays on every request for features an agent connection never uses — redirects (follow-redirects), proxies,
 * decompression, stream pipelines, progress events — which costs more CPU than the HTTP exchange itself
 * (bench/client-overhead.ts measures both). This adapter does what the client needs and nothing else:
 *
 * - keep-alive agents (`httpAgent`/`httpsAgent`, which also carry the TLS options) and unix sockets
 *   (`socketPath`);
 * - request bodies as `Buffer`/`Uint8Array` or string, limited by `maxBodyLength` before sending;
 * - responses as a `Buffer` (`responseType: 'arraybuffer'`) or UTF-8 text (any other buffered type), limited by
 *   `maxContentLength` while they arrive — an oversize reply is cut off, never buffered whole;
 * - `timeout` as a deadline for the whole exchange, and `signal` for cancellation;
 * - `validateStatus` as axios's `settle` applies it.
 *
 * Settings that are the same for every request (base URL, agents, socket, response type, fixed headers) can
 * be given to {@link createNodeAdapter} instead of axios's defaults, which axios merges field by field into
 * every request's config. The request config still overrides them.
 *
 * It never follows redirects (a 3xx is returned as is), never uses proxies, and never decompresses — it does
 * not ask for compression either (Consul compresses only when asked). Failures are axios errors with the
 * codes axios's node adapter uses: the network error's own code (`ECONNREFUSED`, `ECONNRESET`, …),
 * `ETIMEDOUT` or `ECONNABORTED` for timeouts (`transitional.clarifyTimeoutError`), `ERR_CANCELED` for aborts,
 * `ERR_BAD_RESPONSE` for an oversize reply, `ERR_BAD_REQUEST` for an oversize body and `ERR_NOT_SUPPORT` for
 * what it does not implement (`params`, `auth`, a `proxy` object, streamed response types, object bodies).
 *
 * @module
 */

import http from 'node:http';
import https from 'node:https';
import {
  AxiosError,
  AxiosHeaders,
  CanceledError,
  type AxiosAdapter,
  type AxiosRequestConfig,
  type AxiosResponse,
  type InternalAxiosRequestConfig,
} from 'axios';

/** Request settings the adapter applies when the request config leaves them unset. */
export interface NodeAdapterDefaults
  extends Pick<
    AxiosRequestConfig,
    'baseURL' | 'httpAgent' | 'httpsAgent' | 'socketPath' | 'responseType' | 'maxContentLength' | 'maxBodyLength' | 'timeout'
  > {
  /** Headers sent with every request; the request's own headers replace them name by name. Default: none. */
  headers?: Record<string, string>;
  /** Time-outs fail with `ETIMEDOUT` rather than `ECONNABORTED` (axios's `transitional.clarifyTimeoutError`). Default: `false`. */
  clarifyTimeoutError?: boolean;
}

interface Target {
  https: boolean;
  hostname: string;
  port: string;
  /** Path prefix of the base URL, without a trailing `/`. */
  basePath: string;
}

function parseTarget(url: string, config: InternalAxiosRequestConfig): Target {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new AxiosError(`Invalid URL "${url}"`, AxiosError.ERR_INVALID_URL, config);
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
    throw new AxiosError(`Unsupported protocol ${parsed.protocol}`, AxiosError.ERR_BAD_REQUEST, config);
  }
  const target: Target = {
    https: parsed.protocol === 'https:',
    // WHATWG keeps IPv6 literals bracketed; node:http wants them bare.
    hostname: parsed.hostname.replace(/^\[(.*)\]$/, '$1'),
    port: parsed.port,
    basePath: parsed.pathname.replace(/\/+$/, ''),
  };
  return target;
}

const ABSOLUTE_URL = /^https?:\/\//i;

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
  throw new AxiosError('the node adapter sends only Buffer, Uint8Array or string bodies', AxiosError.ERR_NOT_SUPPORT, config);
}

/** A limit option: a finite non-negative number, or no limit (`-1`, `undefined`, `Infinity`). */
function limit(v: number | undefined): number {
  return v !== undefined && Number.isFinite(v) && v >= 0 ? v : Infinity;
}

function tooLarge(max: number, config: InternalAxiosRequestConfig, req: http.ClientRequest): AxiosError {
  return new AxiosError(`maxContentLength size of ${max} exceeded`, AxiosError.ERR_BAD_RESPONSE, config, req);
}

/** The fixed headers, replaced name by name by the request's own (node:http lets later names win, in any case). */
function requestHeaders(fixed: Record<string, string> | undefined, own: AxiosHeaders): http.OutgoingHttpHeaders {
  if (Object.keys(own).length === 0) return fixed ?? {};
  return Object.assign({}, fixed, own.toJSON(true));
}

/**
 * Response headers as node:http parsed them. `AxiosHeaders` keeps each header as an own property under the
 * name it was set with, and axios normalises every response's headers (names trimmed and de-duplicated
 * case-insensitively, control characters stripped from values) — work node:http has already done: it
 * lower-cases and merges the names, trims the values, and fails the response on a control character. So
 * the parsed object is copied in as is, and the plain normalisation is skipped; `normalize(true)` (header
 * name formatting) still runs.
 */
class ParsedHeaders extends AxiosHeaders {
  static of(headers: http.IncomingHttpHeaders): ParsedHeaders {
    return Object.assign(new ParsedHeaders(), headers);
  }

  override normalize(format: boolean): AxiosHeaders {
    return format ? super.normalize(format) : this;
  }
}

/**
 * Creates the adapter; pass it as axios's `adapter` option.
 *
 * @param defaults settings used when a request's config leaves them unset.
 */
export function createNodeAdapter(defaults: NodeAdapterDefaults = {}): AxiosAdapter {
  // Every request of a client goes to the same base URL, so one parsed entry is a full cache.
  let lastBase: { url: string; target: Target } | undefined;
  const target = (url: string, config: InternalAxiosRequestConfig): Target => {
    if (lastBase?.url !== url) lastBase = { url, target: parseTarget(url, config) };
    return lastBase.target;
  };

  /** Splits the request URL into the connection target and the path (with query) to send. */
  const resolveUrl = (config: InternalAxiosRequestConfig): { target: Target; path: string } => {
    const url = config.url ?? '';
    if (ABSOLUTE_URL.test(url) && config.allowAbsoluteUrls !== false) {
      const i = url.indexOf('/', url.indexOf('//') + 2);
      return { target: target(i === -1 ? url : url.slice(0, i), config), path: i === -1 ? '/' : url.slice(i) };
    }
    const base = config.baseURL ?? defaults.baseURL;
    if (base === undefined) throw new AxiosError(`Invalid URL "${url}": no baseURL`, AxiosError.ERR_INVALID_URL, config);
    const t = target(base, config);
    return { target: t, path: t.basePath + (url.startsWith('/') ? url : `/${url}`) };
  };

  const start = (config: InternalAxiosRequestConfig, resolve: (r: AxiosResponse) => void, reject: (e: AxiosError) => void): void => {
    const notSupported = unsupported(config);
    const responseType = config.responseType ?? defaults.responseType;
    if (notSupported !== undefined || responseType === 'stream' || responseType === 'blob' || responseType === 'document' || responseType === 'formdata') {
      const what = notSupported ?? `responseType "${String(responseType)}"`;
      reject(new AxiosError(`the node adapter does not support ${what}`, AxiosError.ERR_NOT_SUPPORT, config));
      return;
    }
    const signal = config.signal as AbortSignal | undefined;
    if (signal?.aborted) {
      reject(new CanceledError(undefined, config));
      return;
    }
    const { target, path } = resolveUrl(config);
    const body = requestBody(config);
    const maxBody = limit(config.maxBodyLength ?? defaults.maxBodyLength);
    if (body !== undefined && maxBody !== Infinity && Buffer.byteLength(body) > maxBody) {
      reject(new AxiosError('Request body larger than maxBodyLength limit', AxiosError.ERR_BAD_REQUEST, config));
      return;
    }
    const maxContent = limit(config.maxContentLength ?? defaults.maxContentLength);
    const asBuffer = responseType === 'arraybuffer';

    const options: http.RequestOptions = {
      method: (config.method ?? 'get').toUpperCase(),
      path,
      headers: requestHeaders(defaults.headers, config.headers),
      agent: (target.https ? (config.httpsAgent ?? defaults.httpsAgent) : (config.httpAgent ?? defaults.httpAgent)) as http.Agent | undefined,
    };
    const socketPath = config.socketPath ?? defaults.socketPath;
    if (socketPath != null) {
      options.socketPath = socketPath;
    } else {
      options.hostname = target.hostname;
      if (target.port !== '') options.port = target.port;
    }

    let settled = false;
    let timer: NodeJS.Timeout | undefined;
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

    const req = (target.https ? https : http).request(options, (res) => {
      const status = res.statusCode ?? 0;
      if (Number(res.headers['content-length']) > maxContent) {
        res.destroy();
        fail(tooLarge(maxContent, config, req));
        return;
      }
      const chunks: Buffer[] = [];
      let received = 0;
      res.on('data', (chunk: Buffer) => {
        received += chunk.length;
        if (received > maxContent) {
          res.destroy();
          fail(tooLarge(maxContent, config, req));
          return;
        }
        chunks.push(chunk);
      });
      res.on('end', () => {
        if (!finish()) return;
        const raw = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, received);
        const response: AxiosResponse = {
          data: asBuffer ? raw : raw.toString('utf8'),
          status,
          statusText: res.statusMessage ?? '',
          headers: ParsedHeaders.of(res.headers),
          config,
          request: req,
        };
        const validate = config.validateStatus;
        if (!validate || validate(status)) {
          resolve(response);
        } else {
          const code = status >= 400 && status < 500 ? AxiosError.ERR_BAD_REQUEST : AxiosError.ERR_BAD_RESPONSE;
          reject(new AxiosError(`Request failed with status code ${status}`, code, config, req, response));
        }
      });
      // node:http errors a reply whose connection broke before it was complete (ECONNRESET, "aborted").
      res.on('error', (err: NodeJS.ErrnoException) => fail(AxiosError.from(err, err.code ?? 'ECONNRESET', config, req)));
    });
    // Stays attached after settling: a late socket error must not become an unhandled 'error' event.
    req.on('error', (err) => fail(AxiosError.from(err, undefined, config, req)));

    const onAbort = (): void => {
      if (!finish()) return;
      req.destroy();
      reject(new CanceledError(undefined, config, req));
    };
    signal?.addEventListener('abort', onAbort, { once: true });
    const timeout = config.timeout ?? defaults.timeout ?? 0;
    if (timeout > 0) {
      timer = setTimeout(() => {
        if (!finish()) return;
        req.destroy();
        const clarify = config.transitional?.clarifyTimeoutError ?? defaults.clarifyTimeoutError;
        const message = config.timeoutErrorMessage ?? `timeout of ${timeout}ms exceeded`;
        reject(new AxiosError(message, clarify ? AxiosError.ETIMEDOUT : AxiosError.ECONNABORTED, config, req));
      }, timeout);
    }
    req.end(body);
  };

  return (config) =>
    new Promise((resolve, reject) => {
      try {
        start(config, resolve, reject);
      } catch (err) {
        // node:http rejects some options synchronously (an invalid header value, say), before sending anything.
        reject(err instanceof AxiosError ? err : AxiosError.from(err, undefined, config));
      }
    });
}
