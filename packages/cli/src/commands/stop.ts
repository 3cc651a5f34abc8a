/**
 * `kvx stop`: set the stop key of `<prefix>/<key>` through the transfer library's `stop`: every `in` and `out`
 * of that key halts (exit 2) until `kvx start`.
 *
 * @module
 */

import { stop } from '@kvx/client';
import type { StopArgs } from '../args.js';
import { guarded, withConsul } from '../command.js';
import type { CommandContext } from '../context.js';
import { ExitCode } from '../exit-codes.js';

/** Runs `kvx stop`. */
export async function stopCommand(ctx: CommandContext, args: StopArgs): Promise<number> {
  return guarded(ctx, args, async (out) =>
    withConsul(ctx, args, out, async ({ consul, metrics, logger, signal }) => {
      const r = await stop({
        consul,
        signal,
        metrics,
        logger,
        key: args.key,
        reason: args.reason,
        ...(args.prefix === undefined ? {} : { prefix: args.prefix }),
      });
      out.result({ ok: true, command: 'stop', key: args.key, reason: args.reason, ...r });
      out.info(`${r.stopKey}: stopped (${args.reason})${r.previousReason === undefined ? '' : `; was: ${r.previousReason}`}`);
      return ExitCode.OK;
    }),
  );
}
