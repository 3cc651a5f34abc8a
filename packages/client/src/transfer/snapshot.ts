/**
 * A key snapshot: data, checksum, stop and meta of one kvexpress key as read by ONE recursive read of
 * `<prefix>/<key>/`. One request gives a consistent view (all four at the same raft index), and it is exactly
 * what a watcher blocks on, so a change costs a watcher one request.
 *
 * @module
 */

import type { Consul } from '../consul.js';
import type { KvPair, QueryOptions } from '../api/types.js';
import type { KeyLayout } from './layout.js';

/** The kvexpress keys of one file at one index. */
export interface KeySnapshot {
  /** Where the keys live. */
  layout: KeyLayout;
  /** `<prefix>/<key>/data`, if present. */
  data: KvPair | undefined;
  /** `<prefix>/<key>/checksum`, if present. */
  checksum: KvPair | undefined;
  /** `<prefix>/<key>/stop`, if present. */
  stop: KvPair | undefined;
  /** `<prefix>/<key>/meta`, if present. */
  meta: KvPair | undefined;
  /** The index of the read (`X-Consul-Index`). */
  index: bigint;
}

/** Picks the four keys out of a recursive listing of `layout.dir` (other keys below it are ignored). */
export function snapshotFrom(layout: KeyLayout, pairs: readonly KvPair[], index: bigint): KeySnapshot {
  const byKey = new Map(pairs.map((p) => [p.key, p]));
  return {
    layout,
    data: byKey.get(layout.data),
    checksum: byKey.get(layout.checksum),
    stop: byKey.get(layout.stop),
    meta: byKey.get(layout.meta),
    index,
  };
}

/** Reads a snapshot with one recursive read. */
export async function readSnapshot(consul: Consul, layout: KeyLayout, options: QueryOptions = {}): Promise<KeySnapshot> {
  const result = await consul.kv.list(layout.dir, options);
  return snapshotFrom(layout, result.value, result.index);
}

/** The stop reason when the key is stopped (kvexpress: any non-empty value), else `undefined`. */
export function stopReason(snapshot: KeySnapshot): string | undefined {
  const value = snapshot.stop?.value;
  return value === undefined || value.length === 0 ? undefined : value.toString('utf8');
}

/** The stored checksum, trimmed (kvexpress compares with `TrimSpace`), or `undefined`. */
export function storedChecksum(snapshot: KeySnapshot): string | undefined {
  const value = snapshot.checksum?.value;
  return value === undefined ? undefined : value.toString('utf8').trim();
}
