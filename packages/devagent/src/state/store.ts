/**
 * The agent's replicated state machine, single-node: KV entries, tombstones, sessions and the indexes Consul
 * derives from them. Every change goes through {@link Store.commit} as a list of {@link Mutation}s sharing one new
 * index (one "raft entry"); the same mutations are what the write-ahead log records and replays.
 *
 * Visibility rule: waiters are woken only once a commit is durable, and read handlers wait for
 * {@link Store.barrier} before answering, so no response ever reflects state a crash could lose.
 *
 * @module
 */
import type { KvEntry, SessionEntry } from './entries.js';
import { compareKeys, SortedKeys } from './sorted-keys.js';
import { WaiterRegistry } from './waiters.js';

/** One state change; a commit applies a list of them in order at one index. */
export type Mutation =
  | { readonly type: 'kv-set'; readonly entry: KvEntry }
  | { readonly type: 'kv-delete'; readonly key: string }
  | { readonly type: 'kv-delete-tree'; readonly prefix: string }
  | { readonly type: 'session-set'; readonly session: SessionEntry }
  | { readonly type: 'session-delete'; readonly id: string };

/** Where commits are made durable (the write-ahead log); absent in memory-only mode. */
export interface Journal {
  /**
   * Encodes a commit as a log record, without writing it. Throws when the log could not record it (a value
   * that could not be read back): the store then leaves its state as it was.
   */
  encode(index: number, mutations: readonly Mutation[]): Buffer;
  /** Appends a record made by {@link Journal.encode}; resolves once it is durable. */
  append(record: Buffer): Promise<void>;
  /** Resolves once everything appended so far is durable; `undefined` when it already is. */
  barrier(): Promise<void> | undefined;
}

/** The result of a commit. */
export interface CommitResult {
  /** Index of the commit (the current index when nothing changed). */
  readonly index: number;
  /** Resolves when the commit is durable; `undefined` when it already is. */
  readonly durable: Promise<void> | undefined;
}

/**
 * Index the first write gets is 2: index 1 stands for the registration of the local node, so that an empty
 * store's index (0, sent as 1) is always below the index of the first real change.
 */
const BOOT_INDEX = 1;

/** A serialisable image of the whole store (snapshots). */
export interface StoreImage {
  readonly lastIndex: number;
  readonly kvIndex: number;
  readonly sessionsIndex: number;
  readonly entries: readonly KvEntry[];
  readonly tombstones: readonly (readonly [string, number])[];
  readonly sessions: readonly SessionEntry[];
}

/** KV + sessions + indexes, with change notification. */
export class Store {
  /** Blocking queries wait here. */
  readonly waiters = new WaiterRegistry();
  private last = BOOT_INDEX;
  private kvTableIndex = 0;
  private sessionsTableIndex = 0;
  private readonly entries = new Map<string, KvEntry>();
  private readonly keys = new SortedKeys();
  private readonly tombstones = new Map<string, number>();
  private readonly tombstoneKeys = new SortedKeys();
  private readonly sessionMap = new Map<string, SessionEntry>();
  private readonly held = new Map<string, Set<string>>();
  private journal: Journal | undefined;

  /** Attaches the write-ahead log (after recovery replayed it). */
  attachJournal(journal: Journal): void {
    this.journal = journal;
  }

  /** Highest index used so far. */
  get lastIndex(): number {
    return this.last;
  }

  /** Index the next commit will get. */
  get nextIndex(): number {
    return this.last + 1;
  }

  /** KV table index: max of the last KV write and the last tombstone, whole store. */
  get kvIndex(): number {
    return this.kvTableIndex;
  }

  /** Sessions table index. */
  get sessionsIndex(): number {
    return this.sessionsTableIndex;
  }

  /**
   * Applies `mutations` at a new index, journals them and schedules the wake-ups. A commit the journal refuses
   * to encode changes nothing (memory and disk stay in step); its `durable` rejects with the journal's error.
   */
  commit(mutations: readonly Mutation[]): CommitResult {
    if (mutations.length === 0) return { index: this.last, durable: this.barrier() };
    const index = this.last + 1;
    let record: Buffer | undefined;
    try {
      record = this.journal?.encode(index, mutations);
    } catch (err) {
      return { index: this.last, durable: Promise.reject(err instanceof Error ? err : new Error(String(err))) };
    }
    const changes = this.apply(index, mutations);
    const durable = record === undefined ? undefined : this.journal?.append(record);
    const notify = (): void => {
      if (changes.keys.size > 0) this.waiters.notifyKeys(changes.keys);
      if (changes.sessions) this.waiters.notifyTable('sessions');
    };
    if (durable) {
      durable.then(notify, notify);
      return { index, durable };
    }
    notify();
    return { index, durable: undefined };
  }

  /** Re-applies a journaled commit during recovery (no journaling, no wake-ups). */
  replay(index: number, mutations: readonly Mutation[]): void {
    if (index <= this.last) return;
    this.apply(index, mutations);
  }

  /** Resolves once all state visible now is durable; `undefined` when it already is. */
  barrier(): Promise<void> | undefined {
    return this.journal?.barrier();
  }

  private apply(index: number, mutations: readonly Mutation[]): { keys: Set<string>; sessions: boolean } {
    const keys = new Set<string>();
    let sessions = false;
    for (const m of mutations) {
      switch (m.type) {
        case 'kv-set':
          this.putEntry(m.entry);
          keys.add(m.entry.key);
          this.kvTableIndex = index;
          break;
        case 'kv-delete':
          if (this.removeEntry(m.key)) {
            keys.add(m.key);
            this.addTombstone(m.key, index);
            this.kvTableIndex = index;
          }
          break;
        case 'kv-delete-tree': {
          const doomed = this.keys.withPrefix(m.prefix);
          for (const key of doomed) {
            this.removeEntry(key);
            keys.add(key);
          }
          if (doomed.length > 0) {
            if (m.prefix !== '') this.addTombstone(m.prefix, index);
            this.kvTableIndex = index;
          }
          break;
        }
        case 'session-set':
          this.sessionMap.set(m.session.id, m.session);
          this.sessionsTableIndex = index;
          sessions = true;
          break;
        case 'session-delete':
          if (this.sessionMap.delete(m.id)) {
            this.sessionsTableIndex = index;
            sessions = true;
          }
          break;
      }
    }
    this.last = index;
    return { keys, sessions };
  }

  private putEntry(entry: KvEntry): void {
    const old = this.entries.get(entry.key);
    if (!old) this.keys.add(entry.key);
    else if (old.session !== undefined && old.session !== entry.session) this.unhold(old.session, entry.key);
    if (entry.session !== undefined && old?.session !== entry.session) {
      let set = this.held.get(entry.session);
      if (!set) {
        set = new Set();
        this.held.set(entry.session, set);
      }
      set.add(entry.key);
    }
    this.entries.set(entry.key, entry);
  }

  private removeEntry(key: string): boolean {
    const old = this.entries.get(key);
    if (!old) return false;
    this.entries.delete(key);
    this.keys.delete(key);
    if (old.session !== undefined) this.unhold(old.session, key);
    return true;
  }

  private unhold(session: string, key: string): void {
    const set = this.held.get(session);
    if (!set) return;
    set.delete(key);
    if (set.size === 0) this.held.delete(session);
  }

  private addTombstone(key: string, index: number): void {
    if (!this.tombstones.has(key)) this.tombstoneKeys.add(key);
    this.tombstones.set(key, index);
  }

  /** The entry at `key`. */
  get(key: string): KvEntry | undefined {
    return this.entries.get(key);
  }

  /** Entries whose key starts with `prefix`, in key order. */
  list(prefix: string): KvEntry[] {
    return this.keys.withPrefix(prefix).map((k) => this.entries.get(k) as KvEntry);
  }

  /**
   * Index of a prefix query: max ModifyIndex of the keys under `prefix` and of the tombstones under it; the KV
   * table index when both are 0 or the prefix is empty.
   */
  prefixIndex(prefix: string, entries: readonly KvEntry[]): number {
    if (prefix === '') return this.kvTableIndex;
    let max = 0;
    for (const e of entries) if (e.modifyIndex > max) max = e.modifyIndex;
    for (const k of this.tombstoneKeys.withPrefix(prefix)) {
      const idx = this.tombstones.get(k) ?? 0;
      if (idx > max) max = idx;
    }
    return max === 0 ? this.kvTableIndex : max;
  }

  /** The session with `id`. */
  session(id: string): SessionEntry | undefined {
    return this.sessionMap.get(id);
  }

  /** Every session, in creation order. */
  sessions(): SessionEntry[] {
    return [...this.sessionMap.values()];
  }

  /** Keys currently held by session `id`, in key order. */
  keysHeldBy(id: string): string[] {
    return [...(this.held.get(id) ?? [])].sort(compareKeys);
  }

  /** A consistent image of the whole store (for snapshots). */
  image(): StoreImage {
    return {
      lastIndex: this.last,
      kvIndex: this.kvTableIndex,
      sessionsIndex: this.sessionsTableIndex,
      entries: this.keys.all().map((k) => this.entries.get(k) as KvEntry),
      tombstones: this.tombstoneKeys.all().map((k) => [k, this.tombstones.get(k) ?? 0] as const),
      sessions: [...this.sessionMap.values()],
    };
  }

  /** Loads a snapshot image into an empty store (recovery). */
  load(image: StoreImage): void {
    this.last = Math.max(BOOT_INDEX, image.lastIndex);
    this.kvTableIndex = image.kvIndex;
    this.sessionsTableIndex = image.sessionsIndex;
    for (const e of image.entries) this.putEntry(e);
    for (const [k, idx] of image.tombstones) this.addTombstone(k, idx);
    for (const s of image.sessions) this.sessionMap.set(s.id, s);
  }
}
