/**
 * Fan-out of one file to a fleet: 1,000 watchers (4 child processes × 250, each watcher a separate
 * `watchAndDeliver` with its own host name and target file, as 1,000 nodes would run it) keep a 64 KiB file
 * delivered from a dev agent running in its own process. Each round publishes a new version; delivery latency
 * is measured from the start of `publish` (so it includes the publisher's own read and commit) to each
 * watcher's `onResult` (after the rename). Requests per change per watcher are counted on each watcher's
 * client for the file's blocking read and for the shared pin watch.
 *
 * Run alone: `node --import tsx --conditions=kvx-source bench/transfer-fanout.ts`.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

import { Consul, publish, watchAndDeliver, type WatchDelivery } from '@kvx/client';
import { spawnAgent } from '../test/support/dev-agent.js';

const PROCESSES = 4;
/** 250 per process (1,000 in all) unless `KVX_BENCH_WATCHERS_PER_PROCESS` says otherwise. */
const WATCHERS_PER_PROCESS = Number(process.env['KVX_BENCH_WATCHERS_PER_PROCESS'] ?? 250);
const ROUNDS = 5;
const SIZE = 64 * 1024;
const KEY = 'fanout';

/** Messages from a worker. */
type WorkerMessage =
  | { type: 'ready' }
  | { type: 'delivered'; watcher: number; checksum: string; received: number; at: number }
  | { type: 'error'; message: string }
  | { type: 'counts'; data: number[]; pins: number[]; cpuMs: number };

function now(): number {
  return performance.timeOrigin + performance.now();
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((sorted.length * p) / 100))] ?? NaN;
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

/** Worker mode: runs WATCHERS_PER_PROCESS watchers and reports to the parent over IPC. */
async function worker(address: string, dir: string, id: number): Promise<void> {
  const send = (m: WorkerMessage) => process.send?.(m);
  const consul = new Consul({ address, env: {} });
  const dataCounts = new Array<number>(WATCHERS_PER_PROCESS).fill(0);
  const received = new Array<number>(WATCHERS_PER_PROCESS).fill(0);
  const pinCounts = new Array<number>(WATCHERS_PER_PROCESS).fill(0);
  const running: WatchDelivery[] = [];
  for (let w = 0; w < WATCHERS_PER_PROCESS; w++) {
    // Each watcher's own view of the client, counting the blocking reads it sends (the requests go through).
    const counted = new Proxy(consul, {
      get(target, prop, receiver) {
        if (prop !== 'kv') return Reflect.get(target, prop, receiver) as unknown;
        return new Proxy(target.kv, {
          get(kv, name, r) {
            if (name !== 'list') return Reflect.get(kv, name, r) as unknown;
            return (prefix: string, opts?: Parameters<typeof kv.list>[1]) => {
              if (prefix.includes('/locks/')) pinCounts[w] = (pinCounts[w] ?? 0) + 1;
              else dataCounts[w] = (dataCounts[w] ?? 0) + 1;
              return kv.list(prefix, opts).then((result) => {
                if (!prefix.includes('/locks/')) received[w] = now();
                return result;
              });
            };
          },
        });
      },
    });
    running.push(
      await watchAndDeliver({
        consul: counted,
        hostname: `node-${id}-${w}`,
        files: [{ key: KEY, file: join(dir, `${id}-${w}`, 'file'), minLines: 1 }],
        onResult: (r) =>
          send({ type: 'delivered', watcher: id * WATCHERS_PER_PROCESS + w, checksum: r.checksum, received: received[w] ?? 0, at: now() }),
        onError: (e) => send({ type: 'error', message: String(e) }),
      }),
    );
  }
  send({ type: 'ready' });
  process.on('message', (m: string) => {
    if (m === 'counts') {
      const cpu = process.cpuUsage();
      send({ type: 'counts', data: dataCounts, pins: pinCounts, cpuMs: (cpu.user + cpu.system) / 1000 });
    }
    if (m === 'stop') {
      void Promise.all(running.map((r) => r.stop()))
        .then(() => consul.close())
        .then(() => process.exit(0));
    }
  });
}

export async function run(): Promise<Record<string, unknown>> {
  const agent = await spawnAgent([]);
  // One disk shared by 1,000 simulated nodes would measure 2,000 fsyncs queued on one device per round; each
  // real node fsyncs its own disk. Use tmpfs when the machine has one (the fsyncs still run, and are cheap).
  const base = (await stat('/dev/shm').then((s) => s.isDirectory()).catch(() => false)) ? '/dev/shm' : tmpdir();
  const dir = await mkdtemp(join(base, 'kvx-bench-fanout-'));
  const consul = new Consul({ address: agent.url, env: {} });
  const workers: ChildProcess[] = [];
  const deliveries = new Map<string, number[]>();
  const wakes = new Map<string, number[]>();
  const errors: string[] = [];
  const counts: { data: number[]; pins: number[]; cpuMs: number }[] = [];
  const onMessage = (m: WorkerMessage): void => {
    if (m.type === 'delivered') {
      const list = deliveries.get(m.checksum) ?? [];
      list.push(m.at);
      deliveries.set(m.checksum, list);
      wakes.set(m.checksum, [...(wakes.get(m.checksum) ?? []), m.received]);
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
  const collectCounts = async (): Promise<{ data: number[]; pins: number[]; cpuMs: number }> => {
    counts.length = 0;
    for (const w of workers) w.send('counts');
    await waitUntil(() => counts.length === PROCESSES, 10_000, 'request counts');
    return {
      data: counts.flatMap((c) => c.data),
      pins: counts.flatMap((c) => c.pins),
      cpuMs: counts.reduce((n, c) => n + c.cpuMs, 0),
    };
  };
  try {
    const initial = version(0);
    const first = await publish({ consul, key: KEY, content: initial, minLines: 1 });
    let ready = 0;
    for (let id = 0; id < PROCESSES; id++) {
      const child = fork(fileURLToPath(import.meta.url), [], {
        execArgv: ['--import', 'tsx', '--conditions=kvx-source'],
        env: { ...process.env, KVX_FANOUT_WORKER: JSON.stringify({ address: agent.url, dir, id }) },
      });
      child.on('message', (m: WorkerMessage) => {
        if (m.type === 'ready') ready++;
        else onMessage(m);
      });
      workers.push(child);
    }
    await waitUntil(() => ready === PROCESSES, 60_000, 'the workers');
    await waitUntil(() => (deliveries.get(first.checksum)?.length ?? 0) === total, 60_000, 'the initial delivery');
    await new Promise((r) => setTimeout(r, 1000));

    const measure = async (compress: boolean, firstRound: number): Promise<Record<string, unknown>> => {
      const before = await collectCounts();
      const latencies: number[] = [];
      const wakeLatencies: number[] = [];
      const publishMs: number[] = [];
      let storedSize = 0;
      for (let round = firstRound; round < firstRound + ROUNDS; round++) {
        const content = version(round);
        const started = now();
        const result = await publish({ consul, key: KEY, content, minLines: 1, compress });
        publishMs.push(now() - started);
        storedSize = result.storedSize;
        await waitUntil(() => (deliveries.get(result.checksum)?.length ?? 0) === total, 30_000, `round ${round}`);
        for (const at of deliveries.get(result.checksum) ?? []) latencies.push(at - started);
        for (const at of wakes.get(result.checksum) ?? []) wakeLatencies.push(at - started);
        await new Promise((r) => setTimeout(r, 1000));
      }
      const after = await collectCounts();
      const perChange = after.data.map((n, i) => (n - (before.data[i] ?? 0)) / ROUNDS);
      const pinPerChange = after.pins.map((n, i) => (n - (before.pins[i] ?? 0)) / ROUNDS);
      latencies.sort((a, b) => a - b);
      wakeLatencies.sort((a, b) => a - b);
      const tag = compress ? 'brotli' : 'plain';
      return {
        [`${tag}: stored bytes`]: storedSize,
        [`${tag}: publish (read + commit + cleanup), ms p50`]: percentile([...publishMs].sort((a, b) => a - b), 50),
        [`${tag}: wake latency p50, ms (publish start → watch response)`]: percentile(wakeLatencies, 50),
        [`${tag}: wake latency p99, ms`]: percentile(wakeLatencies, 99),
        [`${tag}: delivery latency p50, ms (publish start → file renamed)`]: percentile(latencies, 50),
        [`${tag}: delivery latency p99, ms`]: percentile(latencies, 99),
        [`${tag}: delivery latency max, ms`]: latencies[latencies.length - 1] ?? NaN,
        [`${tag}: data requests per change per watcher, min`]: Math.min(...perChange),
        [`${tag}: data requests per change per watcher, max`]: Math.max(...perChange),
        [`${tag}: pin-watch requests per change per watcher, max`]: Math.max(...pinPerChange),
        [`${tag}: watcher CPU per delivery, ms`]: (after.cpuMs - before.cpuMs) / (ROUNDS * total),
      };
    };
    const plain = await measure(false, 1);
    const compressed = await measure(true, 1 + ROUNDS);
    const duplicates = [...deliveries.values()].reduce((n, list) => n + Math.max(0, list.length - total), 0);
    return {
      watchers: total,
      processes: PROCESSES,
      'file size, bytes': SIZE,
      'rounds per encoding': ROUNDS,
      'target directory': dir.startsWith('/dev/shm') ? 'tmpfs' : 'disk',
      ...plain,
      ...compressed,
      'duplicate deliveries': duplicates,
      'delivery errors': errors.length,
    };
  } finally {
    for (const w of workers) w.send('stop');
    await Promise.all(workers.map((w) => new Promise((r) => (w.exitCode === null ? w.once('exit', r) : r(undefined)))));
    await consul.close();
    await agent.stop();
    await rm(dir, { recursive: true, force: true });
  }
}

const workerConfig = process.env['KVX_FANOUT_WORKER'];
if (workerConfig !== undefined && import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const { address, dir, id } = JSON.parse(workerConfig) as { address: string; dir: string; id: number };
  await worker(address, dir, id);
} else if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  console.log(await run());
}
