/**
 * Dev agents for tests: in-process (`startTestAgent`) or as a child process (`spawnAgent`), both on a free port of
 * 127.0.0.1 with fast settings.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

import { startDevAgent, type DevAgent, type DevAgentOptions } from '@kvx/devagent';

export type { DevAgent, DevAgentOptions };

/** Repository root (tests run `tsx` from here). */
export const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));
/** The agent's directly runnable entry point. */
export const AGENT_MAIN = fileURLToPath(new URL('../../packages/devagent/src/main.ts', import.meta.url));
/** The compiled entry point, as the package ships it (needs a build). */
export const AGENT_MAIN_COMPILED = fileURLToPath(new URL('../../packages/devagent/dist/main.js', import.meta.url));

/** Starts an in-process agent on 127.0.0.1, port 0, `sessionTtlMin` 100 ms; other options as given. */
export function startTestAgent(opts: Partial<DevAgentOptions> = {}): Promise<DevAgent> {
  return startDevAgent({ httpAddr: '127.0.0.1:0', sessionTtlMin: 100, ...opts });
}

/** Options of {@link spawnAgent}. */
export interface SpawnAgentOptions {
  /** Extra environment variables. */
  env?: NodeJS.ProcessEnv;
  /** How long to wait for the listening line, ms. Default: 20000. */
  startTimeoutMs?: number;
  /** Node flags for the agent's process (e.g. `--cpu-prof`), before the script. Default: none. */
  nodeFlags?: readonly string[];
  /**
   * Runs the compiled agent (packages/devagent/dist) in plain `node`, without tsx, as benchmarks measure it.
   * Default: `false` (the TypeScript sources through tsx, which need no build).
   */
  compiled?: boolean;
}

/** A dev agent running as a child process. */
export interface SpawnedAgent {
  readonly url: string;
  readonly port: number;
  readonly process: ChildProcess;
  /** Everything the agent wrote to stdout so far. */
  stdout(): string;
  /** Everything the agent wrote to stderr so far. */
  stderr(): string;
  /** Sends `signal` (default SIGKILL) and resolves with the exit code (or signal name) once it exited. */
  kill(signal?: NodeJS.Signals): Promise<number | NodeJS.Signals>;
  /** SIGTERM and wait: resolves with the exit code. */
  stop(): Promise<number | NodeJS.Signals>;
}

const LISTENING = /^kvx dev agent listening on (http:\/\/\S+)$/m;

/** The argv `spawnAgent` runs (node flags + main.ts + `--dev --http-addr 127.0.0.1:0` + `args`). */
export function agentCommand(args: readonly string[], compiled = false): string[] {
  const main = compiled ? [AGENT_MAIN_COMPILED] : ['--import', 'tsx', '--conditions=kvx-source', AGENT_MAIN];
  return [...main, '--dev', '--http-addr', '127.0.0.1:0', ...args];
}

/**
 * Spawns `main.ts --dev --http-addr 127.0.0.1:0 …args` (later flags win, so `args` may override the address)
 * and resolves once it printed its listening line.
 */
export function spawnAgent(args: readonly string[] = [], opts: SpawnAgentOptions = {}): Promise<SpawnedAgent> {
  const env = { ...process.env, ...opts.env };
  if (opts.compiled) delete env['NODE_OPTIONS'];
  const child = spawn(process.execPath, [...(opts.nodeFlags ?? []), ...agentCommand(args, opts.compiled)], {
    cwd: REPO_ROOT,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (out += chunk));
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (err += chunk));
  const exited = new Promise<number | NodeJS.Signals>((resolve) => {
    child.once('exit', (code, signal) => resolve(code ?? signal ?? -1));
  });
  const kill = async (signal: NodeJS.Signals = 'SIGKILL'): Promise<number | NodeJS.Signals> => {
    if (child.exitCode === null && child.signalCode === null) child.kill(signal);
    return exited;
  };
  return new Promise<SpawnedAgent>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`dev agent did not start within ${opts.startTimeoutMs ?? 20000} ms; stderr: ${err}`));
    }, opts.startTimeoutMs ?? 20000);
    const onData = (): void => {
      const m = LISTENING.exec(out);
      if (!m) return;
      clearTimeout(timer);
      child.stdout.off('data', onData);
      const url = m[1] as string;
      resolve({
        url,
        port: Number(new URL(url).port),
        process: child,
        stdout: () => out,
        stderr: () => err,
        kill,
        stop: () => kill('SIGTERM'),
      });
    };
    child.stdout.on('data', onData);
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`dev agent exited (${String(code)}) before listening; stderr: ${err.trim()}`));
    });
  });
}
