/**
 * `kvx agent --dev …`: hands the command line to `@kvx/devagent`'s `agentMain`, with this context's streams and
 * its SIGINT/SIGTERM (so tests stop the agent without signalling the test process).
 *
 * @module
 */

import { shutdownSignal, type CommandContext } from '../context.js';

/** Runs `kvx agent`; `argv` is everything after `agent`. */
export async function agentCommand(ctx: CommandContext, argv: readonly string[]): Promise<number> {
  const { agentMain } = await import('@kvx/devagent');
  const shutdown = shutdownSignal(ctx);
  try {
    return await agentMain(argv, { stdout: ctx.stdout, stderr: ctx.stderr, signal: shutdown.signal, handleSignals: false });
  } finally {
    shutdown.dispose();
  }
}
