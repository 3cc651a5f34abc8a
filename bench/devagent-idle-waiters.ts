/**
 * 10,000 concurrent idle blocking queries, each on its own missing key, parked at a dev agent in a child
 * process: the agent's resident memory before and with them, proof that one write wakes exactly its one
 * waiter, and PUT latency on an unrelated key with 0 and with 10,000 waiters parked.
 */
import { setMaxListeners } from 'node:events';
import http from 'node:http';
import { readFile } from 'node:fs/promises';
import { pathToFileURL } from 'node:url';

import { spawnAgent } from '../test/support/dev-agent.js';
import { rawRequest } from '../test/devagent/raw-http.js';
import { percentile } from './support/measure.js';

const WAITERS = 10_000;
const BATCH = 500;

async function rssMiB(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const kib = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? NaN);
  return kib / 1024;
}

async function putLatencies(url: string, agent: http.Agent, count: number): Promise<{ p50: number; p99: number }> {
  const samples: number[] = [];
  for (let i = 0; i < count; i++) {
    const t = performance.now();
    await rawRequest(url, 'PUT', '/v1/kv/unrelated/key', { body: `v${i}`, agent });
    samples.push(performance.now() - t);
  }
  samples.sort((a, b) => a - b);
  return { p50: percentile(samples, 50), p99: percentile(samples, 99) };
}

export async function run(): Promise<Record<string, unknown>> {
  const agent = await spawnAgent([]);
  const pid = agent.process.pid as number;
  const pool = new http.Agent({ keepAlive: true, maxSockets: Infinity });
  const single = new http.Agent({ keepAlive: true, maxSockets: 1 });
  const aborter = new AbortController();
  setMaxListeners(WAITERS + 10, aborter.signal);
  try {
    await putLatencies(agent.url, single, 200);
    const before = await putLatencies(agent.url, single, 1000);
    const rssBefore = await rssMiB(pid);
    const index = (await rawRequest(agent.url, 'GET', '/v1/kv/idle/none')).index ?? 1n;

    const answered = new Set<number>();
    const pending: Promise<unknown>[] = [];
    const started = performance.now();
    for (let i = 0; i < WAITERS; i++) {
      const req = rawRequest(agent.url, 'GET', `/v1/kv/idle/${i}?index=${index}&wait=10m`, {
        agent: pool,
        signal: aborter.signal,
      }).then(
        () => answered.add(i),
        () => undefined,
      );
      pending.push(req);
      if ((i + 1) % BATCH === 0) {
        await new Promise((r) => setTimeout(r, 50));
      }
    }
    // Let every request reach the agent and park before measuring.
    await new Promise((r) => setTimeout(r, 3000));
    const parkMs = performance.now() - started;
    const rssWith = await rssMiB(pid);
    const openSockets = Object.values(pool.sockets).reduce((n, list) => n + (list?.length ?? 0), 0);

    const during = await putLatencies(agent.url, single, 1000);
    const answeredBeforeWrite = answered.size;
    await rawRequest(agent.url, 'PUT', '/v1/kv/idle/4242', { body: 'wake', agent: single });
    await new Promise((r) => setTimeout(r, 1000));
    const woken = [...answered];

    return {
      'blocking queries parked (distinct missing keys)': WAITERS,
      'client sockets open': openSockets,
      'time to issue and park them, s': parkMs / 1000,
      'agent RSS before, MiB': rssBefore,
      'agent RSS with 10k waiters, MiB': rssWith,
      'agent RSS per waiter, KiB': ((rssWith - rssBefore) * 1024) / WAITERS,
      'answered before the write (should be 0)': answeredBeforeWrite,
      'answered after one write to idle/4242': woken.length,
      'the one answered is idle/4242': woken.length === 1 && woken[0] === 4242,
      'PUT p50 on an unrelated key, 0 waiters, ms': before.p50,
      'PUT p99 on an unrelated key, 0 waiters, ms': before.p99,
      'PUT p50 on an unrelated key, 10k waiters, ms': during.p50,
      'PUT p99 on an unrelated key, 10k waiters, ms': during.p99,
    };
  } finally {
    aborter.abort();
    pool.destroy();
    single.destroy();
    await agent.stop();
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) console.log(await run());
