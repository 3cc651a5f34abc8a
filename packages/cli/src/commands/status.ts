/**
 * `kvx status`: a table of the files published under a prefix (size, encoding, checksum, index, stop
 * reason) and the pins, from the transfer library's `status`; `--json` prints the same as one document.
 *
 * @module
 */

import { status, type FileStatus, type StatusResult } from '@kvx/client';
import type { StatusArgs } from '../args.js';
import { guarded, withConsul } from '../command.js';
import type { CommandContext } from '../context.js';
import { ExitCode } from '../exit-codes.js';

/** Renders rows as space-padded columns. */
export function formatTable(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]): string =>
    cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i] ?? 0))).join('  ').trimEnd();
  return [line(header), ...rows.map(line)].join('\n');
}

function sizeOf(f: FileStatus): string {
  if (f.size === undefined) return `${f.storedSize} stored`;
  return f.size === f.storedSize ? String(f.size) : `${f.size} (${f.storedSize} stored)`;
}

/** The human rendering of a status result. */
export function formatStatus(prefix: string, r: StatusResult): string {
  if (r.files.length === 0 && r.pins.length === 0) return `nothing published under ${prefix}/`;
  const rows = r.files.map((f) => [
    f.key,
    sizeOf(f),
    f.chunks > 0 ? `${f.encoding} (${f.chunks})` : f.encoding,
    f.checksum === undefined ? '-' : f.checksum.slice(0, 12),
    String(f.index),
    f.stopReason === undefined ? '-' : `STOPPED: ${f.stopReason}`,
  ]);
  const parts = [formatTable(['KEY', 'SIZE', 'ENCODING', 'CHECKSUM', 'INDEX', 'STOP'], rows)];
  if (r.pins.length > 0) {
    parts.push(
      '',
      formatTable(
        ['PINNED ON', 'PATH SHA256', 'REASON'],
        r.pins.map((p) => [p.hostname, p.pathHash.slice(0, 12), p.reason]),
      ),
    );
  }
  return parts.join('\n');
}

/** Runs `kvx status`. */
export async function statusCommand(ctx: CommandContext, args: StatusArgs): Promise<number> {
  return guarded(ctx, args, async (out) =>
    withConsul(ctx, args, out, async ({ consul, metrics, logger, signal }) => {
      const r = await status({
        consul,
        signal,
        metrics,
        logger,
        ...(args.prefix === undefined ? {} : { prefix: args.prefix }),
        ...(args.key === undefined ? {} : { keys: [args.key] }),
      });
      out.result({ ok: true, command: 'status', prefix: args.prefix ?? 'kvexpress', ...r });
      out.info(formatStatus(args.prefix ?? 'kvexpress', r));
      return ExitCode.OK;
    }),
  );
}
