/**
 * What every command shares: turning a thrown error into the one-line report and its exit code, and the
 * Consul session (config file, client, metrics) a Consul-talking command runs in.
 *
 * @module
 */

import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { Consul, TransferLogger, TransferMetrics } from '@kvx/client';
import type { ConfigFile } from './config-file.js';
import { consulOptionsFrom, DEFAULT_METRICS_PREFIX, metricsTarget, type ConsulFlags } from './consul-flags.js';
import { shutdownSignal, type CommandContext } from './context.js';
import { exitCodeForError, InterruptedError, isCliError, oneLineMessage } from './errors.js';
import { ExitCode } from './exit-codes.js';
import { Output, type OutputFlags } from './output.js';

/**
 * Runs a command body and returns its exit code. A thrown error becomes `kvx: <message>` on stderr (plus a
 * `{"ok":false,…}` document with `--json`) and the exit code of its `code`; only internal errors get a
 * stack trace, and only with `--verbose`.
 */
export async function guarded(
  ctx: CommandContext,
  flags: OutputFlags,
  body: (out: Output) => Promise<number>,
): Promise<number> {
  const out = new Output(ctx, flags);
  try {
    return await body(out);
  } catch (err) {
    return report(out, err);
  }
}

/** Prints `err` and returns its exit code. */
export async function report(out: Output, err: unknown): Promise<number> {
  const library = isCliError(err) ? undefined : (await import('@kvx/client')).exitCodeFor;
  const exitCode = exitCodeForError(err, library);
  out.error(err, exitCode === ExitCode.INTERNAL);
  const code = typeof err === 'object' && err !== null && 'code' in err ? String(err.code) : undefined;
  out.result({ ok: false, exitCode, error: { code, message: oneLineMessage(err) } });
  return exitCode;
}

/** A Consul client for one command run, with what it was built from. */
export interface ConsulSession {
  consul: Consul;
  /** The config file, when `--config` was given. */
  config: ConfigFile | undefined;
  /** Transfer metrics and events (sending nothing without `--dogstatsd`). */
  metrics: TransferMetrics;
  /** The transfer library's log callback, printing through the command's output. */
  logger: TransferLogger;
  /**
   * Aborts on SIGINT/SIGTERM. Every library call gets it, so an interrupted command cancels its requests,
   * terminates a running `--exec`/`--validate` process group and removes its temp file before exiting.
   */
  signal: AbortSignal;
}

/**
 * Prints the transfer library's log records as `--verbose` debug lines. Without `--verbose` they are not
 * shown: a failure reaches the user once, as the command's `kvx: <message>` line.
 */
export function transferLogger(out: Output): TransferLogger {
  return (level, message, fields) => {
    if (!out.verbose) return;
    const detail = Object.entries(fields)
      .filter(([, v]) => v !== undefined && v !== '')
      .map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v, (_k, x: unknown) => (typeof x === 'bigint' ? x.toString() : x))}`)
      .join(' ');
    out.debug(`${level} ${detail ? `${message} (${detail})` : message}`);
  };
}

/** Every token the run may send, so output can redact it whatever its source. */
function registerSecrets(out: Output, ctx: CommandContext, flags: ConsulFlags, config: ConfigFile | undefined): void {
  out.addSecret(flags.token);
  out.addSecret(config?.connection.token);
  out.addSecret(ctx.env['CONSUL_HTTP_TOKEN']);
  for (const file of [flags.tokenFile, config?.connection.tokenFile, ctx.env['CONSUL_HTTP_TOKEN_FILE']]) {
    if (file === undefined || file === '') continue;
    try {
      out.addSecret(readFileSync(path.resolve(ctx.cwd, file), 'utf8').trim());
    } catch {
      // The client reports an unreadable token file when it builds its configuration.
    }
  }
}

/** Loads the config file named by `--config` (relative to `ctx.cwd`), if any. */
export async function configFor(ctx: CommandContext, flags: ConsulFlags): Promise<ConfigFile | undefined> {
  if (flags.config === undefined) return undefined;
  // Loaded on demand: the YAML parser alone costs a watch handler's cold start tens of milliseconds.
  const { loadConfigFile } = await import('./config-file.js');
  return loadConfigFile(path.resolve(ctx.cwd, flags.config));
}

/**
 * Runs `body` with a Consul client built from the flags, environment and config file, and closes the
 * client (flushing metrics) afterwards, whatever happens. While it runs, SIGINT/SIGTERM abort the session's
 * `signal` instead of killing the process; a body that then fails is reported as an {@link InterruptedError}
 * (exit 130/143), a body that still completes keeps its own exit code.
 */
export async function withConsul(
  ctx: CommandContext,
  flags: ConsulFlags,
  out: Output,
  body: (session: ConsulSession) => Promise<number>,
): Promise<number> {
  const config = await configFor(ctx, flags);
  registerSecrets(out, ctx, flags, config);
  const options = consulOptionsFrom(flags, ctx.env, config, ctx.cwd);
  const { StatsdMetrics, TransferMetrics } = await import('@kvx/client');
  const target = metricsTarget(flags, config);
  // One StatsD socket shared by the client's request metrics and the transfer metrics and events.
  const statsd =
    target === undefined
      ? undefined
      : new StatsdMetrics({
          host: target.address.host,
          port: target.address.port,
          errorHandler: (err: Error) => out.debug(`dogstatsd: ${err.message}`),
        });
  if (statsd !== undefined) options.metrics = statsd.statsd;
  const diffEvents = flags.diffEvents ?? config?.diffEvents ?? true;
  const metrics = new TransferMetrics(
    statsd === undefined ? { diffEvents } : { statsd: statsd.statsd, prefix: target?.prefix ?? DEFAULT_METRICS_PREFIX, diffEvents },
  );
  if (target !== undefined) {
    out.debug(`metrics to dogstatsd ${target.address.host}:${target.address.port}, prefix ${target.prefix}`);
  }
  let consul: Consul;
  try {
    consul = await ctx.createConsul(options);
  } catch (err) {
    await statsd?.close();
    throw err;
  }
  out.debug(`consul agent ${consul.address}`);
  const shutdown = shutdownSignal(ctx);
  try {
    return await body({ consul, config, metrics, logger: transferLogger(out), signal: shutdown.signal });
  } catch (err) {
    const received = shutdown.received();
    throw received === undefined ? err : new InterruptedError(received, err);
  } finally {
    shutdown.dispose();
    await consul.close();
    await statsd?.close();
  }
}
