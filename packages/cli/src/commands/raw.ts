/**
 * `kvx raw`: write any key's value verbatim to a file through the transfer library's `raw` (no prefix, no
 * checksum key, no decoding; unchanged content is not rewritten and its command not rerun).
 *
 * @module
 */

import path from 'node:path';
import { raw } from '@kvx/client';
import type { RawArgs } from '../args.js';
import { guarded, withConsul } from '../command.js';
import type { CommandContext } from '../context.js';
import { ExitCode } from '../exit-codes.js';
import { execFields, fileModeFields, lengthFields } from './shared.js';

/** Runs `kvx raw`. */
export async function rawCommand(ctx: CommandContext, args: RawArgs): Promise<number> {
  return guarded(ctx, args, async (out) =>
    withConsul(ctx, args, out, async ({ consul, metrics, logger, signal }) => {
      const r = await raw({
        consul,
        signal,
        metrics,
        logger,
        key: args.key,
        file: path.resolve(ctx.cwd, args.file),
        ...lengthFields(args),
        ...fileModeFields(args),
        ...execFields(args),
      });
      out.result({
        ok: true,
        command: 'raw',
        status: r.status,
        key: r.key,
        file: r.file,
        checksum: r.checksum,
        size: r.size,
        index: r.index,
        repaired: r.repaired,
        exec: r.exec === undefined ? undefined : { exitCode: r.exec.exitCode },
      });
      out.info(
        r.status === 'written'
          ? `${r.file}: written from ${r.key} (${r.size} bytes, index ${r.index})`
          : `${r.file}: up to date with ${r.key}`,
      );
      return ExitCode.OK;
    }),
  );
}
