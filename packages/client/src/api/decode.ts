/**
 * Decoding of Consul's JSON shapes into the typed API shapes: uint64 fields as exact `bigint`, base64
 * values as `Buffer` (`null` means empty), and strict shape checks that fail with a {@link ProtocolError}
 * rather than let `undefined` leak into callers.
 *
 * @module
 */

import { ProtocolError } from '../errors.js';
import { parseJson, toInt64, toUint64, type JsonValue } from '../transport/json.js';
import type { HttpResponse } from '../transport/http.js';
import type { KvPair, SessionBehavior, SessionEntry, TxnOpError, UserEvent } from './types.js';

type JsonObject = { [key: string]: JsonValue };

/** Parses a response body as lossless JSON. */
export function parseBody(res: HttpResponse): JsonValue {
  return parseJson(res.text);
}

/** Asserts that `v` is a JSON object. */
export function asObject(v: JsonValue | undefined, what: string): JsonObject {
  if (v === null || typeof v !== 'object' || Array.isArray(v)) throw new ProtocolError(`Consul sent ${what} that is not an object`);
  return v;
}

/** Asserts that `v` is an array (`null` counts as empty, as Go marshals nil slices). */
export function asArray(v: JsonValue | undefined, what: string): JsonValue[] {
  if (v === null || v === undefined) return [];
  if (!Array.isArray(v)) throw new ProtocolError(`Consul sent ${what} that is not an array`);
  return v;
}

/** Reads a string field (`undefined` and `null` give `fallback`). */
export function str(o: JsonObject, field: string, fallback = ''): string {
  const v = o[field];
  if (v === undefined || v === null) return fallback;
  if (typeof v !== 'string') throw new ProtocolError(`Consul sent a non-string ${field}`);
  return v;
}

/** Reads a string field that must be present and non-empty (a key, an id). */
export function requiredStr(o: JsonObject, field: string, what: string): string {
  const v = str(o, field);
  if (v === '') throw new ProtocolError(`Consul sent ${what} without its ${field}`);
  return v;
}

/**
 * The length base64 text at `text[start, end)` decodes to (standard alphabet, padded or not), or -1 when its
 * length cannot be base64. Node's decoder skips characters outside the alphabet instead of failing, so a
 * decoded length below this figure is how such text shows.
 */
function base64DecodedLength(text: string, start = 0, end = text.length): number {
  let length = end - start;
  let padding = 0;
  if (length > 0 && text.charCodeAt(end - 1) === 0x3d) padding = length > 1 && text.charCodeAt(end - 2) === 0x3d ? 2 : 1;
  if (padding > 0 && length % 4 !== 0) return -1;
  length -= padding;
  if (length % 4 === 1) return -1;
  return Math.floor((length * 3) / 4);
}

/**
 * `text[start, end)` decoded as standard base64, or `undefined` when it is not: a character outside the
 * alphabet (Node would skip it), the URL-safe `-`/`_` (Node would read them), or a length base64 cannot have.
 */
export function decodeBase64(text: string, start = 0, end = text.length): Buffer | undefined {
  const slice = start === 0 && end === text.length ? text : text.slice(start, end);
  const value = Buffer.from(slice, 'base64');
  if (value.length !== base64DecodedLength(text, start, end)) return undefined;
  // Only text that decoded to the full length can hold the URL-safe characters; two scans settle it.
  if (slice.includes('-') || slice.includes('_')) return undefined;
  return value;
}

/** A uint64 field kept as a number (a position or a small version): one beyond 2^53 is no such thing. */
function safeNumber(v: bigint, field: string): number {
  if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw new ProtocolError(`Consul sent a ${field} too large to be one`);
  return Number(v);
}

/** Decodes a base64 field; `null`/absent gives an empty buffer. */
export function base64(o: JsonObject, field: string): Buffer {
  const v = o[field];
  if (v === undefined || v === null) return Buffer.alloc(0);
  if (typeof v !== 'string') throw new ProtocolError(`Consul sent a non-string ${field}`);
  const value = decodeBase64(v);
  if (value === undefined) throw new ProtocolError(`Consul sent a ${field} that is not base64`);
  return value;
}

/** Decodes one KV entry (`DirEntry`), with its value already decoded when `value` is given. */
export function decodeKvPair(v: JsonValue | undefined, value?: Buffer): KvPair {
  const o = asObject(v, 'a KV entry');
  const pair: KvPair = {
    key: requiredStr(o, 'Key', 'a KV entry'),
    value: value ?? base64(o, 'Value'),
    flags: toUint64(o['Flags'], 'Flags'),
    createIndex: toUint64(o['CreateIndex'], 'CreateIndex'),
    modifyIndex: toUint64(o['ModifyIndex'], 'ModifyIndex'),
    lockIndex: toUint64(o['LockIndex'], 'LockIndex'),
  };
  const session = str(o, 'Session');
  if (session !== '') pair.session = session;
  return pair;
}

/**
 * Decodes one session. `LockDelay` arrives in nanoseconds (a Go `time.Duration`, so signed) and is returned
 * in milliseconds, truncated toward zero; one odd session must not make every listing fail.
 */
export function decodeSession(v: JsonValue | undefined): SessionEntry {
  const o = asObject(v, 'a session');
  const behavior = str(o, 'Behavior', 'release');
  // The value is not repeated: it is server-sent text, which must not reach an error unfiltered.
  if (behavior !== 'release' && behavior !== 'delete') throw new ProtocolError('Consul sent an unknown session Behavior');
  return {
    id: requiredStr(o, 'ID', 'a session'),
    name: str(o, 'Name'),
    node: str(o, 'Node'),
    lockDelay: Number(toInt64(o['LockDelay'], 'LockDelay') / 1_000_000n),
    behavior: behavior satisfies SessionBehavior,
    ttl: str(o, 'TTL'),
    nodeChecks: asArray(o['NodeChecks'], 'NodeChecks').map((c) => {
      if (typeof c !== 'string') throw new ProtocolError('Consul sent a non-string node check');
      return c;
    }),
    createIndex: toUint64(o['CreateIndex'], 'CreateIndex'),
    modifyIndex: toUint64(o['ModifyIndex'], 'ModifyIndex'),
  };
}

/** Decodes one user event. */
export function decodeEvent(v: JsonValue | undefined): UserEvent {
  const o = asObject(v, 'an event');
  const payload = o['Payload'];
  return {
    id: requiredStr(o, 'ID', 'an event'),
    name: str(o, 'Name'),
    payload: payload === null || payload === undefined ? undefined : base64(o, 'Payload'),
    nodeFilter: str(o, 'NodeFilter'),
    serviceFilter: str(o, 'ServiceFilter'),
    tagFilter: str(o, 'TagFilter'),
    version: safeNumber(toUint64(o['Version'], 'Version'), 'Version'),
    lTime: toUint64(o['LTime'], 'LTime'),
  };
}

/** Decodes a transaction's `Errors` list. */
export function decodeTxnErrors(v: JsonValue | undefined): TxnOpError[] {
  return asArray(v, 'transaction errors').map((e) => {
    const o = asObject(e, 'a transaction error');
    return { opIndex: safeNumber(toUint64(o['OpIndex'], 'OpIndex'), 'OpIndex'), what: str(o, 'What') };
  });
}

/** Decodes Consul's `true`/`false` write replies. */
export function decodeBool(res: HttpResponse): boolean {
  const v = parseBody(res);
  if (typeof v !== 'boolean') throw new ProtocolError('Consul sent a write reply that is not true or false');
  return v;
}
