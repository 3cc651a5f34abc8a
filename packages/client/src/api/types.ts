/**
 * Shapes shared by the Consul API wrappers. Indexes and flags are uint64 in Consul and `bigint` here,
 * exact to the last bit (the lock flag values exceed 2^53).
 *
 * @module
 */

/** Read consistency mode (Consul's `?stale` / `?consistent`). */
export type Consistency = 'default' | 'stale' | 'consistent';

/** Options accepted by every request. */
export interface RequestOptions {
  /** Datacenter to query. Default: the agent's (or the client's `datacenter` option). */
  datacenter?: string;
  /** ACL token for this call only. Default: the client's token. Never logged. */
  token?: string;
  /** Cancels the request (and any retry wait). */
  signal?: AbortSignal;
  /** Per-attempt timeout in milliseconds. Default: the client's `timeout`. */
  timeout?: number;
}

/** Options for reads. */
export interface QueryOptions extends RequestOptions {
  /** Consistency mode. Default: the client's `consistency` (itself `default`). */
  consistency?: Consistency;
  /**
   * Blocking query: return once the result's index exceeds this value, or after `wait`.
   * `undefined` or `0n` means a plain read.
   */
  index?: bigint;
  /** Maximum blocking time in milliseconds (Consul's `wait`). Default: Consul's (300 s). */
  wait?: number;
}

/** Metadata Consul sends with every blocking-capable read. */
export interface QueryMeta {
  /** `X-Consul-Index`: pass it back as `index` to block for a change. Never `0n`. */
  index: bigint;
  /** `X-Consul-KnownLeader`. */
  knownLeader: boolean;
  /** `X-Consul-LastContact` in milliseconds. */
  lastContact: number;
}

/** A read result and its metadata. */
export interface QueryResult<T> extends QueryMeta {
  /** The decoded result. */
  value: T;
}

/** One KV entry. */
export interface KvPair {
  /** The key, without a leading `/`. */
  key: string;
  /** The stored bytes (empty when Consul's `Value` is `null`). */
  value: Buffer;
  /** Opaque uint64 flags (exact). */
  flags: bigint;
  /** Index that created the entry. */
  createIndex: bigint;
  /** Index of the last change; pass it to `kv.cas` to update only this version. */
  modifyIndex: bigint;
  /** How many times a session acquired the key. */
  lockIndex: bigint;
  /** Session holding the key, if any. */
  session?: string;
}

/** Options for `kv.put` and friends. */
export interface KvWriteOptions extends RequestOptions {
  /** Flags to store (uint64). Default: `0n`. */
  flags?: bigint;
}

/** Options for `kv.delete`. */
export interface KvDeleteOptions extends RequestOptions {
  /** Only delete when the key's ModifyIndex equals this (a missing key counts as deleted). */
  cas?: bigint;
}

/** Session invalidation behaviour. */
export type SessionBehavior = 'release' | 'delete';

/** Options for `session.create`. */
export interface SessionCreateOptions extends RequestOptions {
  /** Human-readable name. Default: none. */
  name?: string;
  /** Node to attach to. Default: the agent's node. */
  node?: string;
  /** TTL as a Go duration string (`"15s"`) or milliseconds. Default: no TTL. */
  ttl?: string | number;
  /** Lock-delay in milliseconds. Default: Consul's (15 s). `0` disables it. */
  lockDelay?: number;
  /** Default: `release`. */
  behavior?: SessionBehavior;
  /** Node checks. Default: Consul's (`["serfHealth"]`). `[]` means none. */
  nodeChecks?: string[];
}

/** A session as Consul describes it. */
export interface SessionEntry {
  /** Session id (UUID). */
  id: string;
  /** Name given at creation (`""` when none). */
  name: string;
  /** Node the session belongs to. */
  node: string;
  /** Lock-delay in milliseconds. */
  lockDelay: number;
  /** What happens to held keys when the session is invalidated. */
  behavior: SessionBehavior;
  /** TTL string exactly as Consul returns it (`""` when none). */
  ttl: string;
  /** Node health checks tied to the session. */
  nodeChecks: string[];
  /** Index that created the session. */
  createIndex: bigint;
  /** Index of the session's last change. */
  modifyIndex: bigint;
}

/** KV verbs of `/v1/txn`. */
export type TxnKvVerb =
  | 'set'
  | 'cas'
  | 'lock'
  | 'unlock'
  | 'get'
  | 'get-or-empty'
  | 'get-tree'
  | 'check-index'
  | 'check-session'
  | 'check-not-exists'
  | 'delete'
  | 'delete-tree'
  | 'delete-cas';

/** One KV operation of a transaction. */
export interface TxnKvOp {
  /** The operation. */
  verb: TxnKvVerb;
  /** The key (the prefix for `get-tree` and `delete-tree`). */
  key: string;
  /** Value for `set`, `cas`, `lock`, `unlock` (strings are sent as UTF-8). Default: empty. */
  value?: Buffer | string;
  /** Flags (uint64) for the writing verbs. Default: `0n`. */
  flags?: bigint;
  /** ModifyIndex for `cas`, `delete-cas`, `check-index`. */
  index?: bigint;
  /** Session for `lock`, `unlock`, `check-session`. */
  session?: string;
}

/** One failed operation of a rolled-back transaction. */
export interface TxnOpError {
  /** Position of the failed operation in the submitted list (0-based). */
  opIndex: number;
  /** Consul's explanation, e.g. `failed to set key "a", index is stale`. */
  what: string;
}

/** A user event. */
export interface UserEvent {
  /** Event id (UUID). */
  id: string;
  /** Event name. */
  name: string;
  /** Payload, `undefined` when none was sent. */
  payload: Buffer | undefined;
  /** Node-name regular expression the event targets (`""`: all). */
  nodeFilter: string;
  /** Service regular expression the event targets (`""`: all). */
  serviceFilter: string;
  /** Tag regular expression the event targets (`""`: all). */
  tagFilter: string;
  /** Event format version (always 1). */
  version: number;
  /** Lamport time; `0n` in the reply to `fire`. */
  lTime: bigint;
}
