/**
 * The chunk manifest: what `<prefix>/<key>/data` holds (KV flags 2) when the stored content does not fit in
 * one transaction. The stored bytes (plain, or brotli when compressed) are cut into chunks of at most
 * `chunkSize` bytes under `<prefix>/<key>.chunks/<id>/<n>`, where `id` is the SHA-256 of the stored bytes, so a
 * version's chunks are immutable and a reader can never mix two versions.
 *
 * What kvexpress v1.16 does with a chunked key (it never writes garbage):
 * - `out` without `-z` reads the manifest text as the content: one line, so it fails `--length` (default 10),
 *   and it does not hash to the checksum, so it fails verification; exit 0, file untouched,
 *   `kvexpress.checksum_mismatch` / `kvexpress.not_long_enough` counted.
 * - `out -z` finds flags 2, which it has no decoder for: Go panics (exit 2) before writing anything.
 * - `copy` fails the same checks as `out` and copies nothing.
 * - The checksum key holds the real content's checksum, so kvexpress watches on it fire as usual.
 *
 * The manifest is one line of JSON:
 * `{"format":"kvx-chunked/1","id":…,"encoding":"plain"|"brotli","size":…,"storedSize":…,"chunkSize":…,"chunks":…,"sha256":…}`
 *
 * @module
 */

import { VerifyError } from './errors.js';

/** The manifest format marker; a reader refuses any other. */
export const MANIFEST_FORMAT = 'kvx-chunked/1';

/** A parsed chunk manifest. */
export interface ChunkManifest {
  /** SHA-256 (hex) of the stored bytes: names the chunk directory. */
  id: string;
  /** How the concatenated chunks are encoded. */
  encoding: 'plain' | 'brotli';
  /** Size of the content after decoding. */
  size: number;
  /** Size of the stored bytes (all chunks together). */
  storedSize: number;
  /** Size of every chunk but the last. */
  chunkSize: number;
  /** Number of chunks. */
  chunks: number;
  /** SHA-256 (hex) of the content: equals the checksum key. */
  sha256: string;
}

const HEX64 = /^[0-9a-f]{64}$/;

/** Serialises a manifest (one line, no trailing newline). */
export function formatManifest(manifest: ChunkManifest): Buffer {
  const { id, encoding, size, storedSize, chunkSize, chunks, sha256 } = manifest;
  return Buffer.from(JSON.stringify({ format: MANIFEST_FORMAT, id, encoding, size, storedSize, chunkSize, chunks, sha256 }));
}

function isCount(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;
}

/** Parses and checks a manifest read from `dataKey`; anything malformed is a {@link VerifyError} (`undecodable`). */
export function parseManifest(dataKey: string, value: Buffer): ChunkManifest {
  const bad = (why: string): VerifyError =>
    new VerifyError('undecodable', `${dataKey} is flagged as a chunk manifest (flags 2) but ${why}`);
  let parsed: unknown;
  try {
    parsed = JSON.parse(value.toString('utf8'));
  } catch {
    throw bad('is not JSON');
  }
  if (typeof parsed !== 'object' || parsed === null) throw bad('is not a JSON object');
  const m = parsed as Record<string, unknown>;
  if (m.format !== MANIFEST_FORMAT) throw bad(`has format ${JSON.stringify(m.format)}, not "${MANIFEST_FORMAT}"`);
  const { id, encoding, size, storedSize, chunkSize, chunks, sha256 } = m;
  if (typeof id !== 'string' || !HEX64.test(id)) throw bad('has no valid id');
  if (typeof sha256 !== 'string' || !HEX64.test(sha256)) throw bad('has no valid sha256');
  if (encoding !== 'plain' && encoding !== 'brotli') throw bad(`has unknown encoding ${JSON.stringify(encoding)}`);
  if (!isCount(size) || !isCount(storedSize) || !isCount(chunkSize) || !isCount(chunks)) throw bad('has invalid sizes');
  if (chunkSize === 0 || chunks !== Math.ceil(storedSize / chunkSize)) throw bad('has inconsistent chunk counts');
  return { id, encoding, size, storedSize, chunkSize, chunks, sha256 };
}
