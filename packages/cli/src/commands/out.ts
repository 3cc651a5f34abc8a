/**
 * `kvx out`: deliver `<prefix>/<key>` to a file through the transfer library's `deliver`, or with `--watch`
 * keep delivering every change (see out-watch.ts).
 *
 * @module
 */

import path from 'node:path';
import { deliver, type DeliverFileOptions, type DeliverResult } from '@kvx/client';
import type { OutArgs } from '../args.js';
import { guarded, withConsul } from '../command.js';
import type { ConfigFileEntry } from '../config-file.js';
import type { CommandContext } from '../context.js';
import { UsageError } from '../errors.js';
import { ExitCode } from '../exit-codes.js';
import type { Output } from '../output.js';
import { Progress } from '../progress.js';
import { execFields, fileModeFields, lengthFields } from './shared.js';

/** Runs `kvx out`. */
export async function outCommand(ctx: CommandContext, args: OutArgs): Promise<number> {
  if (args.watch === true) return (await import('./out-watch.js')).outWatchCommand(ctx, args);
  return guarded(ctx, args, async (out) => {
    const { key, file } = requireTarget(args);
    return withConsul(ctx, args, out, async ({ consul, metrics, logger, signal }) => {
      const download = Progress.for(ctx, out, `receiving ${key}`);
      const result = await deliver({
        consul,
        signal,
        metrics,
        logger,
        ...deliverFileOptions(ctx, { ...args, key, file }),
        ...(args.prefix === undefined ? {} : { prefix: args.prefix }),
        onProgress: (done, total) => download.update(done, total),
      }).finally(() => download.stop());
      reportDelivery(out, result);
      return ExitCode.OK;
    });
  });
}

/** `-k` and `-f`, both required outside `--watch` with a config file. */
export function requireTarget(args: OutArgs): { key: string; file: string } {
  if (args.key === undefined || args.file === undefined) {
    throw new UsageError(`kvx out needs -k KEY and -f FILE${args.watch === true ? ' (or --config with a files: list)' : ''}`);
  }
  return { key: args.key, file: args.file };
}

/** The per-file delivery options of `out` flags or a config-file entry (paths resolved against `ctx.cwd`). */
export function deliverFileOptions(
  ctx: CommandContext,
  args: OutArgs & ConfigFileEntry & { compress?: boolean },
): DeliverFileOptions {
  return {
    key: args.key,
    file: path.resolve(ctx.cwd, args.file),
    ...(args.compress === undefined ? {} : { compress: args.compress }),
    ...lengthFields(args),
    ...(args.ignoreStop === undefined ? {} : { ignoreStop: args.ignoreStop }),
    ...fileModeFields(args),
    // --exec-timeout bounds the --validate command too: a hung check must not hold the delivery for the default.
    ...(args.validate === undefined ? {} : { validate: args.validate }),
    ...(args.validate === undefined || args.execTimeout === undefined ? {} : { validateTimeout: args.execTimeout }),
    ...(args.splay === undefined ? {} : { splay: args.splay }),
    ...execFields(args),
  };
}

/** One line (or JSON document) per delivery. */
export function reportDelivery(out: Output, r: DeliverResult, latencyMs?: number): void {
  out.result({
    ok: true,
    command: 'out',
    status: r.status,
    key: r.key,
    file: r.file,
    checksum: r.checksum,
    previousChecksum: r.previousChecksum,
    size: r.size,
    encoding: r.encoding,
    chunks: r.chunks,
    index: r.index,
    repaired: r.repaired,
    execRetried: r.execRetried,
    exec: r.exec === undefined ? undefined : { exitCode: r.exec.exitCode, durationMs: Math.round(r.exec.durationMs) },
    ...(latencyMs === undefined ? {} : { latencyMs: Math.round(latencyMs) }),
  });
  const latency = latencyMs === undefined ? '' : ` in ${Math.round(latencyMs)} ms`;
  if (r.status === 'unchanged') {
    const repaired = [r.repaired.mode ? 'mode' : '', r.repaired.owner ? 'owner' : ''].filter(Boolean).join(' and ');
    const retried = r.exec === undefined ? '' : `, exec of the previous failed run retried ok in ${Math.round(r.exec.durationMs)} ms`;
    out.info(`${r.file}: up to date (checksum ${r.checksum.slice(0, 12)})${repaired ? `, repaired ${repaired}` : ''}${retried}`);
    return;
  }
  const exec = r.exec === undefined ? '' : `, exec ok in ${Math.round(r.exec.durationMs)} ms`;
  out.info(`${r.file}: written from ${r.key} (${r.size} bytes, checksum ${r.checksum.slice(0, 12)}, index ${r.index})${latency}${exec}`);
}
