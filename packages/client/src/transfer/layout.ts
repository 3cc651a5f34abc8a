/**
 * Where a file lives in Consul KV. The kvexpress v1.16 layout, plus kvx's own keys beside it:
 *
 * ```
 * <prefix>/<key>/data                    the content: plain (flags 0), brotli (flags 1) or a chunk manifest (flags 2)
 * <prefix>/<key>/checksum                lowercase hex SHA-256 of the uncompressed content, flags 0
 * <prefix>/<key>/stop                    any non-empty value stops publish and deliver
 * <prefix>/<key>/meta                    kvx only: JSON description of the current version (see meta.ts)
 * <prefix>/<key>.chunks/<id>/<n>         kvx only: chunk n of version id (a large file), immutable
 * <prefix>/<key>.chunks/<id>/guard       kvx only: written before the chunks; the commit checks it is still there
 * <prefix>/locks/<sha256(path)>/<host>   per-host pin ("lock" in kvexpress), value = reason
 * ```
 *
 * The chunks live *beside* `<prefix>/<key>/`, not under it, so that one recursive read of `<prefix>/<key>/`
 * (what a watcher blocks on) carries data, checksum, stop and meta but never the chunks, and writing chunks
 * does not wake the watchers.
 *
 * Normalisation (kvexpress trims only the leading `/` of the prefix and produced `kvexpress//x/data` for
 * `-k /x`, a path Consul's HTTP router redirects): leading and trailing `/` are removed from the prefix and
 * the key; empty, `.` and `..` segments are refused because Consul cannot serve such keys over HTTP; a key
 * whose last segment ends in `.chunks` is refused because it would collide with another key's chunks, and one
 * that is or begins with `locks` because `<prefix>/locks/` holds the per-host pins.
 *
 * @module
 */

import { resolve } from 'node:path';

import { InvalidArgumentError } from '../errors.js';
import { sha256Hex } from './checksum.js';

/** kvexpress's default prefix. */
export const DEFAULT_PREFIX = 'kvexpress';

/** The KV flags of each stored form of `<prefix>/<key>/data`. */
export const DataFlags = {
  /** The content as is (or, read with `compress`, kvexpress ≤ 1.15's gzip+base64). */
  PLAIN: 0n,
  /** Brotli (quality 11), raw bytes: kvexpress ≥ 1.16 `-z`. */
  BROTLI: 1n,
  /** kvx only: a chunk manifest; the content is in `<prefix>/<key>.chunks/<id>/`. */
  CHUNKED: 2n,
} as const;

function trimSlashes(text: string): string {
  return text.replace(/^\/+/, '').replace(/\/+$/, '');
}

function checkSegments(what: string, original: string, path: string): void {
  for (const segment of path.split('/')) {
    if (segment === '' || segment === '.' || segment === '..') {
      throw new InvalidArgumentError(
        `${what} "${original}" has an empty, "." or ".." segment; Consul cannot serve such keys over HTTP`,
      );
    }
  }
}

/** Normalises a prefix: leading and trailing `/` removed; `""` (the KV root) is allowed. */
export function normalizePrefix(prefix: string): string {
  const trimmed = trimSlashes(prefix);
  if (trimmed !== '') checkSegments('prefix', prefix, trimmed);
  return trimmed;
}

/** Normalises a kvexpress key: leading and trailing `/` removed; must not be empty. */
export function normalizeKey(key: string): string {
  const trimmed = trimSlashes(key);
  if (trimmed === '') throw new InvalidArgumentError(`key "${key}" is empty`);
  checkSegments('key', key, trimmed);
  if (trimmed.endsWith('.chunks')) {
    throw new InvalidArgumentError(`key "${key}" must not end in ".chunks" (reserved for chunked content)`);
  }
  // `<prefix>/locks/` holds the per-host pins: a file there would read as pins, and pins as its keys.
  if (trimmed === 'locks' || trimmed.startsWith('locks/')) {
    throw new InvalidArgumentError(`key "${key}" must not be or begin with "locks" (reserved for the per-host pins)`);
  }
  return trimmed;
}

function join(prefix: string, rest: string): string {
  return prefix === '' ? rest : `${prefix}/${rest}`;
}

/** The KV paths of one kvexpress key. */
export class KeyLayout {
  /** The normalised prefix (`""` for the root). */
  readonly prefix: string;
  /** The normalised key. */
  readonly key: string;
  /** `<prefix>/<key>/`: one recursive read of it returns data, checksum, stop and meta. */
  readonly dir: string;
  /** `<prefix>/<key>/data`. */
  readonly data: string;
  /** `<prefix>/<key>/checksum`. */
  readonly checksum: string;
  /** `<prefix>/<key>/stop`. */
  readonly stop: string;
  /** `<prefix>/<key>/meta`. */
  readonly meta: string;
  /** `<prefix>/<key>.chunks/`: every chunked version of this key lives below. */
  readonly chunksRoot: string;

  /**
   * @param key the kvexpress key (`-k`), normalised here
   * @param prefix the prefix (`-p`), normalised here. Default: `kvexpress`.
   */
  constructor(key: string, prefix: string = DEFAULT_PREFIX) {
    this.prefix = normalizePrefix(prefix);
    this.key = normalizeKey(key);
    const base = join(this.prefix, this.key);
    this.dir = `${base}/`;
    this.data = `${base}/data`;
    this.checksum = `${base}/checksum`;
    this.stop = `${base}/stop`;
    this.meta = `${base}/meta`;
    this.chunksRoot = `${base}.chunks/`;
  }

  /** `<prefix>/<key>.chunks/<id>/`. */
  chunkDir(id: string): string {
    return `${this.chunksRoot}${id}/`;
  }

  /** `<prefix>/<key>.chunks/<id>/<n>`. */
  chunk(id: string, n: number): string {
    return `${this.chunkDir(id)}${n}`;
  }

  /** `<prefix>/<key>.chunks/<id>/guard`. */
  guard(id: string): string {
    return `${this.chunkDir(id)}guard`;
  }
}

/**
 * The pin key of a file on a host: `<prefix>/locks/<sha256(path)>/<hostname>`. kvexpress hashes the `-f`
 * string exactly as given (and requires it to be absolute for `lock`); kvx hashes `path.resolve(file)`, which
 * is the same string for an already clean absolute path, so `kvexpress lock -f /etc/x` pins `kvx out -f /etc/x`
 * and the other way round. Relative paths and `//`, `./` spellings resolve to one pin instead of several.
 */
export function pinKey(file: string, hostname: string, prefix: string = DEFAULT_PREFIX): string {
  if (hostname === '' || hostname.includes('/')) throw new InvalidArgumentError(`invalid hostname "${hostname}"`);
  return join(normalizePrefix(prefix), `locks/${sha256Hex(resolve(file))}/${hostname}`);
}
