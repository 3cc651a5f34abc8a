/**
 * `kvx unpin`: release this host's pin of a file through the transfer library's `unpin` (kvexpress `unlock`).
 *
 * @module
 */

import path from 'node:path';
import { unpin } from '@kvx/client';
import type { UnpinArgs } from '../args.js';
import { guarded, withConsul } from '../command.js';
import type { CommandContext } from '../context.js';
import { ExitCode } from '../exit-codes.js';

/** Runs `kvx unpin`. */
export async function unpinCommand(ctx: CommandContext, args: UnpinArgs): Promise<number> {
  return guarded(ctx, args, async (out) =>
    withConsul(ctx, args, out, async ({ consul, metrics, logger, signal }) => {
      const r = await unpin({
        consul,
        signal,
        metrics,
        logger,
        file: path.resolve(ctx.cwd, args.file),
        ...(args.prefix === undefined ? {} : { prefix: args.prefix }),
      });
      out.result({ ok: true, command: 'unpin', ...r });
      out.info(r.reason === undefined ? `${r.file}: was not pinned on this host` : `${r.file}: unpinned (was: ${r.reason})`);
      return ExitCode.OK;
    }),
  );
}
