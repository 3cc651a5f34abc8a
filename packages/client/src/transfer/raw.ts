/**
 * `raw` (the CLI's `kvx raw`): writes any key's value verbatim to a file — no prefix, no checksum, no
 * decoding, no stop or pin check, like kvexpress `raw`. What kvx adds: the line-count check applies as in
 * kvexpress, a missing key is a {@link VerifyError} (kvexpress wrote an empty file when `-l 1` allowed it), and
 * the installation is kvx's (atomic, mode/owner enforced, validate). Unlike kvexpress, an unchanged file is
 * not rewritten and `exec` does not rerun unless `force` is set.
 *
 * @module
 */

import type { Consistency } from '../api/types.js';
import { InvalidArgumentError } from '../errors.js';
import { sha256Hex } from './checksum.js';
import { VerifyError } from './errors.js';
import { FileInstaller, type InstallOptions, type InstallResult } from './file-install.js';
import { lineCount } from './lines.js';
import { SILENT } from './logger.js';
import { NO_TRANSFER_METRICS } from './transfer-metrics.js';
import { DEFAULT_MIN_LINES, integerOption, type TransferOptions } from './transfer-options.js';

/** Options of {@link raw}. */
export interface RawOptions extends Omit<TransferOptions, 'prefix'>, InstallOptions {
  /** The full KV path (the prefix is not applied). */
  key: string;
  /** Minimum kvexpress line count (`--length`). Default: `10`. */
  minLines?: number;
  /** Minimum size in bytes. Default: `0`. */
  minBytes?: number;
  /** Consistency of the read. Default: the client's. */
  consistency?: Consistency;
}

/** What {@link raw} did. */
export interface RawResult extends InstallResult {
  /** The KV path that was read. */
  key: string;
  /** SHA-256 of the value. */
  checksum: string;
  /** Value size in bytes. */
  size: number;
  /** ModifyIndex of the key. */
  index: bigint;
}

/** Writes a key's value verbatim to a file (see the module documentation). */
export async function raw(options: RawOptions): Promise<RawResult> {
  const started = performance.now();
  const key = options.key.replace(/^\/+/, '');
  if (key === '') throw new InvalidArgumentError('raw needs a key');
  const metrics = options.metrics ?? NO_TRANSFER_METRICS;
  const logger = options.logger ?? SILENT;
  const minLines = integerOption('minLines', options.minLines, DEFAULT_MIN_LINES);
  const minBytes = integerOption('minBytes', options.minBytes, 0);
  const installer = await FileInstaller.prepare(options);
  const { value: pair } = await options.consul.kv.get(key, {
    ...(options.consistency === undefined ? {} : { consistency: options.consistency }),
    ...(options.signal === undefined ? {} : { signal: options.signal }),
  });
  if (pair === undefined) throw new VerifyError('missing', `${key} does not exist`);
  const lines = lineCount(pair.value);
  if (lines < minLines || pair.value.length < minBytes) {
    metrics.count('not_long_enough', 'raw', key, 'not_long_enough');
    throw new VerifyError(
      'too-short',
      `${key} has ${lines} lines and ${pair.value.length} bytes, fewer than the minimum ${minLines} lines / ${minBytes} bytes`,
    );
  }
  const checksum = sha256Hex(pair.value);
  const installed = await installer.install(pair.value, checksum, {
    key,
    direction: 'raw',
    writtenMetric: 'raw',
    metrics,
    logger,
    signal: options.signal,
  });
  if (installed.status === 'written') metrics.time('raw', key, 'complete', started);
  return { ...installed, key, checksum, size: pair.value.length, index: pair.modifyIndex };
}
