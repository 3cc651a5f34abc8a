/**
 * `kvx start`: remove the stop key of `<prefix>/<key>` through the transfer library's `start`
 * (kvexpress had no such command: operators deleted the key by hand).
 *
 * @module
 */

import { start } from '@kvx/client';
import type { StartArgs } from '../args.js';
import { guarded, withConsul } from '../command.js';
import type { CommandContext } from '../context.js';
import { ExitCode } from '../exit-codes.js';

/** Runs `kvx start`. */
export async function startCommand(ctx: CommandContext, args: StartArgs): Promise<number> {
  return guarded(ctx, args, async (out) =>
    withConsul(ctx, args, out, async ({ consul, metrics, logger, signal }) => {
      const r = await start({
        consul,
        signal,
        metrics,
        logger,
        key: args.key,
        ...(args.prefix === undefined ? {} : { prefix: args.prefix }),
      });
      out.result({ ok: true, command: 'start', key: args.key, ...r });
      out.info(r.previousReason === undefined ? `${r.stopKey}: was not stopped` : `${r.stopKey}: started (was stopped: ${r.previousReason})`);
      return ExitCode.OK;
    }),
  );
}
