/**
 * The semaphore's coordination record, `<prefix>/.lock`: JSON `{"Limit":N,"Holders":{"<session>":true}}`
 * encoded byte for byte as Go's `encoding/json` writes it (field order Limit then Holders, holder keys
 * sorted, `{}` when empty, Go's string escaping), and decoded as leniently as Go decodes it.
 *
 * @module
 */

import type { KvPair } from '../api/types.js';

/** Decoded `<prefix>/.lock`. */
export interface SemaphoreRecord {
  /** Holder limit every contender must agree on. */
  limit: number;
  /** Session ids of the holders (the value is kept only to re-encode the record faithfully). */
  holders: Map<string, boolean>;
}

/** Why `.lock` could not be decoded (the semaphore wraps it as `lock decoding failed: …`). */
export class SemaphoreRecordError extends Error {
  constructor(message: string) {
    super(message);
    this.name = new.target.name;
  }
}

/**
 * Decodes `.lock`. An empty value (Consul's `null`), as for a record that does not exist yet, yields
 * `{ limit: defaultLimit, holders: {} }`.
 *
 * @throws {@link SemaphoreRecordError} on invalid JSON or wrongly typed fields.
 */
export function decodeSemaphoreRecord(value: Buffer, defaultLimit: number): SemaphoreRecord {
  if (value.length === 0) return { limit: defaultLimit, holders: new Map() };
  let parsed: unknown;
  try {
    parsed = JSON.parse(value.toString('utf8'));
  } catch (err) {
    throw new SemaphoreRecordError((err as Error).message);
  }
  // Go decodes `null` into the zero struct, and matches field names case-insensitively (last one wins).
  const record: SemaphoreRecord = { limit: 0, holders: new Map() };
  if (parsed === null) return record;
  if (typeof parsed !== 'object' || Array.isArray(parsed)) throw new SemaphoreRecordError('the record is not a JSON object');
  for (const [name, field] of Object.entries(parsed as Record<string, unknown>)) {
    const lower = name.toLowerCase();
    if (lower === 'limit') {
      if (field === null) continue;
      if (typeof field !== 'number' || !Number.isSafeInteger(field)) throw new SemaphoreRecordError('Limit is not an integer');
      record.limit = field;
    } else if (lower === 'holders') {
      record.holders = decodeHolders(field);
    }
  }
  return record;
}

function decodeHolders(field: unknown): Map<string, boolean> {
  const holders = new Map<string, boolean>();
  if (field === null) return holders;
  if (typeof field !== 'object' || Array.isArray(field)) throw new SemaphoreRecordError('Holders is not a JSON object');
  for (const [session, held] of Object.entries(field as Record<string, unknown>)) {
    if (held === null) {
      holders.set(session, false);
      continue;
    }
    if (typeof held !== 'boolean') throw new SemaphoreRecordError(`holder ${JSON.stringify(session)} is not a boolean`);
    holders.set(session, held);
  }
  return holders;
}

/** Encodes `.lock` exactly as Go's `json.Marshal` of its `semaphoreLock` struct. */
export function encodeSemaphoreRecord(record: SemaphoreRecord): Buffer {
  const sessions = [...record.holders.keys()].sort(compareUtf8);
  const holders = sessions.map((s) => `${goJsonString(s)}:${record.holders.get(s) === false ? 'false' : 'true'}`);
  return Buffer.from(`{"Limit":${record.limit},"Holders":{${holders.join(',')}}}`, 'utf8');
}

/**
 * Go's semaphore pruning: drops every holder whose session holds no key in `pairs` (the listing of the
 * prefix). A holder's contender key disappears with its session (behaviour `delete`), so a dead holder
 * frees its slot without anyone having to edit `.lock` on its behalf.
 */
export function pruneDeadHolders(record: SemaphoreRecord, pairs: readonly KvPair[]): void {
  const alive = new Set<string>();
  for (const pair of pairs) if (pair.session !== undefined) alive.add(pair.session);
  for (const session of [...record.holders.keys()]) if (!alive.has(session)) record.holders.delete(session);
}

/** Go sorts map keys as byte strings: compare UTF-8 bytes, not UTF-16 code units. */
function compareUtf8(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}

const GO_ESCAPES: Record<string, string> = {
  '<': '\\u003c',
  '>': '\\u003e',
  '&': '\\u0026',
  '\u2028': '\\u2028',
  '\u2029': '\\u2029',
  '\\b': '\\u0008',
  '\\f': '\\u000c',
};

/** `JSON.stringify` of a string, re-escaped where Go's encoder differs (HTML characters, \b, \f, U+2028/9). */
function goJsonString(text: string): string {
  // Escape pairs are matched whole so that an escaped backslash followed by "b" stays as it is.
  return JSON.stringify(text).replace(/[<>&\u2028\u2029]|\\./g, (m) => GO_ESCAPES[m] ?? m);
}
