/**
 * The records the agent stores: KV entries (Consul's `DirEntry`) and sessions, plus their JSON shapes on the
 * wire, with Go's field order.
 *
 * @module
 */
import type { JsonValue } from '../json.js';

/** One KV pair. Immutable: every change stores a new object. */
export interface KvEntry {
  readonly key: string;
  /** Opaque uint64, exact. */
  readonly flags: bigint;
  readonly value: Buffer;
  /** Holder's session id, when locked. */
  readonly session: string | undefined;
  readonly lockIndex: number;
  readonly createIndex: number;
  readonly modifyIndex: number;
}

/** What happens to keys a session holds when the session is invalidated. */
export type SessionBehavior = 'release' | 'delete';

/** A service check a session is tied to. */
export interface ServiceCheckRef {
  readonly id: string;
  readonly namespace: string;
}

/** One session. Sessions are immutable once created. */
export interface SessionEntry {
  readonly id: string;
  readonly name: string;
  readonly node: string;
  /** Nanoseconds, as given (the 60 s cap applies when used). */
  readonly lockDelayNs: number;
  readonly behavior: SessionBehavior;
  /** The TTL text exactly as supplied (`""` = none). */
  readonly ttl: string;
  /** Parsed TTL in ms, 0 = none. */
  readonly ttlMs: number;
  readonly nodeChecks: readonly string[];
  readonly serviceChecks: readonly ServiceCheckRef[] | null;
  /** Deprecated `Checks`, kept only when the client set a non-default list. */
  readonly checks: readonly string[] | undefined;
  readonly createIndex: number;
  readonly modifyIndex: number;
}

/** `DirEntry` JSON: `LockIndex, Key, Flags, Value, Session, CreateIndex, ModifyIndex`; Session omitted when none. */
export function kvEntryJson(entry: KvEntry, includeValue = true): JsonValue {
  return {
    LockIndex: entry.lockIndex,
    Key: entry.key,
    Flags: entry.flags,
    Value: includeValue && entry.value.length > 0 ? entry.value.toString('base64') : null,
    Session: entry.session,
    CreateIndex: entry.createIndex,
    ModifyIndex: entry.modifyIndex,
  };
}

/** Session JSON in Go's field order; `Checks` omitted when empty, `LockDelay` in nanoseconds. */
export function sessionJson(session: SessionEntry): JsonValue {
  return {
    ID: session.id,
    Name: session.name,
    Node: session.node,
    LockDelay: session.lockDelayNs,
    Behavior: session.behavior,
    TTL: session.ttl,
    NodeChecks: session.nodeChecks,
    ServiceChecks: session.serviceChecks
      ? session.serviceChecks.map((c) => ({ ID: c.id, Namespace: c.namespace }))
      : null,
    Checks: session.checks && session.checks.length > 0 ? session.checks : undefined,
    CreateIndex: session.createIndex,
    ModifyIndex: session.modifyIndex,
  };
}

/** True when two entries are equal the way Consul's `DirEntry.Equal` sees it (indexes ignored). */
export function sameEntry(a: KvEntry, b: KvEntry): boolean {
  return (
    a.lockIndex === b.lockIndex &&
    a.key === b.key &&
    a.flags === b.flags &&
    a.session === b.session &&
    a.value.equals(b.value)
  );
}
