/**
 * KV verbs with Consul's state-store semantics, evaluated against a transaction overlay so that a multi-op
 * `/v1/txn` can roll back by simply not committing. Single-key HTTP requests are one-op transactions, so both
 * paths share one implementation of each verb.
 *
 * @module
 */
import { sameEntry, type KvEntry } from './entries.js';
import { compareKeys } from './sorted-keys.js';
import type { Mutation, Store } from './store.js';

/** Verbs that change state. */
export const WRITE_VERBS: ReadonlySet<string> = new Set([
  'set',
  'cas',
  'lock',
  'unlock',
  'delete',
  'delete-tree',
  'delete-cas',
]);

/** One KV operation, normalised. */
export interface KvOp {
  /**
   * `set`, `cas`, `lock`, `unlock`, `get`, `get-or-empty`, `get-tree`, `check-index`, `check-session`,
   * `check-not-exists`, `delete`, `delete-tree` or `delete-cas`; anything else fails as an unknown verb.
   */
  readonly verb: string;
  readonly key: string;
  readonly value: Buffer;
  readonly flags: bigint;
  readonly index: number;
  readonly session: string;
}

/** An entry to report in a txn result. */
export interface KvResult {
  readonly entry: KvEntry;
  /** False for write verbs, which report `Value: null`. */
  readonly withValue: boolean;
}

/** Outcome of one verb. `invalid` failures are errors over HTTP (500); `failed` ones answer `false`. */
export type KvOutcome =
  | { readonly ok: true; readonly results: readonly KvResult[] }
  | { readonly ok: false; readonly kind: 'failed' | 'invalid'; readonly message: string };

const EMPTY = Buffer.alloc(0);

/** A copy-on-write view of the store that collects mutations at one index. */
export class KvTransaction {
  private readonly changed = new Map<string, KvEntry | null>();
  private readonly log: Mutation[] = [];

  constructor(
    private readonly store: Store,
    /** Index every write of this transaction gets. */
    readonly index: number,
  ) {}

  /** Mutations to commit, in order. */
  get mutations(): readonly Mutation[] {
    return this.log;
  }

  /** True when the session exists (committed sessions only: txns cannot create sessions). */
  sessionExists(id: string): boolean {
    return this.store.session(id) !== undefined;
  }

  get(key: string): KvEntry | undefined {
    const own = this.changed.get(key);
    if (own !== undefined) return own ?? undefined;
    return this.store.get(key);
  }

  list(prefix: string): KvEntry[] {
    if (this.changed.size === 0) return this.store.list(prefix);
    const merged = new Map<string, KvEntry>();
    for (const e of this.store.list(prefix)) if (!this.changed.has(e.key)) merged.set(e.key, e);
    for (const [k, e] of this.changed) if (e && k.startsWith(prefix)) merged.set(k, e);
    return [...merged.values()].sort((a, b) => compareKeys(a.key, b.key));
  }

  /** Stores `entry` unless it equals the current one (then nothing is written and indexes stay). */
  put(entry: KvEntry): KvEntry {
    const existing = this.get(entry.key);
    if (existing && sameEntry(existing, entry)) return existing;
    this.changed.set(entry.key, entry);
    this.log.push({ type: 'kv-set', entry });
    return entry;
  }

  delete(key: string): void {
    if (!this.get(key)) return;
    this.changed.set(key, null);
    this.log.push({ type: 'kv-delete', key });
  }

  deleteTree(prefix: string): void {
    const doomed = this.list(prefix);
    if (doomed.length === 0) return;
    for (const e of doomed) this.changed.set(e.key, null);
    this.log.push({ type: 'kv-delete-tree', prefix });
  }
}

function ok(...results: KvResult[]): KvOutcome {
  return { ok: true, results };
}

function failed(message: string): KvOutcome {
  return { ok: false, kind: 'failed', message };
}

function invalid(message: string): KvOutcome {
  return { ok: false, kind: 'invalid', message };
}

function q(key: string): string {
  return JSON.stringify(key);
}

/** Plain set: keeps the holder's session and CreateIndex; LockIndex is written as 0 (Consul's quirk). */
function set(tx: KvTransaction, op: KvOp): KvEntry {
  const existing = tx.get(op.key);
  return tx.put({
    key: op.key,
    flags: op.flags,
    value: op.value,
    session: existing?.session,
    lockIndex: 0,
    createIndex: existing?.createIndex ?? tx.index,
    modifyIndex: tx.index,
  });
}

/** Applies one KV verb to `tx`. Lock-delay and ACLs are checked by the caller beforehand. */
export function applyKvOp(tx: KvTransaction, op: KvOp): KvOutcome {
  const key = op.key;
  switch (op.verb) {
    case 'set':
      return ok({ entry: set(tx, op), withValue: false });
    case 'cas': {
      const existing = tx.get(key);
      const matches = op.index === 0 ? existing === undefined : existing?.modifyIndex === op.index;
      if (!matches) return failed(`failed to set key ${q(key)}, index is stale`);
      return ok({ entry: set(tx, op), withValue: false });
    }
    case 'lock': {
      if (op.session === '') return invalid('missing session');
      if (!tx.sessionExists(op.session)) return invalid(`invalid session ${q(op.session)}`);
      const existing = tx.get(key);
      if (existing?.session !== undefined && existing.session !== op.session) {
        return failed(`failed to lock key ${q(key)}, lock is already held`);
      }
      const lockIndex = existing === undefined ? 1 : existing.session === op.session ? existing.lockIndex : existing.lockIndex + 1;
      const entry = tx.put({
        key,
        flags: op.flags,
        value: op.value,
        session: op.session,
        lockIndex,
        createIndex: existing?.createIndex ?? tx.index,
        modifyIndex: tx.index,
      });
      return ok({ entry, withValue: false });
    }
    case 'unlock': {
      if (op.session === '') return invalid('missing session');
      const existing = tx.get(key);
      if (existing === undefined || existing.session !== op.session) {
        return failed(`failed to unlock key ${q(key)}, lock isn't held, or is held by another session`);
      }
      const entry = tx.put({
        key,
        flags: op.flags,
        value: op.value,
        session: undefined,
        lockIndex: existing.lockIndex,
        createIndex: existing.createIndex,
        modifyIndex: tx.index,
      });
      return ok({ entry, withValue: false });
    }
    case 'get': {
      const existing = tx.get(key);
      if (!existing) return failed(`key ${q(key)} doesn't exist`);
      return ok({ entry: existing, withValue: true });
    }
    case 'get-or-empty': {
      const existing = tx.get(key);
      const entry: KvEntry = existing ?? {
        key,
        flags: op.flags,
        value: EMPTY,
        session: op.session === '' ? undefined : op.session,
        lockIndex: 0,
        createIndex: 0,
        modifyIndex: op.index,
      };
      return ok({ entry, withValue: existing !== undefined });
    }
    case 'get-tree':
      return ok(...tx.list(key).map((entry) => ({ entry, withValue: true })));
    case 'check-index': {
      const existing = tx.get(key);
      if (!existing) return failed(`failed to check index, key ${q(key)} doesn't exist`);
      if (existing.modifyIndex !== op.index) {
        return failed(`failed index check for key ${q(key)}, current modify index ${existing.modifyIndex} != ${op.index}`);
      }
      return ok({ entry: existing, withValue: false });
    }
    case 'check-session': {
      const existing = tx.get(key);
      if (!existing) return failed(`failed to check session, key ${q(key)} doesn't exist`);
      if ((existing.session ?? '') !== op.session) {
        return failed(`failed session check for key ${q(key)}, current session ${q(existing.session ?? '')} != ${q(op.session)}`);
      }
      return ok({ entry: existing, withValue: false });
    }
    case 'check-not-exists':
      return tx.get(key) ? failed(`key ${q(key)} exists`) : ok();
    case 'delete':
      tx.delete(key);
      return ok();
    case 'delete-tree':
      tx.deleteTree(key);
      return ok();
    case 'delete-cas': {
      const existing = tx.get(key);
      if (existing && existing.modifyIndex !== op.index) return failed(`failed to delete key ${q(key)}, index is stale`);
      tx.delete(key);
      return ok();
    }
    default:
      return failed(`unknown KV verb ${q(op.verb)}`);
  }
}
