/**
 * `publish` (the CLI's `kvx in`): puts content into Consul in the kvexpress layout.
 *
 * 1. The input is checked like kvexpress `in`: optional `sorted` transformation, not empty, at least
 *    `minLines` lines (and `minBytes` bytes). Failures are {@link InputError}s: nothing is sent.
 * 2. One recursive read of `<prefix>/<key>/` gives stop, checksum, data and meta at one index. A stop key
 *    refuses the publish ({@link StoppedError}). When Consul already holds this content (same checksum, and the
 *    data really decodes to it) nothing is written: "unchanged" is decided by what Consul holds, not by a local
 *    `.last` file, so a failed upload is never mistaken for a done one.
 * 3. Data, checksum and meta are committed in ONE transaction, each with `cas` on the index this writer read,
 *    plus `check-not-exists`/`check-index` on the stop key: readers never see new data with an old checksum,
 *    and a concurrent writer (or a stop set meanwhile) makes the commit fail instead of interleaving. On a
 *    conflict the key is read again: the same content there means done; a stop means stopped; otherwise the
 *    commit is retried (`onConflict: 'retry'`, up to `maxAttempts`) or a {@link ConflictError} is thrown.
 * 4. Content whose transaction would exceed Consul's request limit (512 KiB including base64's 4/3, i.e. about
 *    380 KiB of value) is chunked (chunk-store.ts); the manifest then goes into `data` with flags 2.
 * 5. Only after Consul acknowledged: metrics and the update event (with a diff), kvexpress's `.compare`/`.last`
 *    side files when asked for (`sideFiles`), the cleanup of replaced chunk versions, and `exec`.
 *
 * `exec` runs only when Consul was updated (kvexpress also ran it when Consul already matched but its local
 * `.last` did not; kvx has no local state, so "unchanged" never runs it).
 *
 * @module
 */

import type { Consul } from '../consul.js';
import { InvalidArgumentError, TxnConflictError } from '../errors.js';
import type { TxnKvOp } from '../api/types.js';
import { writeFileAtomic, checkMode, DEFAULT_FILE_MODE } from './atomic-write.js';
import { sha256Hex } from './checksum.js';
import { formatManifest, parseManifest } from './chunk-manifest.js';
import { cleanupChunks, writeChunks, type WrittenChunks } from './chunk-store.js';
import { decodeValue, encodeContent, type EncodedValue } from './codec.js';
import { ConflictError, InputError, permissionDeniedInTxn, rethrowTxnDenial, StoppedError } from './errors.js';
import { commandArgv, type Command, type CommandResult } from './exec.js';
import { runExec } from './hooks.js';
import { DataFlags, KeyLayout } from './layout.js';
import { lineCount, sortLines } from './lines.js';
import { SILENT } from './logger.js';
import { buildMeta } from './meta.js';
import { resolveOwner, type FileOwner } from './owner.js';
import { readSnapshot, stopReason, storedChecksum, type KeySnapshot } from './snapshot.js';
import { NO_TRANSFER_METRICS, type Direction } from './transfer-metrics.js';
import {
  contentBytes,
  DEFAULT_MIN_LINES,
  durationOption,
  integerOption,
  type TransferOptions,
} from './transfer-options.js';
import { unifiedDiff, type DiffOutcome } from './unified-diff.js';

/** Consul's default `kv_max_value_size` and `txn_max_req_len`. */
export const CONSUL_VALUE_LIMIT = 524_288;

/** Options of {@link publish}. */
export interface PublishOptions extends TransferOptions {
  /** The kvexpress key (`-k`). */
  key: string;
  /** The content (a string is UTF-8). */
  content: Buffer | string;
  /** Store brotli (flags 1, kvexpress v1.16 `-z`) instead of plain (flags 0). Default: `false`. */
  compress?: boolean;
  /** Apply kvexpress's `--sorted` transformation first (see `sortLines`). Default: `false`. */
  sorted?: boolean;
  /** Minimum kvexpress line count (`--length`). Default: `10`. */
  minLines?: number;
  /** Minimum size in bytes. Default: `1` (empty content is always refused). */
  minBytes?: number;
  /** Commit even when Consul already holds this content. Default: `false`. */
  force?: boolean;
  /** What to do when another writer changed the key between read and commit. Default: `'retry'`. */
  onConflict?: 'retry' | 'fail';
  /** Commit attempts before a {@link ConflictError}. Default: `5`. */
  maxAttempts?: number;
  /** Largest value the agent accepts (`kv_max_value_size`): the chunk size. Default: `524288`. */
  maxValueSize?: number;
  /** Largest transaction request the agent accepts (`txn_max_req_len`). Default: `524288`. */
  maxTxnSize?: number;
  /** Chunk uploads in flight. Default: `4`. */
  chunkConcurrency?: number;
  /** Where the content came from, recorded in meta and logs (a path, URL, `stdin`). Default: none. */
  source?: string;
  /**
   * Path whose kvexpress side files `<path>.compare` and `<path>.last` are written (both = the published
   * content) after Consul acknowledged, for tools that read them. kvx itself never reads them.
   * Default: none written.
   */
  sideFiles?: string;
  /** Mode of the side files. Default: `0o640`. */
  sideFileMode?: number;
  /** Owner of the side files (`user[:group]` or ids). Default: the current user. */
  owner?: string | FileOwner;
  /** Command run after Consul was updated. Default: none. */
  exec?: Command;
  /** Run `exec` through `/bin/sh -c`. Default: `false`. */
  shell?: boolean;
  /** Timeout of `exec`, in ms. Default: `60000`. */
  execTimeout?: number;
  /** Direction tag of metrics. Default: `in` (`copy` uses `copy`). */
  direction?: Direction;
  /**
   * Called with the stored bytes sent so far and their total: after each chunk of chunked content, and once
   * after the commit of an inline value. Not called when Consul already held the content. Default: none.
   */
  onProgress?: (done: number, total: number) => void;
}

/** What {@link publish} did. */
export interface PublishResult {
  /** `updated`: this call committed; `unchanged`: Consul already held this content. */
  status: 'updated' | 'unchanged';
  /** The normalised key. */
  key: string;
  /** The checksum of the content. */
  checksum: string;
  /** The checksum Consul held before, if any. */
  previousChecksum: string | undefined;
  /** Content size in bytes. */
  size: number;
  /** Stored size in bytes (compressed size; all chunks). */
  storedSize: number;
  /** kvexpress line count. */
  lines: number;
  /** How the content is stored. */
  encoding: 'plain' | 'brotli';
  /** Number of chunks (`0`: inline in `data`). */
  chunks: number;
  /** ModifyIndex of `data` after the commit (or of the unchanged data). */
  index: bigint;
  /** Commit attempts made. */
  attempts: number;
  /** The exec command's outcome, when one ran. */
  exec: CommandResult | undefined;
}

function byteLength(value: Buffer | string | undefined): number {
  if (value === undefined) return 0;
  return typeof value === 'string' ? Buffer.byteLength(value) : value.length;
}

/** Upper bound of the JSON body Consul receives for `ops` (values travel base64-encoded). */
export function txnRequestSize(ops: readonly TxnKvOp[]): number {
  return ops.reduce((n, op) => n + 120 + JSON.stringify(op.key).length + 4 * Math.ceil(byteLength(op.value) / 3), 2);
}

/**
 * Does the snapshot already hold exactly this content? The checksum must match and the data must really be
 * it: inline data is decoded and hashed; a chunked version's manifest must name this checksum and all its
 * chunks must exist.
 */
async function holdsContent(consul: Consul, snapshot: KeySnapshot, checksum: string, signal: { signal?: AbortSignal }): Promise<boolean> {
  const { data, layout } = snapshot;
  if (storedChecksum(snapshot) !== checksum || data === undefined) return false;
  try {
    if (data.flags === DataFlags.CHUNKED) {
      const manifest = parseManifest(layout.data, data.value);
      if (manifest.sha256 !== checksum) return false;
      const { value: keys } = await consul.kv.keys(layout.chunkDir(manifest.id), signal);
      const present = new Set(keys);
      return Array.from({ length: manifest.chunks }, (_, n) => layout.chunk(manifest.id, n)).every((k) => present.has(k));
    }
    if (data.flags !== DataFlags.PLAIN && data.flags !== DataFlags.BROTLI) return false;
    return sha256Hex((await decodeValue(layout.data, data.value, data.flags, true)).content) === checksum;
  } catch {
    return false;
  }
}

/** The old content for the update event's diff, when it is inline and decodable. */
async function previousContent(snapshot: KeySnapshot): Promise<Buffer | undefined> {
  const { data, layout } = snapshot;
  if (data === undefined || (data.flags !== DataFlags.PLAIN && data.flags !== DataFlags.BROTLI)) return undefined;
  try {
    return (await decodeValue(layout.data, data.value, data.flags, true)).content;
  } catch {
    return undefined;
  }
}

/** Stored size, encoding and chunk count of the data a snapshot holds. */
function storedForm(snapshot: KeySnapshot): Pick<PublishResult, 'storedSize' | 'encoding' | 'chunks'> {
  const { data, layout } = snapshot;
  if (data?.flags === DataFlags.CHUNKED) {
    const manifest = parseManifest(layout.data, data.value);
    return { storedSize: manifest.storedSize, encoding: manifest.encoding, chunks: manifest.chunks };
  }
  return { storedSize: data?.value.length ?? 0, encoding: data?.flags === DataFlags.BROTLI ? 'brotli' : 'plain', chunks: 0 };
}

/** Writes the whole pipeline described in the module documentation. */
export async function publish(options: PublishOptions): Promise<PublishResult> {
  const started = performance.now();
  const { consul } = options;
  const layout = new KeyLayout(options.key, options.prefix);
  const metrics = options.metrics ?? NO_TRANSFER_METRICS;
  const logger = options.logger ?? SILENT;
  const direction = options.direction ?? 'in';
  const minLines = integerOption('minLines', options.minLines, DEFAULT_MIN_LINES);
  const minBytes = integerOption('minBytes', options.minBytes, 1);
  const maxAttempts = integerOption('maxAttempts', options.maxAttempts, 5, 1);
  const maxValueSize = integerOption('maxValueSize', options.maxValueSize, CONSUL_VALUE_LIMIT, 1024);
  const maxTxnSize = integerOption('maxTxnSize', options.maxTxnSize, CONSUL_VALUE_LIMIT, 4096);
  const chunkConcurrency = integerOption('chunkConcurrency', options.chunkConcurrency, 4, 1);
  const execTimeout = durationOption('execTimeout', options.execTimeout, 60_000);
  const sideFileMode = checkMode(options.sideFileMode ?? DEFAULT_FILE_MODE);
  const onConflict = options.onConflict ?? 'retry';
  if (onConflict !== 'retry' && onConflict !== 'fail') throw new InvalidArgumentError(`onConflict must be "retry" or "fail"`);
  // Parsed now: a command that could never run must fail before the commit, not after it.
  if (options.exec !== undefined) commandArgv(options.exec, options.shell ?? false);
  const owner = options.owner === undefined ? undefined : await resolveOwner(options.owner);
  const signal = options.signal === undefined ? {} : { signal: options.signal };

  let content = contentBytes(options.content);
  if (options.sorted) content = sortLines(content);
  const lines = lineCount(content);
  if (content.length === 0) {
    metrics.time(direction, layout.key, 'error_no_data', started);
    throw new InputError('empty', `the input for "${layout.key}" is empty; nothing was published`);
  }
  if (lines < minLines) {
    metrics.count('not_long_enough', direction, layout.key, 'not_long_enough');
    metrics.event('length', `Not long enough: ${layout.key}. Stopping.`, `${lines} lines, minimum ${minLines}`, 'error', direction, layout.key, 'not_long_enough');
    metrics.time(direction, layout.key, 'not_long_enough', started);
    throw new InputError('too-short', `the input for "${layout.key}" has ${lines} lines, fewer than the minimum ${minLines}`);
  }
  if (content.length < minBytes) {
    throw new InputError('too-small', `the input for "${layout.key}" has ${content.length} bytes, fewer than the minimum ${minBytes}`);
  }
  const checksum = sha256Hex(content);
  const log = { key: layout.key, checksum, size: content.length, source: options.source };

  let encoded: EncodedValue | undefined;
  for (let attempt = 1; ; attempt++) {
    const snapshot = await readSnapshot(consul, layout, signal);
    const reason = stopReason(snapshot);
    if (reason !== undefined) {
      metrics.count('stopped', direction, layout.key, 'stop_key');
      metrics.event('stop', `Stop key is present: ${layout.stop}. Stopping.`, reason, 'error', direction, layout.key, 'stop_key');
      metrics.time(direction, layout.key, 'stop_key', started);
      throw new StoppedError(layout.key, layout.stop, reason);
    }
    if ((!options.force || attempt > 1) && (await holdsContent(consul, snapshot, checksum, signal))) {
      logger('info', attempt === 1 ? 'Consul already holds this content' : 'another writer committed this content', log);
      metrics.count('unchanged', direction, layout.key, 'consul_checksums_match');
      metrics.time(direction, layout.key, 'consul_checksums_match', started);
      if (options.sideFiles !== undefined) await writeSideFiles(options.sideFiles, content, sideFileMode, owner);
      const stored = storedForm(snapshot);
      return {
        status: 'unchanged',
        key: layout.key,
        checksum,
        previousChecksum: checksum,
        size: content.length,
        ...stored,
        lines,
        index: snapshot.data?.modifyIndex ?? 0n,
        attempts: attempt,
        exec: undefined,
      };
    }
    if (attempt > 1 && onConflict === 'fail') throw new ConflictError(layout.key, attempt - 1);
    if (attempt > maxAttempts) throw new ConflictError(layout.key, maxAttempts);

    encoded ??= await encodeContent(content, options.compress ?? false, options.signal);
    const stored = encoded;
    const commit = (value: Buffer, flags: bigint, chunks: number): TxnKvOp[] => [
      { verb: 'cas', key: layout.data, value, flags, index: snapshot.data?.modifyIndex ?? 0n },
      { verb: 'cas', key: layout.checksum, value: checksum, index: snapshot.checksum?.modifyIndex ?? 0n },
      {
        verb: 'cas',
        key: layout.meta,
        value: JSON.stringify(
          buildMeta({
            sha256: checksum,
            size: content.length,
            storedSize: stored.value.length,
            encoding: stored.encoding,
            lines,
            chunks,
            ...(options.source === undefined ? {} : { source: options.source }),
          }),
        ),
        index: snapshot.meta?.modifyIndex ?? 0n,
      },
      snapshot.stop === undefined
        ? { verb: 'check-not-exists', key: layout.stop }
        : { verb: 'check-index', key: layout.stop, index: snapshot.stop.modifyIndex },
    ];
    let ops = commit(stored.value, stored.flags, 0);
    let chunked: WrittenChunks | undefined;
    if (stored.value.length > maxValueSize || txnRequestSize(ops) > maxTxnSize) {
      // Uploaded again on every attempt: the writer that beat a previous attempt may have cleaned its chunks up.
      chunked = await writeChunks(consul, layout, stored.value, {
        encoding: stored.encoding === 'brotli' ? 'brotli' : 'plain',
        size: content.length,
        sha256: checksum,
        chunkSize: maxValueSize,
        concurrency: chunkConcurrency,
        signal: options.signal,
        onProgress: options.onProgress,
      });
      ops = commit(formatManifest(chunked.manifest), DataFlags.CHUNKED, chunked.manifest.chunks);
      ops.push({ verb: 'check-index', key: layout.guard(chunked.manifest.id), index: chunked.guardIndex });
      logger('debug', 'uploaded chunks', { ...log, id: chunked.manifest.id, chunks: chunked.manifest.chunks });
    }
    let dataIndex: bigint;
    try {
      const { results } = await consul.txn.execute(ops, signal);
      dataIndex = results[0]?.modifyIndex ?? 0n;
    } catch (err) {
      if (!(err instanceof TxnConflictError) || permissionDeniedInTxn(err) !== undefined) {
        metrics.count('consul_error', direction, layout.key, 'set');
        rethrowTxnDenial(err);
      }
      metrics.count('conflict', direction, layout.key, 'commit');
      logger('warn', 'commit conflicted with another writer; reading again', { ...log, attempt, errors: err.errors });
      continue;
    }

    const chunks = chunked?.manifest.chunks ?? 0;
    if (chunked === undefined) options.onProgress?.(stored.value.length, stored.value.length);
    logger('info', 'published', { ...log, storedSize: stored.value.length, encoding: stored.encoding, chunks, index: dataIndex, attempt });
    try {
      const removed = await cleanupChunks(consul, layout, chunked?.manifest.id, dataIndex, options.signal);
      if (removed > 0) logger('debug', 'removed replaced chunk versions', { key: layout.key, removed });
    } catch (err) {
      logger('warn', 'could not remove replaced chunk versions; the next publish retries', { key: layout.key, error: String(err) });
    }
    metrics.published(direction, layout.key, stored.value.length, lines);
    const previousChecksum = storedChecksum(snapshot);
    let diff: DiffOutcome | undefined;
    if (metrics.wantsDiff) {
      const old = await previousContent(snapshot);
      diff = old === undefined && snapshot.data !== undefined ? { skipped: 'too-large' } : unifiedDiff(layout.data, layout.data, old, content);
    }
    metrics.event('success', `Updated: ${layout.data}`, metrics.updateText(previousChecksum, checksum, diff), 'info', direction, layout.key);
    if (options.sideFiles !== undefined) await writeSideFiles(options.sideFiles, content, sideFileMode, owner);
    let exec: CommandResult | undefined;
    if (options.exec !== undefined) {
      try {
        exec = await runExec(
          { command: options.exec, shell: options.shell ?? false, timeout: execTimeout },
          { KVX_KEY: layout.key, KVX_FILE: options.sideFiles ?? '', KVX_CHECKSUM: checksum, KVX_PREVIOUS_CHECKSUM: previousChecksum ?? '' },
          logger,
          options.signal,
        );
      } catch (err) {
        metrics.count('exec_failed', direction, layout.key, 'exec');
        throw err;
      }
    }
    metrics.time(direction, layout.key, 'complete', started);
    return {
      status: 'updated',
      key: layout.key,
      checksum,
      previousChecksum,
      size: content.length,
      storedSize: stored.value.length,
      lines,
      encoding: stored.encoding === 'brotli' ? 'brotli' : 'plain',
      chunks,
      index: dataIndex,
      attempts: attempt,
      exec,
    };
  }
}

/** kvexpress's side files, written only after Consul acknowledged: `<path>.compare` and `<path>.last`. */
async function writeSideFiles(path: string, content: Buffer, mode: number, owner: FileOwner | undefined): Promise<void> {
  const opts = owner === undefined ? { mode } : { mode, owner };
  await writeFileAtomic(`${path}.compare`, content, opts);
  await writeFileAtomic(`${path}.last`, content, opts);
}
