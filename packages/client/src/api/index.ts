export type * from './types.js';
export { Consul } from '../consul.js';
export { KvApi, type KvKeysOptions } from './kv.js';
export { SessionApi } from './session.js';
export { TxnApi, type TxnOptions, type TxnResult } from './txn.js';
export { EventApi, type EventFireOptions, type EventListOptions } from './event.js';
export { StatusApi } from './status.js';
export { AgentApi, type AgentSelf } from './agent.js';
export { Watch, type WatchOptions, type WatchBackoff, type WatchEndReason, type WatchQuery, type WatchHooks } from './watch.js';
