/**
 * Request-body decoding the way Go's `encoding/json` does it for Consul's structs: field names match
 * case-insensitively, and type mismatches fail with Go-like messages.
 *
 * @module
 */
import { isJsonObject, type JsonObject, type ParsedJson } from '../json.js';

/** A body field had the wrong JSON type or an unknown name. */
export class DecodeError extends Error {
  /** Stable machine-readable code. */
  readonly code = 'KVX_AGENT_DECODE';

  constructor(message: string) {
    super(message);
    this.name = new.target.name;
  }
}

function jsonType(value: ParsedJson): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  if (typeof value === 'bigint') return 'number';
  return typeof value;
}

/** A struct-like view of a JSON object with case-insensitive field lookup. */
export class Fields {
  private readonly byLower = new Map<string, { name: string; value: ParsedJson }>();

  constructor(
    object: JsonObject,
    private readonly structName: string,
    known?: readonly string[],
  ) {
    const allowed = known ? new Set(known.map((k) => k.toLowerCase())) : undefined;
    for (const [name, value] of Object.entries(object)) {
      const lower = name.toLowerCase();
      if (allowed && !allowed.has(lower)) throw new DecodeError(`json: unknown field ${JSON.stringify(name)}`);
      this.byLower.set(lower, { name, value });
    }
  }

  /** Whether the field is present (even as `null`). */
  has(name: string): boolean {
    return this.byLower.has(name.toLowerCase());
  }

  /** The raw value of a field. */
  raw(name: string): ParsedJson | undefined {
    return this.byLower.get(name.toLowerCase())?.value;
  }

  private mismatch(name: string, value: ParsedJson, goType: string): DecodeError {
    return new DecodeError(
      `json: cannot unmarshal ${jsonType(value)} into Go struct field ${this.structName}.${name} of type ${goType}`,
    );
  }

  /** A string field; `null`/absent → `fallback`. */
  string(name: string, fallback = ''): string {
    const value = this.raw(name);
    if (value === undefined || value === null) return fallback;
    if (typeof value !== 'string') throw this.mismatch(name, value, 'string');
    return value;
  }

  /** A uint64 field; `null`/absent → 0. */
  uint64(name: string): bigint {
    const value = this.raw(name);
    if (value === undefined || value === null) return 0n;
    if (typeof value === 'bigint' && value >= 0n && value < 1n << 64n) return value;
    if (typeof value === 'number' && Number.isInteger(value) && value >= 0) return BigInt(value);
    if (typeof value === 'number' || typeof value === 'bigint') {
      throw new DecodeError(`json: cannot unmarshal number ${String(value)} into Go struct field ${this.structName}.${name} of type uint64`);
    }
    throw this.mismatch(name, value, 'uint64');
  }

  /** A `[]string` field: `undefined` when absent, `null` when JSON null. */
  stringList(name: string): string[] | null | undefined {
    const value = this.raw(name);
    if (value === undefined) return undefined;
    if (value === null) return null;
    if (!Array.isArray(value)) throw this.mismatch(name, value, '[]string');
    return value.map((item) => {
      if (typeof item !== 'string') throw this.mismatch(name, item, 'string');
      return item;
    });
  }

  /** An object-list field: `undefined` when absent, `null` when JSON null. */
  objectList(name: string, goType: string): JsonObject[] | null | undefined {
    const value = this.raw(name);
    if (value === undefined) return undefined;
    if (value === null) return null;
    if (!Array.isArray(value)) throw this.mismatch(name, value, goType);
    return value.map((item) => {
      if (!isJsonObject(item)) throw this.mismatch(name, item, goType);
      return item;
    });
  }
}
