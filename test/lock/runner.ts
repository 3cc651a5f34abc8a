/**
 * Supervisors as real processes (`node --import tsx --conditions=kvx-source packages/lock/src/main.ts …`),
 * and the interval log their children write (see fixtures/interval.sh).
 */

import { spawn, type ChildProcess } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { eventually } from '../support/eventually.js';

/** Repository root (supervisors run from here). */
export const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));
/** The supervisor's entry point, run from sources. */
export const LOCK_MAIN = fileURLToPath(new URL('../../packages/lock/src/main.ts', import.meta.url));
/** Fixture scripts. */
export const FIXTURES = fileURLToPath(new URL('./fixtures/', import.meta.url));

/** A supervisor process. */
export interface Runner {
  readonly name: string;
  readonly process: ChildProcess;
  /** Everything it wrote to stderr so far (its verbose log). */
  stderr(): string;
  /** Everything it (and its child) wrote to stdout so far. */
  stdout(): string;
  /** Resolves with the exit code (or the signal name) once it exited. */
  readonly exited: Promise<number | NodeJS.Signals>;
  /** Whether it is still running. */
  running(): boolean;
  /** Sends a signal (if still running). */
  signal(signal: NodeJS.Signals): void;
}

/** Starts `kvx-lock args…` against the agent at `address` (host:port), with `stdin` as its input if given. */
export function spawnRunner(name: string, address: string, args: readonly string[], stdin?: string): Runner {
  const proc = spawn(process.execPath, ['--import', 'tsx', '--conditions=kvx-source', LOCK_MAIN, ...args], {
    cwd: REPO_ROOT,
    env: { ...process.env, CONSUL_HTTP_ADDR: address },
    stdio: [stdin === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
  });
  if (stdin !== undefined) proc.stdin?.end(stdin);
  let out = '';
  let err = '';
  proc.stdout?.setEncoding('utf8').on('data', (chunk: string) => (out += chunk));
  proc.stderr?.setEncoding('utf8').on('data', (chunk: string) => (err += chunk));
  const exited = new Promise<number | NodeJS.Signals>((resolve) => {
    proc.once('exit', (code, signal) => resolve(code ?? signal ?? -1));
  });
  return {
    name,
    process: proc,
    stderr: () => err,
    stdout: () => out,
    exited,
    running: () => proc.exitCode === null && proc.signalCode === null,
    signal: (signal) => {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill(signal);
    },
  };
}

/**
 * Ends every runner still alive: SIGTERM (the child is stopped, the lock released), then SIGKILL for any
 * still running after `graceMs` (its reaper then stops the child); waits until all have exited.
 */
export async function killAll(runners: readonly Runner[], graceMs = 3000): Promise<void> {
  for (const r of runners) r.signal('SIGTERM');
  const timer = setTimeout(() => {
    for (const r of runners) r.signal('SIGKILL');
  }, graceMs);
  await Promise.all(runners.map((r) => r.exited));
  clearTimeout(timer);
}

/** One run of an interval child: [start, stop] wall-clock nanoseconds; `stop` undefined while running. */
export interface Interval {
  id: string;
  start: bigint;
  stop: bigint | undefined;
}

/** Parses the `start <id> <ns>` / `stop <id> <ns>` lines children append to the log. */
export async function readIntervals(path: string): Promise<Interval[]> {
  let text = '';
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  const byId = new Map<string, Interval>();
  for (const line of text.split('\n')) {
    const [what, id, ns] = line.trim().split(' ');
    if (id === undefined || ns === undefined) continue;
    if (what === 'start') byId.set(id, { id, start: BigInt(ns), stop: undefined });
    else if (what === 'stop') {
      const interval = byId.get(id);
      if (interval !== undefined) interval.stop = BigInt(ns);
    }
  }
  return [...byId.values()].sort((a, b) => (a.start < b.start ? -1 : a.start > b.start ? 1 : 0));
}

/** Pairs of intervals that overlap in time (an interval still running extends to infinity). */
export function overlaps(intervals: readonly Interval[]): [Interval, Interval][] {
  const found: [Interval, Interval][] = [];
  for (let i = 0; i < intervals.length; i++) {
    for (let j = i + 1; j < intervals.length; j++) {
      const a = intervals[i]!;
      const b = intervals[j]!;
      const aEnd = a.stop ?? BigInt(Number.MAX_SAFE_INTEGER) * 1_000_000n;
      const bEnd = b.stop ?? BigInt(Number.MAX_SAFE_INTEGER) * 1_000_000n;
      if (a.start < bEnd && b.start < aEnd) found.push([a, b]);
    }
  }
  return found;
}

/** Waits until exactly the runners whose stderr shows a started child are `count` (or more, then throws). */
export async function waitForHolders(runners: readonly Runner[], count: number, timeoutMs = 15_000): Promise<Runner[]> {
  return eventually(`${count} runner(s) running their child`, () => {
    const holders = runners.filter((r) => r.stderr().includes('Child started'));
    if (holders.length > count) throw new Error(`${holders.length} runners started their child, expected ${count}`);
    return holders.length === count ? holders : undefined;
  }, timeoutMs);
}
