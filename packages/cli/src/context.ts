/**
 * The command context: everything a command touches outside its arguments (streams, environment, working
 * directory, clock, signals, how to build a Consul client). `main.ts` builds the real one; tests build one
 * with capturing streams, so every command runs in-process without spawning.
 *
 * @module
 */

import type { Consul, ConsulOptions } from '@kvx/client';

/** Termination signals a long-running command (`out --watch`, `agent`, `demo`) shuts down on. */
export type ShutdownSignal = 'SIGINT' | 'SIGTERM';

/** Where termination signals come from. */
export interface SignalSource {
  /** Calls `listener` on each SIGINT/SIGTERM until the returned function is called. */
  subscribe(listener: (signal: ShutdownSignal) => void): () => void;
}

/** What a command may touch besides its arguments. */
export interface CommandContext {
  /** Results (tables, JSON documents, delivered-file lines). */
  readonly stdout: NodeJS.WritableStream;
  /** Diagnostics, warnings, `kvx: <message>` errors and the progress bar. */
  readonly stderr: NodeJS.WritableStream;
  /** Input for `kvx in -f -`. */
  readonly stdin: NodeJS.ReadableStream;
  /** Environment variables (`CONSUL_HTTP_ADDR`, `CONSUL_HTTP_TOKEN`, …). */
  readonly env: Readonly<Record<string, string | undefined>>;
  /** Directory relative paths are resolved against. */
  readonly cwd: string;
  /** Whether stderr is an interactive terminal: only then is a progress bar drawn. */
  readonly isTTY: boolean;
  /** Builds the Consul client for a command (asynchronous so the client library loads only when needed). */
  readonly createConsul: (options: ConsulOptions) => Promise<Consul>;
  /** Monotonic milliseconds, for durations and latencies. */
  readonly now: () => number;
  /** SIGINT/SIGTERM delivery for long-running commands. */
  readonly signals: SignalSource;
}

/** The context of the real `kvx` process. */
export function defaultContext(): CommandContext {
  return {
    stdout: process.stdout,
    stderr: process.stderr,
    stdin: process.stdin,
    env: process.env,
    cwd: process.cwd(),
    isTTY: process.stderr.isTTY,
    createConsul: async (options) => new (await import('@kvx/client')).Consul(options),
    now: () => performance.now(),
    signals: processSignals,
  };
}

/** Signals of the current process. */
export const processSignals: SignalSource = {
  subscribe(listener) {
    const onInt = (): void => listener('SIGINT');
    const onTerm = (): void => listener('SIGTERM');
    process.on('SIGINT', onInt);
    process.on('SIGTERM', onTerm);
    return () => {
      process.off('SIGINT', onInt);
      process.off('SIGTERM', onTerm);
    };
  },
};

/** A shutdown subscription: see {@link shutdownSignal}. */
export interface Shutdown {
  /** Aborts on the first SIGINT/SIGTERM. */
  signal: AbortSignal;
  /** The signal received, once one was. */
  received(): ShutdownSignal | undefined;
  /** Stops listening. */
  dispose: () => void;
}

/**
 * An `AbortSignal` that aborts on the first SIGINT/SIGTERM from `ctx`, and a function to stop listening.
 * A second signal is left to the default handler's absence: the command is already shutting down.
 */
export function shutdownSignal(ctx: CommandContext): Shutdown {
  const controller = new AbortController();
  let received: ShutdownSignal | undefined;
  const dispose = ctx.signals.subscribe((sig) => {
    received ??= sig;
    controller.abort(new Error(`received ${sig}`));
  });
  return { signal: controller.signal, received: () => received, dispose };
}
