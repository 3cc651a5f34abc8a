/**
 * Parsers for flag values. Each throws {@link UsageError} with a message naming the flag, so bad input ends
 * as one `kvx: …` line and exit code 1 before anything touches Consul or the disk.
 *
 * @module
 */

import { MAX_TIMEOUT_MS } from '@kvx/client';
import { UsageError } from './errors.js';

const DURATION_UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/**
 * A duration in milliseconds from `250ms`, `1.5s`, `2m`, `1h`, or Go-style sums like `1m30s`. A bare number
 * is milliseconds.
 */
export function parseDuration(text: string, flag: string): number {
  const trimmed = text.trim();
  const bare = /^\d+(\.\d+)?$/.test(trimmed);
  const part = /(\d+(?:\.\d+)?)(ms|s|m|h)/y;
  let total = bare ? Number(trimmed) : 0;
  let pos = bare ? trimmed.length : 0;
  while (pos < trimmed.length) {
    part.lastIndex = pos;
    const m = part.exec(trimmed);
    if (!m) break;
    total += Number(m[1]) * (DURATION_UNITS[m[2] ?? ''] ?? Number.NaN);
    pos = part.lastIndex;
  }
  if (trimmed === '' || pos !== trimmed.length || !Number.isFinite(total)) {
    throw new UsageError(`${flag}: invalid duration '${text}' (use e.g. 500ms, 10s, 2m, 1m30s)`);
  }
  // Every duration ends up in a timer, and a longer one fires at once (Node's TimeoutOverflowWarning).
  if (total > MAX_TIMEOUT_MS) throw new UsageError(`${flag}: duration '${text}' is too long (at most ${MAX_TIMEOUT_MS} ms, 24.8 days)`);
  return total;
}

/** A non-negative integer. */
export function parseCount(text: string, flag: string): number {
  if (!/^\d+$/.test(text.trim())) throw new UsageError(`${flag}: expected a non-negative integer, got '${text}'`);
  const n = Number(text.trim());
  if (!Number.isSafeInteger(n)) throw new UsageError(`${flag}: ${text} is too large`);
  return n;
}

const SIZE_UNITS: Record<string, number> = { '': 1, k: 1024, kib: 1024, m: 1024 ** 2, mib: 1024 ** 2 };

/** Smallest value size kvx chunks to: below it a chunk manifest would be most of each chunk. */
export const MIN_VALUE_SIZE = 1024;

/**
 * A value size in bytes, at least {@link MIN_VALUE_SIZE}: `65536`, `64k`, `64KiB`, `1MiB` (binary units, like
 * Consul's `kv_max_value_size`).
 */
export function parseByteSize(text: string, flag: string): number {
  const m = /^(\d+)\s*(k|kib|m|mib)?$/i.exec(text.trim());
  const n = m === null ? Number.NaN : Number(m[1]) * (SIZE_UNITS[(m[2] ?? '').toLowerCase()] ?? Number.NaN);
  if (!Number.isSafeInteger(n)) throw new UsageError(`${flag}: invalid size '${text}' (use bytes, or e.g. 64KiB, 1MiB)`);
  if (n < MIN_VALUE_SIZE) throw new UsageError(`${flag}: must be at least ${MIN_VALUE_SIZE} bytes, got ${n}`);
  return n;
}

/**
 * A file mode, always read as octal (`0644`, `644` and `0o644` are all rw-r--r--). kvexpress parsed `644`
 * as decimal, which silently produced mode 01204.
 */
export function parseMode(text: string, flag: string): number {
  const m = /^(?:0o|0)?([0-7]{1,4})$/i.exec(text.trim());
  if (!m?.[1]) throw new UsageError(`${flag}: invalid file mode '${text}' (use octal, e.g. 0644)`);
  return parseInt(m[1], 8);
}

/** A `host:port` or `[v6]:port` address. */
export interface HostPort {
  /** Host name or IP address (an IPv6 address without its `[]`). */
  host: string;
  /** Port number, 1 to 65535. */
  port: number;
}

/** `localhost:8125`, `127.0.0.1:8125`, `[::1]:8125`. The port is required (kvexpress exited 1 without one). */
export function parseHostPort(text: string, flag: string): HostPort {
  const m = /^(?:\[([^\]]+)\]|([^:[\]\s]+)):(\d{1,5})$/.exec(text.trim());
  const host = m?.[1] ?? m?.[2];
  const port = Number(m?.[3]);
  if (!host || !(port > 0 && port < 65536)) {
    throw new UsageError(`${flag}: invalid address '${text}' (use host:port, e.g. 127.0.0.1:8125)`);
  }
  return { host, port };
}

/**
 * A KV key segment given with `-k`: not empty, no leading or trailing `/`, no `//`, no `.`/`..` segment.
 * kvexpress accepted `-k /x` and wrote `kvexpress//x/data`.
 */
export function parseKey(text: string, flag: string): string {
  if (text === '' || text.startsWith('/') || text.endsWith('/') || text.includes('//')) {
    throw new UsageError(`${flag}: invalid key '${text}' (no leading, trailing or double '/')`);
  }
  if (text.split('/').some((s) => s === '.' || s === '..')) {
    throw new UsageError(`${flag}: invalid key '${text}' ('.' and '..' are not key segments)`);
  }
  return text;
}

/** A KV prefix: leading and trailing `/` are dropped (kvexpress #60); `//` is refused. */
export function parsePrefix(text: string, flag: string): string {
  const trimmed = text.replace(/^\/+|\/+$/g, '');
  if (trimmed === '' || trimmed.includes('//')) throw new UsageError(`${flag}: invalid prefix '${text}'`);
  return trimmed;
}
