/**
 * Who to wake when state changes. Blocking queries register here for exactly what their answer depends on:
 * one key, one key prefix, the sessions table or the event buffer. A KV write wakes only the waiters of its key
 * and of the prefixes of its key, so its cost does not depend on how many queries wait on other keys: the
 * registry looks the key up once, and looks up `key.slice(0, n)` only for the lengths `n` at which some prefix
 * waiter is registered.
 *
 * @module
 */

/** Something blocked until a change it cares about happens. */
export interface Waiter {
  /** Called at most once per registration, synchronously from the notifier; must not throw. */
  wake(): void;
}

/** Removes a registration (idempotent). */
export type Unwatch = () => void;

class Buckets {
  private readonly map = new Map<string, Set<Waiter>>();

  add(name: string, waiter: Waiter): void {
    let set = this.map.get(name);
    if (!set) {
      set = new Set();
      this.map.set(name, set);
    }
    set.add(waiter);
  }

  /** Returns true when the bucket became empty (and was dropped). */
  remove(name: string, waiter: Waiter): boolean {
    const set = this.map.get(name);
    if (!set || !set.delete(waiter)) return false;
    if (set.size === 0) {
      this.map.delete(name);
      return true;
    }
    return false;
  }

  take(name: string, into: Set<Waiter>): void {
    const set = this.map.get(name);
    if (!set) return;
    this.map.delete(name);
    for (const w of set) into.add(w);
  }

  get size(): number {
    return this.map.size;
  }
}

/** Per-key, per-prefix and per-table waiter registry. */
export class WaiterRegistry {
  private readonly keys = new Buckets();
  private readonly prefixes = new Buckets();
  // Prefix length → number of distinct prefixes of that length with waiters.
  private readonly prefixLengths = new Map<number, number>();
  private readonly tables = new Buckets();

  /** Wakes `waiter` when `key` is written or deleted. */
  watchKey(key: string, waiter: Waiter): Unwatch {
    this.keys.add(key, waiter);
    return () => {
      this.keys.remove(key, waiter);
    };
  }

  /** Wakes `waiter` when any key starting with `prefix` is written or deleted. */
  watchPrefix(prefix: string, waiter: Waiter): Unwatch {
    const before = this.prefixes.size;
    this.prefixes.add(prefix, waiter);
    if (this.prefixes.size > before) this.prefixLengths.set(prefix.length, (this.prefixLengths.get(prefix.length) ?? 0) + 1);
    return () => {
      if (this.prefixes.remove(prefix, waiter)) this.dropLength(prefix.length);
    };
  }

  /** Wakes `waiter` on the next change of a whole table (`sessions`, `events`). */
  watchTable(table: 'sessions' | 'events', waiter: Waiter): Unwatch {
    this.tables.add(table, waiter);
    return () => {
      this.tables.remove(table, waiter);
    };
  }

  private dropLength(length: number): void {
    const count = (this.prefixLengths.get(length) ?? 1) - 1;
    if (count === 0) this.prefixLengths.delete(length);
    else this.prefixLengths.set(length, count);
  }

  /** Wakes the waiters of every key in `keys` and of every registered prefix of those keys. */
  notifyKeys(keys: Iterable<string>): void {
    const woken = new Set<Waiter>();
    for (const key of keys) {
      this.keys.take(key, woken);
      for (const length of this.prefixLengths.keys()) {
        if (length > key.length) continue;
        const prefix = key.slice(0, length);
        const before = this.prefixes.size;
        this.prefixes.take(prefix, woken);
        if (this.prefixes.size < before) this.dropLength(length);
      }
    }
    for (const w of woken) w.wake();
  }

  /** Wakes every waiter of a table. */
  notifyTable(table: 'sessions' | 'events'): void {
    const woken = new Set<Waiter>();
    this.tables.take(table, woken);
    for (const w of woken) w.wake();
  }

  /** Number of keys and prefixes with waiters (diagnostics and tests). */
  get watchedNames(): number {
    return this.keys.size + this.prefixes.size;
  }
}
