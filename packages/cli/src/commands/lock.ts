/**
 * `kvx lock …`: hands the command line to `@kvx/lock`'s `lockMain` (consul-lock compatible supervisor), with
 * this context's streams and environment. In the real process the supervisor subscribes to the process's
 * signals itself, because it forwards more than SIGINT/SIGTERM (SIGHUP, SIGUSR1, …) to its child; a test
 * context's signal source is handed over instead.
 *
 * @module
 */

import { processSignals, type CommandContext } from '../context.js';

/** Runs `kvx lock`; `argv` is everything after `lock`. */
export async function lockCommand(ctx: CommandContext, argv: readonly string[]): Promise<number> {
  const { lockMain } = await import('@kvx/lock');
  return lockMain([...argv], {
    stdout: ctx.stdout,
    stderr: ctx.stderr,
    env: ctx.env,
    ...(ctx.signals === processSignals ? {} : { signals: ctx.signals }),
  });
}
