/**
 * Turns a key snapshot into the file's content: decodes plain, brotli and legacy gzip+base64 values, and
 * fetches chunked versions pinned to the manifest that was read. When a chunk has vanished (the version was
 * replaced and cleaned up while it was being read), the snapshot is read again and the read starts over, so a
 * reader gets one complete version or the other, never a mix.
 *
 * @module
 */

import type { Consul } from '../consul.js';
import type { Consistency } from '../api/types.js';
import { parseManifest, type ChunkManifest } from './chunk-manifest.js';
import { readChunks } from './chunk-store.js';
import { decodeValue, type Encoding } from './codec.js';
import { UnknownEncodingError, VerifyError } from './errors.js';
import { DataFlags } from './layout.js';
import { readSnapshot, type KeySnapshot } from './snapshot.js';
import { sleep } from '../transport/rate-limit.js';

/** Options of {@link readContent}. */
export interface ReadContentOptions {
  /** Also recognise kvexpress ≤ 1.15 gzip+base64 in flags-0 values (the CLI's `-z`). Default: `false`. */
  compress?: boolean;
  /**
   * Consistency of the snapshot's own reads. Chunks, and snapshots read again after a chunk went missing, are
   * always read with default consistency (from the leader), so a lagging server cannot make a freshly
   * committed version look incomplete. Default: the client's.
   */
  consistency?: Consistency;
  /** Chunk reads in flight. Default: `4`. */
  chunkConcurrency?: number;
  /** How many times a vanished chunked version is re-read before giving up. Default: `5`. */
  maxRereads?: number;
  /** Abandons the read (its requests included). Default: none. */
  signal?: AbortSignal;
  /** Called with the stored bytes read so far and their total: per chunk, or once for an inline value. */
  onProgress?: (done: number, total: number) => void;
}

/** The content of a snapshot. */
export interface ResolvedContent {
  /** The snapshot the content belongs to (a newer one than given when a chunked version was replaced). */
  snapshot: KeySnapshot;
  /** The decoded content. */
  content: Buffer;
  /** How it was stored. */
  encoding: Encoding;
  /** Bytes stored in Consul (all chunks for a chunked version). */
  storedSize: number;
  /** The manifest, for a chunked version. */
  manifest: ChunkManifest | undefined;
}

/** Reads the content of `snapshot` (see the module documentation). */
export async function readContent(consul: Consul, snapshot: KeySnapshot, options: ReadContentOptions = {}): Promise<ResolvedContent> {
  const compress = options.compress ?? false;
  const maxRereads = options.maxRereads ?? 5;
  const query = { consistency: 'default' as const, ...(options.signal === undefined ? {} : { signal: options.signal }) };
  let current = snapshot;
  for (let reread = 0; ; reread++) {
    const { data, layout } = current;
    if (data === undefined) {
      throw new VerifyError('missing', `${layout.data} does not exist: nothing was published under "${layout.key}"`);
    }
    if (data.flags === DataFlags.PLAIN || data.flags === DataFlags.BROTLI) {
      const decoded = await decodeValue(layout.data, data.value, data.flags, compress);
      options.onProgress?.(data.value.length, data.value.length);
      return { snapshot: current, ...decoded, storedSize: data.value.length, manifest: undefined };
    }
    if (data.flags !== DataFlags.CHUNKED) throw new UnknownEncodingError(layout.data, data.flags);
    const manifest = parseManifest(layout.data, data.value);
    const stored = await readChunks(consul, layout, manifest, {
      ...query,
      concurrency: options.chunkConcurrency ?? 4,
      onProgress: options.onProgress,
    });
    if (stored !== undefined) {
      const decoded = await decodeValue(layout.data, stored, manifest.encoding === 'brotli' ? DataFlags.BROTLI : DataFlags.PLAIN, false);
      return { snapshot: current, content: decoded.content, encoding: decoded.encoding, storedSize: stored.length, manifest };
    }
    if (reread >= maxRereads) {
      throw new VerifyError('undecodable', `chunks of ${layout.chunkDir(manifest.id)} kept vanishing while being read`, {
        retryable: true,
      });
    }
    await sleep(50 * (reread + 1), options.signal);
    current = await readSnapshot(consul, layout, query);
  }
}
