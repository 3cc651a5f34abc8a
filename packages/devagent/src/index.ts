/**
 * `@kvx/devagent`: a single-node server speaking Consul's HTTP API (KV, sessions, transactions, events,
 * status, agent/self) closely enough that real Consul clients cannot tell it from `consul agent -dev`.
 *
 * @module
 */
export { startDevAgent, type DevAgent } from './dev-agent.js';
export { agentMain, parseAgentArgs, type AgentIo, type TextSink } from './cli.js';
export type { DevAgentOptions } from './options.js';
export type { AclConfig, AclPolicy, AclTokenRules } from './acl.js';
export { AgentConfigError, DataDirError } from './errors.js';
