/**
 * Record framing for the log and snapshot files: `[u32 length][u32 crc32][payload]`, little-endian. A record
 * whose length runs past the end of the file or whose checksum does not match marks a torn write: everything
 * from there on is ignored.
 *
 * @module
 */
import { crc32 } from 'node:zlib';

/** Bytes of the record header. */
export const FRAME_HEADER = 8;
/** Larger lengths can only come from garbage. */
const MAX_RECORD = 1024 * 1024 * 1024;

/** Frames one payload. */
export function frame(payload: Buffer): Buffer {
  const out = Buffer.allocUnsafe(FRAME_HEADER + payload.length);
  out.writeUInt32LE(payload.length, 0);
  out.writeUInt32LE(crc32(payload), 4);
  payload.copy(out, FRAME_HEADER);
  return out;
}

/** The intact records of a file and where the intact part ends. */
export interface Frames {
  readonly records: Buffer[];
  /** Offset just past the last intact record (the file length when nothing is torn). */
  readonly validLength: number;
  /**
   * True when a complete record fails its checksum and an intact record follows it: that is damage in the
   * middle of the log, not a torn last write, and dropping the rest would silently lose acknowledged writes.
   */
  readonly corrupt: boolean;
}

function intactAt(data: Buffer, offset: number): { payload: Buffer; end: number } | 'short' | 'bad' {
  if (offset + FRAME_HEADER > data.length) return 'short';
  const length = data.readUInt32LE(offset);
  const end = offset + FRAME_HEADER + length;
  if (length > MAX_RECORD || end > data.length) return 'short';
  const payload = data.subarray(offset + FRAME_HEADER, end);
  return crc32(payload) === data.readUInt32LE(offset + 4) ? { payload, end } : 'bad';
}

/** Splits a file into records, stopping at the first torn or corrupt one. */
export function readFrames(data: Buffer): Frames {
  const records: Buffer[] = [];
  let offset = 0;
  for (;;) {
    const frameAt = intactAt(data, offset);
    if (frameAt === 'short') return { records, validLength: offset, corrupt: false };
    if (frameAt === 'bad') {
      const next = intactAt(data, offset + FRAME_HEADER + data.readUInt32LE(offset));
      return { records, validLength: offset, corrupt: typeof next === 'object' };
    }
    records.push(frameAt.payload);
    offset = frameAt.end;
  }
}
