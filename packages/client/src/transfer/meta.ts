/**
 * `<prefix>/<key>/meta`: a JSON description of the current version, committed in the same transaction as data
 * and checksum. Readers never need it (data flags and the checksum are authoritative, and kvexpress writers do
 * not update it); `status` shows it when its `sha256` matches the checksum, i.e. when it describes the
 * current version.
 *
 * @module
 */

import { hostname } from 'node:os';

/** The meta record. */
export interface VersionMeta {
  /** Format marker `kvx-meta/1`. */
  format: string;
  /** SHA-256 of the content (equals the checksum key). */
  sha256: string;
  /** Content size in bytes. */
  size: number;
  /** Stored size in bytes (all chunks for a chunked version). */
  storedSize: number;
  /** `plain` or `brotli`. */
  encoding: string;
  /** kvexpress line count of the content. */
  lines: number;
  /** Number of chunks; `0` when the content is inline in `data`. */
  chunks: number;
  /** Host that published it. */
  host: string;
  /** When it was published (ISO 8601, UTC). */
  time: string;
  /** Where the content came from (a path, a URL, `stdin`, a copied key), when the publisher said. */
  source?: string;
}

/** Builds the meta record of a version published now from this host. */
export function buildMeta(fields: Omit<VersionMeta, 'format' | 'host' | 'time'>): VersionMeta {
  return { format: 'kvx-meta/1', ...fields, host: hostname(), time: new Date().toISOString() };
}

/** Parses a meta value; `undefined` when it is not a kvx meta record. */
export function parseMeta(value: Buffer | undefined): VersionMeta | undefined {
  if (value === undefined || value.length === 0) return undefined;
  try {
    const parsed = JSON.parse(value.toString('utf8')) as unknown;
    if (typeof parsed !== 'object' || parsed === null) return undefined;
    const meta = parsed as Partial<VersionMeta>;
    return meta.format === 'kvx-meta/1' && typeof meta.sha256 === 'string' ? (meta as VersionMeta) : undefined;
  } catch {
    return undefined;
  }
}
