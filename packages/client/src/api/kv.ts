/**
 * The KV store (`/v1/kv/`): reads, prefix listings, writes with flags, check-and-set, lock acquire and
 * release, and deletes. Conditional writes (`cas`, `acquire`, `release`, `delete` with `cas`) are retried
 * only when they provably never reached the agent; when one fails ambiguously (`error.ambiguous`), re-read
 * the key to learn whether it took effect.
 *
 * @module
 */

import { InvalidArgumentError, ProtocolError } from '../errors.js';
import type { HttpTransport } from '../transport/http.js';
import { asArray, decodeBool, parseBody } from './decode.js';
import { decodeKvEntries } from './kv-entries.js';
import { encodePath, entryKey, prefixKey, queryMeta, queryResult, readRequest, uint64 } from './query.js';
import type { KvDeleteOptions, KvPair, KvWriteOptions, QueryOptions, QueryResult, RequestOptions } from './types.js';

/** Options of {@link KvApi.keys}. */
export interface KvKeysOptions extends QueryOptions {
  /** Group keys after the prefix up to and including the first occurrence of this separator. Default: none. */
  separator?: string;
}

function toBuffer(value: Buffer | string): Buffer {
  if (typeof value === 'string') return Buffer.from(value, 'utf8');
  if (Buffer.isBuffer(value)) return value;
  throw new InvalidArgumentError('value must be a Buffer or a string');
}

/** Operations on Consul's KV store; reach it as `consul.kv`. */
export class KvApi {
  /** @internal */
  /** @internal Built by {@link Consul}. */
  constructor(private readonly t: HttpTransport) {}

  /**
   * Reads one key.
   *
   * @returns the entry, or `value: undefined` when the key does not exist (with the KV index to block on).
   */
  async get(key: string, opts?: QueryOptions): Promise<QueryResult<KvPair | undefined>> {
    const k = entryKey(key, 'read');
    const res = await this.t.send(readRequest(this.t, opts, { endpoint: 'kv_get', path: `/v1/kv/${encodePath(k)}`, accept: [404], text: true }));
    const meta = queryMeta(res);
    if (res.status === 404) return queryResult(meta, undefined);
    const entries = decodeKvEntries(res.text, 'a KV read');
    // A read of one key is answered with that key alone; anything else (a rewriting proxy) must not pass for it.
    if (entries.length !== 1 || entries[0]?.key !== k) throw new ProtocolError(`Consul answered a read of ${JSON.stringify(k)} with other entries`);
    return queryResult(meta, entries[0]);
  }

  /** Reads one key's raw bytes (`?raw`), without flags or indexes of the entry. */
  async getRaw(key: string, opts?: QueryOptions): Promise<QueryResult<Buffer | undefined>> {
    const k = entryKey(key, 'read');
    const res = await this.t.send(
      readRequest(this.t, opts, { endpoint: 'kv_get_raw', path: `/v1/kv/${encodePath(k)}`, query: { raw: '' }, accept: [404] }),
    );
    return queryResult(queryMeta(res), res.status === 404 ? undefined : res.body);
  }

  /** Reads every entry whose key starts with `prefix` (byte prefix, not path-aware), sorted by key. */
  async list(prefix: string, opts?: QueryOptions): Promise<QueryResult<KvPair[]>> {
    const p = prefixKey(prefix);
    const res = await this.t.send(
      readRequest(this.t, opts, { endpoint: 'kv_list', path: `/v1/kv/${encodePath(p)}`, query: { recurse: '' }, accept: [404], text: true }),
    );
    const meta = queryMeta(res);
    if (res.status === 404) return queryResult(meta, []);
    return queryResult(meta, decodeKvEntries(res.text, 'a KV listing'));
  }

  /** Lists the keys under `prefix`, optionally grouped at `separator` (Consul's `?keys&separator=`). */
  async keys(prefix: string, opts?: KvKeysOptions): Promise<QueryResult<string[]>> {
    const p = prefixKey(prefix);
    const res = await this.t.send(
      readRequest(this.t, opts, {
        endpoint: 'kv_keys',
        path: `/v1/kv/${encodePath(p)}`,
        query: { keys: '', separator: opts?.separator },
        accept: [404],
      }),
    );
    const meta = queryMeta(res);
    if (res.status === 404) return queryResult(meta, []);
    const keys = asArray(parseBody(res), 'a key listing').map((k) => {
      if (typeof k !== 'string') throw new ProtocolError('Consul sent a non-string key');
      return k;
    });
    return queryResult(meta, keys);
  }

  /** Writes a key unconditionally (keeps a lock holder's session). Always `true` on success. */
  put(key: string, value: Buffer | string, opts?: KvWriteOptions): Promise<boolean> {
    return this.write('kv_put', key, value, {}, 'idempotent', opts);
  }

  /**
   * Check-and-set: writes only if the key's ModifyIndex equals `index` (`0n`: only if the key does not exist).
   *
   * @returns `false` when the index did not match.
   */
  cas(key: string, value: Buffer | string, index: bigint, opts?: KvWriteOptions): Promise<boolean> {
    return this.write('kv_cas', key, value, { cas: uint64('cas index', index) }, 'conditional', opts);
  }

  /**
   * Acquires the key as a lock for `session`, writing `value` and the flags.
   *
   * @returns `false` when another session holds it or its lock-delay is active.
   */
  acquire(key: string, value: Buffer | string, session: string, opts?: KvWriteOptions): Promise<boolean> {
    if (!session) throw new InvalidArgumentError('acquire needs a session id');
    return this.write('kv_acquire', key, value, { acquire: session }, 'conditional', opts);
  }

  /**
   * Releases the key held by `session`. Consul replaces the value and flags with the ones sent here, so pass
   * the value to keep.
   *
   * @returns `false` when `session` does not hold the key.
   */
  release(key: string, value: Buffer | string, session: string, opts?: KvWriteOptions): Promise<boolean> {
    if (!session) throw new InvalidArgumentError('release needs a session id');
    return this.write('kv_release', key, value, { release: session }, 'conditional', opts);
  }

  /**
   * Deletes one key; with `cas`, only when its ModifyIndex matches (a missing key counts as deleted).
   *
   * @returns `false` only when `cas` did not match.
   */
  async delete(key: string, opts?: KvDeleteOptions): Promise<boolean> {
    const k = entryKey(key, 'read');
    const cas = opts?.cas === undefined ? undefined : uint64('cas index', opts.cas);
    const res = await this.t.send({
      endpoint: 'kv_delete',
      method: 'DELETE',
      path: `/v1/kv/${encodePath(k)}`,
      query: { cas },
      safety: cas === undefined ? 'idempotent' : 'conditional',
      options: opts,
    });
    return decodeBool(res);
  }

  /** Deletes every key starting with `prefix` (`""` wipes the whole store). */
  async deleteTree(prefix: string, opts?: RequestOptions): Promise<boolean> {
    const p = prefixKey(prefix);
    const res = await this.t.send({
      endpoint: 'kv_delete_tree',
      method: 'DELETE',
      path: `/v1/kv/${encodePath(p)}`,
      query: { recurse: '' },
      safety: 'idempotent',
      options: opts,
    });
    return decodeBool(res);
  }

  private async write(
    endpoint: string,
    key: string,
    value: Buffer | string,
    query: Record<string, string>,
    safety: 'idempotent' | 'conditional',
    opts: KvWriteOptions | undefined,
  ): Promise<boolean> {
    const k = entryKey(key, 'write');
    const flags = opts?.flags === undefined ? undefined : uint64('flags', opts.flags);
    const res = await this.t.send({
      endpoint,
      method: 'PUT',
      path: `/v1/kv/${encodePath(k)}`,
      query: { ...query, flags },
      body: toBuffer(value),
      safety,
      options: opts,
    });
    return decodeBool(res);
  }
}
