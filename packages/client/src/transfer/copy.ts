/**
 * `copy` (the CLI's `kvx copy`): promotes the verified content of one kvexpress key to another (kvexpress's
 * canary → everyone tool). The source is read and verified like `deliver` reads it (any encoding, chunked
 * included; line count and checksum must pass), then published to the destination with `publish`'s atomic
 * commit — so, unlike kvexpress, the destination's data and checksum change together and its stop key is
 * honoured. The source's stop key is not checked (a stopped canary can still be promoted), as in kvexpress.
 * The destination keeps the source's encoding unless `compress` says otherwise.
 *
 * @module
 */

import type { Consistency } from '../api/types.js';
import { readContent } from './content-reader.js';
import { KeyLayout } from './layout.js';
import { SILENT } from './logger.js';
import { publish, type PublishResult } from './publish.js';
import { readSnapshot } from './snapshot.js';
import { NO_TRANSFER_METRICS } from './transfer-metrics.js';
import { DEFAULT_MIN_LINES, integerOption, type TransferOptions } from './transfer-options.js';
import { verifyContent } from './verify.js';

/** Options of {@link copy}. */
export interface CopyOptions extends TransferOptions {
  /** Source kvexpress key (`--keyfrom`). */
  from: string;
  /** Destination kvexpress key (`--keyto`). */
  to: string;
  /** Store the destination as brotli (`true`) or plain (`false`). Default: the source's encoding. */
  compress?: boolean;
  /** Also recognise legacy gzip+base64 in the source (`-z`). Default: `false`. */
  legacy?: boolean;
  /** Minimum kvexpress line count of the source (`--length`). Default: `10`. */
  minLines?: number;
  /** Consistency of the source read. Default: the client's. */
  consistency?: Consistency;
}

/** Copies `from` to `to` (see the module documentation). */
export async function copy(options: CopyOptions): Promise<PublishResult> {
  const metrics = options.metrics ?? NO_TRANSFER_METRICS;
  const logger = options.logger ?? SILENT;
  const source = new KeyLayout(options.from, options.prefix);
  const destination = new KeyLayout(options.to, options.prefix);
  const minLines = integerOption('minLines', options.minLines, DEFAULT_MIN_LINES);
  const query = {
    ...(options.consistency === undefined ? {} : { consistency: options.consistency }),
    ...(options.signal === undefined ? {} : { signal: options.signal }),
  };
  const snapshot = await readSnapshot(options.consul, source, query);
  const resolved = await readContent(options.consul, snapshot, { ...query, compress: options.legacy ?? false });
  verifyContent(resolved, { minLines, minBytes: 0 }, metrics, logger, 'copy');
  const result = await publish({
    consul: options.consul,
    key: destination.key,
    prefix: destination.prefix,
    content: resolved.content,
    compress: options.compress ?? resolved.encoding === 'brotli',
    minLines,
    source: `${source.prefix === '' ? '' : `${source.prefix}/`}${source.key}`,
    metrics,
    logger,
    direction: 'copy',
    ...(options.signal === undefined ? {} : { signal: options.signal }),
  });
  if (result.status === 'updated') {
    metrics.event('success', `Copy: ${source.key} to ${destination.key}`, `Copy: ${source.key} to ${destination.key}`, 'info', 'copy', destination.key);
  }
  return result;
}
