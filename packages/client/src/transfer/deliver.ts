/**
 * `deliver` (the CLI's `kvx out`): writes the content of a kvexpress key to a file.
 *
 * 1. **Pin**: `<prefix>/locks/<sha256(path)>/<host>` non-empty → {@link PinnedError}; even `ignoreStop` does
 *    not override it (kvexpress T_36).
 * 2. **Stop**: `<prefix>/<key>/stop` non-empty → {@link StoppedError}, unless `ignoreStop`.
 * 3. **Read and verify**: one recursive read gives data and checksum at one index; plain, brotli, legacy
 *    gzip+base64 (with `compress`) and chunked content are decoded by their flags; the line count, size and
 *    checksum must pass ({@link VerifyError}; unknown flags are an {@link UnknownEncodingError}).
 * 4. **Install** (file-install.ts): an unchanged file is not rewritten and its command does not run, but a
 *    drifted mode or owner is repaired; otherwise an atomic write with `validate` on the staged temp file,
 *    then `exec` after a random `splay` delay.
 *
 * {@link FileDelivery} holds one file's prepared options; `deliver` and `watchAndDeliver` share it.
 *
 * @module
 */

import { hostname as osHostname } from 'node:os';

import type { Consul } from '../consul.js';
import type { Consistency } from '../api/types.js';
import type { Encoding } from './codec.js';
import { readContent } from './content-reader.js';
import { PinnedError, StoppedError } from './errors.js';
import { FileInstaller, type InstallOptions, type InstallResult } from './file-install.js';
import { KeyLayout, pinKey } from './layout.js';
import { SILENT, type TransferLogger } from './logger.js';
import { readSnapshot, stopReason, type KeySnapshot } from './snapshot.js';
import { NO_TRANSFER_METRICS, type Direction, type TransferMetrics } from './transfer-metrics.js';
import { DEFAULT_MIN_LINES, integerOption, type TransferOptions } from './transfer-options.js';
import { verifyContent } from './verify.js';

/** What to deliver where, and how (shared by {@link deliver} and the targets of `watchAndDeliver`). */
export interface DeliverFileOptions extends InstallOptions {
  /** The kvexpress key (`-k`). */
  key: string;
  /** Also recognise kvexpress ≤ 1.15 gzip+base64 in flags-0 values (`-z`). Default: `false`. */
  compress?: boolean;
  /** Minimum kvexpress line count (`--length`). Default: `10`. */
  minLines?: number;
  /** Minimum size in bytes. Default: `0`. */
  minBytes?: number;
  /** Deliver even when the stop key is set (`--ignore_stop`); a pin still wins. Default: `false`. */
  ignoreStop?: boolean;
  /** Chunk reads in flight for chunked content. Default: `4`. */
  chunkConcurrency?: number;
}

/** Options of {@link deliver}. */
export interface DeliverOptions extends TransferOptions, DeliverFileOptions {
  /** Host name of the pin key. Default: `os.hostname()`. */
  hostname?: string;
  /** Consistency of the reads. Default: the client's. */
  consistency?: Consistency;
  /**
   * Called with the stored bytes read so far and their total: after each chunk of chunked content, and once
   * for an inline value. Default: none.
   */
  onProgress?: (done: number, total: number) => void;
}

/** What a delivery did. */
export interface DeliverResult extends InstallResult {
  /** The normalised key. */
  key: string;
  /** The checksum of the delivered content. */
  checksum: string;
  /** Content size in bytes. */
  size: number;
  /** How the content was stored in Consul. */
  encoding: Encoding;
  /** Number of chunks it was stored in (`0`: inline). */
  chunks: number;
  /** ModifyIndex of the data key that was delivered. */
  index: bigint;
}

/** The context a {@link FileDelivery} runs in. */
export interface DeliveryContext {
  consul: Consul;
  prefix: string | undefined;
  metrics: TransferMetrics;
  logger: TransferLogger;
  hostname: string;
  consistency: Consistency | undefined;
  direction: Direction;
}

/** One file's delivery, with its options checked and its owner resolved once. */
export class FileDelivery {
  /** KV paths of the key. */
  readonly layout: KeyLayout;
  /** This host's pin key of the target. */
  readonly pinKey: string;
  private readonly minLines: number;
  private readonly minBytes: number;
  private readonly chunkConcurrency: number;

  private constructor(
    private readonly options: DeliverFileOptions,
    private readonly installer: FileInstaller,
    private readonly ctx: DeliveryContext,
  ) {
    this.layout = new KeyLayout(options.key, ctx.prefix);
    this.pinKey = pinKey(installer.file, ctx.hostname, ctx.prefix);
    this.minLines = integerOption('minLines', options.minLines, DEFAULT_MIN_LINES);
    this.minBytes = integerOption('minBytes', options.minBytes, 0);
    this.chunkConcurrency = integerOption('chunkConcurrency', options.chunkConcurrency, 4, 1);
  }

  /** Checks the options and resolves the owner (throws `InvalidArgumentError` on bad options). */
  static async prepare(options: DeliverFileOptions, ctx: DeliveryContext): Promise<FileDelivery> {
    return new FileDelivery(options, await FileInstaller.prepare(options), ctx);
  }

  /** Absolute path of the target. */
  get file(): string {
    return this.installer.file;
  }

  /**
   * Delivers the content a snapshot describes. `pin` is this host's pin reason (`undefined`: not pinned).
   * Throws the typed errors of the module documentation.
   */
  async apply(
    snapshot: KeySnapshot,
    pin: string | undefined,
    signal?: AbortSignal,
    onProgress?: (done: number, total: number) => void,
  ): Promise<DeliverResult> {
    const started = performance.now();
    const { consul, metrics, logger, direction } = this.ctx;
    const { key } = this.layout;
    if (pin !== undefined) {
      metrics.count('locked', direction, this.file);
      metrics.time(direction, key, 'lock_key', started);
      throw new PinnedError(this.file, this.pinKey, pin);
    }
    const stop = stopReason(snapshot);
    if (stop !== undefined && !this.options.ignoreStop) {
      metrics.count('stopped', direction, key, 'stop_key');
      metrics.time(direction, key, 'stop_key', started);
      throw new StoppedError(key, this.layout.stop, stop);
    }
    const resolved = await readContent(consul, snapshot, {
      ...(this.ctx.consistency === undefined ? {} : { consistency: this.ctx.consistency }),
      ...(signal === undefined ? {} : { signal }),
      ...(onProgress === undefined ? {} : { onProgress }),
      compress: this.options.compress ?? false,
      chunkConcurrency: this.chunkConcurrency,
    });
    const checksum = verifyContent(resolved, { minLines: this.minLines, minBytes: this.minBytes }, metrics, logger, direction);
    const installed = await this.installer.install(resolved.content, checksum, {
      key,
      direction,
      writtenMetric: 'out',
      metrics,
      logger,
      signal,
    });
    if (installed.status === 'written') metrics.time(direction, key, 'complete', started);
    return {
      ...installed,
      key,
      checksum,
      size: resolved.content.length,
      encoding: resolved.encoding,
      chunks: resolved.manifest?.chunks ?? 0,
      index: resolved.snapshot.data?.modifyIndex ?? 0n,
    };
  }
}

/** Reads this host's pin reason of a file (`undefined`: not pinned). */
export async function readPin(consul: Consul, key: string, options: { consistency?: Consistency; signal?: AbortSignal }): Promise<string | undefined> {
  const { value } = await consul.kv.get(key, options);
  return value === undefined || value.value.length === 0 ? undefined : value.value.toString('utf8');
}

/** Delivers one file once (see the module documentation). */
export async function deliver(options: DeliverOptions): Promise<DeliverResult> {
  const ctx: DeliveryContext = {
    consul: options.consul,
    prefix: options.prefix,
    metrics: options.metrics ?? NO_TRANSFER_METRICS,
    logger: options.logger ?? SILENT,
    hostname: options.hostname ?? osHostname(),
    consistency: options.consistency,
    direction: 'out',
  };
  const delivery = await FileDelivery.prepare(options, ctx);
  const query = {
    ...(options.consistency === undefined ? {} : { consistency: options.consistency }),
    ...(options.signal === undefined ? {} : { signal: options.signal }),
  };
  const [pin, snapshot] = await Promise.all([
    readPin(options.consul, delivery.pinKey, query),
    readSnapshot(options.consul, delivery.layout, query),
  ]);
  return delivery.apply(snapshot, pin, options.signal, options.onProgress);
}
