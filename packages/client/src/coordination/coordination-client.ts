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
  get(key: string, opts?: QueryOptions): Promise<QueryResult<KvPair | undefined>>;
  list(prefix: string, opts?: QueryOptions): Promise<QueryResult<KvPair[]>>;
  acquire(key: string, value: Buffer | string, session: string, opts?: KvWriteOptions): Promise<boolean>;
  release(key: string, value: Buffer | string, session: string, opts?: KvWriteOptions): Promise<boolean>;
  cas(key: string, value: Buffer | string, index: bigint, opts?: KvWriteOptions): Promise<boolean>;
  delete(key: string, opts?: KvDeleteOptions): Promise<boolean>;
}

/** Session operations used by locks, semaphores and {@link SessionRenewer}. */
export interface CoordinationSessions {
  create(opts?: SessionCreateOptions): Promise<string>;
  destroy(id: string, opts?: RequestOptions): Promise<boolean>;
  renew(id: string, opts?: RequestOptions): Promise<SessionEntry | undefined>;
}

/** A Consul client as coordination needs it (`new Consul(…)` is one). */
export interface CoordinationClient {
  readonly kv: CoordinationKv;
  readonly session: CoordinationSessions;
}
