/**
 * `kvx in`: publish a file, a URL or stdin to `<prefix>/<key>` through the transfer library's `publish`
 * (one transaction for data, checksum and meta; "unchanged" decided by what Consul holds).
 *
 * @module
 */

import { publish, type PublishResult } from '@kvx/client';
import type { InArgs } from '../args.js';
import { guarded, withConsul } from '../command.js';
import type { CommandContext } from '../context.js';
import { UsageError } from '../errors.js';
import { ExitCode } from '../exit-codes.js';
import { isSecretParam, readFileInput, readUrlInput, redactUrl, URL_TIMEOUT_MS } from '../input.js';
import type { Output } from '../output.js';
import { Progress } from '../progress.js';
import { execFields, lengthFields } from './shared.js';

/** Runs `kvx in`. */
export async function inCommand(ctx: CommandContext, args: InArgs): Promise<number> {
  return guarded(ctx, args, async (out) => {
    if ((args.file === undefined) === (args.url === undefined)) {
      throw new UsageError('kvx in needs exactly one input: -f FILE, -f - (stdin) or -u URL');
    }
    if (args.url !== undefined) registerUrlSecrets(out, args.url);
    const progress = Progress.for(ctx, out, `reading ${args.file ?? redactUrl(args.url ?? '')}`);
    const input = await (args.file !== undefined
      ? readFileInput(ctx, args.file, progress)
      : readUrlInput(args.url ?? '', args.timeout ?? URL_TIMEOUT_MS, progress)
    ).finally(() => progress.stop());
    out.debug(`read ${input.content.length} bytes from ${input.source}`);
    return withConsul(ctx, args, out, async ({ consul, config, metrics, logger, signal }) => {
      const maxValueSize = args.maxValueSize ?? config?.maxValueSize;
      const upload = Progress.for(ctx, out, `publishing ${args.key}`);
      const result = await publish({
        consul,
        metrics,
        logger,
        signal,
        key: args.key,
        content: input.content,
        source: input.source,
        ...(args.prefix === undefined ? {} : { prefix: args.prefix }),
        ...lengthFields(args),
        ...(args.sorted === undefined ? {} : { sorted: args.sorted }),
        ...(args.compress === undefined ? {} : { compress: args.compress }),
        ...(maxValueSize === undefined ? {} : { maxValueSize }),
        ...execFields(args),
        onProgress: (done, total) => upload.update(done, total),
      }).finally(() => upload.stop());
      report(out, result);
      return ExitCode.OK;
    });
  });
}

/** The URL's password and credential-like query values, so no output line can carry them. */
function registerUrlSecrets(out: Output, url: string): void {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return;
  }
  if (parsed.password !== '') {
    out.addSecret(parsed.password);
    out.addSecret(decodeURIComponent(parsed.password));
  }
  for (const [name, value] of parsed.searchParams) if (isSecretParam(name)) out.addSecret(value);
}

function report(out: Output, r: PublishResult): void {
  out.result({ ok: true, command: 'in', ...r, exec: r.exec === undefined ? undefined : { exitCode: r.exec.exitCode } });
  if (r.status === 'unchanged') {
    out.info(`${r.key}: unchanged (Consul already holds checksum ${r.checksum.slice(0, 12)})`);
    return;
  }
  const stored = r.encoding === 'brotli' ? `, ${r.storedSize} bytes brotli` : '';
  const chunks = r.chunks > 0 ? ` in ${r.chunks} chunks` : '';
  out.info(`${r.key}: published ${r.size} bytes, ${r.lines} lines${stored}${chunks}, checksum ${r.checksum.slice(0, 12)}, index ${r.index}`);
}
