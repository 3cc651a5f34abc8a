/**
 * Encoding of commits and store images for the data directory: JSON with exact uint64 flags and base64 values.
 *
 * @module
 */
import { MAX_DURATION_NS } from '../duration.js';
import { DataDirError } from '../errors.js';
import { isJsonObject, parseJson, toJson, type JsonObject, type JsonValue, type ParsedJson } from '../json.js';
import type { KvEntry, SessionEntry } from '../state/entries.js';
import type { Mutation, StoreImage } from '../state/store.js';

/** One journaled commit. */
export interface CommitRecord {
  readonly index: number;
  readonly mutations: readonly Mutation[];
}

/**
 * A record the reader would reject must never reach the disk: recovery refuses a damaged log, so one such record
 * would make the data directory impossible to open. JSON has no Infinity or NaN (they would be written as `null`).
 */
function unwritable(what: string, field: string, value: number): never {
  throw new DataDirError(`refusing to write ${what} with ${field} = ${value}: it could not be read back`);
}

function finite(value: number, what: string, field: string): number {
  return Number.isFinite(value) ? value : unwritable(what, field, value);
}

/** Lock-delays are Go `time.Duration`s: integer nanoseconds that fit an int64, never negative here. */
function lockDelay(value: number): number {
  return Number.isInteger(value) && value >= 0 && value <= MAX_DURATION_NS ? value : unwritable('a session', 'lockDelayNs', value);
}

function entryToJson(e: KvEntry): JsonValue {
  return {
    k: e.key,
    f: e.flags,
    v: e.value.toString('base64'),
    s: e.session,
    l: finite(e.lockIndex, 'a KV entry', 'lockIndex'),
    c: finite(e.createIndex, 'a KV entry', 'createIndex'),
    m: finite(e.modifyIndex, 'a KV entry', 'modifyIndex'),
  };
}

function sessionToJson(s: SessionEntry): JsonValue {
  return {
    id: s.id,
    name: s.name,
    node: s.node,
    lockDelayNs: lockDelay(s.lockDelayNs),
    behavior: s.behavior,
    ttl: s.ttl,
    ttlMs: finite(s.ttlMs, 'a session', 'ttlMs'),
    nodeChecks: s.nodeChecks,
    serviceChecks: s.serviceChecks ? s.serviceChecks.map((c) => ({ id: c.id, namespace: c.namespace })) : null,
    checks: s.checks,
    c: finite(s.createIndex, 'a session', 'createIndex'),
    m: finite(s.modifyIndex, 'a session', 'modifyIndex'),
  };
}

function mutationToJson(m: Mutation): JsonValue {
  switch (m.type) {
    case 'kv-set':
      return { t: 'kv-set', e: entryToJson(m.entry) };
    case 'kv-delete':
      return { t: 'kv-delete', k: m.key };
    case 'kv-delete-tree':
      return { t: 'kv-delete-tree', p: m.prefix };
    case 'session-set':
      return { t: 'session-set', s: sessionToJson(m.session) };
    case 'session-delete':
      return { t: 'session-delete', id: m.id };
  }
}

/**
 * Serialises a commit.
 *
 * @throws DataDirError when a field holds a value {@link decodeCommit} could not read back.
 */
export function encodeCommit(index: number, mutations: readonly Mutation[]): Buffer {
  return Buffer.from(toJson({ i: finite(index, 'a commit', 'index'), m: mutations.map(mutationToJson) }), 'utf8');
}

/**
 * Serialises a store image with the log generation that follows it.
 *
 * @throws DataDirError when a field holds a value {@link decodeImage} could not read back.
 */
export function encodeImage(image: StoreImage, nextGeneration: number): Buffer {
  return Buffer.from(
    toJson({
      version: 1,
      nextGeneration: finite(nextGeneration, 'a snapshot', 'nextGeneration'),
      lastIndex: finite(image.lastIndex, 'a snapshot', 'lastIndex'),
      kvIndex: finite(image.kvIndex, 'a snapshot', 'kvIndex'),
      sessionsIndex: finite(image.sessionsIndex, 'a snapshot', 'sessionsIndex'),
      entries: image.entries.map(entryToJson),
      tombstones: image.tombstones.map(([k, i]) => [k, finite(i, 'a tombstone', 'index')]),
      sessions: image.sessions.map(sessionToJson),
    }),
    'utf8',
  );
}

class Reader {
  constructor(
    private readonly obj: JsonObject,
    private readonly what: string,
  ) {}

  private bad(field: string): never {
    throw new DataDirError(`corrupt ${this.what}: bad field "${field}"`);
  }

  str(field: string): string {
    const v = this.obj[field];
    return typeof v === 'string' ? v : this.bad(field);
  }

  optStr(field: string): string | undefined {
    const v = this.obj[field];
    if (v === undefined || v === null) return undefined;
    return typeof v === 'string' ? v : this.bad(field);
  }

  /** Integers beyond 2^53 parse as bigints; they were written from doubles, so converting back is exact. */
  num(field: string): number {
    const v = this.obj[field];
    return typeof v === 'number' || typeof v === 'bigint' ? Number(v) : this.bad(field);
  }

  big(field: string): bigint {
    const v = this.obj[field];
    return typeof v === 'number' || typeof v === 'bigint' ? BigInt(v) : this.bad(field);
  }

  list(field: string): ParsedJson[] {
    const v = this.obj[field];
    return Array.isArray(v) ? v : this.bad(field);
  }

  strList(field: string): string[] {
    return this.list(field).map((x) => (typeof x === 'string' ? x : this.bad(field)));
  }

  optList(field: string): ParsedJson[] | null | undefined {
    const v = this.obj[field];
    if (v === undefined || v === null) return v === null ? null : undefined;
    return Array.isArray(v) ? v : this.bad(field);
  }
}

function asObject(value: ParsedJson | undefined, what: string): JsonObject {
  if (!isJsonObject(value)) throw new DataDirError(`corrupt ${what}: expected an object`);
  return value;
}

function entryFromJson(value: ParsedJson | undefined): KvEntry {
  const r = new Reader(asObject(value, 'KV entry'), 'KV entry');
  return {
    key: r.str('k'),
    flags: r.big('f'),
    value: Buffer.from(r.str('v'), 'base64'),
    session: r.optStr('s'),
    lockIndex: r.num('l'),
    createIndex: r.num('c'),
    modifyIndex: r.num('m'),
  };
}

function sessionFromJson(value: ParsedJson | undefined): SessionEntry {
  const r = new Reader(asObject(value, 'session'), 'session');
  const behavior = r.str('behavior');
  const serviceChecks = r.optList('serviceChecks');
  const checks = r.optList('checks');
  return {
    id: r.str('id'),
    name: r.str('name'),
    node: r.str('node'),
    // Older agents stored negative lock-delays, which mean none.
    lockDelayNs: Math.max(0, r.num('lockDelayNs')),
    behavior: behavior === 'delete' ? 'delete' : 'release',
    ttl: r.str('ttl'),
    ttlMs: r.num('ttlMs'),
    nodeChecks: r.strList('nodeChecks'),
    serviceChecks: serviceChecks
      ? serviceChecks.map((c) => {
          const cr = new Reader(asObject(c, 'service check'), 'service check');
          return { id: cr.str('id'), namespace: cr.str('namespace') };
        })
      : null,
    checks: checks ? checks.map((c) => (typeof c === 'string' ? c : '')) : undefined,
    createIndex: r.num('c'),
    modifyIndex: r.num('m'),
  };
}

function mutationFromJson(value: ParsedJson): Mutation {
  const obj = asObject(value, 'mutation');
  const r = new Reader(obj, 'mutation');
  switch (r.str('t')) {
    case 'kv-set':
      return { type: 'kv-set', entry: entryFromJson(obj.e) };
    case 'kv-delete':
      return { type: 'kv-delete', key: r.str('k') };
    case 'kv-delete-tree':
      return { type: 'kv-delete-tree', prefix: r.str('p') };
    case 'session-set':
      return { type: 'session-set', session: sessionFromJson(obj.s) };
    case 'session-delete':
      return { type: 'session-delete', id: r.str('id') };
    default:
      throw new DataDirError('corrupt mutation: unknown type');
  }
}

function parse(bytes: Buffer, what: string): ParsedJson {
  try {
    return parseJson(bytes.toString('utf8'));
  } catch (err) {
    throw new DataDirError(`corrupt ${what}: ${(err as Error).message}`, err);
  }
}

/** Reads a commit written by {@link encodeCommit}. */
export function decodeCommit(bytes: Buffer): CommitRecord {
  const r = new Reader(asObject(parse(bytes, 'log record'), 'log record'), 'log record');
  return { index: r.num('i'), mutations: r.list('m').map(mutationFromJson) };
}

/** Reads an image written by {@link encodeImage}. */
export function decodeImage(bytes: Buffer): { image: StoreImage; nextGeneration: number } {
  const r = new Reader(asObject(parse(bytes, 'snapshot'), 'snapshot'), 'snapshot');
  if (r.num('version') !== 1) throw new DataDirError('unsupported snapshot version');
  return {
    nextGeneration: r.num('nextGeneration'),
    image: {
      lastIndex: r.num('lastIndex'),
      kvIndex: r.num('kvIndex'),
      sessionsIndex: r.num('sessionsIndex'),
      entries: r.list('entries').map(entryFromJson),
      tombstones: r.list('tombstones').map((t) => {
        if (!Array.isArray(t) || typeof t[0] !== 'string' || (typeof t[1] !== 'number' && typeof t[1] !== 'bigint')) {
          throw new DataDirError('corrupt snapshot: bad tombstone');
        }
        return [t[0], Number(t[1])] as const;
      }),
      sessions: r.list('sessions').map(sessionFromJson),
    },
  };
}
