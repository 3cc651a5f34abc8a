/**
 * The local agent (`/v1/agent/self`).
 *
 * @module
 */

import { ProtocolError } from '../errors.js';
import type { HttpTransport } from '../transport/http.js';
import { asObject, parseBody, str } from './decode.js';
import type { RequestOptions } from './types.js';

/** What {@link AgentApi.self} returns. */
export interface AgentSelf {
  /** The agent's node name (`Config.NodeName`). */
  nodeName: string;
  /** The agent's datacenter (`Config.Datacenter`). */
  datacenter: string;
  /** The agent's whole `Config` object, as sent. */
  config: Record<string, unknown>;
}

/** The local agent; reach it as `consul.agent`. */
export class AgentApi {
  /** @internal */
  /** @internal Built by {@link Consul}. */
  constructor(private readonly t: HttpTransport) {}

  /** Describes the agent the client talks to. */
  async self(opts?: RequestOptions): Promise<AgentSelf> {
    const res = await this.t.send({ endpoint: 'agent_self', method: 'GET', path: '/v1/agent/self', safety: 'idempotent', options: opts });
    const config = asObject(asObject(parseBody(res), 'an agent description')['Config'], 'an agent Config');
    const nodeName = str(config, 'NodeName');
    if (nodeName === '') throw new ProtocolError('Consul sent an agent description without Config.NodeName');
    return { nodeName, datacenter: str(config, 'Datacenter'), config };
  }
}
