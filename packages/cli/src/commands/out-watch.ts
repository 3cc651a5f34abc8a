/**
 * `kvx out --watch`: a long-running delivery daemon over the transfer library's `watchAndDeliver`. It keeps
 * the files of `-k/-f` and of the config file's `files:` list delivered, printing one line per delivery and
 * one warning per failure (a stop, a pin, a failed verification or command never ends the loop), until
 * SIGINT/SIGTERM: then the loops are stopped (a running command is killed) and the exit code is 0.
 *
 * @module
 */

import { watchAndDeliver, type DeliverFileOptions, type WatchDelivery } from '@kvx/client';
import type { OutArgs } from '../args.js';
import { guarded, withConsul } from '../command.js';
import type { ConfigFile } from '../config-file.js';
import type { CommandContext } from '../context.js';
import { oneLineMessage, UsageError } from '../errors.js';
import { ExitCode } from '../exit-codes.js';
import { DEFAULT_PREFIX } from '../flags.js';
import type { Output } from '../output.js';
import { ConsulHealth } from '../consul-health.js';
import { deliverFileOptions, reportDelivery } from './out.js';

/** The files to watch, grouped by prefix (one `watchAndDeliver`, sharing one pin watch, per prefix). */
function targets(ctx: CommandContext, args: OutArgs, config: ConfigFile | undefined): Map<string, DeliverFileOptions[]> {
  const byPrefix = new Map<string, DeliverFileOptions[]>();
  const add = (prefix: string, file: DeliverFileOptions): void => {
    byPrefix.set(prefix, [...(byPrefix.get(prefix) ?? []), file]);
  };
  const defaultPrefix = args.prefix ?? config?.prefix ?? DEFAULT_PREFIX;
  if (args.key !== undefined || args.file !== undefined) {
    if (args.key === undefined || args.file === undefined) throw new UsageError('kvx out --watch: -k and -f go together');
    add(defaultPrefix, deliverFileOptions(ctx, { ...args, key: args.key, file: args.file }));
  }
  // The per-file flags (-l, -c, -o, -e, --shell, --validate, --splay, …) are the defaults of every entry of
  // the list, and an entry's own settings win: a flag given with a list is never silently dropped.
  for (const entry of config?.files ?? []) {
    add(entry.prefix ?? defaultPrefix, deliverFileOptions(ctx, { ...args, ...entry }));
  }
  if (byPrefix.size === 0) throw new UsageError('kvx out --watch needs -k KEY -f FILE, or --config FILE with a files: list');
  return byPrefix;
}

function reportFailure(out: Output, error: unknown, target: { key: string; file: string }): void {
  out.warn(`${target.file}: ${oneLineMessage(error)}`);
  const code = (error as { code?: unknown }).code;
  out.result({ ok: false, command: 'out', key: target.key, file: target.file, error: { code, message: oneLineMessage(error) } });
}

/** Runs `kvx out --watch`. */
export async function outWatchCommand(ctx: CommandContext, args: OutArgs): Promise<number> {
  return guarded(ctx, args, async (out) =>
    withConsul(ctx, args, out, async ({ consul, config, metrics, logger, signal }) => {
      const byPrefix = targets(ctx, args, config);
      const controller = new AbortController();
      const onShutdown = (): void => {
        out.debug(`${String((signal.reason as Error | undefined)?.message)}; stopping`);
        controller.abort();
      };
      signal.addEventListener('abort', onShutdown, { once: true });
      const health = new ConsulHealth(out, consul, ctx.now, controller.signal);
      const loops: WatchDelivery[] = [];
      try {
        for (const [prefix, files] of byPrefix) {
          loops.push(
            await watchAndDeliver({
              consul,
              metrics,
              logger,
              prefix,
              files,
              signal: controller.signal,
              // --consistent asks for leader reads; the watch default is stale reads from any server.
              ...(args.consistent === true ? { stale: false } : {}),
              onResult: (result) => reportDelivery(out, result),
              onError: (error, target) => reportFailure(out, error, target),
              onWatchError: (error, target) => health.failed(`${prefix}\0${target.watch}\0${target.file}`, error),
              onWatchRecovered: (target) => health.succeeded(`${prefix}\0${target.watch}\0${target.file}`),
            }),
          );
          for (const f of files) out.debug(`watching ${prefix}/${f.key} -> ${f.file}`);
        }
        const count = [...byPrefix.values()].reduce((n, files) => n + files.length, 0);
        out.info(`watching ${count} file${count === 1 ? '' : 's'} (SIGINT/SIGTERM to stop)`);
        await Promise.all(loops.map((l) => l.done));
      } finally {
        controller.abort();
        await Promise.all(loops.map((l) => l.stop()));
        signal.removeEventListener('abort', onShutdown);
      }
      out.info('stopped');
      return ExitCode.OK;
    }),
  );
}
