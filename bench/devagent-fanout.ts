/**
 * Fan-out of one write: 1,000 blocking queries on the same key, parked at a dev agent in a child process, all
 * woken by one PUT. Wake latency = time from sending the PUT to each blocked reply having fully arrived. Two
 * kinds of waiters, ten rounds each: 1,000 keep-alive sockets read by a minimal HTTP reader (close to 1,000
 * machines each waiting on its own: the latency is the agent's), then 1,000 node:http requests (this one
 * process also parses 1,000 replies with node's HTTP client within the measured time). Percentiles over all
 * samples and per round (the machine is shared, so the load average at the start and the end is reported too),
 * and the CPU time the agent and this process spent per round, which bounds the latency from below.
 *
 * Run alone: `node --import tsx --conditions=kvx-source bench/devagent-fanout.ts`. `KVX_BENCH_CPU_PROF=DIR`
 * writes a V8 CPU profile of the agent into DIR.
 */
import { setMaxListeners } from 'node:events';
import http from 'node:http';
import { connect, type Socket } from 'node:net';
import { cpus, loadavg } from 'node:os';
import { pathToFileURL } from 'node:url';

import { spawnAgent } from '../test/support/dev-agent.js';
import { rawRequest } from '../test/devagent/raw-http.js';
import { childCpuMs, percentile } from './support/measure.js';

const WAITERS = 1000;
const ROUNDS = 10;

/** Where the agent's CPU profile goes (none unless `KVX_BENCH_CPU_PROF` is set). */
const PROFILE_DIR = process.env['KVX_BENCH_CPU_PROF'];

/** CPU time this process used so far, in ms. */
function ownCpuMs(): number {
  const cpu = process.cpuUsage();
  return (cpu.user + cpu.system) / 1000;
}

/** The dev agent in its own process (profiled when asked: Node refuses `--cpu-prof` in NODE_OPTIONS). */
async function startAgent(): Promise<{ url: string; pid: number | undefined; stop(): Promise<unknown> }> {
  const agent = await spawnAgent([], { nodeFlags: PROFILE_DIR === undefined ? [] : ['--cpu-prof', `--cpu-prof-dir=${PROFILE_DIR}`] });
  return { url: agent.url, pid: agent.process.pid, stop: () => agent.stop() };
}

/** One reply as a waiter saw it. */
interface Arrival {
  /** `performance.now()` once the whole reply was in. */
  at: number;
  status: number;
  index: bigint | undefined;
}

/**
 * A waiter on its own keep-alive connection that writes its request and reads the reply with a minimal
 * HTTP/1.1 reader (status line, `Content-Length`, `X-Consul-Index`): on a real fleet every waiter is a
 * different machine, so this keeps one process's HTTP parsing of 1,000 replies out of the agent's latency.
 */
class SocketWaiter {
  private buffered: Buffer = Buffer.alloc(0);
  private pending: { resolve(arrival: Arrival): void; reject(err: Error): void } | undefined;

  private constructor(private readonly socket: Socket) {
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    const fail = (err?: Error): void => {
      this.pending?.reject(err ?? new Error('connection closed'));
      this.pending = undefined;
    };
    socket.on('error', fail);
    socket.on('close', () => fail());
  }

  static open(url: string): Promise<SocketWaiter> {
    const { hostname, port } = new URL(url);
    return new Promise((resolve, reject) => {
      const socket = connect({ host: hostname, port: Number(port), noDelay: true }, () => {
        socket.off('error', reject);
        resolve(new SocketWaiter(socket));
      });
      socket.once('error', reject);
    });
  }

  get(path: string): Promise<Arrival> {
    return new Promise((resolve, reject) => {
      this.pending = { resolve, reject };
      this.socket.write(`GET ${path} HTTP/1.1\r\nHost: bench\r\n\r\n`);
    });
  }

  close(): void {
    this.socket.destroy();
  }

  private onData(chunk: Buffer): void {
    this.buffered = this.buffered.length === 0 ? chunk : Buffer.concat([this.buffered, chunk]);
    const end = this.buffered.indexOf('\r\n\r\n');
    if (end < 0) return;
    const head = this.buffered.toString('latin1', 0, end);
    const length = Number(/\r\ncontent-length: *(\d+)/i.exec(head)?.[1] ?? 0);
    if (this.buffered.length < end + 4 + length) return;
    const index = /\r\nx-consul-index: *(\d+)/i.exec(head)?.[1];
    this.buffered = this.buffered.subarray(end + 4 + length);
    const pending = this.pending;
    this.pending = undefined;
    pending?.resolve({ at: performance.now(), status: Number(head.slice(9, 12)), index: index === undefined ? undefined : BigInt(index) });
  }
}

/** How each waiter kind parks one blocking query and reports its reply. */
type Park = (path: string) => Promise<Arrival>[];

export async function run(): Promise<Record<string, unknown>> {
  const loadAtStart = loadavg()[0] ?? NaN;
  const agent = await startAgent();
  // Every waiter keeps its connection between rounds (node's default keeps only 256 idle sockets, and closing
  // the others would add 744 connection teardowns to the agent's work in the measured window).
  const pool = new http.Agent({ keepAlive: true, maxSockets: Infinity, maxFreeSockets: Infinity });
  const writer = new http.Agent({ keepAlive: true, maxSockets: 1 });
  const aborter = new AbortController();
  setMaxListeners(WAITERS * 2, aborter.signal);
  const sockets: SocketWaiter[] = [];
  let wrongIndex = 0;
  let version = 0;

  const measure = async (label: string, park: Park): Promise<Record<string, unknown>> => {
    const samples: number[] = [];
    const roundP99: number[] = [];
    const agentCpu: number[] = [];
    const clientCpu: number[] = [];
    for (let round = 1; round <= ROUNDS; round++) {
      const index = (await rawRequest(agent.url, 'GET', '/v1/kv/fanout')).index as bigint;
      const arrivals = park(`/v1/kv/fanout?index=${index}&wait=1m`).map((p) =>
        p.then((arrival) => {
          if (arrival.status !== 200 || arrival.index === undefined || arrival.index <= index) wrongIndex++;
          return arrival.at;
        }),
      );
      // Let all of them park.
      await new Promise((r) => setTimeout(r, round === 1 ? 3000 : 1000));
      const agentBefore = await childCpuMs(agent.pid);
      const clientBefore = ownCpuMs();
      const sent = performance.now();
      await rawRequest(agent.url, 'PUT', '/v1/kv/fanout', { body: `v${++version}`, agent: writer });
      const round_ = (await Promise.all(arrivals)).map((t) => t - sent).sort((a, b) => a - b);
      clientCpu.push(ownCpuMs() - clientBefore);
      agentCpu.push((await childCpuMs(agent.pid)) - agentBefore);
      samples.push(...round_);
      roundP99.push(percentile(round_, 99));
    }
    samples.sort((a, b) => a - b);
    return {
      [`${label}: wake latency p50, ms`]: percentile(samples, 50),
      [`${label}: wake latency p99, ms`]: percentile(samples, 99),
      [`${label}: wake latency max, ms`]: samples[samples.length - 1] ?? NaN,
      [`${label}: best round p99, ms`]: Math.min(...roundP99),
      [`${label}: median round p99, ms`]: percentile([...roundP99].sort((a, b) => a - b), 50),
      [`${label}: p99 per round, ms`]: roundP99.map((v) => Math.round(v)).join(' / '),
      [`${label}: agent CPU per round (1 PUT + ${WAITERS} replies), ms p50`]: percentile([...agentCpu].sort((a, b) => a - b), 50),
      [`${label}: waiters' CPU per round (this process), ms p50`]: percentile([...clientCpu].sort((a, b) => a - b), 50),
    };
  };

  try {
    await rawRequest(agent.url, 'PUT', '/v1/kv/fanout', { body: 'v0', agent: writer });
    // Connected in batches: a burst of 1,000 connects would overflow the listen backlog and wait out SYN retries.
    for (let i = 0; i < WAITERS; i += 100) {
      sockets.push(...(await Promise.all(Array.from({ length: Math.min(100, WAITERS - i) }, () => SocketWaiter.open(agent.url)))));
    }
    const raw = await measure('socket waiters', (path) => sockets.map((s) => s.get(path)));
    for (const s of sockets) s.close();
    const viaHttp = await measure('node:http waiters', (path) =>
      Array.from({ length: WAITERS }, () =>
        rawRequest(agent.url, 'GET', path, { agent: pool, signal: aborter.signal }).then((res) => ({
          at: performance.now(),
          status: res.status,
          index: res.index,
        })),
      ),
    );
    return {
      'waiters on one key': WAITERS,
      'rounds per waiter kind': ROUNDS,
      ...raw,
      ...viaHttp,
      cores: cpus().length,
      'load average (1 min) at the start / end': `${loadAtStart.toFixed(2)} / ${(loadavg()[0] ?? NaN).toFixed(2)}`,
      'replies that were not 200 with a higher index (should be 0)': wrongIndex,
    };
  } finally {
    for (const s of sockets) s.close();
    aborter.abort();
    pool.destroy();
    writer.destroy();
    await agent.stop();
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) console.log(await run());
