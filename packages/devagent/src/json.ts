/**
 * JSON with exact 64-bit integers. Consul's `Flags` and indexes are uint64 and the lock/semaphore flag values
 * exceed 2^53, so the agent neither emits nor reads them through JS doubles: `bigint` values are written as
 * their exact decimal text, and the parser returns integers beyond `Number.MAX_SAFE_INTEGER` as `bigint`.
 *
 * @module
 */

/** A JSON value as the agent builds it; `undefined` object members are omitted (Go's `omitempty`). */
export type JsonValue =
  | null
  | boolean
  | number
  | bigint
  | string
  | readonly JsonValue[]
  | { readonly [key: string]: JsonValue | undefined };

/** A parsed JSON object: null prototype, so keys like `__proto__` are plain data. */
export type JsonObject = { [key: string]: ParsedJson };
/** What {@link parseJson} returns. */
export type ParsedJson = null | boolean | number | bigint | string | ParsedJson[] | JsonObject;

// Go's encoder escapes these for safe embedding in HTML; mirrored so bodies match Consul's byte for byte.
const HTML_UNSAFE = /[<>&\u2028\u2029]/g;

function escapeChar(c: string): string {
  return `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`;
}

function quoteString(text: string): string {
  return JSON.stringify(text).replace(HTML_UNSAFE, escapeChar);
}

function write(value: JsonValue, indent: string, depth: number, out: string[]): void {
  if (value === null) {
    out.push('null');
  } else if (typeof value === 'string') {
    out.push(quoteString(value));
  } else if (typeof value === 'bigint') {
    out.push(value.toString());
  } else if (typeof value === 'number') {
    out.push(Number.isFinite(value) ? String(value) : 'null');
  } else if (typeof value === 'boolean') {
    out.push(value ? 'true' : 'false');
  } else if (Array.isArray(value)) {
    const items = value as readonly JsonValue[];
    if (items.length === 0) {
      out.push('[]');
      return;
    }
    const inner = indent ? `\n${indent.repeat(depth + 1)}` : '';
    out.push('[');
    items.forEach((item, i) => {
      if (i > 0) out.push(',');
      out.push(inner);
      write(item, indent, depth + 1, out);
    });
    out.push(indent ? `\n${indent.repeat(depth)}]` : ']');
  } else {
    const inner = indent ? `\n${indent.repeat(depth + 1)}` : '';
    const separator = indent ? ': ' : ':';
    let first = true;
    out.push('{');
    for (const [key, member] of Object.entries(value)) {
      if (member === undefined) continue;
      if (!first) out.push(',');
      first = false;
      out.push(inner, quoteString(key), separator);
      write(member, indent, depth + 1, out);
    }
    out.push(first ? '}' : indent ? `\n${indent.repeat(depth)}}` : '}');
  }
}

/**
 * Serialises a value with object members in insertion order (so field order follows Consul's Go structs) and
 * bigints as exact integers. With `pretty`, indents with 4 spaces and ends with a newline, as `?pretty` does.
 */
export function toJson(value: JsonValue, pretty = false): string {
  const out: string[] = [];
  write(value, pretty ? '    ' : '', 0, out);
  if (pretty) out.push('\n');
  return out.join('');
}

/** Text that is not valid JSON; `message` follows Go's `encoding/json` wording. */
export class JsonSyntaxError extends Error {
  /** Stable machine-readable code. */
  readonly code = 'KVX_AGENT_JSON';

  constructor(message: string) {
    super(message);
    this.name = new.target.name;
  }
}

const MAX_DEPTH = 512;
const NUMBER = /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/y;

class Parser {
  private pos = 0;

  constructor(private readonly text: string) {}

  parse(): ParsedJson {
    this.skipSpace();
    const value = this.value(0);
    this.skipSpace();
    if (this.pos < this.text.length) this.fail('after top-level value');
    return value;
  }

  private fail(context: string): never {
    if (this.pos >= this.text.length) throw new JsonSyntaxError('unexpected end of JSON input');
    const c = this.text[this.pos] ?? '';
    throw new JsonSyntaxError(`invalid character ${JSON.stringify(c).replace(/^"|"$/g, "'")} ${context}`);
  }

  private skipSpace(): void {
    while (this.pos < this.text.length) {
      const c = this.text.charCodeAt(this.pos);
      if (c !== 0x20 && c !== 0x09 && c !== 0x0a && c !== 0x0d) return;
      this.pos++;
    }
  }

  private value(depth: number): ParsedJson {
    if (depth > MAX_DEPTH) throw new JsonSyntaxError('exceeded max depth');
    const c = this.text[this.pos];
    switch (c) {
      case '{':
        return this.object(depth);
      case '[':
        return this.array(depth);
      case '"':
        return this.string();
      case 't':
        return this.literal('true', true);
      case 'f':
        return this.literal('false', false);
      case 'n':
        return this.literal('null', null);
      default:
        return this.number();
    }
  }

  private literal<T>(word: string, value: T): T {
    for (let i = 0; i < word.length; i++) {
      if (this.text[this.pos] !== word[i]) this.fail(`in literal ${word} (expecting '${word[i]}')`);
      this.pos++;
    }
    return value;
  }

  private number(): number | bigint {
    NUMBER.lastIndex = this.pos;
    const match = NUMBER.exec(this.text);
    if (!match) this.fail('looking for beginning of value');
    const raw = match[0];
    this.pos += raw.length;
    if (/^-?\d+$/.test(raw)) {
      const n = Number(raw);
      return Number.isSafeInteger(n) ? n : BigInt(raw);
    }
    return Number(raw);
  }

  private string(): string {
    this.pos++;
    let out = '';
    let start = this.pos;
    for (;;) {
      if (this.pos >= this.text.length) this.fail('in string literal');
      const code = this.text.charCodeAt(this.pos);
      if (code === 0x22) {
        out += this.text.slice(start, this.pos);
        this.pos++;
        return out;
      }
      if (code < 0x20) this.fail('in string literal');
      if (code === 0x5c) {
        out += this.text.slice(start, this.pos);
        this.pos++;
        out += this.escape();
        start = this.pos;
        continue;
      }
      this.pos++;
    }
  }

  private escape(): string {
    const c = this.text[this.pos];
    this.pos++;
    switch (c) {
      case '"':
        return '"';
      case '\\':
        return '\\';
      case '/':
        return '/';
      case 'b':
        return '\b';
      case 'f':
        return '\f';
      case 'n':
        return '\n';
      case 'r':
        return '\r';
      case 't':
        return '\t';
      case 'u': {
        const hex = this.text.slice(this.pos, this.pos + 4);
        if (!/^[0-9a-fA-F]{4}$/.test(hex)) this.fail('in \\u hexadecimal character escape');
        this.pos += 4;
        return String.fromCharCode(parseInt(hex, 16));
      }
      default:
        this.pos--;
        return this.fail('in string escape code');
    }
  }

  private array(depth: number): ParsedJson[] {
    this.pos++;
    const items: ParsedJson[] = [];
    this.skipSpace();
    if (this.text[this.pos] === ']') {
      this.pos++;
      return items;
    }
    for (;;) {
      this.skipSpace();
      items.push(this.value(depth + 1));
      this.skipSpace();
      const c = this.text[this.pos];
      this.pos++;
      if (c === ']') return items;
      if (c !== ',') {
        this.pos--;
        this.fail('after array element');
      }
    }
  }

  private object(depth: number): JsonObject {
    this.pos++;
    const result = Object.create(null) as JsonObject;
    this.skipSpace();
    if (this.text[this.pos] === '}') {
      this.pos++;
      return result;
    }
    for (;;) {
      this.skipSpace();
      if (this.text[this.pos] !== '"') this.fail('looking for beginning of object key string');
      const key = this.string();
      this.skipSpace();
      if (this.text[this.pos] !== ':') this.fail('after object key');
      this.pos++;
      this.skipSpace();
      result[key] = this.value(depth + 1);
      this.skipSpace();
      const c = this.text[this.pos];
      this.pos++;
      if (c === '}') return result;
      if (c !== ',') {
        this.pos--;
        this.fail('after object key:value pair');
      }
    }
  }
}

/**
 * Parses JSON text. Integers beyond 2^53 come back as `bigint`; objects have a null prototype.
 *
 * @throws JsonSyntaxError with a Go-like message.
 */
export function parseJson(text: string): ParsedJson {
  return new Parser(text).parse();
}

/** True for a parsed JSON object (not an array, not null). */
export function isJsonObject(value: ParsedJson | undefined): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
