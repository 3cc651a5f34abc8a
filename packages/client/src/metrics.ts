/**
 * Optional StatsD/DogStatsD metrics through hot-shots. Without a configured client nothing is recorded
 * and nothing is sent. Tags never carry tokens, keys or values — only endpoint names, methods, statuses
 * and states.
 *
 * Metric names:
 * - `kvx.consul.request` (timing, ms) tags `endpoint`, `method`, `status` (HTTP status, or the error code
 *   such as `KVX_CONNECTION` when there was no reply)
 * - `kvx.consul.retry` (counter) tags `endpoint`, `reason`
 * - `kvx.consul.breaker` (counter) tags `kind`, `state` — one per state change
 * - `kvx.consul.watch.wakeup` (counter) tags `changed` (`true`/`false`)
 * - `kvx.consul.watch.error` (counter) tags `code`
 *
 * hot-shots is loaded on first use, not when this module is: a one-shot `kvx out` without metrics would
 * otherwise pay tens of milliseconds of start-up for a StatsD client it never builds.
 *
 * @module
 */

import { createRequire } from 'node:module';
import type { StatsD, ClientOptions as StatsDOptions } from 'hot-shots';

type HotShots = typeof import('hot-shots');

/**
 * hot-shots' exports, loaded (once; `require` caches) at the first StatsD client. Synchronous, so metrics stay
 * a plain constructor option; its ESM entry re-exports this CommonJS one, so `StatsD` is the same class
 * whichever way a caller imported it. Keep the `createRequire(import.meta.url)('…')` spelling: the CLI's bundler
 * (packages/cli/scripts/bundle.js) recognises it.
 */
function hotShots(): HotShots {
  return createRequire(import.meta.url)('hot-shots') as HotShots;
}

/** What the client reports; implemented by {@link StatsdMetrics} and {@link NO_METRICS}. */
export interface ClientMetrics {
  /** One HTTP attempt finished (or failed without a reply). */
  request(endpoint: string, method: string, status: string, durationMs: number): void;
  /** A failed attempt is about to be retried. */
  retry(endpoint: string, reason: string): void;
  /** A circuit breaker changed state. */
  breakerState(kind: string, state: string): void;
  /** A watch's blocking query returned. */
  watchWakeup(changed: boolean): void;
  /** A watch iteration failed (and will back off, or end the watch). */
  watchError(code: string): void;
  /** Flushes and closes a StatsD client the metrics created themselves. */
  close(): Promise<void>;
}

/** Metrics that record nothing. */
export const NO_METRICS: ClientMetrics = {
  request() {},
  retry() {},
  breakerState() {},
  watchWakeup() {},
  watchError() {},
  close: () => Promise.resolve(),
};

/** Metrics sent through a hot-shots client. */
export class StatsdMetrics implements ClientMetrics {
  private readonly owned: boolean;
  /** The underlying hot-shots client. */
  readonly statsd: StatsD;

  /** @param statsd an existing client (left open on close), or options to create one (closed on close). */
  constructor(statsd: StatsD | StatsDOptions) {
    const { StatsD: Client } = hotShots();
    this.owned = !(statsd instanceof Client);
    this.statsd = statsd instanceof Client ? statsd : new Client(statsd);
  }

  request(endpoint: string, method: string, status: string, durationMs: number): void {
    this.statsd.timing('kvx.consul.request', durationMs, { endpoint, method, status });
  }

  retry(endpoint: string, reason: string): void {
    this.statsd.increment('kvx.consul.retry', 1, { endpoint, reason });
  }

  breakerState(kind: string, state: string): void {
    this.statsd.increment('kvx.consul.breaker', 1, { kind, state });
  }

  watchWakeup(changed: boolean): void {
    this.statsd.increment('kvx.consul.watch.wakeup', 1, { changed: String(changed) });
  }

  watchError(code: string): void {
    this.statsd.increment('kvx.consul.watch.error', 1, { code });
  }

  close(): Promise<void> {
    if (!this.owned) return Promise.resolve();
    return new Promise((resolve) => this.statsd.close(() => resolve()));
  }
}

/** Builds the metrics sink for a `metrics` option (none when `undefined`). */
export function createMetrics(option: StatsD | StatsDOptions | undefined): ClientMetrics {
  return option === undefined ? NO_METRICS : new StatsdMetrics(option);
}
