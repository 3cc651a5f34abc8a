/**
 * kvexpress checksums: lowercase hex SHA-256 of the uncompressed content, compared after trimming
 * whitespace on both sides (kvexpress `ChecksumCompare` uses `strings.TrimSpace`).
 *
 * @module
 */

import { createHash } from 'node:crypto';
import { constants, type BigIntStats } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';

import { assertRegularFile } from './errors.js';

/** SHA-256 of the empty content; a checksum equal to it usually means a key that is not kvexpress data. */
export const EMPTY_SHA256 = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';

/** Lowercase hex SHA-256 of `content` (a string is hashed as its UTF-8 bytes). */
export function sha256Hex(content: Buffer | string): string {
  return createHash('sha256').update(content).digest('hex');
}

/** kvexpress's comparison: equal after trimming surrounding whitespace from both sides. */
export function checksumsEqual(a: string, b: string): boolean {
  return a.trim() === b.trim();
}

/** Files up to this size are hashed from one read; larger ones are streamed. */
const WHOLE_READ_LIMIT = 4 * 1024 * 1024;

/** A file's SHA-256 and its attributes as they were when it was opened for hashing. */
export interface FileDigest {
  checksum: string;
  stats: BigIntStats;
}

/**
 * SHA-256 of a file on disk and its attributes (small files in one read, large ones streamed so they are not
 * held in memory). `undefined` when the file does not exist; an {@link InputError} when the path is a directory, a device, a FIFO or a socket.
 */
export async function digestFile(path: string): Promise<FileDigest | undefined> {
  let handle: FileHandle;
  try {
    // Non-blocking: opening a FIFO for reading would otherwise wait for a writer, holding a thread-pool thread.
    handle = await open(path, constants.O_RDONLY | constants.O_NONBLOCK);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  try {
    const stats = await handle.stat({ bigint: true });
    assertRegularFile(path, stats);
    const hash = createHash('sha256');
    if (stats.size <= WHOLE_READ_LIMIT) {
      hash.update(await handle.readFile());
    } else {
      for await (const chunk of handle.createReadStream({ autoClose: false })) hash.update(chunk as Buffer);
    }
    return { checksum: hash.digest('hex'), stats };
  } finally {
    await handle.close();
  }
}

/**
 * SHA-256 of a file on disk (small files in one read, large ones streamed so they are not held in memory).
 * `undefined` when the file does not exist; an {@link InputError} when the path is a directory, a device, a FIFO or a socket.
 */
export async function sha256File(path: string): Promise<string | undefined> {
  return (await digestFile(path))?.checksum;
}
