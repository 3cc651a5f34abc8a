/**
 * Lossless JSON for Consul bodies. Consul's indexes and `Flags` are uint64; the lock and semaphore flag
 * values exceed 2^53, and Node 20's `JSON.parse` has no access to a number's source text, so an ordinary
 * parse silently rounds them. {@link parseJson} returns integers beyond the safe range as `bigint` and
 * everything else exactly as `JSON.parse` would: the native parser does the work, the literals of the few
 * unsafe numbers are read back from the text, and a parser of its own takes over only when two different
 * literals round to the same number.
 *
 * @module
 */

import { ProtocolError } from '../errors.js';

/** A parsed JSON value where unsafe integers are `bigint`. */
export type JsonValue = null | boolean | number | bigint | string | JsonValue[] | { [key: string]: JsonValue };

/** A string without escapes or control characters: its content is its source text. */
// eslint-disable-next-line no-control-regex -- JSON strings must not hold raw control characters
const SIMPLE_STRING = /"[^"\\\u0000-\u001f]*"/y;
/** JSON's number grammar. */
const NUMBER = /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/y;
/** A number literal without fraction or exponent. */
const INTEGER = /^-?\d+$/;

/**
 * Parses JSON text, returning integer literals outside `Number.MAX_SAFE_INTEGER` as `bigint`.
 *
 * @throws {@link ProtocolError} when the text is not valid JSON.
 */
export function parseJson(text: string): JsonValue {
  try {
    // The native parser is exact unless a number literal lies beyond the safe range, and then the number it
    // returns does too (rounding keeps the magnitude at or beyond 2^53). So the check looks at the parsed
    // numbers only — a few per entry — rather than at every character of the text, most of which is
    // base64 values: a scan for digit runs cost more than the parse itself.
    const value = JSON.parse(text) as JsonValue;
    if (!holdsUnsafeNumber(value)) return value;
    const literals = unsafeLiterals(text);
    return literals === undefined ? new LosslessParser(text).parseDocument() : withExactNumbers(value, literals);
  } catch (err) {
    // Nesting deep enough to exhaust the stack (thousands of levels, which no Consul reply has) is refused.
    if (err instanceof RangeError && err.message.includes('call stack')) throw new ProtocolError('Consul sent JSON nested too deeply to read');
    // Only a syntax error says the text is not JSON; anything else (out of memory, say) is not Consul's fault.
    if (!(err instanceof SyntaxError)) throw err;
    // V8's messages quote the text around the error, which may be anything the server sent (an echoed
    // token, say): only the position goes into the error, and the original is not kept as its cause.
    const position = /position (\d+)/.exec((err).message)?.[1];
    throw new ProtocolError(`Consul sent invalid JSON${position === undefined ? '' : ` (at position ${position})`}`);
  }
}

/**
 * Whether a `JSON.parse` result holds a number beyond `Number.MAX_SAFE_INTEGER` in magnitude, which the
 * source text may have written more precisely than the number keeps.
 */
export function holdsUnsafeNumber(value: unknown): boolean {
  if (typeof value === 'number') return value > Number.MAX_SAFE_INTEGER || value < -Number.MAX_SAFE_INTEGER;
  if (typeof value !== 'object' || value === null) return false;
  if (Array.isArray(value)) {
    for (const item of value as unknown[]) if (holdsUnsafeNumber(item)) return true;
    return false;
  }
  const record = value as Record<string, unknown>;
  for (const key in record) if (holdsUnsafeNumber(record[key])) return true;
  return false;
}

/**
 * One token of JSON text, for finding number literals: a whole string (whose digits are not numbers), a number,
 * or a run of anything else (punctuation, whitespace, literals). The string alternative is unrolled so that the
 * regex engine needs no stack per character: strings of many megabytes stay matchable.
 */
const TOKEN = /"[^"\\]*(?:\\.[^"\\]*)*"|-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?|[^"\d-]+/y;

const isUnsafe = (n: number): boolean => n > Number.MAX_SAFE_INTEGER || n < -Number.MAX_SAFE_INTEGER;

/**
 * The source text of every number literal of (valid) JSON `text` whose value lies beyond the safe range, keyed by
 * that value; `undefined` when two different literals round to the same number, so that the parsed value
 * alone cannot tell which literal it came from.
 */
function unsafeLiterals(text: string): Map<number, string> | undefined {
  const literals = new Map<number, string>();
  TOKEN.lastIndex = 0;
  while (TOKEN.lastIndex < text.length) {
    const start = TOKEN.lastIndex;
    if (!TOKEN.test(text)) return undefined;
    const c = text.charCodeAt(start);
    if (c !== 0x2d && (c < 0x30 || c > 0x39)) continue;
    const literal = text.slice(start, TOKEN.lastIndex);
    const n = Number(literal);
    if (!isUnsafe(n)) continue;
    const seen = literals.get(n);
    if (seen === undefined) literals.set(n, literal);
    else if (seen !== literal) return undefined;
  }
  return literals;
}

/**
 * `value` (a `JSON.parse` result, changed in place) with each unsafe integer replaced by the exact `bigint` of
 * its literal. A parsed number maps to one literal by its value, whatever the order of members, so repeated or
 * reordered members cannot mismatch them.
 */
function withExactNumbers(value: JsonValue, literals: Map<number, string>): JsonValue {
  if (typeof value === 'number') {
    if (!isUnsafe(value)) return value;
    const literal = literals.get(value);
    return literal !== undefined && INTEGER.test(literal) ? BigInt(literal) : value;
  }
  if (typeof value !== 'object' || value === null) return value;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) value[i] = withExactNumbers(value[i] as JsonValue, literals);
    return value;
  }
  for (const key of Object.keys(value)) {
    const exact = withExactNumbers(value[key] as JsonValue, literals);
    // Assigning "__proto__" would set the prototype; JSON.parse made it an ordinary own property.
    if (key === '__proto__') Object.defineProperty(value, key, { value: exact, enumerable: true, writable: true, configurable: true });
    else value[key] = exact;
  }
  return value;
}

const UINT64_END = 1n << 64n;
const INT64_MIN = -(1n << 63n);
const INT64_END = 1n << 63n;

/** What a JSON value is, for error messages that must not repeat server-sent text. */
function describe(value: JsonValue): string {
  if (typeof value === 'number' || typeof value === 'bigint') return String(value);
  return Array.isArray(value) ? 'an array' : typeof value === 'string' ? 'a string' : `a ${typeof value}`;
}

/** An exact integer in `[min, end)`, with `null`/absent as `0n`. */
function toInteger(value: JsonValue | undefined, field: string, type: string, min: bigint, end: bigint): bigint {
  if (value === undefined || value === null) return 0n;
  let v: bigint | undefined;
  if (typeof value === 'bigint') v = value;
  else if (typeof value === 'number' && Number.isInteger(value)) v = BigInt(value);
  if (v !== undefined && v >= min && v < end) return v;
  throw new ProtocolError(`Consul sent a ${field} that is not a ${type}: ${describe(value)}`);
}

/**
 * Converts a decoded JSON number to an exact `bigint` (`null` or absent: `0n`).
 *
 * @throws {@link ProtocolError} unless the value is an integer with 0 ≤ v < 2^64.
 */
export function toUint64(value: JsonValue | undefined, field: string): bigint {
  return toInteger(value, field, 'uint64', 0n, UINT64_END);
}

/**
 * Converts a decoded JSON number to an exact signed `bigint` (`null` or absent: `0n`), for Go `int64` fields
 * such as durations in nanoseconds.
 *
 * @throws {@link ProtocolError} unless the value is an integer with -2^63 ≤ v < 2^63.
 */
export function toInt64(value: JsonValue | undefined, field: string): bigint {
  return toInteger(value, field, 'int64', INT64_MIN, INT64_END);
}

class LosslessParser {
  private pos = 0;

  constructor(private readonly text: string) {}

  parseDocument(): JsonValue {
    const value = this.parseValue();
    this.skipWhitespace();
    if (this.pos !== this.text.length) this.fail('unexpected trailing characters');
    return value;
  }

  private parseValue(): JsonValue {
    this.skipWhitespace();
    const c = this.text.charCodeAt(this.pos);
    switch (c) {
      case 0x7b /* { */:
        return this.parseObject();
      case 0x5b /* [ */:
        return this.parseArray();
      case 0x22 /* " */:
        return this.parseString();
      case 0x74 /* t */:
        return this.parseLiteral('true', true);
      case 0x66 /* f */:
        return this.parseLiteral('false', false);
      case 0x6e /* n */:
        return this.parseLiteral('null', null);
      default:
        if (c === 0x2d || (c >= 0x30 && c <= 0x39)) return this.parseNumber();
        return this.fail('unexpected character');
    }
  }

  private parseObject(): JsonValue {
    this.pos++;
    const result: { [key: string]: JsonValue } = {};
    this.skipWhitespace();
    if (this.text.charCodeAt(this.pos) === 0x7d) {
      this.pos++;
      return result;
    }
    for (;;) {
      this.skipWhitespace();
      if (this.text.charCodeAt(this.pos) !== 0x22) this.fail('expected a property name');
      const key = this.parseString();
      this.skipWhitespace();
      if (this.text.charCodeAt(this.pos) !== 0x3a) this.fail('expected ":"');
      this.pos++;
      const value = this.parseValue();
      // Assigning "__proto__" would set the prototype; JSON.parse makes it an ordinary own property.
      if (key === '__proto__') Object.defineProperty(result, key, { value, enumerable: true, writable: true, configurable: true });
      else result[key] = value;
      this.skipWhitespace();
      const c = this.text.charCodeAt(this.pos++);
      if (c === 0x7d) return result;
      if (c !== 0x2c) this.fail('expected "," or "}"');
    }
  }

  private parseArray(): JsonValue {
    this.pos++;
    const result: JsonValue[] = [];
    this.skipWhitespace();
    if (this.text.charCodeAt(this.pos) === 0x5d) {
      this.pos++;
      return result;
    }
    for (;;) {
      result.push(this.parseValue());
      this.skipWhitespace();
      const c = this.text.charCodeAt(this.pos++);
      if (c === 0x5d) return result;
      if (c !== 0x2c) this.fail('expected "," or "]"');
    }
  }

  // The token scans use test() and slice(): exec() would allocate a match array per token.
  private parseString(): string {
    const start = this.pos;
    SIMPLE_STRING.lastIndex = start;
    if (SIMPLE_STRING.test(this.text)) {
      this.pos = SIMPLE_STRING.lastIndex;
      return this.text.slice(start + 1, this.pos - 1);
    }
    for (let i = start + 1; i < this.text.length; i++) {
      const c = this.text.charCodeAt(i);
      if (c === 0x5c) {
        i++;
      } else if (c === 0x22) {
        this.pos = i + 1;
        return JSON.parse(this.text.slice(start, i + 1)) as string;
      } else if (c < 0x20) {
        this.fail('control character in string');
      }
    }
    return this.fail('unterminated string');
  }

  private parseNumber(): number | bigint {
    const start = this.pos;
    NUMBER.lastIndex = start;
    if (!NUMBER.test(this.text)) return this.fail('invalid number');
    this.pos = NUMBER.lastIndex;
    const literal = this.text.slice(start, this.pos);
    const value = Number(literal);
    if (!Number.isSafeInteger(value) && INTEGER.test(literal)) return BigInt(literal);
    return value;
  }

  private parseLiteral<T extends JsonValue>(word: string, value: T): T {
    if (!this.text.startsWith(word, this.pos)) this.fail('unexpected token');
    this.pos += word.length;
    return value;
  }

  private skipWhitespace(): void {
    for (;;) {
      const c = this.text.charCodeAt(this.pos);
      if (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) this.pos++;
      else return;
    }
  }

  private fail(reason: string): never {
    throw new SyntaxError(`${reason} at position ${this.pos}`);
  }
}
