/**
 * `diffFile` (the CLI's `kvx diff`): what `deliver` would change, without changing it — the unified diff from
 * the file on disk to the verified content in Consul, whether mode or owner would be repaired, and whether a
 * stop key or a pin would hold the delivery back. Content that fails verification throws the same
 * {@link VerifyError} `deliver` would.
 *
 * @module
 */

import { readFile, stat } from 'node:fs/promises';
import { hostname as osHostname } from 'node:os';
import { resolve } from 'node:path';

import type { Consistency } from '../api/types.js';
import { checkMode, DEFAULT_FILE_MODE } from './atomic-write.js';
import { sha256Hex } from './checksum.js';
import { readContent } from './content-reader.js';
import { readPin } from './deliver.js';
import { assertRegularFile } from './errors.js';
import { KeyLayout, pinKey } from './layout.js';
import { SILENT } from './logger.js';
import { resolveOwner, type FileOwner } from './owner.js';
import { readSnapshot, stopReason } from './snapshot.js';
import { NO_TRANSFER_METRICS } from './transfer-metrics.js';
import { DEFAULT_MIN_LINES, integerOption, type TransferOptions } from './transfer-options.js';
import { unifiedDiff, type NoDiffReason, type UnifiedDiffOptions } from './unified-diff.js';
import { verifyContent } from './verify.js';

/** Options of {@link diffFile}. */
export interface DiffFileOptions extends TransferOptions, UnifiedDiffOptions {
  /** The kvexpress key. */
  key: string;
  /** The local file. */
  file: string;
  /** Also recognise legacy gzip+base64 (`-z`). Default: `false`. */
  compress?: boolean;
  /** Minimum kvexpress line count. Default: `10`. */
  minLines?: number;
  /** Minimum size in bytes. Default: `0`. */
  minBytes?: number;
  /** The mode `deliver` would enforce. Default: `0o640`. */
  mode?: number;
  /** The owner `deliver` would enforce. Default: none. */
  owner?: string | FileOwner;
  /** Host name of the pin key. Default: `os.hostname()`. */
  hostname?: string;
  /** Consistency of the reads. Default: the client's. */
  consistency?: Consistency;
}

/** What `deliver` would do. */
export interface DiffFileResult {
  /** The normalised key. */
  key: string;
  /** The absolute file path. */
  file: string;
  /** The content differs from the file (or the file does not exist). */
  changed: boolean;
  /** Checksum of the content in Consul. */
  checksum: string;
  /** Checksum of the file (`undefined`: no file). */
  fileChecksum: string | undefined;
  /** Unified diff file → Consul (`''` when equal); `undefined` when skipped. */
  patch: string | undefined;
  /** Why there is no patch. */
  skipped: NoDiffReason | undefined;
  /** Mode and owner `deliver` would repair. */
  drift: {
    /** The file's permission bits differ from the mode `deliver` would set. */
    mode: boolean;
    /** The file's owner or group differs from the one `deliver` would set. */
    owner: boolean;
  };
  /** The stop reason that would stop `deliver`. */
  stopReason: string | undefined;
  /** The pin reason that would hold `deliver`. */
  pinReason: string | undefined;
}

/** Computes what `deliver` would change (see the module documentation). */
export async function diffFile(options: DiffFileOptions): Promise<DiffFileResult> {
  const layout = new KeyLayout(options.key, options.prefix);
  const file = resolve(options.file);
  const mode = checkMode(options.mode ?? DEFAULT_FILE_MODE);
  const owner = options.owner === undefined ? undefined : await resolveOwner(options.owner);
  const minLines = integerOption('minLines', options.minLines, DEFAULT_MIN_LINES);
  const minBytes = integerOption('minBytes', options.minBytes, 0);
  const query = {
    ...(options.consistency === undefined ? {} : { consistency: options.consistency }),
    ...(options.signal === undefined ? {} : { signal: options.signal }),
  };
  const [pinReason, snapshot] = await Promise.all([
    readPin(options.consul, pinKey(file, options.hostname ?? osHostname(), options.prefix), query),
    readSnapshot(options.consul, layout, query),
  ]);
  const resolved = await readContent(options.consul, snapshot, { ...query, compress: options.compress ?? false });
  const checksum = verifyContent(resolved, { minLines, minBytes }, options.metrics ?? NO_TRANSFER_METRICS, options.logger ?? SILENT, 'out');
  let current: Buffer | undefined;
  const drift = { mode: false, owner: false };
  try {
    const st = await stat(file);
    assertRegularFile(file, st);
    current = await readFile(file);
    drift.mode = (st.mode & 0o7777) !== mode;
    drift.owner = (owner?.uid !== undefined && owner.uid !== st.uid) || (owner?.gid !== undefined && owner.gid !== st.gid);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  const fileChecksum = current === undefined ? undefined : sha256Hex(current);
  const outcome = unifiedDiff(file, `${layout.data}`, current, resolved.content, options);
  return {
    key: layout.key,
    file,
    changed: fileChecksum !== checksum,
    checksum,
    fileChecksum,
    patch: 'patch' in outcome ? outcome.patch : undefined,
    skipped: 'skipped' in outcome ? outcome.skipped : undefined,
    drift,
    stopReason: stopReason(snapshot),
    pinReason,
  };
}
