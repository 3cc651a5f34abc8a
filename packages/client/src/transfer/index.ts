/**
 * The kvx file-transport pipeline: a drop-in, safer kvexpress as a library. `publish` (kvx in), `deliver`
 * (kvx out), `watchAndDeliver` (a long-running delivery loop), the other verbs (`raw`, `copy`, `stop`,
 * `start`, `pin`, `unpin`, `clean`, `status`, `diffFile`), and the pure pieces they are built from.
 *
 * @module
 */

export * from './errors.js';
export { exitCodeFor, INTERNAL_EXIT_CODE } from './exit-code.js';
export { EMPTY_SHA256, sha256Hex, sha256File, checksumsEqual } from './checksum.js';
export { lineCount, longEnough, sortLines } from './lines.js';
export { KeyLayout, DataFlags, DEFAULT_PREFIX, normalizeKey, normalizePrefix, pinKey } from './layout.js';
export { encodeContent, decodeValue, brotli, type Encoding, type EncodedValue, type DecodedValue } from './codec.js';
export { MANIFEST_FORMAT, formatManifest, parseManifest, type ChunkManifest } from './chunk-manifest.js';
export { parseMeta, type VersionMeta } from './meta.js';
export { splitShellWords, shellQuote } from './shell-words.js';
export { runCommand, commandArgv, describeArgv, type Command, type CommandResult, type RunCommandOptions } from './exec.js';
export { resolveOwner, type FileOwner } from './owner.js';
export {
  writeFileAtomic,
  repairAttributes,
  leftoverTempFiles,
  DEFAULT_FILE_MODE,
  type AtomicWriteOptions,
  type AttributeRepair,
} from './atomic-write.js';
export { unifiedDiff, isBinary, type UnifiedDiffOptions, type DiffOutcome, type NoDiffReason } from './unified-diff.js';
export { SILENT, type LogLevel, type TransferLogger } from './logger.js';
export {
  TransferMetrics,
  NO_TRANSFER_METRICS,
  type TransferMetricsOptions,
  type CountMetric,
  type Direction,
  type AlertType,
} from './transfer-metrics.js';
export { DEFAULT_MIN_LINES, type TransferOptions } from './transfer-options.js';
export { readSnapshot, stopReason, storedChecksum, type KeySnapshot } from './snapshot.js';
export { readContent, type ReadContentOptions, type ResolvedContent } from './content-reader.js';
export { publish, txnRequestSize, CONSUL_VALUE_LIMIT, type PublishOptions, type PublishResult } from './publish.js';
export type { InstallOptions, InstallResult } from './file-install.js';
export { deliver, type DeliverOptions, type DeliverFileOptions, type DeliverResult } from './deliver.js';
export { watchAndDeliver, type WatchAndDeliverOptions, type WatchDelivery, type WatchTarget } from './watch-deliver.js';
export { raw, type RawOptions, type RawResult } from './raw.js';
export { copy, type CopyOptions } from './copy.js';
export { stop, start, type StopOptions, type StartOptions, type StopKeyResult } from './stop-key.js';
export { pin, unpin, pinNote, type PinOptions, type PinFileOptions, type PinResult } from './pin.js';
export { clean, type CleanOptions } from './clean.js';
export { status, type StatusOptions, type StatusResult, type FileStatus, type PinStatus } from './status.js';
export { diffFile, type DiffFileOptions, type DiffFileResult } from './diff-file.js';
