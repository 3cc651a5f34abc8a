/**
 * A sorted set of strings in Consul's key order: byte order of the UTF-8 encoding (Go compares strings as
 * bytes). Backed by a sorted array with binary search — inserts cost a memmove, which is cheap at the sizes a
 * dev agent holds, and prefix scans are a binary search plus a contiguous walk.
 *
 * @module
 */

// UTF-16 order differs from UTF-8 byte order only between surrogates (code points ≥ U+10000) and
// U+E000–U+FFFF; remapping those two ranges at the first differing code unit gives code-point order, which is
// UTF-8 byte order.
function rank(unit: number): number {
  if (unit < 0xd800) return unit;
  return unit < 0xe000 ? unit + 0x2000 : unit - 0x800;
}

/** Compares two strings by the byte order of their UTF-8 encodings. */
export function compareKeys(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x !== y) return rank(x) - rank(y);
  }
  return a.length - b.length;
}

/** Strings kept in UTF-8 byte order, with prefix iteration. */
export class SortedKeys {
  private readonly items: string[] = [];

  get size(): number {
    return this.items.length;
  }

  /** Index of the first item ≥ `key`. */
  private lowerBound(key: string): number {
    let lo = 0;
    let hi = this.items.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (compareKeys(this.items[mid] as string, key) < 0) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /** Adds `key` if absent. */
  add(key: string): void {
    const i = this.lowerBound(key);
    if (this.items[i] !== key) this.items.splice(i, 0, key);
  }

  /** Removes `key` if present. */
  delete(key: string): void {
    const i = this.lowerBound(key);
    if (this.items[i] === key) this.items.splice(i, 1);
  }

  /** Every item starting with `prefix`, in order (a copy, safe to mutate the set while using it). */
  withPrefix(prefix: string): string[] {
    if (prefix === '') return this.items.slice();
    const start = this.lowerBound(prefix);
    let end = start;
    while (end < this.items.length && (this.items[end] as string).startsWith(prefix)) end++;
    return this.items.slice(start, end);
  }

  /** Every item, in order. */
  all(): readonly string[] {
    return this.items;
  }
}
