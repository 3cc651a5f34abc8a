/**
 * `agentMain`: the `kvx agent --dev` command. Parses flags (Go durations for times), starts the agent, prints
 * exactly one line when ready, and on SIGINT/SIGTERM answers in-flight blocking queries, flushes and returns 0.
 *
 * @module
 */
import { parseArgs } from 'node:util';

import { DurationSyntaxError, parseGoDurationMs } from './duration.js';
import { startDevAgent } from './dev-agent.js';
import type { DevAgentOptions } from './options.js';

/** Anything text can be written to (a stream, a test's collector). */
export interface TextSink {
  /** Writes `text` as is. */
  write(text: string): unknown;
}

/** Where `agentMain` writes and how it learns it should stop. */
export interface AgentIo {
  /** Where the listening line and logs go. Default: `process.stdout`. */
  readonly stdout?: TextSink;
  /** Where errors go. Default: `process.stderr`. */
  readonly stderr?: TextSink;
  /** Stops the agent when aborted (in addition to SIGINT/SIGTERM). */
  readonly signal?: AbortSignal;
  /** Listen for SIGINT/SIGTERM on the process. Default: `true`. */
  readonly handleSignals?: boolean;
}

const USAGE = `Usage: kvx agent --dev [options]

Runs a single-node, Consul-compatible dev agent (like "consul agent -dev").

Options:
  --dev                      required: run in development mode
  --http-addr HOST:PORT      listen address (default 127.0.0.1:8500; port 0 picks a free port)
  --data-dir DIR             persist KV, sessions and the index in DIR (default: memory only)
  --node NAME                node name (default: the host name)
  --datacenter DC            datacenter name (default: dc1)
  --session-ttl-min DUR      smallest session TTL accepted (default: 10s)
  --default-query-time DUR   blocking-query wait when none is given (default: 5m)
  --max-query-time DUR       longest blocking-query wait (default: 10m)
  --kv-max-value-size BYTES  largest KV value (default: 524288)
  --txn-max-ops N            most operations per transaction (default: 128)
  --acl-file FILE            enable ACLs with the rules in FILE (JSON)
  --snapshot-threshold BYTES log size that triggers a snapshot (default: 16777216)
  --help                     show this help
`;

/** A command-line problem reported on one line. */
class UsageError extends Error {}

function duration(flag: string, text: string): number {
  try {
    const ms = parseGoDurationMs(text);
    if (ms <= 0) throw new UsageError(`--${flag} must be a positive duration, got "${text}"`);
    return ms;
  } catch (err) {
    if (err instanceof DurationSyntaxError) throw new UsageError(`--${flag}: ${err.message}`);
    throw err;
  }
}

function integer(flag: string, text: string): number {
  if (!/^\d+$/.test(text) || Number(text) <= 0) throw new UsageError(`--${flag} must be a positive integer, got "${text}"`);
  return Number(text);
}

/** Parses `kvx agent` arguments into options; `undefined` means `--help`. */
export function parseAgentArgs(argv: readonly string[]): DevAgentOptions | undefined {
  let parsed;
  try {
    parsed = parseArgs({
      args: [...argv],
      strict: true,
      allowPositionals: false,
      options: {
        dev: { type: 'boolean' },
        'http-addr': { type: 'string' },
        'data-dir': { type: 'string' },
        node: { type: 'string' },
        datacenter: { type: 'string' },
        'session-ttl-min': { type: 'string' },
        'default-query-time': { type: 'string' },
        'max-query-time': { type: 'string' },
        'kv-max-value-size': { type: 'string' },
        'txn-max-ops': { type: 'string' },
        'acl-file': { type: 'string' },
        'snapshot-threshold': { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    });
  } catch (err) {
    throw new UsageError((err as Error).message.split('\n')[0]);
  }
  const v = parsed.values;
  if (v.help) return undefined;
  if (!v.dev) throw new UsageError('only development mode is supported: pass --dev');
  const options: DevAgentOptions = {
    httpAddr: v['http-addr'] ?? '127.0.0.1:8500',
    ...(v['data-dir'] !== undefined && { dataDir: v['data-dir'] }),
    ...(v.node !== undefined && { nodeName: v.node }),
    ...(v.datacenter !== undefined && { datacenter: v.datacenter }),
    ...(v['session-ttl-min'] !== undefined && { sessionTtlMin: duration('session-ttl-min', v['session-ttl-min']) }),
    ...(v['default-query-time'] !== undefined && {
      defaultQueryTime: duration('default-query-time', v['default-query-time']),
    }),
    ...(v['max-query-time'] !== undefined && { maxQueryTime: duration('max-query-time', v['max-query-time']) }),
    ...(v['kv-max-value-size'] !== undefined && {
      kvMaxValueSize: integer('kv-max-value-size', v['kv-max-value-size']),
    }),
    ...(v['txn-max-ops'] !== undefined && { txnMaxOps: integer('txn-max-ops', v['txn-max-ops']) }),
    ...(v['acl-file'] !== undefined && { aclFile: v['acl-file'] }),
    ...(v['snapshot-threshold'] !== undefined && {
      snapshotThreshold: integer('snapshot-threshold', v['snapshot-threshold']),
    }),
  };
  return options;
}

function oneLine(err: unknown): string {
  const message = err instanceof Error ? err.message : String(err);
  return message.split('\n')[0] ?? message;
}

/**
 * Runs `kvx agent --dev …` until SIGINT/SIGTERM (or `io.signal`). Resolves to the exit code: 0 after a clean
 * shutdown, 1 for bad flags or a failed start (one line on stderr, no stack trace).
 */
export async function agentMain(argv: readonly string[], io: AgentIo = {}): Promise<number> {
  const stdout = io.stdout ?? process.stdout;
  const stderr = io.stderr ?? process.stderr;
  let options: DevAgentOptions | undefined;
  try {
    options = parseAgentArgs(argv);
  } catch (err) {
    stderr.write(`kvx agent: ${oneLine(err)}\n`);
    return 1;
  }
  if (!options) {
    stdout.write(USAGE);
    return 0;
  }
  // Listen for signals before announcing readiness: whoever reads the line may signal at once.
  let stopRequested!: () => void;
  const stopped = new Promise<void>((resolve) => (stopRequested = resolve));
  const stop = (): void => {
    process.off('SIGINT', stop);
    process.off('SIGTERM', stop);
    io.signal?.removeEventListener('abort', stop);
    stopRequested();
  };
  if (io.handleSignals ?? true) {
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  }
  if (io.signal?.aborted) stop();
  else io.signal?.addEventListener('abort', stop, { once: true });
  let agent;
  try {
    agent = await startDevAgent(options);
  } catch (err) {
    stop();
    stderr.write(`kvx agent: ${oneLine(err)}\n`);
    return 1;
  }
  stdout.write(`kvx dev agent listening on ${agent.url}\n`);
  await stopped;
  try {
    await agent.close();
  } catch (err) {
    stderr.write(`kvx agent: shutdown failed: ${oneLine(err)}\n`);
    return 1;
  }
  return 0;
}
