/**
 * `stop` / `start`: set and remove `<prefix>/<key>/stop`. Any non-empty value stops `publish` and `deliver`
 * for that key on every host (kvexpress semantics); kvexpress had no `start` — operators deleted the key by
 * hand.
 *
 * @module
 */

import { InvalidArgumentError } from '../errors.js';
import { KeyLayout } from './layout.js';
import { SILENT } from './logger.js';
import { NO_TRANSFER_METRICS } from './transfer-metrics.js';
import { oneLineOption, type TransferOptions } from './transfer-options.js';

/** Options of {@link stop}. */
export interface StopOptions extends TransferOptions {
  /** The kvexpress key. */
  key: string;
  /** Why (stored as the stop key's value; must not be empty, or it would not stop anything). */
  reason: string;
}

/** Options of {@link start}. */
export interface StartOptions extends TransferOptions {
  /** The kvexpress key. */
  key: string;
}

/** What {@link stop} or {@link start} changed. */
export interface StopKeyResult {
  /** The stop key's path. */
  stopKey: string;
  /** The reason that was stored before (`undefined`: the key was not stopped). */
  previousReason: string | undefined;
}

/** Sets the stop key of `key` (kvexpress `stop -r`). */
export async function stop(options: StopOptions): Promise<StopKeyResult> {
  const started = performance.now();
  const layout = new KeyLayout(options.key, options.prefix);
  if (options.reason.trim() === '') throw new InvalidArgumentError('a stop reason is required');
  oneLineOption('a stop reason', options.reason);
  const metrics = options.metrics ?? NO_TRANSFER_METRICS;
  const signal = options.signal === undefined ? {} : { signal: options.signal };
  const { value: before } = await options.consul.kv.get(layout.stop, signal);
  await options.consul.kv.put(layout.stop, options.reason, signal);
  (options.logger ?? SILENT)('info', 'stop key set', { key: layout.key, stopKey: layout.stop, reason: options.reason });
  metrics.event('stop_set', `Set Stop Key: ${layout.stop}`, options.reason, 'warning', 'stop', layout.key);
  metrics.time('stop', layout.key, 'complete', started);
  return { stopKey: layout.stop, previousReason: reasonOf(before?.value) };
}

/** Removes the stop key of `key`. */
export async function start(options: StartOptions): Promise<StopKeyResult> {
  const layout = new KeyLayout(options.key, options.prefix);
  const signal = options.signal === undefined ? {} : { signal: options.signal };
  const { value: before } = await options.consul.kv.get(layout.stop, signal);
  await options.consul.kv.delete(layout.stop, signal);
  (options.logger ?? SILENT)('info', 'stop key removed', { key: layout.key, stopKey: layout.stop });
  (options.metrics ?? NO_TRANSFER_METRICS).event('stop_removed', `Removed Stop Key: ${layout.stop}`, '', 'info', 'start', layout.key);
  return { stopKey: layout.stop, previousReason: reasonOf(before?.value) };
}

function reasonOf(value: Buffer | undefined): string | undefined {
  return value === undefined || value.length === 0 ? undefined : value.toString('utf8');
}
