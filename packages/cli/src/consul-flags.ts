/**
 * The connection flags every Consul-talking command accepts, and how they combine with the environment and
 * the config file into the client's options. Precedence: flag > `CONSUL_*` environment > config file >
 * default. The environment layer itself is applied by `@kvx/client` (`ConsulOptions.env`); this module only
 * holds config-file values back when the matching variable is set.
 *
 * @module
 */

import path from 'node:path';
import type { ConsulOptions, TlsOptions } from '@kvx/client';
import type { ConfigFile } from './config-file.js';
import type { ConnectionSettings } from './connection-settings.js';
import { UsageError } from './errors.js';
import type { OutputFlags } from './output.js';
import type { HostPort } from './parse.js';

/** Flags shared by every command that talks to Consul. */
export interface ConsulFlags extends OutputFlags, ConnectionSettings {
  /** Agent address (`host:port`, `http(s)://host:port`, `unix:///path`). Default: env, config, `127.0.0.1:8500`. */
  httpAddr?: string;
  /** Read from any server (`?stale`). Default: `false`. */
  stale?: boolean;
  /** Read through the leader with a quorum check (`?consistent`). Default: `false`. */
  consistent?: boolean;
  /** Per-request timeout in ms. Default: the client's (10 s). */
  timeout?: number;
  /** Retries after a transient failure. Default: the client's (4). */
  retries?: number;
  /** DogStatsD agent for metrics and events. Default: config `dogstatsd_address`, else no metrics. */
  dogstatsd?: HostPort;
  /** Prefix of every metric name. Default: config `metrics_prefix`, else `kvx`. */
  metricsPrefix?: string;
  /**
   * Put the unified diff into DogStatsD update events (`--no-diff-events` turns it off: diffs of files that
   * hold secrets must not reach the event stream). Default: config `diff_events`, else `true`.
   */
  diffEvents?: boolean;
  /** YAML config file. */
  config?: string;
}

/** Time after which a failing request is no longer retried (ms). */
export const CLI_MAX_RETRY_TIME_MS = 15_000;

/** Default metric name prefix. */
export const DEFAULT_METRICS_PREFIX = 'kvx';

function nonEmpty(v: string | undefined): boolean {
  return v !== undefined && v !== '';
}

/**
 * The client options for a command's flags, environment and config file. File paths given by flags or the
 * config file are resolved against `cwd`.
 */
export function consulOptionsFrom(
  flags: ConsulFlags,
  env: Readonly<Record<string, string | undefined>>,
  config: ConfigFile | undefined,
  cwd = '.',
): ConsulOptions {
  const resolved = (p: string | undefined): string | undefined => (p === undefined ? undefined : path.resolve(cwd, p));
  if (flags.stale === true && flags.consistent === true) {
    throw new UsageError('--stale and --consistent cannot be used together');
  }
  const file = config?.connection ?? {};
  // A config-file value only fills a gap the environment leaves open.
  const fromFile = <T>(value: T | undefined, ...vars: string[]): T | undefined =>
    vars.some((v) => nonEmpty(env[v])) ? undefined : value;

  const options: ConsulOptions = { env: { ...env } };
  const address = flags.httpAddr ?? fromFile(file.address, 'CONSUL_HTTP_ADDR');
  if (address !== undefined) options.address = address;
  if (flags.token !== undefined) options.token = flags.token;
  else if (flags.tokenFile !== undefined) options.tokenFile = resolved(flags.tokenFile) ?? flags.tokenFile;
  else {
    const token = fromFile(file.token, 'CONSUL_HTTP_TOKEN', 'CONSUL_HTTP_TOKEN_FILE');
    const tokenFile = resolved(fromFile(file.tokenFile, 'CONSUL_HTTP_TOKEN', 'CONSUL_HTTP_TOKEN_FILE'));
    if (token !== undefined) options.token = token;
    else if (tokenFile !== undefined) options.tokenFile = tokenFile;
  }
  const datacenter = flags.datacenter ?? file.datacenter;
  if (datacenter !== undefined) options.datacenter = datacenter;

  const tls: TlsOptions = {};
  const caFile = resolved(flags.caFile ?? fromFile(file.caFile, 'CONSUL_CACERT'));
  const caPath = resolved(flags.caPath ?? fromFile(file.caPath, 'CONSUL_CAPATH'));
  const certFile = resolved(flags.clientCert ?? fromFile(file.clientCert, 'CONSUL_CLIENT_CERT'));
  const keyFile = resolved(flags.clientKey ?? fromFile(file.clientKey, 'CONSUL_CLIENT_KEY'));
  const serverName = flags.tlsServerName ?? fromFile(file.tlsServerName, 'CONSUL_TLS_SERVER_NAME');
  const skip = flags.tlsSkipVerify === true ? true : fromFile(file.tlsSkipVerify, 'CONSUL_HTTP_SSL_VERIFY');
  if (caFile !== undefined) tls.caFile = caFile;
  if (caPath !== undefined) tls.caPath = caPath;
  if (certFile !== undefined) tls.certFile = certFile;
  if (keyFile !== undefined) tls.keyFile = keyFile;
  if (serverName !== undefined) tls.serverName = serverName;
  if (skip !== undefined) tls.verify = !skip;
  if (Object.keys(tls).length > 0) options.tls = tls;

  if (flags.stale === true) options.consistency = 'stale';
  if (flags.consistent === true) options.consistency = 'consistent';
  if (flags.timeout !== undefined) options.timeout = flags.timeout;
  // A one-shot command must end in bounded time even against an agent that accepts connections and never
  // answers: with the 10 s request timeout, no retry starts after 15 s, so the worst case is about 25 s.
  options.retry = { maxRetryTime: CLI_MAX_RETRY_TIME_MS, ...(flags.retries === undefined ? {} : { retries: flags.retries }) };
  return options;
}

/** The DogStatsD address and metric prefix in effect, if metrics are on. */
export function metricsTarget(
  flags: ConsulFlags,
  config: ConfigFile | undefined,
): { address: HostPort; prefix: string } | undefined {
  const address = flags.dogstatsd ?? config?.dogstatsd;
  if (address === undefined) return undefined;
  return { address, prefix: flags.metricsPrefix ?? config?.metricsPrefix ?? DEFAULT_METRICS_PREFIX };
}
