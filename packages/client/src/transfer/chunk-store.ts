/**
 * Chunked content in Consul: content too large for one transaction is stored as immutable chunks under a
 * version directory `<prefix>/<key>.chunks/<id>/` (`id` = SHA-256 of the stored bytes), then made current by
 * committing a manifest (chunk-manifest.ts) into `data` together with the checksum — one transaction, so
 * readers switch from the old complete version to the new complete version.
 *
 * Concurrency rules:
 * - Before its chunks, a writer sets `<id>/guard` in a transaction, which returns the guard's ModifyIndex.
 *   The commit checks that index (`check-index`). Cleanup removes whole version directories with one
 *   `delete-tree`, so a directory removed while its writer was still uploading takes the guard with it and the
 *   commit fails instead of publishing a manifest whose chunks are gone; the writer then starts over.
 * - Cleanup runs after a commit, in one transaction that first checks `data` still has the index the cleaner
 *   committed (`check-index`): a cleaner that was overtaken by a newer commit deletes nothing, so it can never
 *   remove the chunks of the version that is current.
 * - Readers fetch the chunks of the manifest they read; a missing chunk means the version was replaced while
 *   they read, so they re-read the manifest and start over (see content-reader.ts).
 *
 * @module
 */

import { hostname } from 'node:os';

import type { Consul } from '../consul.js';
import { TxnConflictError } from '../errors.js';
import type { QueryOptions, TxnKvOp } from '../api/types.js';
import { sha256Hex } from './checksum.js';
import type { ChunkManifest } from './chunk-manifest.js';
import { permissionDeniedInTxn, rethrowTxnDenial, VerifyError } from './errors.js';
import type { KeyLayout } from './layout.js';

/** Runs `fn` over `items` with at most `limit` calls in flight; rejects with the first failure. */
export async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  let failed = false;
  const worker = async (): Promise<void> => {
    while (!failed && next < items.length) {
      const i = next++;
      try {
        results[i] = await fn(items[i] as T, i);
      } catch (err) {
        failed = true;
        throw err;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}

/** What {@link writeChunks} stored. */
export interface WrittenChunks {
  /** The manifest to commit into `data`. */
  manifest: ChunkManifest;
  /** ModifyIndex of the version's guard key, to check in the commit. */
  guardIndex: bigint;
}

/** Options of {@link writeChunks}. */
export interface WriteChunksOptions {
  /** How the stored bytes are encoded. */
  encoding: 'plain' | 'brotli';
  /** Size of the content before encoding. */
  size: number;
  /** SHA-256 of the content (the checksum). */
  sha256: string;
  /** Largest chunk, in bytes (at most the agent's `kv_max_value_size`). */
  chunkSize: number;
  /** Chunk uploads in flight. */
  concurrency: number;
  signal?: AbortSignal | undefined;
  /** Called after each chunk was stored, with the bytes stored so far and the total. */
  onProgress?: ((done: number, total: number) => void) | undefined;
}

/** Uploads the stored bytes as chunks of a new version directory (guard first). */
export async function writeChunks(consul: Consul, layout: KeyLayout, stored: Buffer, options: WriteChunksOptions): Promise<WrittenChunks> {
  const id = sha256Hex(stored);
  const signal = options.signal === undefined ? {} : { signal: options.signal };
  const guardValue = JSON.stringify({ host: hostname(), pid: process.pid, time: new Date().toISOString() });
  const { results } = await consul.txn.execute([{ verb: 'set', key: layout.guard(id), value: guardValue }], signal).catch(rethrowTxnDenial);
  const guard = results[0];
  if (guard === undefined) throw new Error(`Consul returned no result for setting ${layout.guard(id)}`);
  const count = Math.ceil(stored.length / options.chunkSize);
  const indexes = Array.from({ length: count }, (_, n) => n);
  let done = 0;
  await mapLimit(indexes, options.concurrency, async (n) => {
    const slice = stored.subarray(n * options.chunkSize, Math.min(stored.length, (n + 1) * options.chunkSize));
    await consul.kv.put(layout.chunk(id, n), slice, signal);
    done += slice.length;
    options.onProgress?.(done, stored.length);
  });
  return {
    manifest: {
      id,
      encoding: options.encoding,
      size: options.size,
      storedSize: stored.length,
      chunkSize: options.chunkSize,
      chunks: count,
      sha256: options.sha256,
    },
    guardIndex: guard.modifyIndex,
  };
}

/**
 * Reads the stored bytes of a manifest's version. `undefined` when a chunk is missing (the version was
 * replaced and cleaned up meanwhile). Chunks that do not add up to the version id are a {@link VerifyError}.
 */
export async function readChunks(
  consul: Consul,
  layout: KeyLayout,
  manifest: ChunkManifest,
  options: QueryOptions & { concurrency: number; onProgress?: ((done: number, total: number) => void) | undefined },
): Promise<Buffer | undefined> {
  const { concurrency, onProgress, ...query } = options;
  let done = 0;
  const indexes = Array.from({ length: manifest.chunks }, (_, n) => n);
  let missing = false;
  const parts = await mapLimit(indexes, concurrency, async (n) => {
    if (missing) return Buffer.alloc(0);
    const { value } = await consul.kv.getRaw(layout.chunk(manifest.id, n), query);
    if (value === undefined) missing = true;
    else {
      done += value.length;
      onProgress?.(done, manifest.storedSize);
    }
    return value ?? Buffer.alloc(0);
  });
  if (missing) return undefined;
  const stored = Buffer.concat(parts);
  if (stored.length !== manifest.storedSize || sha256Hex(stored) !== manifest.id) {
    throw new VerifyError(
      'checksum-mismatch',
      `the chunks of ${layout.chunkDir(manifest.id)} do not add up to the version they are stored under (corrupted)`,
    );
  }
  return stored;
}

const VERSION_DIR = /^[0-9a-f]{64}\/$/;
/** Deletions per cleanup transaction: with the index check, within Consul < 1.14's limit of 64 operations. */
const TXN_DELETE_BATCH = 60;

/**
 * Deletes every version directory of the key except `keepId`, provided `data` still has `dataIndex` (the
 * cleaner's own commit). Returns how many directories were removed; `0` when a newer commit overtook.
 */
export async function cleanupChunks(
  consul: Consul,
  layout: KeyLayout,
  keepId: string | undefined,
  dataIndex: bigint,
  signal?: AbortSignal,
): Promise<number> {
  const opts = signal === undefined ? {} : { signal };
  const { value: entries } = await consul.kv.keys(layout.chunksRoot, { ...opts, separator: '/' });
  const stale = entries
    .filter((k) => k.startsWith(layout.chunksRoot))
    .map((k) => k.slice(layout.chunksRoot.length))
    .filter((rest) => VERSION_DIR.test(rest) && rest !== `${keepId}/`);
  let removed = 0;
  for (let i = 0; i < stale.length; i += TXN_DELETE_BATCH) {
    const ops: TxnKvOp[] = [{ verb: 'check-index', key: layout.data, index: dataIndex }];
    for (const rest of stale.slice(i, i + TXN_DELETE_BATCH)) ops.push({ verb: 'delete-tree', key: `${layout.chunksRoot}${rest}` });
    try {
      await consul.txn.execute(ops, opts);
    } catch (err) {
      if (err instanceof TxnConflictError && permissionDeniedInTxn(err) === undefined) return removed;
      rethrowTxnDenial(err);
    }
    removed += ops.length - 1;
  }
  return removed;
}
