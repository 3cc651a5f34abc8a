/**
 * Reachability reports of a long-running command (`kvx out --watch`). The client's watches retry a transient
 * failure (agent down, connection refused, 5xx, open breaker) on their own and forever, which is right for a
 * delivery daemon, but they do it silently: without `--verbose` an operator had no sign that a watcher was
 * cut off from Consul. This module turns the delivery loop's watch reports (`watchAndDeliver`'s `onWatchError`
 * and `onWatchRecovered`) into operator lines: one warning line once a watch's request has failed after the
 * client's retries (then at most one per {@link UNREACHABLE_REPORT_INTERVAL_MS} while it lasts), and
 * one line when Consul answers again: when a failing watch is answered (the loop asks without blocking after a
 * failure), or earlier when a cheap probe (`/v1/status/leader`), sent with backoff while a failure lasts,
 * names a leader — the watches' own retry backoff grows to 30 s. A reply without a leader does not count:
 * a leaderless cluster answers the status endpoint with 200 `""` while every KV read fails with 500
 * "No cluster leader", so only the watches themselves can say it is back.
 *
 * @module
 */

import { setTimeout as delay } from 'node:timers/promises';
import type { Consul } from '@kvx/client';
import { oneLineMessage } from './errors.js';
import type { Output } from './output.js';

/** Minimum time between two "cannot reach Consul" warnings, in ms. */
export const UNREACHABLE_REPORT_INTERVAL_MS = 60_000;
/** First delay of the recovery probe, in ms (doubles up to {@link MAX_PROBE_DELAY_MS}). */
export const FIRST_PROBE_DELAY_MS = 500;
/** Longest delay between two recovery probes, in ms. */
export const MAX_PROBE_DELAY_MS = 30_000;

/** Failures the watches retry by themselves: the ones nobody else reports. */
function isTransient(err: unknown): boolean {
  const e = err as { retryable?: unknown; code?: unknown };
  return e.retryable === true || e.code === 'KVX_CIRCUIT_OPEN';
}

/** Tracks which watches are failing and reports changes on stderr. */
export class ConsulHealth {
  private readonly failing = new Set<string>();
  private since = 0;
  private lastWarning = -Infinity;
  private probing = false;

  /**
   * @param out where the lines go
   * @param consul the client (its `address` never holds the token; its status endpoint is the probe)
   * @param now monotonic clock in ms
   * @param signal ends the probing
   * @param interval minimum time between two warnings, in ms
   */
  constructor(
    private readonly out: Output,
    private readonly consul: Consul,
    private readonly now: () => number,
    private readonly signal: AbortSignal,
    private readonly interval = UNREACHABLE_REPORT_INTERVAL_MS,
  ) {}

  /** Watch `id`'s request failed with `err`. */
  failed(id: string, err: unknown): void {
    if (!isTransient(err)) return;
    const t = this.now();
    if (this.failing.size === 0) this.since = t;
    this.failing.add(id);
    if (!this.probing) void this.probeUntilReachable();
    if (t - this.lastWarning < this.interval) return;
    this.lastWarning = t;
    this.out.warn(`cannot reach Consul at ${this.consul.address} (${oneLineMessage(err)}); still retrying`);
  }

  /** Watch `id` is answered again after failing. */
  succeeded(id: string): void {
    if (this.failing.delete(id) && this.failing.size === 0) this.recovered();
  }

  private recovered(): void {
    this.failing.clear();
    const seconds = Math.round((this.now() - this.since) / 1000);
    this.out.notice(`Consul at ${this.consul.address} is reachable again (after ${seconds} s)`);
    this.lastWarning = -Infinity;
  }

  private async probeUntilReachable(): Promise<void> {
    this.probing = true;
    try {
      for (let wait = FIRST_PROBE_DELAY_MS; this.failing.size > 0; wait = Math.min(2 * wait, MAX_PROBE_DELAY_MS)) {
        await delay(wait, undefined, { signal: this.signal });
        if (this.failing.size === 0) return;
        let leader: string;
        try {
          leader = await this.consul.status.leader({ signal: this.signal });
        } catch {
          continue;
        }
        if (leader !== '' && this.failing.size > 0) this.recovered();
      }
    } catch {
      // Aborted: the command is stopping.
    } finally {
      this.probing = false;
    }
  }
}
