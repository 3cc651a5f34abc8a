/**
 * `kvx pin`: pin a delivered file on this host through the transfer library's `pin` (kvexpress `lock`):
 * `out` leaves it untouched (exit 3) until `kvx unpin`. A relative path is resolved against the working
 * directory, so the pin matches what `out -f` resolves to.
 *
 * @module
 */

import path from 'node:path';
import { pin } from '@kvx/client';
import type { PinArgs } from '../args.js';
import { guarded, withConsul } from '../command.js';
import type { CommandContext } from '../context.js';
import { ExitCode } from '../exit-codes.js';

/** Runs `kvx pin`. */
export async function pinCommand(ctx: CommandContext, args: PinArgs): Promise<number> {
  return guarded(ctx, args, async (out) =>
    withConsul(ctx, args, out, async ({ consul, metrics, logger, signal }) => {
      const r = await pin({
        consul,
        signal,
        metrics,
        logger,
        file: path.resolve(ctx.cwd, args.file),
        ...(args.reason === undefined ? {} : { reason: args.reason }),
        ...(args.prefix === undefined ? {} : { prefix: args.prefix }),
      });
      out.result({ ok: true, command: 'pin', ...r });
      out.info(`${r.file}: pinned on this host (${r.reason ?? ''})`);
      return ExitCode.OK;
    }),
  );
}
