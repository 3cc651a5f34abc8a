/**
 * `kvx copy`: copy a published file from one key to another (promote a canary) through the transfer
 * library's `copy`, which verifies the source and publishes it to the destination in one transaction.
 *
 * @module
 */

import { copy } from '@kvx/client';
import type { CopyArgs } from '../args.js';
import { guarded, withConsul } from '../command.js';
import type { CommandContext } from '../context.js';
import { UsageError } from '../errors.js';
import { ExitCode } from '../exit-codes.js';

/** Runs `kvx copy`. */
export async function copyCommand(ctx: CommandContext, args: CopyArgs): Promise<number> {
  return guarded(ctx, args, async (out) => {
    if (args.from === undefined || args.to === undefined) throw new UsageError('kvx copy needs --from KEY and --to KEY');
    if (args.from === args.to) throw new UsageError('kvx copy: --from and --to are the same key');
    return withConsul(ctx, args, out, async ({ consul, metrics, logger, signal }) => {
      const r = await copy({
        consul,
        signal,
        metrics,
        logger,
        from: args.from,
        to: args.to,
        ...(args.prefix === undefined ? {} : { prefix: args.prefix }),
        ...(args.compress === undefined ? {} : { compress: args.compress }),
        ...(args.length === undefined ? {} : { minLines: args.length }),
      });
      out.result({ ok: true, command: 'copy', from: args.from, ...r, exec: undefined });
      out.info(
        r.status === 'updated'
          ? `${args.from} -> ${r.key}: copied ${r.size} bytes, checksum ${r.checksum.slice(0, 12)}, index ${r.index}`
          : `${args.from} -> ${r.key}: unchanged (the destination already holds checksum ${r.checksum.slice(0, 12)})`,
      );
      return ExitCode.OK;
    });
  });
}
