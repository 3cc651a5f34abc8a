/**
 * Fan-out of one file to a fleet: 1,000 watchers (4 child processes × 250, each watcher a separate
 * `watchAndDeliver` with its own host name and target file, as 1,000 nodes would run it) keep a 64 KiB file
 * delivered from a dev agent running in its own process. The watchers (support/fanout-worker.js) and the agent
 * run compiled, in plain `node`, as the packages ship. Each round publishes a new version; per encoding, five
 * warm-up rounds (reported apart: they include V8 compiling the delivery path of each worker) come before the
 * five measured ones. Delivery latency
 * is measured from the moment the publisher sends its commit (the `/v1/txn` that makes the version visible —
 * the publisher's read and its brotli compression come before and are not counted) to each watcher's
 * `onResult` (after the rename and the directory fsync). Every process reads the same clock:
 * `performance.timeOrigin + performance.now()` (monotonic within a process, anchored to the wall clock at
 * start-up); the largest disagreement between a worker's anchor and the parent's is reported. Requests per
 * change per watcher are counted on each watcher's client for the file's blocking read and for the shared pin
 * watch.
 *
 * What bounds the result on a small machine: every delivery costs CPU in the agent (one response) and in a
 * watcher (one response parsed, decoded, hashed, written, fsynced and renamed). The CPU time of the agent and
 * of the watchers per change is reported, and divided by the number of cores it gives the shortest time in
 * which all deliveries of a change can possibly finish.
 *
 * Run alone: `node --import tsx --conditions=kvx-source bench/transfer-fanout.ts`. Environment:
 * `KVX_BENCH_PROCESSES` (default 4) and `KVX_BENCH_WATCHERS_PER_PROCESS` (default 250) size the fleet;
 * `KVX_BENCH_CPU_PROF=DIR` writes V8 CPU profiles of the agent and of every worker into DIR.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

import { Consul, publish } from '@kvx/client';
import { spawnAgent } from '../test/support/dev-agent.js';
import { assertFreshBuild, plainNodeEnv } from './support/fresh-build.js';
import { childCpuMs, percentile } from './support/measure.js';

const WORKER = fileURLToPath(new URL('support/fanout-worker.js', import.meta.url));

/** Worker processes: 4 unless `KVX_BENCH_PROCESSES` says otherwise. */
const PROCESSES = Number(process.env['KVX_BENCH_PROCESSES'] ?? 4);
/** 250 per process (1,000 in all) unless `KVX_BENCH_WATCHERS_PER_PROCESS` says otherwise. */
const WATCHERS_PER_PROCESS = Number(process.env['KVX_BENCH_WATCHERS_PER_PROCESS'] ?? 250);
/** Where CPU profiles go (none unless `KVX_BENCH_CPU_PROF` is set). */
const PROFILE_DIR = process.env['KVX_BENCH_CPU_PROF'];
const ROUNDS = 5;
/** Unmeasured rounds before the measured ones, per encoding (see `measure`). */
const WARM_UP_ROUNDS = 10;
const SIZE = 64 * 1024;
const KEY = 'fanout';

/** Messages from a worker. */
type WorkerMessage =
  | { type: 'ready'; clockOffset: number }
  | { type: 'delivered'; batch: { checksum: string; received: number; at: number }[] }
  | { type: 'error'; message: string }
  | { type: 'counts'; data: number[]; pins: number[]; cpuMs: number };

/** The clock every process reads (see the module documentation). */
function now(): number {
  return performance.timeOrigin + performance.now();
}

/** How far this process's `now()` is from the wall clock, in ms (compared across processes). */
function clockOffset(): number {
  return Date.now() - now();
}

/** A 64 KiB hosts file (the kvexpress use case) whose content changes every round. */
function version(round: number): Buffer {
  const lines: string[] = [`# generated round ${round} ${randomBytes(8).toString('hex')}`];
  let size = lines[0]?.length ?? 0;
  for (let i = 0; size < SIZE; i++) {
    const line = `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}\tnode-${i.toString().padStart(5, '0')}.dc1.example.com node-${i}`;
    lines.push(line);
    size += line.length + 1;
  }
  return Buffer.from(lines.join('\n') + '\n').subarray(0, SIZE);
}

/** Node flags that make a process write a CPU profile into PROFILE_DIR on exit. */
function profileFlags(): string[] {
  return PROFILE_DIR === undefined ? [] : ['--cpu-prof', `--cpu-prof-dir=${PROFILE_DIR}`];
}

/** The dev agent in its own process (profiled too when asked: Node refuses `--cpu-prof` in NODE_OPTIONS). */
async function startAgent(): Promise<{ url: string; pid: number | undefined; stop(): Promise<unknown> }> {
  const agent = await spawnAgent([], { nodeFlags: profileFlags(), compiled: true });
  return { url: agent.url, pid: agent.process.pid, stop: () => agent.stop() };
}

export async function run(): Promise<Record<string, unknown>> {
  await assertFreshBuild('client', 'devagent');
  const loadAtStart = loadavg()[0] ?? NaN;
  const agent = await startAgent();
  // One disk shared by 1,000 simulated nodes would measure 2,000 fsyncs queued on one device per round; each
  // real node fsyncs its own disk. Use tmpfs when the machine has one (the fsyncs still run, and are cheap).
  const base = (await stat('/dev/shm').then((s) => s.isDirectory()).catch(() => false)) ? '/dev/shm' : tmpdir();
  const dir = await mkdtemp(join(base, 'kvx-bench-fanout-'));
  const consul = new Consul({ address: agent.url, env: {} });
  // The publisher's view of the client, noting when each commit is sent.
  const commitsSent: number[] = [];
  const publisher = new Proxy(consul, {
    get(target, prop, receiver) {
      if (prop !== 'txn') return Reflect.get(target, prop, receiver) as unknown;
      return {
        execute: (...args: Parameters<typeof target.txn.execute>) => {
          commitsSent.push(now());
          return target.txn.execute(...args);
        },
      };
    },
  });
  const workers: ChildProcess[] = [];
  const deliveries = new Map<string, number[]>();
  const wakes = new Map<string, number[]>();
  const errors: string[] = [];
  const counts: { data: number[]; pins: number[]; cpuMs: number }[] = [];
  const clockOffsets: number[] = [];
  const onMessage = (m: WorkerMessage): void => {
    if (m.type === 'delivered') {
      for (const d of m.batch) {
        const list = deliveries.get(d.checksum) ?? [];
        list.push(d.at);
        deliveries.set(d.checksum, list);
        const received = wakes.get(d.checksum) ?? [];
        received.push(d.received);
        wakes.set(d.checksum, received);
      }
    } else if (m.type === 'error') {
      errors.push(m.message);
    } else if (m.type === 'counts') {
      counts.push({ data: m.data, pins: m.pins, cpuMs: m.cpuMs });
    }
  };
  const waitUntil = async (check: () => boolean, timeoutMs: number, what: string): Promise<void> => {
    const deadline = Date.now() + timeoutMs;
    while (!check()) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 5));
    }
  };
  const total = PROCESSES * WATCHERS_PER_PROCESS;
  const collectCounts = async (): Promise<{ data: number[]; pins: number[]; cpuMs: number; agentCpuMs: number }> => {
    counts.length = 0;
    for (const w of workers) w.send('counts');
    await waitUntil(() => counts.length === PROCESSES, 10_000, 'request counts');
    return {
      data: counts.flatMap((c) => c.data),
      pins: counts.flatMap((c) => c.pins),
      cpuMs: counts.reduce((n, c) => n + c.cpuMs, 0),
      agentCpuMs: await childCpuMs(agent.pid),
    };
  };
  try {
    const initial = version(0);
    const first = await publish({ consul, key: KEY, content: initial, minLines: 1 });
    let ready = 0;
    for (let id = 0; id < PROCESSES; id++) {
      const child = fork(WORKER, [], {
        execArgv: profileFlags(),
        env: plainNodeEnv({ KVX_FANOUT_WORKER: JSON.stringify({ address: agent.url, dir, id }) }),
      });
      child.on('message', (m: WorkerMessage) => {
        if (m.type === 'ready') {
          ready++;
          clockOffsets.push(m.clockOffset);
        } else {
          onMessage(m);
        }
      });
      workers.push(child);
    }
    await waitUntil(() => ready === PROCESSES, 60_000, 'the workers');
    await waitUntil(() => (deliveries.get(first.checksum)?.length ?? 0) === total, 60_000, 'the initial delivery');
    await new Promise((r) => setTimeout(r, 1000));

    /** Publishes version `round` and waits for every watcher: the latencies of its deliveries and wake-ups (ms, sorted). */
    const publishRound = async (round: number, compress: boolean): Promise<{ deliveries: number[]; wakes: number[]; storedSize: number }> => {
      const content = version(round);
      commitsSent.length = 0;
      const result = await publish({ consul: publisher, key: KEY, content, minLines: 1, compress });
      if (result.status !== 'updated' || result.attempts !== 1 || commitsSent.length === 0) {
        throw new Error(`round ${round}: expected one commit, got ${result.status} after ${result.attempts} attempts`);
      }
      const committed = commitsSent[0] ?? NaN;
      await waitUntil(() => (deliveries.get(result.checksum)?.length ?? 0) === total, 30_000, `round ${round}`);
      const since = (at: number): number => at - committed;
      const delivered = (deliveries.get(result.checksum) ?? []).map(since).sort((a, b) => a - b);
      const woken = (wakes.get(result.checksum) ?? []).map(since).sort((a, b) => a - b);
      await new Promise((r) => setTimeout(r, 1000));
      return { deliveries: delivered, wakes: woken, storedSize: result.storedSize };
    };

    const measure = async (compress: boolean, firstRound: number): Promise<Record<string, unknown>> => {
      // The first changes after start-up also pay for V8 compiling the delivery path in every worker, once for
      // the 250 nodes it stands for; they are run first and reported apart from the measured rounds.
      const warmUpP99: number[] = [];
      for (let round = firstRound; round < firstRound + WARM_UP_ROUNDS; round++) {
        warmUpP99.push(percentile((await publishRound(round, compress)).deliveries, 99));
      }
      const before = await collectCounts();
      const latencies: number[] = [];
      const wakeLatencies: number[] = [];
      const roundP99: number[] = [];
      const spans: number[] = [];
      let storedSize = 0;
      for (let round = firstRound + WARM_UP_ROUNDS; round < firstRound + WARM_UP_ROUNDS + ROUNDS; round++) {
        const r = await publishRound(round, compress);
        storedSize = r.storedSize;
        latencies.push(...r.deliveries);
        roundP99.push(percentile(r.deliveries, 99));
        spans.push((r.deliveries[r.deliveries.length - 1] ?? NaN) - (r.deliveries[0] ?? NaN));
        wakeLatencies.push(...r.wakes);
      }
      const after = await collectCounts();
      const perChange = after.data.map((n, i) => (n - (before.data[i] ?? 0)) / ROUNDS);
      const pinPerChange = after.pins.map((n, i) => (n - (before.pins[i] ?? 0)) / ROUNDS);
      latencies.sort((a, b) => a - b);
      wakeLatencies.sort((a, b) => a - b);
      const watcherCpuPerChange = (after.cpuMs - before.cpuMs) / ROUNDS;
      const agentCpuPerChange = (after.agentCpuMs - before.agentCpuMs) / ROUNDS;
      const tag = compress ? 'brotli' : 'plain';
      return {
        [`${tag}: stored bytes`]: storedSize,
        [`${tag}: wake latency p50, ms (commit sent → watch response in the watcher)`]: percentile(wakeLatencies, 50),
        [`${tag}: wake latency p99, ms`]: percentile(wakeLatencies, 99),
        [`${tag}: delivery latency p50, ms (commit sent → file renamed)`]: percentile(latencies, 50),
        [`${tag}: delivery latency p99, ms`]: percentile(latencies, 99),
        [`${tag}: delivery latency max, ms`]: latencies[latencies.length - 1] ?? NaN,
        [`${tag}: delivery latency p99 per round, ms`]: roundP99.map((v) => Math.round(v)).join(' / '),
        [`${tag}: warm-up rounds before them, delivery latency p99 per round, ms`]: warmUpP99.map((v) => Math.round(v)).join(' / '),
        [`${tag}: first → last delivery of a round, ms p50`]: percentile([...spans].sort((a, b) => a - b), 50),
        [`${tag}: data requests per change per watcher, min`]: Math.min(...perChange),
        [`${tag}: data requests per change per watcher, max`]: Math.max(...perChange),
        [`${tag}: pin-watch requests per change per watcher, max`]: Math.max(...pinPerChange),
        [`${tag}: watcher CPU per delivery, ms`]: watcherCpuPerChange / total,
        [`${tag}: agent CPU per delivery, ms`]: agentCpuPerChange / total,
        [`${tag}: CPU per change / cores = lower bound of the last delivery, ms`]:
          (watcherCpuPerChange + agentCpuPerChange) / cpus().length,
      };
    };
    const plain = await measure(false, 1);
    const compressed = await measure(true, 1 + WARM_UP_ROUNDS + ROUNDS);
    const duplicates = [...deliveries.values()].reduce((n, list) => n + Math.max(0, list.length - total), 0);
    return {
      watchers: total,
      processes: PROCESSES,
      cores: cpus().length,
      'file size, bytes': SIZE,
      'measured rounds per encoding (after warm-up rounds)': `${ROUNDS} (after ${WARM_UP_ROUNDS})`,
      'target directory': dir.startsWith('/dev/shm') ? 'tmpfs' : 'disk',
      'clock disagreement between processes, ms': Math.max(...clockOffsets, clockOffset()) - Math.min(...clockOffsets, clockOffset()),
      ...plain,
      ...compressed,
      'duplicate deliveries': duplicates,
      'delivery errors': errors.length,
      'load average (1 min) at the start / end': `${loadAtStart.toFixed(2)} / ${(loadavg()[0] ?? NaN).toFixed(2)}`,
    };
  } finally {
    for (const w of workers) w.send('stop');
    await Promise.all(workers.map((w) => new Promise((r) => (w.exitCode === null ? w.once('exit', r) : r(undefined)))));
    await consul.close();
    await agent.stop();
    await rm(dir, { recursive: true, force: true });
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  console.log(await run());
}
