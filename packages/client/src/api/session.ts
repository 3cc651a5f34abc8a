/**
 * Sessions (`/v1/session/…`): create, destroy, renew and read. Creation is not retried once sent (a retry
 * could leave an orphan session behind); renew and destroy are idempotent and retried.
 *
 * @module
 */

import { InvalidArgumentError, ProtocolError } from '../errors.js';
import type { HttpTransport } from '../transport/http.js';
import { asArray, asObject, decodeBool, decodeSession, parseBody, str } from './decode.js';
import { pathSegment, queryMeta, queryResult, readRequest } from './query.js';
import type { QueryOptions, QueryResult, RequestOptions, SessionCreateOptions, SessionEntry } from './types.js';

function duration(name: string, v: string | number): string {
  if (typeof v === 'string') {
    if (v.trim() === '') throw new InvalidArgumentError(`${name} must not be empty`);
    return v;
  }
  if (!(Number.isFinite(v) && v >= 0)) throw new InvalidArgumentError(`${name} must be a non-negative number of milliseconds`);
  return `${Math.round(v)}ms`;
}

/** Consul sessions; reach them as `consul.session`. */
export class SessionApi {
  /** @internal */
  /** @internal Built by {@link Consul}. */
  constructor(private readonly t: HttpTransport) {}

  /**
   * Creates a session.
   *
   * @returns the new session's id.
   */
  async create(opts?: SessionCreateOptions): Promise<string> {
    const body: Record<string, unknown> = {};
    if (opts?.name !== undefined) body['Name'] = opts.name;
    if (opts?.node !== undefined) body['Node'] = opts.node;
    if (opts?.ttl !== undefined) body['TTL'] = duration('ttl', opts.ttl);
    // A string keeps Consul from reading small numbers as seconds.
    if (opts?.lockDelay !== undefined) body['LockDelay'] = duration('lockDelay', opts.lockDelay);
    if (opts?.behavior !== undefined) {
      if (opts.behavior !== 'release' && opts.behavior !== 'delete') throw new InvalidArgumentError('behavior must be release or delete');
      body['Behavior'] = opts.behavior;
    }
    if (opts?.nodeChecks !== undefined) body['NodeChecks'] = opts.nodeChecks;
    const res = await this.t.send({
      endpoint: 'session_create',
      method: 'PUT',
      path: '/v1/session/create',
      body: JSON.stringify(body),
      contentType: 'application/json',
      safety: 'conditional',
      options: opts,
    });
    const id = str(asObject(parseBody(res), 'a session create reply'), 'ID');
    if (id === '') throw new ProtocolError('Consul created a session without an ID');
    return id;
  }

  /** Destroys a session (releasing or deleting its locks). `true` even when it did not exist. */
  async destroy(id: string, opts?: RequestOptions): Promise<boolean> {
    const res = await this.t.send({
      endpoint: 'session_destroy',
      method: 'PUT',
      path: `/v1/session/destroy/${pathSegment('session id', id)}`,
      safety: 'idempotent',
      options: opts,
    });
    return decodeBool(res);
  }

  /**
   * Renews a TTL session.
   *
   * @returns the session, or `undefined` when Consul no longer knows it (expired or destroyed).
   */
  async renew(id: string, opts?: RequestOptions): Promise<SessionEntry | undefined> {
    const res = await this.t.send({
      endpoint: 'session_renew',
      method: 'PUT',
      path: `/v1/session/renew/${pathSegment('session id', id)}`,
      accept: [404],
      safety: 'idempotent',
      options: opts,
    });
    if (res.status === 404) return undefined;
    const list = asArray(parseBody(res), 'a session renew reply');
    return list.length === 0 ? undefined : decodeSession(list[0]);
  }

  /** Reads one session; `value` is `undefined` when it does not exist. Blocking-capable. */
  async info(id: string, opts?: QueryOptions): Promise<QueryResult<SessionEntry | undefined>> {
    const res = await this.t.send(
      readRequest(this.t, opts, { endpoint: 'session_info', path: `/v1/session/info/${pathSegment('session id', id)}` }),
    );
    const list = asArray(parseBody(res), 'a session info reply');
    return queryResult(queryMeta(res), list.length === 0 ? undefined : decodeSession(list[0]));
  }

  /** Lists every session. Blocking-capable. */
  async list(opts?: QueryOptions): Promise<QueryResult<SessionEntry[]>> {
    const res = await this.t.send(readRequest(this.t, opts, { endpoint: 'session_list', path: '/v1/session/list' }));
    return queryResult(queryMeta(res), asArray(parseBody(res), 'a session list').map(decodeSession));
  }

  /** Lists the sessions of one node. Blocking-capable. */
  async node(node: string, opts?: QueryOptions): Promise<QueryResult<SessionEntry[]>> {
    const res = await this.t.send(
      readRequest(this.t, opts, { endpoint: 'session_node', path: `/v1/session/node/${pathSegment('node', node)}` }),
    );
    return queryResult(queryMeta(res), asArray(parseBody(res), 'a session list').map(decodeSession));
  }
}
