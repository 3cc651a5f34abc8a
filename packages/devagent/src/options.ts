/**
 * Options of the dev agent and their validation. Durations are milliseconds; every field is optional and has
 * Consul's default unless noted.
 *
 * @module
 */
import { hostname } from 'node:os';

import { type AclConfig, loadAclFile, validateAclConfig } from './acl.js';
import { AgentConfigError } from './errors.js';

/** Options of {@link startDevAgent}; the camelCase twins of the `kvx agent --dev` flags. */
export interface DevAgentOptions {
  /**
   * Listen address `HOST:PORT` (`[::1]:8500` for IPv6); port 0 picks a free port.
   * Default: `127.0.0.1:8500` (or {@link host}/{@link port} when given).
   */
  httpAddr?: string;
  /** Listen host when {@link httpAddr} is not given. Default: `127.0.0.1`. */
  host?: string;
  /** Listen port when {@link httpAddr} is not given. Default: `8500`. */
  port?: number;
  /**
   * Directory for the write-ahead log and snapshots. When set, KV data, sessions and the index survive
   * restarts and a crash loses no acknowledged write. Default: none (memory only).
   */
  dataDir?: string;
  /** Name of the single registered node (sessions default to it). Default: `os.hostname()`. */
  nodeName?: string;
  /** Datacenter name reported by `/v1/agent/self`. Default: `dc1`. */
  datacenter?: string;
  /** Smallest session TTL accepted, in ms (Consul's `session_ttl_min`). Default: `10000`. */
  sessionTtlMin?: number;
  /** Blocking-query wait when none (or ≤ 0) is given, in ms. Default: `300000` (5 min). */
  defaultQueryTime?: number;
  /** Upper bound of a blocking query's wait, in ms; also the default wait of `/v1/event/list`. Default: `600000`. */
  maxQueryTime?: number;
  /** Largest KV value accepted, in bytes (Consul's `kv_max_value_size`). Default: `524288`. */
  kvMaxValueSize?: number;
  /** Most operations in one transaction. Default: `128`. */
  txnMaxOps?: number;
  /**
   * Largest `/v1/txn` request body, in bytes (Consul's `txn_max_req_len`). Default: `524288`, or
   * {@link kvMaxValueSize} when that is larger.
   */
  txnMaxReqLen?: number;
  /** Path of an ACL file (format in `acl.ts`). Default: none (ACLs off). */
  aclFile?: string;
  /** ACL configuration given inline; takes precedence over {@link aclFile}. Default: none (ACLs off). */
  acl?: AclConfig;
  /**
   * Size the write-ahead log may reach before the agent writes a snapshot and starts a new log, in bytes.
   * Only with {@link dataDir}. Default: `16777216` (16 MiB).
   */
  snapshotThreshold?: number;
}

/** {@link DevAgentOptions} after defaults and validation. */
export interface ResolvedOptions {
  readonly host: string;
  readonly port: number;
  readonly dataDir: string | undefined;
  readonly nodeName: string;
  readonly datacenter: string;
  readonly sessionTtlMin: number;
  readonly defaultQueryTime: number;
  readonly maxQueryTime: number;
  readonly kvMaxValueSize: number;
  readonly txnMaxOps: number;
  readonly txnMaxReqLen: number;
  readonly acl: AclConfig | undefined;
  readonly snapshotThreshold: number;
}

const DEFAULT_KV_MAX_VALUE_SIZE = 524288;

function positive(name: string, value: number | undefined, fallback: number, integer = false): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0 || (integer && !Number.isInteger(value))) {
    throw new AgentConfigError(`${name} must be a positive ${integer ? 'integer' : 'number'}, got ${String(value)}`);
  }
  return value;
}

/** Splits `HOST:PORT` (IPv6 hosts in brackets). */
export function parseHostPort(addr: string): { host: string; port: number } {
  const match = /^(?:\[([^\]]+)\]|([^:[\]]*)):(\d{1,5})$/.exec(addr);
  const port = match ? Number(match[3]) : NaN;
  if (!match || port > 65535) throw new AgentConfigError(`invalid HTTP address "${addr}": expected HOST:PORT`);
  const host = match[1] ?? match[2] ?? '';
  return { host: host === '' ? '0.0.0.0' : host, port };
}

/** Applies defaults and validates; throws {@link AgentConfigError} on the first invalid option. */
export function resolveOptions(options: DevAgentOptions = {}): ResolvedOptions {
  let host = options.host ?? '127.0.0.1';
  let port = options.port ?? 8500;
  if (options.httpAddr !== undefined) ({ host, port } = parseHostPort(options.httpAddr));
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new AgentConfigError(`invalid port ${String(port)}`);
  const nodeName = options.nodeName ?? hostname();
  if (nodeName === '') throw new AgentConfigError('nodeName must not be empty');
  const datacenter = options.datacenter ?? 'dc1';
  if (!/^[a-zA-Z0-9_-]+$/.test(datacenter)) throw new AgentConfigError(`invalid datacenter "${datacenter}"`);
  const kvMaxValueSize = positive('kvMaxValueSize', options.kvMaxValueSize, DEFAULT_KV_MAX_VALUE_SIZE, true);
  const defaultQueryTime = positive('defaultQueryTime', options.defaultQueryTime, 300_000);
  const maxQueryTime = positive('maxQueryTime', options.maxQueryTime, 600_000);
  if (options.dataDir === '') throw new AgentConfigError('dataDir must not be empty');
  let acl = options.acl;
  if (acl !== undefined) validateAclConfig(acl);
  else if (options.aclFile !== undefined) acl = loadAclFile(options.aclFile);
  return {
    host,
    port,
    dataDir: options.dataDir,
    nodeName,
    datacenter,
    sessionTtlMin: positive('sessionTtlMin', options.sessionTtlMin, 10_000),
    defaultQueryTime,
    maxQueryTime,
    kvMaxValueSize,
    txnMaxOps: positive('txnMaxOps', options.txnMaxOps, 128, true),
    txnMaxReqLen: positive(
      'txnMaxReqLen',
      options.txnMaxReqLen,
      Math.max(DEFAULT_KV_MAX_VALUE_SIZE, kvMaxValueSize),
      true,
    ),
    acl,
    snapshotThreshold: positive('snapshotThreshold', options.snapshotThreshold, 16 * 1024 * 1024, true),
  };
}
