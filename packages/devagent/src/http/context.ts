/**
 * Per-request context: parsed path and query, the caller's permissions, and the response helpers every handler
 * uses so that headers (content types, index metadata, ACL policy) are uniform across endpoints.
 *
 * @module
 */
import type { IncomingMessage, ServerResponse } from 'node:http';

import { ALLOW_ALL, type Authorizer } from '../acl.js';
import type { AgentCore } from '../core.js';
import { toJson, type JsonValue } from '../json.js';

/** Headers on every response: `Vary` (Consul answers gzip-capable) and the default ACL policy. */
export function baseHeaders(core: AgentCore): string[] {
  return ['Vary', 'Accept-Encoding', 'X-Consul-Default-ACL-Policy', core.acl?.policy ?? 'allow'];
}

/** Everything a handler needs about one request. */
export class RequestContext {
  /** The caller's permissions (allow-all when ACLs are off). */
  readonly authz: Authorizer;
  /** True when the request carried a token (filtered results are then announced). */
  readonly hasToken: boolean;
  /** `?pretty` present. */
  readonly pretty: boolean;
  /** Set when the request body was not fully read: the connection must not be reused. */
  closeConnection = false;
  /** Response headers as a flat name/value list, sent in one `writeHead` (the fast path of node:http). */
  private readonly headers: string[];

  constructor(
    readonly core: AgentCore,
    readonly req: IncomingMessage,
    readonly res: ServerResponse,
    /** URL-decoded path, e.g. `/v1/kv/foo bar`. */
    readonly path: string,
    readonly query: URLSearchParams,
    /** The ACL token from `?token=`, `X-Consul-Token` or `Authorization: Bearer`. */
    readonly token: string | undefined,
  ) {
    this.headers = baseHeaders(core);
    this.authz = core.acl ? core.acl.resolve(token) : ALLOW_ALL;
    this.hasToken = token !== undefined;
    this.pretty = query.has('pretty');
  }

  /** The path after `prefix` (e.g. the key of `/v1/kv/<key>`). */
  suffix(prefix: string): string {
    return this.path.slice(prefix.length);
  }

  /** True when the query string has the parameter (presence flags like `recurse`, `keys`, `raw`). */
  has(name: string): boolean {
    return this.query.has(name);
  }

  /** Adds a response header (each name at most once per response). */
  header(name: string, value: string): void {
    this.headers.push(name, value);
  }

  /** Sets `X-Consul-Index`, `X-Consul-KnownLeader`, `X-Consul-LastContact` (index 0 is sent as 1). */
  setQueryMeta(index: bigint | number): void {
    const value = BigInt(index);
    this.header('X-Consul-Index', (value < 1n ? 1n : value).toString());
    this.setLeaderMeta();
  }

  /** Sets `X-Consul-KnownLeader` and `X-Consul-LastContact` (the agent is always its own leader). */
  setLeaderMeta(): void {
    this.header('X-Consul-KnownLeader', 'true');
    this.header('X-Consul-LastContact', '0');
    this.header(
      'X-Consul-Effective-Consistency',
      this.has('consistent') ? 'consistent' : this.has('stale') ? 'stale' : 'leader',
    );
  }

  /** Announces that ACLs removed results, as Consul does only when the request carried a token. */
  markFiltered(filtered: boolean): void {
    if (filtered && this.hasToken) this.header('X-Consul-Results-Filtered-By-ACLs', 'true');
  }

  /** Sends a JSON body. */
  json(status: number, value: JsonValue): void {
    this.send(status, toJson(value, this.pretty), 'application/json');
  }

  /** Sends a body with a content type (or none for an empty body). */
  send(status: number, body: string | Buffer, contentType?: string): void {
    const res = this.res;
    if (res.headersSent || res.writableEnded) return;
    const headers = this.headers;
    if (contentType !== undefined) headers.push('Content-Type', contentType);
    headers.push('Content-Length', String(typeof body === 'string' ? Buffer.byteLength(body) : body.length));
    if (this.closeConnection) headers.push('Connection', 'close');
    res.writeHead(status, headers);
    res.end(body);
  }

  /** Sends a plain-text body, the form of Consul's error replies. */
  text(status: number, body: string): void {
    this.send(status, body, 'text/plain; charset=utf-8');
  }

  /** Resolves once every state the reply may reflect is durable (`undefined` when it already is). */
  durable(): Promise<void> | undefined {
    return this.core.store.barrier();
  }
}
