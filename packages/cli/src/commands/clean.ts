/**
 * `kvx clean`: remove a file and its side files (`.compare`, `.last`, leftover temp files) through the
 * transfer library's `clean`. Like kvexpress, the file itself is removed too, unless `--keep-file`.
 * No Consul access.
 *
 * @module
 */

import path from 'node:path';
import { clean } from '@kvx/client';
import type { CleanArgs } from '../args.js';
import { guarded } from '../command.js';
import type { CommandContext } from '../context.js';
import { ExitCode } from '../exit-codes.js';

/** Runs `kvx clean`. */
export async function cleanCommand(ctx: CommandContext, args: CleanArgs): Promise<number> {
  return guarded(ctx, args, async (out) => {
    const removed = await clean({ file: path.resolve(ctx.cwd, args.file), removeFile: args.keepFile !== true });
    out.result({ ok: true, command: 'clean', removed });
    if (removed.length === 0) out.info(`${args.file}: nothing to remove`);
    for (const file of removed) out.info(`removed ${file}`);
    return ExitCode.OK;
  });
}
