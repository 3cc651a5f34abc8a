/**
 * `@kvx/client`: a Consul client that survives real fleets, Consul-compatible locks and semaphores,
 * and the kvx file-transport pipeline.
 *
 * @packageDocumentation
 */
export * from './errors.js';
export * from './api/index.js';
export * from './transport/index.js';
export * from './coordination/index.js';
export * from './transfer/index.js';
