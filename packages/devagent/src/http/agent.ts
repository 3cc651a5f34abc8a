/**
 * `GET /v1/agent/self`: the minimal body real clients need (`Config.NodeName` above all; `consul lock` reads it
 * first). Every top-level value is an object or null, as the Go client requires.
 *
 * @module
 */
import { PermissionDeniedError } from '../errors.js';
import type { RequestContext } from './context.js';
import { leaderAddress } from './status.js';

/** Consul version the agent reports itself compatible with. */
export const CONSUL_COMPAT_VERSION = '1.21.0';
const STARTED = new Date().toISOString().replace(/\.\d+Z$/, 'Z');

/** `GET /v1/agent/self` */
export async function agentSelf(ctx: RequestContext): Promise<void> {
  const { options, nodeId, address } = ctx.core;
  if (!ctx.authz.canRead('agent', options.nodeName)) {
    throw new PermissionDeniedError(ctx.authz.denial('agent', 'read', options.nodeName));
  }
  const addr = leaderAddress(ctx).replace(/:8300$/, '').replace(/^\[|\]$/g, '');
  ctx.json(200, {
    Config: {
      Datacenter: options.datacenter,
      PrimaryDatacenter: options.datacenter,
      NodeName: options.nodeName,
      NodeID: nodeId,
      Revision: 'kvx-devagent',
      Server: true,
      Version: CONSUL_COMPAT_VERSION,
      BuildDate: STARTED,
    },
    DebugConfig: {
      DevMode: true,
      ClientAddrs: [address.host],
      HTTPPort: address.port,
      SessionTTLMin: `${options.sessionTtlMin}ms`,
      KVMaxValueSize: options.kvMaxValueSize,
      TxnMaxReqLen: options.txnMaxReqLen,
      ACLsEnabled: ctx.core.acl !== undefined,
    },
    Coord: null,
    Member: {
      Name: options.nodeName,
      Addr: addr,
      Port: 8301,
      Tags: { dc: options.datacenter, role: 'consul', build: `${CONSUL_COMPAT_VERSION}:kvx` },
      Status: 1,
    },
    Stats: {},
    Meta: {},
    xDS: null,
  });
}
