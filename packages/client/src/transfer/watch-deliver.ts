/**
 * `watchAndDeliver`: a long-running delivery loop for one or many files (what kvexpress needed a Consul watch,
 * sifter and `kvexpress out` for).
 *
 * Requests: each file has ONE blocking recursive read of `<prefix>/<key>/`, which returns data, checksum,
 * stop and meta together, so a change costs each watcher exactly one request (plus the chunk reads of a
 * chunked file). Chunks live outside that prefix, so uploading them wakes nobody. Pins are watched with one
 * blocking recursive read of `<prefix>/locks/` shared by all files of the call; it only wakes when a pin
 * changes somewhere, which is rare. Reads are stale by default (any server answers), like Consul's own watches
 * should be at fleet scale.
 *
 * Delivery: per file, changes are applied one at a time in order; changes that arrive while one is being
 * applied are coalesced into the newest. Nothing is delivered twice: a snapshot with the same data and
 * checksum indexes as the last successful delivery is skipped, an older one (a lagging server) is skipped, and
 * a file that already has the content is not rewritten nor its command rerun (deliver.ts). Stops and pins
 * hold deliveries back until they are removed; the newest version is then delivered.
 *
 * Failures never end the loop: delivery errors go to `onError`, and transient ones (Consul unreachable while
 * fetching chunks, a version replaced mid-read) are tried again after `restartDelay`; a failed `exec` command
 * is run again (the file stays; its pending-exec marker says the command is owed) after `restartDelay`,
 * doubling per consecutive failure up to 5 minutes and starting over for a new version — only that timer runs
 * it again, other wake-ups of the same version (a stop set or cleared, a watch restart) do not; a watch that
 * fails with a
 * non-retryable error (e.g. 403) is reported and restarted with capped exponential backoff (transient errors
 * and reconnects are handled inside the client's watch). Deliveries wait until the pin watch has answered
 * once, so a pinned file is never overwritten at start-up. `stop()` or the `signal` end everything, killing a
 * running command.
 *
 * @module
 */

import { defaultMaxListeners, setMaxListeners } from 'node:events';
import { hostname as osHostname } from 'node:os';

import type { RateLimit } from '../transport/rate-limit.js';
import { sleep } from '../transport/rate-limit.js';
import type { Consistency, KvPair, QueryOptions, QueryResult } from '../api/types.js';
import { AbortedError, InvalidArgumentError } from '../errors.js';
import { FileDelivery, type DeliverFileOptions, type DeliverResult, type DeliveryContext } from './deliver.js';
import { normalizePrefix, DEFAULT_PREFIX } from './layout.js';
import { SILENT } from './logger.js';
import { snapshotFrom, stopReason, type KeySnapshot } from './snapshot.js';
import { NO_TRANSFER_METRICS } from './transfer-metrics.js';
import { durationOption, type TransferOptions } from './transfer-options.js';

/** Options of {@link watchAndDeliver}. */
export interface WatchAndDeliverOptions extends TransferOptions {
  /** The files to keep delivered. */
  files: readonly DeliverFileOptions[];
  /** Host name of the pin keys. Default: `os.hostname()`. */
  hostname?: string;
  /** Read with `?stale` (any server answers; a follower may lag a little). Default: `true`. */
  stale?: boolean;
  /** Blocking time of each long poll, in ms. Default: `300000`. */
  wait?: number;
  /** Loop rate limit of each watch (see the client's `WatchOptions.rateLimit`). Default: the client's. */
  rateLimit?: RateLimit | false;
  /** First delay before restarting a watch that ended with an error, in ms (doubles, capped at 60 s). Default: `1000`. */
  restartDelay?: number;
  /** Called after each delivery (`written` or `unchanged`). */
  onResult?: (result: DeliverResult) => void;
  /** Called for each failure: typed delivery errors (stopped, pinned, verify, exec, …) and watch errors. */
  onError?: (error: unknown, target: { key: string; file: string }) => void;
  /**
   * Called for every failed request of a watch a file depends on, including the transient failures (Consul
   * unreachable, 5xx, open breaker) that the watch retries by itself and `onError` never sees. The shared pin
   * watch reports for every file of the call. Default: none.
   */
  onWatchError?: (error: unknown, target: WatchTarget & { attempt: number }) => void;
  /** Called once a watch that failed is answered again, with how long it had been failing. Default: none. */
  onWatchRecovered?: (target: WatchTarget & { downtimeMs: number }) => void;
}

/** The watch a report is about: a file's data watch, or the pin watch it shares with the other files. */
export interface WatchTarget {
  /** The file's key. */
  key: string;
  /** The file. */
  file: string;
  /** `data`: the watch of `<prefix>/<key>/`; `pins`: the shared watch of `<prefix>/locks/`. */
  watch: 'data' | 'pins';
}

/** A running {@link watchAndDeliver}. */
export interface WatchDelivery {
  /** Resolves once every loop has ended (after `stop()` or an abort). Never rejects. */
  readonly done: Promise<void>;
  /** Ends the loops (killing a running command) and resolves when they have ended. */
  stop(): Promise<void>;
}

/** A one-slot wake-up: `notify` marks pending; `wait` resolves once something is pending (or on abort). */
class Wakeup {
  private pending = false;
  private waiter: (() => void) | undefined;

  notify(): void {
    this.pending = true;
    this.waiter?.();
  }

  async wait(signal: AbortSignal): Promise<void> {
    if (!this.pending && !signal.aborted) {
      await new Promise<void>((resolve) => {
        const done = (): void => {
          this.waiter = undefined;
          signal.removeEventListener('abort', done);
          resolve();
        };
        this.waiter = done;
        signal.addEventListener('abort', done, { once: true });
      });
    }
    this.pending = false;
  }
}

interface TargetState {
  delivery: FileDelivery;
  wakeup: Wakeup;
  latest: KeySnapshot | undefined;
  pin: string | undefined;
  /** The version last applied: delivered, or installed with its command failed. */
  last: { dataIndex: bigint; checksumIndex: bigint } | undefined;
  /** Consecutive failures of the exec command of the version at `execDataIndex` (backoff of its retries). */
  execFailures: number;
  /** Data index of the version whose command failed (`undefined`: no command is owed). */
  execDataIndex: bigint | undefined;
  /** Set by the exec retry timer: the next wake-up runs the owed command again, though the version is the same. */
  execRetryDue: boolean;
  /** Bumped at each scheduled exec retry, so an older timer (of a replaced version) does not fire early. */
  execRetryTimer: number;
}

/** Listeners one file adds to the delivery's abort signal at most: its watch, its applier and two retry timers. */
const LISTENERS_PER_FILE = 4;

/** Longest wait before running a failed exec command again, in ms. */
const MAX_EXEC_RETRY_DELAY = 300_000;

/** Starts keeping `files` delivered (see the module documentation). Option errors are thrown eagerly. */
export async function watchAndDeliver(options: WatchAndDeliverOptions): Promise<WatchDelivery> {
  const { consul } = options;
  if (options.files.length === 0) throw new InvalidArgumentError('watchAndDeliver needs at least one file');
  const logger = options.logger ?? SILENT;
  const consistency: Consistency | undefined = options.stale === false ? undefined : 'stale';
  const restartDelay = durationOption('restartDelay', options.restartDelay, 1_000);
  const ctx: DeliveryContext = {
    consul,
    prefix: options.prefix,
    metrics: options.metrics ?? NO_TRANSFER_METRICS,
    logger,
    hostname: options.hostname ?? osHostname(),
    consistency,
    direction: 'watch',
  };
  const states: TargetState[] = [];
  for (const file of options.files) {
    states.push({
      delivery: await FileDelivery.prepare(file, ctx),
      wakeup: new Wakeup(),
      latest: undefined,
      pin: undefined,
      last: undefined,
      execFailures: 0,
      execDataIndex: undefined,
      execRetryDue: false,
      execRetryTimer: 0,
    });
  }
  const files = new Set<string>();
  for (const { delivery } of states) {
    if (files.has(delivery.file)) throw new InvalidArgumentError(`${delivery.file} is listed twice`);
    files.add(delivery.file);
  }

  const controller = new AbortController();
  const { signal } = controller;
  // Every file's data watch, applier and retry timers listen on this one signal, so a dozen files pass Node's
  // default of 10 listeners and it would print a leak warning that is none.
  setMaxListeners(Math.max(defaultMaxListeners, LISTENERS_PER_FILE * states.length + 4), signal);
  if (options.signal?.aborted) controller.abort();
  else options.signal?.addEventListener('abort', () => controller.abort(), { once: true });
  const report = (error: unknown, state: TargetState): void => {
    try {
      options.onError?.(error, { key: state.delivery.layout.key, file: state.delivery.file });
    } catch (err) {
      logger('error', 'onError callback threw', { error: String(err) });
    }
  };
  const deliver = (result: DeliverResult): void => {
    try {
      options.onResult?.(result);
    } catch (err) {
      logger('error', 'onResult callback threw', { error: String(err) });
    }
  };
  const call = <A extends unknown[]>(name: string, fn: ((...args: A) => void) | undefined, ...args: A): void => {
    try {
      fn?.(...args);
    } catch (err) {
      logger('error', `${name} callback threw`, { error: String(err) });
    }
  };

  /**
   * `query` reporting its failures and its recovery to `onWatchError`/`onWatchRecovered` for `targets`. After a
   * failure the next request does not block: a blocking reconnect would be answered only at the next change,
   * so a recovery would go unnoticed for minutes (an unchanged index yields nothing, so this costs one read).
   */
  const observed = <T>(
    watch: WatchTarget['watch'],
    targets: readonly TargetState[],
    query: (o: QueryOptions) => Promise<QueryResult<T>>,
  ): ((o: QueryOptions) => Promise<QueryResult<T>>) => {
    let attempt = 0;
    let since = 0;
    const about = (state: TargetState): WatchTarget => ({ key: state.delivery.layout.key, file: state.delivery.file, watch });
    return async (o) => {
      try {
        const result = await query(attempt > 0 ? { ...o, index: 0n } : o);
        if (attempt > 0) {
          const downtimeMs = performance.now() - since;
          attempt = 0;
          for (const state of targets) call('onWatchRecovered', options.onWatchRecovered, { ...about(state), downtimeMs });
        }
        return result;
      } catch (err) {
        if (!signal.aborted && o.signal?.aborted !== true && !(err instanceof AbortedError)) {
          if (attempt === 0) since = performance.now();
          attempt++;
          for (const state of targets) call('onWatchError', options.onWatchError, err, { ...about(state), attempt });
        }
        throw err;
      }
    };
  };

  const watchOptions = {
    signal,
    ...(options.wait === undefined ? {} : { wait: options.wait }),
    ...(options.rateLimit === undefined ? {} : { rateLimit: options.rateLimit }),
  };
  const query = consistency === undefined ? {} : { consistency };

  /** Runs a watch until aborted, restarting it with backoff after it ends with an error. */
  const keepWatching = async <T>(
    name: string,
    start: () => AsyncIterable<T>,
    onValue: (value: T) => void,
    onFailure: (err: unknown) => void,
  ): Promise<void> => {
    let failures = 0;
    while (!signal.aborted) {
      try {
        for await (const value of start()) {
          failures = 0;
          onValue(value);
        }
      } catch (err) {
        if (signal.aborted) break;
        failures++;
        const delay = Math.min(60_000, restartDelay * 2 ** (failures - 1));
        logger('warn', `${name} watch failed; restarting`, { error: String(err), delayMs: delay });
        onFailure(err);
        await sleep(delay, signal).catch(() => undefined);
      }
    }
  };

  const locksPrefix = `${normalizePrefix(options.prefix ?? DEFAULT_PREFIX)}/locks/`.replace(/^\//, '');
  let pinsKnown = false;
  const pinQuery = observed('pins', states, (o) => consul.kv.list(locksPrefix, { ...o, ...query }));
  const pinWatch = keepWatching(
    'pin',
    () => consul.watch(pinQuery, watchOptions),
    (result: { value: KvPair[] }) => {
      const pins = new Map(result.value.map((p) => [p.key, p.value]));
      const first = !pinsKnown;
      pinsKnown = true;
      for (const state of states) {
        const value = pins.get(state.delivery.pinKey);
        const pin = value === undefined || value.length === 0 ? undefined : value.toString('utf8');
        if (pin !== state.pin) {
          logger('info', pin === undefined ? 'file unpinned' : 'file pinned on this host', { file: state.delivery.file, reason: pin });
          state.pin = pin;
          // The file may have been edited while pinned: check it against Consul again.
          state.last = undefined;
          state.wakeup.notify();
        } else if (first) {
          state.wakeup.notify();
        }
      }
    },
    (err) => {
      for (const state of states) report(err, state);
    },
  );

  const dataWatches = states.map((state) => {
    const dataQuery = observed('data', [state], (o) => consul.kv.list(state.delivery.layout.dir, { ...o, ...query }));
    return keepWatching(
      `data of "${state.delivery.layout.key}"`,
      () => consul.watch(dataQuery, watchOptions),
      (result: { value: KvPair[]; index: bigint }) => {
        state.latest = snapshotFrom(state.delivery.layout, result.value, result.index);
        state.wakeup.notify();
      },
      (err) => report(err, state),
    );
  });

  const retryAfter = (state: TargetState, delay: number): void => {
    void sleep(delay, signal).then(
      () => state.wakeup.notify(),
      () => undefined,
    );
  };

  const retryExecAfter = (state: TargetState, delay: number): void => {
    const timer = ++state.execRetryTimer;
    void sleep(delay, signal).then(
      () => {
        if (timer !== state.execRetryTimer) return;
        state.execRetryDue = true;
        state.wakeup.notify();
      },
      () => undefined,
    );
  };

  const appliers = states.map(async (state) => {
    while (!signal.aborted) {
      await state.wakeup.wait(signal);
      if (signal.aborted) break;
      const snapshot = state.latest;
      if (snapshot === undefined || !pinsKnown) continue;
      const dataIndex = snapshot.data?.modifyIndex ?? 0n;
      const checksumIndex = snapshot.checksum?.modifyIndex ?? 0n;
      const { last } = state;
      const pinned = state.pin !== undefined;
      if (!pinned && last !== undefined) {
        if (dataIndex === last.dataIndex && checksumIndex === last.checksumIndex && !state.execRetryDue) {
          ctx.metrics.count('duplicate', 'watch', state.delivery.layout.key);
          logger('debug', 'wake-up without a new version; nothing to deliver', {
            key: state.delivery.layout.key,
            index: snapshot.index,
            stopped: stopReason(snapshot) !== undefined,
          });
          continue;
        }
        if (dataIndex < last.dataIndex) {
          logger('debug', 'skipping an older version from a lagging server', { key: state.delivery.layout.key, dataIndex });
          continue;
        }
      }
      // Only the retry timer runs an owed command again; any other wake-up of this version is a duplicate.
      const retryingExec = state.execRetryDue;
      state.execRetryDue = false;
      try {
        const result = await state.delivery.apply(snapshot, state.pin, signal);
        state.last = { dataIndex, checksumIndex };
        state.execFailures = 0;
        state.execDataIndex = undefined;
        state.execRetryTimer++;
        deliver(result);
      } catch (err) {
        if (signal.aborted) break;
        report(err, state);
        // A retry held back (stopped, Consul unreachable) stays due: the wake-up that lifts it runs the command.
        if (retryingExec && (err as { code?: unknown }).code !== 'KVX_EXEC_FAILED') state.execRetryDue = true;
        // A transient failure (Consul unreachable, a version replaced mid-read) is tried again on its own:
        // the next wake-up could be far away.
        if ((err as { retryable?: unknown }).retryable === true) {
          retryAfter(state, restartDelay);
        } else if ((err as { code?: unknown }).code === 'KVX_EXEC_FAILED') {
          // The file is in place, so no change will come to retry the command: its pending-exec marker makes
          // the next apply of this version run it again, with capped exponential backoff that starts over for
          // each new version. The version counts as applied, so other wake-ups do not run the command early.
          state.last = { dataIndex, checksumIndex };
          if (state.execDataIndex !== dataIndex) state.execFailures = 0;
          state.execDataIndex = dataIndex;
          state.execFailures++;
          retryExecAfter(state, Math.min(MAX_EXEC_RETRY_DELAY, restartDelay * 2 ** (state.execFailures - 1)));
        }
      }
    }
  });

  const done = Promise.all([pinWatch, ...dataWatches, ...appliers]).then(() => undefined);
  return {
    done,
    stop: async () => {
      controller.abort();
      await done;
    },
  };
}
