/**
 * `kvx diff`: show what `kvx out` would change in a file, from the transfer library's `diffFile`: a unified
 * diff file → Consul, mode/owner drift, and a stop or pin that would hold the delivery. Exits 0 whether or
 * not there are differences (failures keep their usual codes).
 *
 * @module
 */

import path from 'node:path';
import { diffFile, type DiffFileResult } from '@kvx/client';
import type { DiffArgs } from '../args.js';
import { guarded, withConsul } from '../command.js';
import type { CommandContext } from '../context.js';
import { ExitCode } from '../exit-codes.js';
import type { Output } from '../output.js';
import { fileModeFields, lengthFields } from './shared.js';

function report(out: Output, r: DiffFileResult): void {
  out.result({ ok: true, command: 'diff', ...r });
  if (r.stopReason !== undefined) out.info(`note: ${r.key} is stopped (${r.stopReason}); out would not deliver it`);
  if (r.pinReason !== undefined) out.info(`note: ${r.file} is pinned on this host (${r.pinReason}); out would leave it`);
  const drift = [r.drift.mode ? 'mode' : '', r.drift.owner ? 'owner' : ''].filter(Boolean).join(' and ');
  if (!r.changed) {
    out.info(`${r.file}: up to date with ${r.key}${drift ? ` (out would repair its ${drift})` : ''}`);
    return;
  }
  if (r.fileChecksum === undefined) out.info(`${r.file}: does not exist; out would create it`);
  if (drift) out.info(`out would also repair the ${drift}`);
  if (r.patch !== undefined) out.info(r.patch.trimEnd());
  else out.info(`(no diff shown: ${r.skipped ?? 'unavailable'}; checksum ${r.fileChecksum?.slice(0, 12) ?? '-'} -> ${r.checksum.slice(0, 12)})`);
}

/** Runs `kvx diff`. */
export async function diffCommand(ctx: CommandContext, args: DiffArgs): Promise<number> {
  return guarded(ctx, args, async (out) =>
    withConsul(ctx, args, out, async ({ consul, metrics, logger, signal }) => {
      const r = await diffFile({
        consul,
        signal,
        metrics,
        logger,
        key: args.key,
        file: path.resolve(ctx.cwd, args.file),
        ...(args.prefix === undefined ? {} : { prefix: args.prefix }),
        ...(args.compress === undefined ? {} : { compress: args.compress }),
        ...lengthFields(args),
        ...fileModeFields(args),
      });
      report(out, r);
      return ExitCode.OK;
    }),
  );
}
