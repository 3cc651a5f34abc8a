/**
 * `/v1/status/leader` and `/v1/status/peers`: the agent is a one-server cluster and its own leader.
 *
 * @module
 */
import type { RequestContext } from './context.js';

/** The "server RPC address" reported as leader and only peer (port 8300 like Consul's server port). */
export function leaderAddress(ctx: RequestContext): string {
  const host = ctx.core.address.host;
  const ip = host === '0.0.0.0' || host === '::' || host === 'localhost' ? '127.0.0.1' : host;
  return ip.includes(':') ? `[${ip}]:8300` : `${ip}:8300`;
}

/** `GET /v1/status/leader` */
export async function statusLeader(ctx: RequestContext): Promise<void> {
  ctx.json(200, leaderAddress(ctx));
}

/** `GET /v1/status/peers` */
export async function statusPeers(ctx: RequestContext): Promise<void> {
  ctx.json(200, [leaderAddress(ctx)]);
}
