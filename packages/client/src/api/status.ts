/**
 * Cluster status (`/v1/status/…`): the Raft leader and peers.
 *
 * @module
 */

import { ProtocolError } from '../errors.js';
import type { HttpTransport } from '../transport/http.js';
import { asArray, parseBody } from './decode.js';
import type { RequestOptions } from './types.js';

/** Cluster status; reach it as `consul.status`. */
export class StatusApi {
  /** @internal */
  /** @internal Built by {@link Consul}. */
  constructor(private readonly t: HttpTransport) {}

  /** The leader's server RPC address (`"host:port"`), or `""` while there is no leader. */
  async leader(opts?: RequestOptions): Promise<string> {
    const res = await this.t.send({ endpoint: 'status_leader', method: 'GET', path: '/v1/status/leader', safety: 'idempotent', options: opts });
    const v = parseBody(res);
    if (typeof v !== 'string') throw new ProtocolError('Consul sent a leader that is not a string');
    return v;
  }

  /** The Raft peers' server RPC addresses. */
  async peers(opts?: RequestOptions): Promise<string[]> {
    const res = await this.t.send({ endpoint: 'status_peers', method: 'GET', path: '/v1/status/peers', safety: 'idempotent', options: opts });
    return asArray(parseBody(res), 'a peer list').map((p) => {
      if (typeof p !== 'string') throw new ProtocolError('Consul sent a peer that is not a string');
      return p;
    });
  }
}
