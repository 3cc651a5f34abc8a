/**
 * A minimal HTTP client over node:http for the conformance suite: it shows exactly what the agent sent
 * (status, headers, raw body bytes) without any Consul client in between.
 */
import http, { type IncomingHttpHeaders } from 'node:http';

/** A complete response. */
export interface RawResponse {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  readonly body: Buffer;
  readonly text: string;
  /** `X-Consul-Index` as a bigint (undefined when absent). */
  readonly index: bigint | undefined;
  /** Body parsed with JSON.parse (big integers lose precision: assert those on `text`). */
  json<T = unknown>(): T;
}

/** Options of one request. */
export interface RawRequestOptions {
  body?: string | Buffer;
  headers?: Record<string, string | number>;
  /** Send the body with chunked encoding (no Content-Length). */
  chunked?: boolean;
  agent?: http.Agent;
  signal?: AbortSignal;
}

/** Sends one request to `base` + `path` (path and query already encoded). */
export function rawRequest(base: string, method: string, path: string, opts: RawRequestOptions = {}): Promise<RawResponse> {
  const url = new URL(path, base);
  return new Promise((resolve, reject) => {
    const req = http.request(
      url,
      { method, headers: opts.headers, agent: opts.agent ?? false, ...(opts.signal && { signal: opts.signal }) },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('error', reject);
        res.on('end', () => {
          const body = Buffer.concat(chunks);
          const text = body.toString('utf8');
          const header = res.headers['x-consul-index'];
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            body,
            text,
            index: typeof header === 'string' ? BigInt(header) : undefined,
            json: <T>() => JSON.parse(text) as T,
          });
        });
      },
    );
    req.on('error', reject);
    if (opts.body !== undefined) {
      if (opts.chunked) {
        req.setHeader('Transfer-Encoding', 'chunked');
        req.write(opts.body);
      } else {
        req.setHeader('Content-Length', Buffer.byteLength(opts.body));
        req.write(opts.body);
      }
    }
    req.end();
  });
}

/** Shorthands bound to one agent URL. */
export function client(base: string) {
  return {
    get: (path: string, opts?: RawRequestOptions) => rawRequest(base, 'GET', path, opts),
    put: (path: string, body?: string | Buffer, opts?: RawRequestOptions) =>
      rawRequest(base, 'PUT', path, { ...opts, ...(body !== undefined && { body }) }),
    del: (path: string, opts?: RawRequestOptions) => rawRequest(base, 'DELETE', path, opts),
    request: (method: string, path: string, opts?: RawRequestOptions) => rawRequest(base, method, path, opts),
  };
}

/** Type of {@link client}'s result. */
export type RawClient = ReturnType<typeof client>;

/** One KV entry as the agent sends it. */
export interface KvJson {
  LockIndex: number;
  Key: string;
  Flags: number;
  Value: string | null;
  Session?: string;
  CreateIndex: number;
  ModifyIndex: number;
}

/** Creates a session with no checks (and optional extra fields); returns its id. */
export async function createSession(c: RawClient, fields: Record<string, unknown> = {}): Promise<string> {
  const res = await c.put('/v1/session/create', JSON.stringify({ NodeChecks: [], Checks: [], ...fields }));
  if (res.status !== 200) throw new Error(`session create failed: ${res.status} ${res.text}`);
  return res.json<{ ID: string }>().ID;
}

/** Resolves after `ms`. */
export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Reads one key's entry (undefined on 404). */
export async function getEntry(c: RawClient, key: string): Promise<KvJson | undefined> {
  const res = await c.get(`/v1/kv/${key}`);
  if (res.status === 404) return undefined;
  return res.json<KvJson[]>()[0];
}
