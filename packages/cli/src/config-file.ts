/**
 * The YAML config file (`--config FILE`). It reads kvexpress's keys (`consul_server`, `token`, `dogstatsd`,
 * `dogstatsd_address`, `datadog_*`) so existing `/etc/kvexpress.yaml` files keep working, kvx's own
 * connection keys (the snake_case of the flags: `http_addr`, `token_file`, `datacenter`, `ca_file`, …), and
 * for `kvx out --watch` a `files:` list of deliveries:
 *
 * ```yaml
 * consul_server: 127.0.0.1:8500
 * dogstatsd_address: 127.0.0.1:8125
 * files:
 *   - key: hosts
 *     file: /etc/hosts.consul
 *     chmod: "0644"
 *     exec: pkill -HUP dnsmasq
 *     splay: 10s        # per file; wins over --splay (every out flag is a default of the entries)
 *     compress: true    # also read kvexpress <= 1.15 gzip+base64
 * diff_events: false    # no diffs in DogStatsD update events (files holding secrets)
 * max_value_size: 65536 # kvx in: the agent's kv_max_value_size, the chunk size
 * ```
 *
 * Precedence is flag > environment (`CONSUL_*`) > config file: kvexpress let the file override flags, which
 * made one-off runs with a different `--server` impossible.
 *
 * Unlike kvexpress, a config file that was named but is missing or invalid is an error (exit 1): silently
 * running against the default agent is worse than stopping.
 *
 * @module
 */

import { readFile } from 'node:fs/promises';
import { parse as parseYaml } from 'yaml';
import type { ConnectionSettings } from './connection-settings.js';
import { UsageError } from './errors.js';
import {
  parseByteSize,
  parseCount,
  parseDuration,
  parseHostPort,
  parseKey,
  parseMode,
  parsePrefix,
  type HostPort,
} from './parse.js';

/** Connection settings from the config file; each applies only when neither flag nor environment set it. */
export interface ConfigConnection extends ConnectionSettings {
  /** Agent address (`http_addr`, else kvexpress's `consul_server`); `--http-addr` and env `CONSUL_HTTP_ADDR` win. */
  address?: string;
}

/**
 * One delivery of `kvx out --watch`, with the same meaning as the `out` flags of the same name. Where an entry
 * leaves a setting out, the flag given on the command line applies, else the library's default.
 */
export interface ConfigFileEntry {
  /** Key name under the prefix (`key`, like `-k`). Required. */
  key: string;
  /** File to write (`file`, like `-f`), relative to the working directory. Required. */
  file: string;
  /** KV prefix of this entry (`prefix`). Default: `-p`, else the file's top-level `prefix`, else `kvexpress`. */
  prefix?: string;
  /** Minimum number of lines (`length`). Default: `-l`, else `10`. */
  length?: number;
  /** Minimum size in bytes (`min_bytes`). Default: `--min-bytes`, else `0`. */
  minBytes?: number;
  /** Mode of the written file (`chmod`, octal). Default: `-c`, else `0o640`. */
  chmod?: number;
  /** Owner of the written file, `user[:group]` (`owner`). Default: `-o`, else the current user. */
  owner?: string;
  /** Command run after a successful write (`exec`). Default: `-e`, else none. */
  exec?: string;
  /** Run `exec` (and `validate`) through `/bin/sh -c` (`shell`). Default: `--shell`, else `false`. */
  shell?: boolean;
  /** Kill `exec` after this many ms (`exec_timeout`, a duration like `30s`; `0`: never). Default: `--exec-timeout`, else `60000`. */
  execTimeout?: number;
  /** Command that must accept the new content before it replaces the file (`validate`). Default: `--validate`, else none. */
  validate?: string;
  /** Deliver even while the stop key is set (`ignore_stop`). Default: `--ignore-stop`, else `false`. */
  ignoreStop?: boolean;
  /** Also decode kvexpress <= 1.15 gzip+base64 values (`-z`). Default: `--compress`, else `false`. */
  compress?: boolean;
  /** Random delay before this file's `exec`, in ms; wins over `--splay`. Default: `--splay`, else none. */
  splay?: number;
}

/** A parsed config file. */
export interface ConfigFile {
  /** Where it was read from. */
  path: string;
  /** Connection settings (`http_addr`/`consul_server`, `token`, `token_file`, `datacenter`, TLS keys). */
  connection: ConfigConnection;
  /** DogStatsD agent (`dogstatsd_address`, or `localhost:8125` when only `dogstatsd: true`). */
  dogstatsd?: HostPort;
  /** Prefix of every metric name (`metrics_prefix`); `--metrics-prefix` wins. Default: `kvx`. */
  metricsPrefix?: string;
  /** Default KV prefix of the `files` entries (`kvx out --watch`); `-p` overrides it. */
  prefix?: string;
  /** Whether update events carry diffs (`diff_events`); `--no-diff-events` wins. */
  diffEvents?: boolean;
  /** Chunk size of `kvx in` (`max_value_size`, the agent's `kv_max_value_size`); `--max-value-size` wins. */
  maxValueSize?: number;
  /** Deliveries for `kvx out --watch`. */
  files: ConfigFileEntry[];
}

/** kvexpress's Datadog API keys: accepted so old files load, but kvx sends events through DogStatsD only. */
const IGNORED_KEYS = new Set(['datadog_host', 'datadog_api_key', 'datadog_app_key']);

type Raw = Record<string, unknown>;

class Reader {
  constructor(
    private readonly where: string,
    private readonly raw: Raw,
  ) {}

  fail(key: string, what: string): never {
    throw new UsageError(`${this.where}: '${key}' ${what}`);
  }

  string(key: string): string | undefined {
    const v = this.raw[key];
    if (v === undefined || v === null) return undefined;
    if (typeof v === 'number') return String(v);
    if (typeof v !== 'string' || v === '') this.fail(key, 'must be a non-empty string');
    return v;
  }

  bool(key: string): boolean | undefined {
    const v = this.raw[key];
    if (v === undefined || v === null) return undefined;
    if (typeof v !== 'boolean') this.fail(key, 'must be true or false');
    return v;
  }

  /** A value parsed by one of the flag parsers, reported against this file and key. */
  parsed<T>(key: string, parse: (text: string, flag: string) => T): T | undefined {
    const v = this.string(key);
    return v === undefined ? undefined : parse(v, `${this.where}: '${key}'`);
  }
}

function assign<T extends object, K extends keyof T>(target: T, key: K, value: T[K] | undefined): void {
  if (value !== undefined) target[key] = value;
}

const CONNECTION_KEYS = new Set([
  'consul_server', 'http_addr', 'token', 'token_file', 'datacenter', 'ca_file', 'ca_path', 'client_cert',
  'client_key', 'tls_server_name', 'tls_skip_verify', 'dogstatsd', 'dogstatsd_address', 'metrics_prefix',
  'prefix', 'files', 'diff_events', 'max_value_size',
]);
const ENTRY_KEYS = new Set([
  'key', 'file', 'prefix', 'length', 'min_bytes', 'chmod', 'owner', 'exec', 'shell', 'exec_timeout', 'validate',
  'ignore_stop', 'compress', 'splay',
]);

function isRecord(v: unknown): v is Raw {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function parseEntry(where: string, raw: unknown, index: number): ConfigFileEntry {
  const at = `${where}: files[${index}]`;
  if (!isRecord(raw)) throw new UsageError(`${at} must be a mapping with at least 'key' and 'file'`);
  for (const k of Object.keys(raw)) if (!ENTRY_KEYS.has(k)) throw new UsageError(`${at}: unknown key '${k}'`);
  const r: Reader = new Reader(at, raw);
  const key = r.parsed('key', parseKey);
  const file = r.string('file');
  if (key === undefined) r.fail('key', 'is required');
  if (file === undefined) r.fail('file', 'is required');
  const entry: ConfigFileEntry = { key, file };
  assign(entry, 'prefix', r.parsed('prefix', parsePrefix));
  assign(entry, 'length', r.parsed('length', parseCount));
  assign(entry, 'minBytes', r.parsed('min_bytes', parseCount));
  assign(entry, 'chmod', r.parsed('chmod', parseMode));
  assign(entry, 'owner', r.string('owner'));
  assign(entry, 'exec', r.string('exec'));
  assign(entry, 'shell', r.bool('shell'));
  assign(entry, 'execTimeout', r.parsed('exec_timeout', parseDuration));
  assign(entry, 'validate', r.string('validate'));
  assign(entry, 'ignoreStop', r.bool('ignore_stop'));
  assign(entry, 'compress', r.bool('compress'));
  assign(entry, 'splay', r.parsed('splay', parseDuration));
  return entry;
}

/** Parses config text; `path` is only used in messages. */
export function parseConfigFile(text: string, path: string): ConfigFile {
  let doc: unknown;
  try {
    doc = parseYaml(text, { uniqueKeys: true, prettyErrors: false });
  } catch (err) {
    throw new UsageError(`config file ${path}: invalid YAML: ${(err as Error).message}`, err);
  }
  const where = `config file ${path}`;
  if (doc === null || doc === undefined) return { path, connection: {}, files: [] };
  if (!isRecord(doc)) throw new UsageError(`${where}: expected a mapping of settings`);
  for (const k of Object.keys(doc)) {
    if (!CONNECTION_KEYS.has(k) && !IGNORED_KEYS.has(k)) throw new UsageError(`${where}: unknown key '${k}'`);
  }
  const r = new Reader(where, doc);
  const connection: ConfigConnection = {};
  assign(connection, 'address', r.string('http_addr') ?? r.string('consul_server'));
  assign(connection, 'token', r.string('token'));
  assign(connection, 'tokenFile', r.string('token_file'));
  assign(connection, 'datacenter', r.string('datacenter'));
  assign(connection, 'caFile', r.string('ca_file'));
  assign(connection, 'caPath', r.string('ca_path'));
  assign(connection, 'clientCert', r.string('client_cert'));
  assign(connection, 'clientKey', r.string('client_key'));
  assign(connection, 'tlsServerName', r.string('tls_server_name'));
  assign(connection, 'tlsSkipVerify', r.bool('tls_skip_verify'));

  const config: ConfigFile = { path, connection, files: [] };
  const address = r.parsed('dogstatsd_address', parseHostPort);
  // kvexpress's `dogstatsd: true` alone meant the local agent on the default port.
  assign(config, 'dogstatsd', address ?? (r.bool('dogstatsd') === true ? { host: 'localhost', port: 8125 } : undefined));
  assign(config, 'metricsPrefix', r.string('metrics_prefix'));
  assign(config, 'prefix', r.parsed('prefix', parsePrefix));
  assign(config, 'diffEvents', r.bool('diff_events'));
  assign(config, 'maxValueSize', r.parsed('max_value_size', parseByteSize));
  const files = doc['files'];
  if (files !== undefined && files !== null) {
    if (!Array.isArray(files)) throw new UsageError(`${where}: 'files' must be a list`);
    config.files = files.map((f, i) => parseEntry(where, f, i));
  }
  return config;
}

/** Reads and parses a config file. A missing or unreadable file is a usage error. */
export async function loadConfigFile(path: string): Promise<ConfigFile> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    throw new UsageError(`cannot read config file ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, err);
  }
  return parseConfigFile(text, path);
}
