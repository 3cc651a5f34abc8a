/**
 * The reader's checks before anything is written, as kvexpress `out` runs them: the minimum line count and
 * the checksum (both evaluated, both counted), plus kvx's optional minimum size in bytes. A missing checksum
 * key is a mismatch.
 *
 * @module
 */

import { checksumsEqual, EMPTY_SHA256, sha256Hex } from './checksum.js';
import type { ResolvedContent } from './content-reader.js';
import { VerifyError } from './errors.js';
import { lineCount, longEnough as hasLines } from './lines.js';
import type { TransferLogger } from './logger.js';
import { storedChecksum } from './snapshot.js';
import type { Direction, TransferMetrics } from './transfer-metrics.js';

/** The limits content must meet. */
export interface ContentRules {
  /** Minimum kvexpress line count. */
  minLines: number;
  /** Minimum size in bytes. */
  minBytes: number;
}

/** Checks resolved content; returns its checksum, or throws {@link VerifyError}. */
export function verifyContent(
  resolved: ResolvedContent,
  rules: ContentRules,
  metrics: TransferMetrics,
  logger: TransferLogger,
  direction: Direction,
): string {
  const { layout } = resolved.snapshot;
  const actual = sha256Hex(resolved.content);
  const expected = storedChecksum(resolved.snapshot);
  const longEnough = hasLines(resolved.content, rules.minLines);
  const matches = expected !== undefined && checksumsEqual(actual, expected);
  if (actual === EMPTY_SHA256) {
    // kvx in never publishes nothing; an empty value was written by hand or by another tool, and a reader
    // that replaced a configuration file with nothing would break whatever reads it (kvexpress #87).
    logger('warn', 'content is empty (sha256 of nothing): refusing to deliver it', { key: layout.key });
    throw new VerifyError('empty', `${layout.data} is empty; kvx never delivers an empty file`);
  }
  if (!longEnough) metrics.count('not_long_enough', direction, layout.key, 'not_long_enough');
  if (!matches) metrics.count('checksum_mismatch', direction, layout.key, 'checksum_mismatch');
  if (!longEnough) {
    throw new VerifyError('too-short', `${layout.data} has ${lineCount(resolved.content)} lines, fewer than the minimum ${rules.minLines}`);
  }
  if (resolved.content.length < rules.minBytes) {
    throw new VerifyError('too-short', `${layout.data} has ${resolved.content.length} bytes, fewer than the minimum ${rules.minBytes}`);
  }
  if (!matches) {
    throw new VerifyError(
      'checksum-mismatch',
      expected === undefined
        ? `${layout.checksum} does not exist, so ${layout.data} cannot be verified`
        : `${layout.data} hashes to ${actual}, but ${layout.checksum} says ${expected}`,
    );
  }
  return actual;
}
