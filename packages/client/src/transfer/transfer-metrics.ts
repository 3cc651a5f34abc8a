/**
 * DogStatsD metrics and events of the file transport, with kvexpress's metric names and tags (kvexpress.md §2)
 * under a configurable prefix: `<prefix>.in`, `.bytes`, `.lines`, `.out`, `.locked`, `.not_long_enough`,
 * `.checksum_mismatch`, `.lock`, `.unlock`, `.raw`, `.time`, `.panic`, `.consul_error`, plus kvx's own
 * `.unchanged`, `.repaired`, `.duplicate`, `.stopped`, `.conflict`, `.validate_failed`, `.exec_failed`.
 * Set the prefix to `kvexpress` to keep existing dashboards. Tags are `key:<k>`, `host:<h>`, `direction:<d>`,
 * `location:<l>` — without kvexpress's empty leading tag.
 *
 * Events (DogStatsD `_e`) replace kvexpress's Datadog API events: updates (with the unified diff unless
 * `diffEvents` is off — a diff can hold secrets), stops, too-short input (a summary, never the content as
 * kvexpress sent), copies, and failures. Event text is capped (Datadog keeps about 4000 characters).
 *
 * @module
 */

import { hostname as osHostname } from 'node:os';

import type { StatsD } from 'hot-shots';

import { InvalidArgumentError } from '../errors.js';
import type { DiffOutcome } from './unified-diff.js';

/** Counters. */
export type CountMetric =
  | 'in'
  | 'out'
  | 'locked'
  | 'not_long_enough'
  | 'checksum_mismatch'
  | 'lock'
  | 'unlock'
  | 'raw'
  | 'panic'
  | 'consul_error'
  | 'unchanged'
  | 'repaired'
  | 'duplicate'
  | 'stopped'
  | 'conflict'
  | 'validate_failed'
  | 'exec_failed';

/** The command a metric is about (kvexpress's `direction` tag). */
export type Direction = 'in' | 'out' | 'raw' | 'copy' | 'stop' | 'start' | 'lock' | 'unlock' | 'watch';

/** Event severities. */
export type AlertType = 'info' | 'warning' | 'success' | 'error';

/** Options of {@link TransferMetrics}. */
export interface TransferMetricsOptions {
  /** The DogStatsD client. Default: none — nothing is sent. */
  statsd?: StatsD;
  /** Metric name prefix. Default: `kvx` (use `kvexpress` for kvexpress dashboards). */
  prefix?: string;
  /** Value of the `host` tag. Default: `os.hostname()`. */
  hostname?: string;
  /** Send DogStatsD events. Default: `true`. */
  events?: boolean;
  /** Put unified diffs into update events. Default: `true`. Turn off when files may hold secrets. */
  diffEvents?: boolean;
  /** Largest event text, in characters. Default: `4000`. */
  maxEventText?: number;
}

/** Metrics and events of the transfer functions; without a `statsd` client every call is a no-op. */
export class TransferMetrics {
  private readonly statsd: StatsD | undefined;
  /** The metric name prefix. */
  readonly prefix: string;
  private readonly host: string;
  private readonly events: boolean;
  /** Whether update events carry diffs. */
  readonly diffEvents: boolean;
  private readonly maxEventText: number;

  constructor(options: TransferMetricsOptions = {}) {
    const prefix = options.prefix ?? 'kvx';
    if (!/^[A-Za-z][\w.-]*$/.test(prefix)) throw new InvalidArgumentError(`invalid metric prefix "${prefix}"`);
    const maxEventText = options.maxEventText ?? 4000;
    if (!Number.isInteger(maxEventText) || maxEventText < 100) {
      throw new InvalidArgumentError(`maxEventText must be an integer ≥ 100, got ${maxEventText}`);
    }
    this.statsd = options.statsd;
    this.prefix = prefix;
    this.host = options.hostname ?? osHostname();
    this.events = options.events ?? true;
    this.diffEvents = options.diffEvents ?? true;
    this.maxEventText = maxEventText;
  }

  private tags(direction: Direction, key: string, location: string): string[] {
    return [`key:${key}`, `host:${this.host}`, `direction:${direction}`, `location:${location}`];
  }

  /** Increments `<prefix>.<metric>`. */
  count(metric: CountMetric, direction: Direction, key: string, location = 'complete'): void {
    this.statsd?.increment(`${this.prefix}.${metric}`, 1, this.tags(direction, key, location));
  }

  /** kvexpress `StatsdIn`: `<prefix>.in`, `.bytes` (stored size) and `.lines` (of the content). */
  published(direction: Direction, key: string, storedBytes: number, lines: number): void {
    const tags = this.tags(direction, key, 'complete');
    this.statsd?.increment(`${this.prefix}.in`, 1, tags);
    this.statsd?.gauge(`${this.prefix}.bytes`, storedBytes, tags);
    this.statsd?.gauge(`${this.prefix}.lines`, lines, tags);
  }

  /** kvexpress `RunTime`: `<prefix>.time` gauge in milliseconds since `startedAt` (`performance.now()`). */
  time(direction: Direction, key: string, location: string, startedAt: number): void {
    this.statsd?.gauge(`${this.prefix}.time`, Math.round(performance.now() - startedAt), this.tags(direction, key, location));
  }

  /** Sends a DogStatsD event tagged `<prefix>:<kind>` (text capped). */
  event(kind: string, title: string, text: string, alert: AlertType, direction: Direction, key: string, location = 'complete'): void {
    if (!this.events || this.statsd === undefined) return;
    const capped = text.length > this.maxEventText ? `${text.slice(0, this.maxEventText - 14)}\n… (truncated)` : text;
    this.statsd.event(title, capped, { alert_type: alert, aggregation_key: `${this.prefix}:${key}` }, [
      ...this.tags(direction, key, location),
      `${this.prefix}:${kind}`,
    ]);
  }

  /** True when update events will carry a diff (so computing one is worth it). */
  get wantsDiff(): boolean {
    return this.statsd !== undefined && this.events && this.diffEvents;
  }

  /** The text of an update event: the diff, or why there is none. */
  updateText(oldChecksum: string | undefined, newChecksum: string, diff: DiffOutcome | undefined): string {
    const summary = `checksum ${oldChecksum ?? '(none)'} -> ${newChecksum}`;
    if (!this.diffEvents || diff === undefined) return summary;
    if ('skipped' in diff) return `${summary}\n(diff omitted: ${diff.skipped})`;
    return `${summary}\n${diff.patch}`;
  }
}

/** Metrics that send nothing. */
export const NO_TRANSFER_METRICS = new TransferMetrics();
