/**
 * Client configuration: the options object, Consul's standard `CONSUL_*` environment, and their eager
 * validation into one resolved configuration. Explicit options always win over the environment.
 *
 * @module
 */

import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { StatsD, ClientOptions as StatsDOptions } from 'hot-shots';
import type { Consistency } from '../api/types.js';
import { InvalidArgumentError } from '../errors.js';
import type { BreakerFactory, BreakerPolicy } from './breaker.js';
import type { RateLimit } from './rate-limit.js';
import type { RetryPolicy } from './retry.js';

/** TLS settings for `https://` agents (Consul's `CONSUL_CACERT`, `CONSUL_CLIENT_CERT`, … equivalents). */
export interface TlsOptions {
  /** PEM file with the CA certificate(s) to trust. Default: env `CONSUL_CACERT`, else Node's CA store. */
  caFile?: string;
  /** PEM CA certificate(s) given inline. Default: none. */
  ca?: string | Buffer;
  /** Directory of PEM CA certificates to trust. Default: env `CONSUL_CAPATH`. */
  caPath?: string;
  /** PEM file with the client certificate (mutual TLS). Default: env `CONSUL_CLIENT_CERT`. Needs a key. */
  certFile?: string;
  /** Client certificate given inline (PEM). Default: none. Needs a key. */
  cert?: string | Buffer;
  /** PEM file with the client private key. Default: env `CONSUL_CLIENT_KEY`. Needs a certificate. */
  keyFile?: string;
  /** Client private key given inline (PEM). Default: none. Needs a certificate. */
  key?: string | Buffer;
  /** Name to verify the agent's certificate against (SNI). Default: env `CONSUL_TLS_SERVER_NAME`, else the host. */
  serverName?: string;
  /** Verify the agent's certificate. Default: env `CONSUL_HTTP_SSL_VERIFY`, else `true`. */
  verify?: boolean;
}

/** Options of {@link Consul}. Every field is optional; the defaults match Consul's Go client. */
export interface ConsulOptions {
  /**
   * Agent address: `host:port`, `http://host:port`, `https://host:port` or `unix:///path/to/socket`.
   * Default: env `CONSUL_HTTP_ADDR`, else `127.0.0.1:8500`.
   */
  address?: string;
  /** Scheme for a bare `host:port` address. Default: `https` when env `CONSUL_HTTP_SSL` is true, else `http`. */
  scheme?: 'http' | 'https';
  /** ACL token sent as `X-Consul-Token`. Default: the token file's content, else env `CONSUL_HTTP_TOKEN`. */
  token?: string;
  /** File holding the ACL token (trimmed). Default: env `CONSUL_HTTP_TOKEN_FILE`. Ignored when `token` is given. */
  tokenFile?: string;
  /** Datacenter for every request that does not name one. Default: the agent's. */
  datacenter?: string;
  /** TLS settings for `https` agents. Default: from the `CONSUL_*` TLS environment variables. */
  tls?: TlsOptions;
  /** Per-attempt timeout of ordinary requests, in milliseconds (at most `2147483647`). Default: `10000`. */
  timeout?: number;
  /**
   * Largest reply body accepted, in bytes; a longer reply is cut off while it arrives and fails with
   * `ResponseTooLargeError`. The default fits the largest reply a single bounded request gets from an
   * agent with default limits — a transaction of 128 reads of 512 KiB values, about 88 MiB of JSON — with
   * room to spare; a `?recurse` read of a prefix holding more than that needs a higher limit. `Infinity`
   * removes the limit. Default: `134217728` (128 MiB).
   */
  maxResponseSize?: number;
  /** Consistency mode of reads that do not choose one. Default: `'default'`. */
  consistency?: Consistency;
  /** Retry policy for transient failures, or `false` to never retry. Default: see {@link RetryPolicy}. */
  retry?: RetryPolicy | false;
  /** Circuit breaker policy, or `false` for none. Default: see {@link BreakerPolicy}. */
  breaker?: BreakerPolicy | false;
  /** Builds the breakers (one per agent address and request class). Default: opossum with `breaker`'s policy. */
  breakerFactory?: BreakerFactory;
  /** Client-wide limit on reads (including watch iterations). Default: `false` (unlimited). */
  rateLimit?: RateLimit | false;
  /** A hot-shots `StatsD` client, or options to create one (closed with the client). Default: no metrics. */
  metrics?: StatsD | StatsDOptions;
  /** Route requests through the `http_proxy`/`https_proxy` environment. Default: `false` (direct to the agent). */
  proxy?: boolean;
  /**
   * How long an idle keep-alive connection to the agent stays open (ms), a positive integer. Each watch holds a
   * connection for its long poll and takes it up again right after each change, so watches keep theirs; the
   * connections a burst of parallel requests opened close once they have been idle this long, which keeps the
   * client well inside Consul's `limits.http_max_conns_per_client` (200 per client IP by default, idle ones
   * included). When the agent announces a shorter keep-alive (`Keep-Alive: timeout=…`), a connection is closed
   * a second before the agent would close it, so a request never races the agent's close. Default: `4000`.
   */
  keepAliveTimeout?: number;
  /** Environment to read `CONSUL_*` variables from. Default: `process.env`. */
  env?: NodeJS.ProcessEnv;
}

/** The resolved, validated endpoint and TLS material. */
export interface ResolvedConfig {
  /** `http` or `https`. */
  scheme: 'http' | 'https';
  /** Base URL for requests (`http://unix` for sockets). */
  baseUrl: string;
  /** Unix socket path, when the address is `unix://`. */
  socketPath: string | undefined;
  /** Display form of the address; never contains credentials. */
  display: string;
  /** ACL token for every request, if any. */
  token: string | undefined;
  /** Default datacenter, if any. */
  datacenter: string | undefined;
  /** Per-attempt timeout of ordinary requests (ms). */
  timeout: number;
  /** Largest reply body accepted (bytes; `Infinity` for none). */
  maxResponseSize: number;
  /** Default read consistency. */
  consistency: Consistency;
  /** Whether environment proxies are used. */
  proxy: boolean;
  /** How long an idle keep-alive connection stays open (ms). */
  keepAliveTimeout: number;
  /** TLS material read from files or given inline, for `https` agents. */
  tls: {
    /** CA certificates to trust instead of Node's store. */
    ca: Buffer[] | undefined;
    /** Client certificate (mutual TLS). */
    cert: Buffer | undefined;
    /** Client private key (mutual TLS). */
    key: Buffer | undefined;
    /** Name to verify the agent's certificate against. */
    serverName: string | undefined;
    /** Whether the agent's certificate is verified. */
    verify: boolean;
  };
}

/** Default agent address, as in Consul's Go client. */
export const DEFAULT_ADDRESS = '127.0.0.1:8500';
/** Default per-attempt timeout of ordinary requests (ms). */
export const DEFAULT_TIMEOUT_MS = 10_000;
/** Default largest reply body accepted (bytes): 128 MiB. */
export const DEFAULT_MAX_RESPONSE_SIZE = 128 * 1024 * 1024;
/** Default time an idle keep-alive connection to the agent stays open (ms). */
export const DEFAULT_KEEP_ALIVE_TIMEOUT_MS = 4_000;
/** Longest timeout (ms): Node's timers hold no more, and fire at once for a longer delay. */
export const MAX_TIMEOUT_MS = 2_147_483_647;

function parseBool(name: string, raw: string): boolean {
  const v = raw.trim().toLowerCase();
  // Go's strconv.ParseBool accepts exactly these spellings.
  if (['1', 't', 'true'].includes(v)) return true;
  if (['0', 'f', 'false'].includes(v)) return false;
  throw new InvalidArgumentError(`${name} must be a boolean (true/false/1/0), got "${raw}"`);
}

function nonEmpty(v: string | undefined): string | undefined {
  return v === undefined || v === '' ? undefined : v;
}

function readFile(what: string, path: string): Buffer {
  try {
    return readFileSync(path);
  } catch (err) {
    throw new InvalidArgumentError(`cannot read ${what} "${path}": ${(err as Error).message}`);
  }
}

function readCaPath(path: string): Buffer[] {
  let names: string[];
  try {
    if (!statSync(path).isDirectory()) return [readFile('CA path', path)];
    names = readdirSync(path).sort();
  } catch (err) {
    throw new InvalidArgumentError(`cannot read CA path "${path}": ${(err as Error).message}`);
  }
  const pems = names.filter((n) => /\.(pem|crt)$/i.test(n)).map((n) => readFile('CA certificate', join(path, n)));
  if (pems.length === 0) throw new InvalidArgumentError(`CA path "${path}" holds no .pem or .crt file`);
  return pems;
}

interface ParsedAddress {
  scheme: 'http' | 'https' | undefined;
  hostPort: string | undefined;
  socketPath: string | undefined;
}

/** Splits an address in any of Consul's accepted forms. */
export function parseAddress(address: string): ParsedAddress {
  const addr = address.trim();
  if (addr === '') throw new InvalidArgumentError('Consul address must not be empty');
  if (addr.startsWith('unix://')) {
    const socketPath = addr.slice('unix://'.length);
    if (!socketPath.startsWith('/')) {
      throw new InvalidArgumentError(`Consul address "${addr}" must name an absolute socket path (unix:///path)`);
    }
    return { scheme: undefined, hostPort: undefined, socketPath };
  }
  let scheme: 'http' | 'https' | undefined;
  let rest = addr;
  const m = /^([a-zA-Z][a-zA-Z0-9+.-]*):\/\//.exec(addr);
  if (m) {
    const s = m[1]!.toLowerCase();
    if (s !== 'http' && s !== 'https') {
      throw new InvalidArgumentError(`Consul address "${addr}" has an unsupported scheme (use http, https or unix)`);
    }
    scheme = s;
    rest = addr.slice(m[0].length).replace(/\/+$/, '');
  }
  if (rest.includes('@')) throw new InvalidArgumentError('Consul address must not contain credentials');
  if (rest.includes('/') || rest.includes('?')) {
    throw new InvalidArgumentError(`Consul address "${addr}" must be host:port without a path`);
  }
  let url: URL;
  try {
    url = new URL(`http://${rest}`);
  } catch {
    throw new InvalidArgumentError(`Consul address "${addr}" is not a valid host:port`);
  }
  if (url.hostname === '') throw new InvalidArgumentError(`Consul address "${addr}" has no host`);
  if (url.port === '' && !/:\d+$/.test(rest)) {
    // A bare host gets Consul's default port, as `consul` CLI users expect.
    return { scheme, hostPort: `${url.hostname}:${scheme === 'https' ? 443 : 8500}`, socketPath: undefined };
  }
  return { scheme, hostPort: url.host, socketPath: undefined };
}

/**
 * Validates a timeout, client-wide or per call: `0`, a negative number or `NaN` would silently disable it.
 *
 * @throws {@link InvalidArgumentError} unless `v` is `undefined` or a positive number up to {@link MAX_TIMEOUT_MS}.
 */
export function checkTimeout(name: string, v: number | undefined): void {
  if (v !== undefined && !(typeof v === 'number' && v > 0 && v <= MAX_TIMEOUT_MS)) {
    throw new InvalidArgumentError(`${name} must be a positive number of milliseconds up to ${MAX_TIMEOUT_MS}, got ${String(v)}`);
  }
}

/**
 * Validates an ACL token before it goes into a header.
 *
 * @throws {@link InvalidArgumentError} unless `token` is `undefined` or a string without line breaks.
 */
export function checkToken(what: string, token: string | undefined): void {
  if (token !== undefined && (typeof token !== 'string' || /[\r\n]/.test(token))) {
    throw new InvalidArgumentError(`${what} must be a string without line breaks`);
  }
}

function asBuffer(v: string | Buffer): Buffer {
  return typeof v === 'string' ? Buffer.from(v) : v;
}

/**
 * Resolves options against the `CONSUL_*` environment and validates them.
 *
 * @throws {@link InvalidArgumentError} for a bad address, timeout, response size limit, unreadable token/TLS file, a certificate
 *   without a key (or the reverse), or TLS material for a plain-http agent.
 */
export function resolveConfig(options: ConsulOptions = {}): ResolvedConfig {
  const env = options.env ?? process.env;
  checkTimeout('timeout', options.timeout);
  const maxResponseSize = options.maxResponseSize ?? DEFAULT_MAX_RESPONSE_SIZE;
  if (!(maxResponseSize === Infinity || (Number.isSafeInteger(maxResponseSize) && maxResponseSize > 0))) {
    throw new InvalidArgumentError(`maxResponseSize must be a positive integer number of bytes or Infinity, got ${String(maxResponseSize)}`);
  }
  if (options.consistency !== undefined && !['default', 'stale', 'consistent'].includes(options.consistency)) {
    throw new InvalidArgumentError(`consistency must be default, stale or consistent, got "${String(options.consistency)}"`);
  }
  if (options.scheme !== undefined && options.scheme !== 'http' && options.scheme !== 'https') {
    throw new InvalidArgumentError(`scheme must be http or https, got "${String(options.scheme)}"`);
  }
  const keepAliveTimeout = options.keepAliveTimeout ?? DEFAULT_KEEP_ALIVE_TIMEOUT_MS;
  if (!(Number.isSafeInteger(keepAliveTimeout) && keepAliveTimeout > 0 && keepAliveTimeout <= MAX_TIMEOUT_MS)) {
    throw new InvalidArgumentError(`keepAliveTimeout must be a positive integer number of milliseconds, got ${String(keepAliveTimeout)}`);
  }

  const parsed = parseAddress(options.address ?? nonEmpty(env['CONSUL_HTTP_ADDR']) ?? DEFAULT_ADDRESS);
  const envSsl = nonEmpty(env['CONSUL_HTTP_SSL']);
  const scheme = parsed.scheme ?? options.scheme ?? (envSsl !== undefined && parseBool('CONSUL_HTTP_SSL', envSsl) ? 'https' : 'http');

  let token = options.token;
  if (token === undefined) {
    const tokenFile = options.tokenFile ?? nonEmpty(env['CONSUL_HTTP_TOKEN_FILE']);
    if (tokenFile !== undefined) token = nonEmpty(readFile('token file', tokenFile).toString('utf8').trim());
    token ??= nonEmpty(env['CONSUL_HTTP_TOKEN']);
  }
  checkToken('the ACL token', token);

  const t = options.tls ?? {};
  const explicitTls = [t.ca, t.caFile, t.caPath, t.cert, t.certFile, t.key, t.keyFile].some((v) => v !== undefined);
  if (explicitTls && scheme !== 'https') {
    throw new InvalidArgumentError('tls certificates were given but the Consul address is not https');
  }
  let ca: Buffer[] | undefined;
  let cert: Buffer | undefined;
  let key: Buffer | undefined;
  let verify = t.verify ?? true;
  let serverName = t.serverName;
  if (scheme === 'https') {
    const caFile = t.caFile ?? (t.ca === undefined ? nonEmpty(env['CONSUL_CACERT']) : undefined);
    const caPath = t.caPath ?? (t.ca === undefined && t.caFile === undefined ? nonEmpty(env['CONSUL_CAPATH']) : undefined);
    const cas: Buffer[] = [];
    if (t.ca !== undefined) cas.push(asBuffer(t.ca));
    if (caFile !== undefined) cas.push(readFile('CA file', caFile));
    if (caPath !== undefined) cas.push(...readCaPath(caPath));
    ca = cas.length > 0 ? cas : undefined;
    const certFile = t.certFile ?? (t.cert === undefined ? nonEmpty(env['CONSUL_CLIENT_CERT']) : undefined);
    const keyFile = t.keyFile ?? (t.key === undefined ? nonEmpty(env['CONSUL_CLIENT_KEY']) : undefined);
    cert = t.cert !== undefined ? asBuffer(t.cert) : certFile !== undefined ? readFile('client certificate', certFile) : undefined;
    key = t.key !== undefined ? asBuffer(t.key) : keyFile !== undefined ? readFile('client key', keyFile) : undefined;
    if ((cert === undefined) !== (key === undefined)) {
      throw new InvalidArgumentError('a TLS client certificate needs its key and a key needs its certificate');
    }
    const envVerify = nonEmpty(env['CONSUL_HTTP_SSL_VERIFY']);
    if (t.verify === undefined && envVerify !== undefined) verify = parseBool('CONSUL_HTTP_SSL_VERIFY', envVerify);
    serverName ??= nonEmpty(env['CONSUL_TLS_SERVER_NAME']);
  }

  const socketPath = parsed.socketPath;
  const display = socketPath !== undefined ? `unix://${socketPath}` : `${scheme}://${parsed.hostPort ?? ''}`;
  return {
    scheme,
    baseUrl: socketPath !== undefined ? 'http://localhost' : `${scheme}://${parsed.hostPort ?? ''}`,
    socketPath,
    display,
    token,
    datacenter: nonEmpty(options.datacenter),
    timeout: options.timeout ?? DEFAULT_TIMEOUT_MS,
    maxResponseSize,
    consistency: options.consistency ?? 'default',
    proxy: options.proxy ?? false,
    keepAliveTimeout,
    tls: { ca, cert, key, serverName, verify },
  };
}
