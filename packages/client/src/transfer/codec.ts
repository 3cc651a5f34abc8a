/**
 * The stored forms of a file's content. The KV flags of the data key say which one it is, so a reader never
 * has to be told (kvexpress v1.16 only consulted them with `-z`):
 *
 * - flags 0, `plain`: the content as is.
 * - flags 1, `brotli`: brotli at quality 11, raw bytes — exactly what kvexpress v1.16 `-z` writes and reads.
 * - flags 0 read with `compress: true`, `gzip-base64`: kvexpress v1.5–v1.15's gzip then base64 (StdEncoding).
 *   kvexpress v1.16 assumed that form for every flags-0 value read with `-z`; kvx recognises it (strict
 *   base64 that decodes to a gzip stream) and otherwise reads the value as plain, so `-z` also works for plain
 *   values. The checksum then confirms the choice.
 * - flags 2: a chunk manifest (chunk-manifest.ts), not decoded here.
 *
 * @module
 */

import { promisify } from 'node:util';
import { brotliCompress, brotliDecompress, brotliDecompressSync, constants, gunzip } from 'node:zlib';

import { AbortedError } from '../errors.js';
import { VerifyError } from './errors.js';
import { DataFlags } from './layout.js';

const brotliCompressAsync = promisify(brotliCompress);
const brotliDecompressAsync = promisify(brotliDecompress);
const gunzipAsync = promisify(gunzip);

/**
 * Values up to this size are decompressed synchronously: for the typical small file that is a fraction of a
 * millisecond, far less than the thread-pool round trip (which dominated when a process runs many watchers).
 */
const SYNC_DECOMPRESS_LIMIT = 64 * 1024;

/** How content is stored. */
export type Encoding = 'plain' | 'brotli' | 'gzip-base64';

/** Stored bytes and the flags that describe them. */
export interface EncodedValue {
  /** The bytes to store as the KV value. */
  value: Buffer;
  /** The KV flags that name the encoding (0 plain, 1 brotli). */
  flags: bigint;
  /** The encoding of `value`. */
  encoding: Encoding;
}

/** Brotli at quality 11 (kvexpress v1.16 uses `BestCompression`). */
export async function brotli(content: Buffer): Promise<Buffer> {
  return brotliCompressAsync(content, {
    params: {
      [constants.BROTLI_PARAM_QUALITY]: constants.BROTLI_MAX_QUALITY,
      [constants.BROTLI_PARAM_SIZE_HINT]: content.length,
    },
  });
}

/**
 * Encodes content for the data key: brotli (flags 1) when `compress`, else plain (flags 0).
 *
 * @param signal abandons the compression (brotli 11 takes about a second per MB, and zlib cannot stop it: its
 *   thread finishes the work unread, while the caller is released at once with an {@link AbortedError}).
 */
export async function encodeContent(content: Buffer, compress: boolean, signal?: AbortSignal): Promise<EncodedValue> {
  if (!compress) return { value: content, flags: DataFlags.PLAIN, encoding: 'plain' };
  if (signal?.aborted === true) throw new AbortedError('the compression was abandoned');
  const compressed = brotli(content);
  if (signal === undefined) return { value: await compressed, flags: DataFlags.BROTLI, encoding: 'brotli' };
  let onAbort: (() => void) | undefined;
  const aborted = new Promise<never>((_, reject) => {
    onAbort = () => reject(new AbortedError('the compression was abandoned'));
    signal.addEventListener('abort', onAbort, { once: true });
  });
  try {
    return { value: await Promise.race([compressed, aborted]), flags: DataFlags.BROTLI, encoding: 'brotli' };
  } finally {
    if (onAbort !== undefined) signal.removeEventListener('abort', onAbort);
  }
}

const BASE64_STRICT = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
const GZIP_MAGIC = Buffer.from([0x1f, 0x8b]);

/** The gzip stream inside a kvexpress ≤ 1.15 value, or `undefined` when the value is not in that form. */
function legacyGzip(value: Buffer): Buffer | undefined {
  if (value.length < 4 || value.length % 4 !== 0) return undefined;
  const text = value.toString('latin1');
  if (!BASE64_STRICT.test(text)) return undefined;
  const decoded = Buffer.from(text, 'base64');
  return decoded.subarray(0, 2).equals(GZIP_MAGIC) ? decoded : undefined;
}

/** Content decoded from a plain or brotli value and the form it was in. */
export interface DecodedValue {
  /** The content as it was published. */
  content: Buffer;
  /** The form the stored value was in. */
  encoding: Encoding;
}

/**
 * Decodes a flags-0 or flags-1 value. Other flags are the caller's business (chunk manifests, unknown
 * encodings). A value that cannot be decoded is a {@link VerifyError} (`undecodable`).
 *
 * @param compress also recognise kvexpress ≤ 1.15 gzip+base64 in a flags-0 value (the CLI's `-z`)
 */
export async function decodeValue(key: string, value: Buffer, flags: bigint, compress: boolean): Promise<DecodedValue> {
  if (flags === DataFlags.BROTLI) {
    try {
      const content = value.length <= SYNC_DECOMPRESS_LIMIT ? brotliDecompressSync(value) : await brotliDecompressAsync(value);
      return { content, encoding: 'brotli' };
    } catch (err) {
      throw new VerifyError('undecodable', `${key} is brotli-encoded (by its flags or its chunk manifest) but does not decompress: ${String(err)}`, { cause: err });
    }
  }
  if (flags !== DataFlags.PLAIN) throw new RangeError(`decodeValue called with flags ${flags}`);
  const gz = compress ? legacyGzip(value) : undefined;
  if (gz === undefined) return { content: value, encoding: 'plain' };
  try {
    return { content: await gunzipAsync(gz), encoding: 'gzip-base64' };
  } catch (err) {
    throw new VerifyError('undecodable', `${key} looks like legacy gzip+base64 but does not decompress: ${String(err)}`, { cause: err });
  }
}
