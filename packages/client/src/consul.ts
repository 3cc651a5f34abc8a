/**
 * The Consul client: one agent address, its keep-alive connections, retry policy, circuit breakers,
 * read rate limit and metrics, and the typed API groups built on them.
 *
 * The client talks to a single agent, like Consul's Go client: run it against the local agent (or a
 * load balancer) rather than a list of servers. Each in-flight blocking query holds one connection, and
 * Consul limits connections per client IP (`limits.http_max_conns_per_client`, 200 by default), so
 * processes with very many watches should raise that limit or share watches.
 *
 * @module
 */

import { AgentApi } from './api/agent.js';
import { EventApi } from './api/event.js';
import { KvApi } from './api/kv.js';
import { SessionApi } from './api/session.js';
import { StatusApi } from './api/status.js';
import { TxnApi } from './api/txn.js';
import { Watch, type WatchOptions, type WatchQuery } from './api/watch.js';
import { createMetrics, type ClientMetrics } from './metrics.js';
import { opossumBreakerFactory, resolveBreakerPolicy, type BreakerStates } from './transport/breaker.js';
import { resolveConfig, type ConsulOptions } from './transport/config.js';
import { HttpTransport } from './transport/http.js';
import { validateRateLimit } from './transport/rate-limit.js';
import { createRetrier } from './transport/retry.js';

/** A Consul HTTP API client. Create one per agent and reuse it; call {@link Consul.close} when done. */
export class Consul {
  /** The KV store. */
  readonly kv: KvApi;
  /** Sessions. */
  readonly session: SessionApi;
  /** Transactions. */
  readonly txn: TxnApi;
  /** User events. */
  readonly event: EventApi;
  /** Raft leader and peers. */
  readonly status: StatusApi;
  /** The local agent. */
  readonly agent: AgentApi;

  private readonly transport: HttpTransport;
  private readonly metrics: ClientMetrics;
  private readonly watches = new Set<Watch<unknown>>();

  /**
   * @param options client options; anything not given comes from the `CONSUL_*` environment or defaults.
   * @throws {@link InvalidArgumentError} for invalid options (bad address, unreadable token or TLS files, …).
   */
  constructor(options: ConsulOptions = {}) {
    const config = resolveConfig(options);
    const retrier = createRetrier(options.retry);
    const breakerPolicy = options.breaker === false ? false : (options.breaker ?? {});
    if (breakerPolicy !== false) resolveBreakerPolicy(breakerPolicy);
    const readLimit = options.rateLimit ?? false;
    if (readLimit) validateRateLimit('rateLimit', readLimit);
    this.metrics = createMetrics(options.metrics);
    this.transport = new HttpTransport(config, {
      retrier,
      breakerPolicy,
      breakerFactory: options.breakerFactory ?? opossumBreakerFactory,
      readLimit,
      metrics: this.metrics,
    });
    this.kv = new KvApi(this.transport);
    this.session = new SessionApi(this.transport);
    this.txn = new TxnApi(this.transport);
    this.event = new EventApi(this.transport);
    this.status = new StatusApi(this.transport);
    this.agent = new AgentApi(this.transport);
  }

  /** The agent address in display form (`http://127.0.0.1:8500`, `unix:///…`); never contains the token. */
  get address(): string {
    return this.transport.address;
  }

  /** Current circuit-breaker states (`undefined` when there is no breaker of that kind). */
  get breakerStates(): BreakerStates {
    return this.transport.breakerStates;
  }

  /**
   * Watches a blocking query, e.g. `consul.watch((o) => consul.kv.get('app/config', o))`.
   * The query must pass the options it receives (index, wait, signal) on to the API call.
   */
  watch<T>(query: WatchQuery<T>, options?: WatchOptions): Watch<T> {
    const w: Watch<T> = new Watch(query, options, {
      metrics: this.metrics,
      onEnd: () => this.watches.delete(w),
    });
    this.watches.add(w);
    return w;
  }

  /**
   * Ends every watch, aborts in-flight requests, closes the connections and the breakers, and flushes
   * metrics the client created. Idempotent.
   */
  async close(): Promise<void> {
    for (const w of this.watches) w.stop();
    this.watches.clear();
    this.transport.close();
    await this.metrics.close();
  }
}
