/**
 * User events (`/v1/event/…`): fire and list. Firing is not retried once sent, since a retry would deliver
 * the event twice.
 *
 * @module
 */

import { InvalidArgumentError } from '../errors.js';
import type { HttpTransport } from '../transport/http.js';
import { asArray, decodeEvent, parseBody } from './decode.js';
import { pathSegment, queryMeta, queryResult, readRequest } from './query.js';
import type { QueryOptions, QueryResult, RequestOptions, UserEvent } from './types.js';

/** Options of {@link EventApi.fire}: regular expressions selecting the receiving agents. */
export interface EventFireOptions extends RequestOptions {
  /** Only nodes whose name matches. Default: all. */
  node?: string;
  /** Only nodes running a matching service. Default: all. */
  service?: string;
  /** Only services with a matching tag (needs `service`). Default: all. */
  tag?: string;
}

/** Options of {@link EventApi.list}. */
export interface EventListOptions extends QueryOptions {
  /** Only events of exactly this name. Default: all. */
  name?: string;
}

/** Consul user events; reach them as `consul.event`. */
export class EventApi {
  /** @internal */
  /** @internal Built by {@link Consul}. */
  constructor(private readonly t: HttpTransport) {}

  /** Fires a user event with an optional payload (keep it small: Consul's gossip limit is ~512 bytes). */
  async fire(name: string, payload?: Buffer | string, opts?: EventFireOptions): Promise<UserEvent> {
    if (opts?.tag !== undefined && opts.service === undefined) throw new InvalidArgumentError('an event tag filter needs a service filter');
    const res = await this.t.send({
      endpoint: 'event_fire',
      method: 'PUT',
      path: `/v1/event/fire/${pathSegment('event name', name)}`,
      query: { node: opts?.node, service: opts?.service, tag: opts?.tag },
      ...(payload === undefined ? {} : { body: typeof payload === 'string' ? Buffer.from(payload, 'utf8') : payload }),
      safety: 'conditional',
      options: opts,
    });
    return decodeEvent(parseBody(res));
  }

  /**
   * Lists the agent's recent events, oldest first. Its index is a hash of the last event id, not a counter:
   * block on it to wake up on the next event.
   */
  async list(opts?: EventListOptions): Promise<QueryResult<UserEvent[]>> {
    const res = await this.t.send(readRequest(this.t, opts, { endpoint: 'event_list', path: '/v1/event/list', query: { name: opts?.name } }));
    return queryResult(queryMeta(res), asArray(parseBody(res), 'an event list').map(decodeEvent));
  }
}
