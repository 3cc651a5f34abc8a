/**
 * The part of the Consul client that locks, semaphores and the session renewer use. `Consul` satisfies it;
 * naming only these methods keeps coordination testable against any client with the same contract.
 *
 * @module
 */

import type {
  KvDeleteOptions,
  KvPair,
  KvWriteOptions,
  QueryOptions,
  QueryResult,
  RequestOptions,
  SessionCreateOptions,
  SessionEntry,
} from '../api/types.js';

/** KV operations used by locks and semaphores. */
export interface CoordinationKv {
  /** Reads one key (`undefined` when missing); blocks when `opts.index` is set. See {@link KvApi.get}. */
  get(key: string, opts?: QueryOptions): Promise<QueryResult<KvPair | undefined>>;
  /** Reads every key under `prefix`; blocks when `opts.index` is set. See {@link KvApi.list}. */
  list(prefix: string, opts?: QueryOptions): Promise<QueryResult<KvPair[]>>;
  /** Writes `key` and takes it for `session`; `false` when another session holds it. See {@link KvApi.acquire}. */
  acquire(key: string, value: Buffer | string, session: string, opts?: KvWriteOptions): Promise<boolean>;
  /** Writes `key` and gives it up for `session`; `false` when `session` does not hold it. See {@link KvApi.release}. */
  release(key: string, value: Buffer | string, session: string, opts?: KvWriteOptions): Promise<boolean>;
  /** Writes `key` only if its `ModifyIndex` is still `index` (`0n`: only if absent). See {@link KvApi.cas}. */
  cas(key: string, value: Buffer | string, index: bigint, opts?: KvWriteOptions): Promise<boolean>;
  /** Deletes `key` (only at `opts.cas` when given); `false` when the check-and-set failed. See {@link KvApi.delete}. */
  delete(key: string, opts?: KvDeleteOptions): Promise<boolean>;
}

/** Session operations used by locks, semaphores and {@link SessionRenewer}. */
export interface CoordinationSessions {
  /** Creates a session and returns its id. See {@link SessionApi.create}. */
  create(opts?: SessionCreateOptions): Promise<string>;
  /** Destroys a session, releasing or deleting what it holds. See {@link SessionApi.destroy}. */
  destroy(id: string, opts?: RequestOptions): Promise<boolean>;
  /** Renews a session's TTL; `undefined` when the session no longer exists. See {@link SessionApi.renew}. */
  renew(id: string, opts?: RequestOptions): Promise<SessionEntry | undefined>;
}

/** A Consul client as coordination needs it (`new Consul(…)` is one). */
export interface CoordinationClient {
  /** The KV operations. */
  readonly kv: CoordinationKv;
  /** The session operations. */
  readonly session: CoordinationSessions;
}
