/**
 * `status`: what is published under a prefix — per kvexpress key its encoding, sizes, checksum, data index,
 * stop reason and chunking — and the pins set on any host. Key names come from one `?keys` listing (no
 * values); then each key's data, checksum, stop and meta are read in read-only transactions (a few keys per
 * transaction), so chunks are never downloaded.
 *
 * @module
 */

import type { Consistency, KvPair, TxnKvOp } from '../api/types.js';
import { parseManifest } from './chunk-manifest.js';
import { DataFlags, KeyLayout, normalizePrefix, DEFAULT_PREFIX } from './layout.js';
import { parseMeta, type VersionMeta } from './meta.js';
import { snapshotFrom, stopReason, storedChecksum } from './snapshot.js';
import type { TransferOptions } from './transfer-options.js';

/** Options of {@link status}. */
export interface StatusOptions extends TransferOptions {
  /** Only these kvexpress keys. Default: every key under the prefix. */
  keys?: readonly string[];
  /** Consistency of the reads. Default: the client's. */
  consistency?: Consistency;
}

/** One published file. */
export interface FileStatus {
  /** The kvexpress key. */
  key: string;
  /** How `data` is stored (`unknown`: flags kvx does not know; `missing`: only checksum/stop exist). */
  encoding: 'plain' | 'brotli' | 'chunked' | 'unknown' | 'missing';
  /** The KV flags of `data`. */
  flags: bigint;
  /** Bytes stored in Consul (all chunks for a chunked file). */
  storedSize: number;
  /** Content size, when known (plain, chunked, or from a current meta record). */
  size: number | undefined;
  /** The checksum key's value. */
  checksum: string | undefined;
  /** ModifyIndex of `data` (`0n` when missing). */
  index: bigint;
  /** The stop reason, when stopped. */
  stopReason: string | undefined;
  /** Number of chunks (`0`: inline). */
  chunks: number;
  /** The meta record, when it describes the current version (kvexpress writers do not update it). */
  meta: VersionMeta | undefined;
}

/** A pin set on some host. */
export interface PinStatus {
  /** The pin key. */
  pinKey: string;
  /** SHA-256 of the pinned absolute path (the path itself is not stored). */
  pathHash: string;
  /** The host the pin applies to. */
  hostname: string;
  /** The reason. */
  reason: string;
}

/** The result of {@link status}. */
export interface StatusResult {
  /** One entry per file under the prefix (only the asked-for `keys` when given), sorted by key. */
  files: FileStatus[];
  /** Every per-host pin under the prefix (pins are per file path, not per key, so `keys` does not filter them). */
  pins: PinStatus[];
}

const FILES_PER_TXN = 16;

function describe(layout: KeyLayout, pairs: KvPair[]): FileStatus {
  const snapshot = snapshotFrom(layout, pairs, 0n);
  const { data } = snapshot;
  const checksum = storedChecksum(snapshot);
  const metaRecord = parseMeta(snapshot.meta?.value);
  const meta = metaRecord !== undefined && metaRecord.sha256 === checksum ? metaRecord : undefined;
  const base = {
    key: layout.key,
    flags: data?.flags ?? 0n,
    checksum,
    index: data?.modifyIndex ?? 0n,
    stopReason: stopReason(snapshot),
    meta,
  };
  if (data === undefined) return { ...base, encoding: 'missing', storedSize: 0, size: undefined, chunks: 0 };
  if (data.flags === DataFlags.PLAIN) return { ...base, encoding: 'plain', storedSize: data.value.length, size: meta?.size ?? data.value.length, chunks: 0 };
  if (data.flags === DataFlags.BROTLI) return { ...base, encoding: 'brotli', storedSize: data.value.length, size: meta?.size, chunks: 0 };
  if (data.flags === DataFlags.CHUNKED) {
    try {
      const manifest = parseManifest(layout.data, data.value);
      return { ...base, encoding: 'chunked', storedSize: manifest.storedSize, size: manifest.size, chunks: manifest.chunks };
    } catch {
      return { ...base, encoding: 'unknown', storedSize: data.value.length, size: undefined, chunks: 0 };
    }
  }
  return { ...base, encoding: 'unknown', storedSize: data.value.length, size: undefined, chunks: 0 };
}

/** Lists the files and pins under the prefix (see the module documentation). */
export async function status(options: StatusOptions): Promise<StatusResult> {
  const prefix = normalizePrefix(options.prefix ?? DEFAULT_PREFIX);
  const root = prefix === '' ? '' : `${prefix}/`;
  const query = {
    ...(options.consistency === undefined ? {} : { consistency: options.consistency }),
    ...(options.signal === undefined ? {} : { signal: options.signal }),
  };
  const { value: names } = await options.consul.kv.keys(root, query);
  const existing = new Set(names);
  const locksRoot = `${root}locks/`;
  const wanted = options.keys === undefined ? undefined : new Set(options.keys.map((k) => new KeyLayout(k, prefix).key));
  const layouts: KeyLayout[] = [];
  const seen = new Set<string>();
  for (const name of names) {
    if (name.startsWith(locksRoot) || !name.startsWith(root)) continue;
    const match = /^(.+)\/(data|checksum|stop)$/.exec(name.slice(root.length));
    const key = match?.[1];
    if (key === undefined || seen.has(key) || /\.chunks(\/|$)/.test(key)) continue;
    if (wanted !== undefined && !wanted.has(key)) continue;
    seen.add(key);
    layouts.push(new KeyLayout(key, prefix));
  }
  layouts.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  const files: FileStatus[] = [];
  for (let i = 0; i < layouts.length; i += FILES_PER_TXN) {
    const batch = layouts.slice(i, i + FILES_PER_TXN);
    const ops: TxnKvOp[] = batch.flatMap((l) =>
      [l.data, l.checksum, l.stop, l.meta].filter((k) => existing.has(k)).map((key): TxnKvOp => ({ verb: 'get', key })),
    );
    const { results } = ops.length === 0 ? { results: [] } : await options.consul.txn.execute(ops, query);
    for (const layout of batch) files.push(describe(layout, results.filter((r) => r.key.startsWith(layout.dir))));
  }
  const pins: PinStatus[] = [];
  if (names.some((n) => n.startsWith(locksRoot))) {
    const { value: pairs } = await options.consul.kv.list(locksRoot, query);
    for (const pair of pairs) {
      const match = /^([0-9a-f]{64})\/([^/]+)$/.exec(pair.key.slice(locksRoot.length));
      if (match === null || pair.value.length === 0) continue;
      pins.push({ pinKey: pair.key, pathHash: match[1] as string, hostname: match[2] as string, reason: pair.value.toString('utf8') });
    }
  }
  return { files, pins };
}
