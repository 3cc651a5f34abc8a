/**
 * Decoding of KV read replies (`GET /v1/kv/…`, a JSON array of entries) without copying their values into
 * JavaScript strings twice. The plain way — `JSON.parse` of the body text, then each base64 `Value` decoded —
 * puts every value on the V8 heap twice (inside the body text, then as the parsed string) before it becomes a
 * `Buffer`. For the large values kvx moves (files up to 512 KiB a key) that allocation, and the garbage
 * collection it causes, costs more than the rest of a watcher's wake-up together.
 *
 * So for a large body each `"Value":"…"` is cut out of the text and decoded straight into a `Buffer`; only the
 * small remainder (keys, flags, indexes, sessions) goes through the lossless JSON parser, and each entry gets
 * its value back in order. The cut is safe because an unescaped `"Value":"` cannot occur inside a JSON string
 * (every quote there is escaped), so a match is either the `Value` member itself or — only in a reply no
 * Consul sends — the end of a member name such as `"x\"Value"`. The second kind, a value holding an escape
 * sequence or anything but base64, escaped member names, nested or repeated `Value` members all show up as a
 * numbered mark out of its place, a short decoded length or a backslash, and the reply is then decoded the
 * plain way. The result is the same either way.
 *
 * @module
 */

import { ProtocolError } from '../errors.js';
import { parseJson, type JsonValue } from '../transport/json.js';
import { asArray, asObject, decodeBase64, decodeKvPair } from './decode.js';
import type { KvPair } from './types.js';

/** Bodies below this length are decoded the plain way: cutting out values pays off only for large ones. */
export const CUT_VALUES_ABOVE = 4096;

const VALUE_MEMBER = '"Value":"';

/**
 * The entries of a KV read reply (an array of `DirEntry`, as text; `what` names it in errors).
 *
 * @throws {@link ProtocolError} when the body is not valid JSON or not an array of entries.
 */
export function decodeKvEntries(text: string, what: string): KvPair[] {
  if (text.length > CUT_VALUES_ABOVE) {
    const cut = decodeWithValuesCut(text, what);
    if (cut !== undefined) return cut;
  }
  return asArray(parseJson(text), what).map((entry) => decodeKvPair(entry));
}

/**
 * The fast path of {@link decodeKvEntries}: the entries, or `undefined` when the reply must be decoded the plain way.
 *
 * @internal exported for tests.
 */
export function decodeWithValuesCut(text: string, what: string): KvPair[] | undefined {
  const values: Buffer[] = [];
  const rest: string[] = [];
  let from = 0;
  // The next backslash at or after the current value, found once for all of them: a scan per value would make
  // a long listing quadratic.
  let backslash = text.indexOf('\\');
  for (let at = text.indexOf(VALUE_MEMBER); at !== -1; at = text.indexOf(VALUE_MEMBER, from)) {
    const start = at + VALUE_MEMBER.length;
    const end = text.indexOf('"', start);
    if (end === -1) return undefined;
    if (backslash !== -1 && backslash < start) backslash = text.indexOf('\\', start);
    // An escape inside the value would mean it is not plain base64 text (or that the quote found is escaped).
    if (backslash !== -1 && backslash < end) return undefined;
    // The value leaves a numbered mark (`#` is not base64): each entry must find its own mark, in order, so a
    // mark that lands anywhere else (a nested member) shows, and so does a Value member the cut did not see.
    rest.push(text.slice(from, start), `#${values.length}`);
    // A slice shares the reply's characters: the value is decoded without being copied into a string first.
    // Anything but base64 (a character the decoder skips, a raw control character JSON forbids) goes the plain
    // way, which accepts or rejects it as JSON does.
    const value = decodeBase64(text, start, end);
    if (value === undefined) return undefined;
    values.push(value);
    from = end;
  }
  if (values.length === 0) return undefined;
  rest.push(text.slice(from));
  const remainder = rest.join('');
  // An escaped member name ("Valu\u0065") could repeat a Value member the cut did not see.
  if (remainder.includes('\\')) return undefined;
  let parsed: JsonValue;
  try {
    parsed = parseJson(remainder);
  } catch (err) {
    // Invalid JSON stays invalid without its values; the plain way reports the position in the whole body.
    if (err instanceof ProtocolError) return undefined;
    throw err;
  }
  const list = asArray(parsed, what);
  let next = 0;
  const pairs: KvPair[] = [];
  for (const entry of list) {
    const o = asObject(entry, 'a KV entry');
    const mark = o['Value'];
    if (typeof mark !== 'string' || !mark.startsWith('#')) {
      pairs.push(decodeKvPair(o));
      continue;
    }
    if (mark !== `#${next}`) return undefined;
    pairs.push(decodeKvPair(o, values[next++]));
  }
  return next === values.length ? pairs : undefined;
}
