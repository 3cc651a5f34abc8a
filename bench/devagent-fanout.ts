/**
 * Fan-out of one write: 1,000 blocking queries on the same key, parked at a dev agent in a child process, all
 * woken by one PUT. Wake latency = time from sending the PUT to each blocked response arriving (end to end,
 * including this process parsing 1,000 responses). Ten rounds; percentiles over all samples and of the best
 * round (the machine is shared, so the load average at the end is reported too).
 */
import { setMaxListeners } from 'node:events';
import http from 'node:http';
import { loadavg } from 'node:os';
import { pathToFileURL } from 'node:url';

import { spawnAgent } from '../test/support/dev-agent.js';
import { rawRequest } from '../test/devagent/raw-http.js';

const WAITERS = 1000;
const ROUNDS = 10;

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((sorted.length * p) / 100))] ?? NaN;
}

export async function run(): Promise<Record<string, unknown>> {
  const agent = await spawnAgent([]);
  const pool = new http.Agent({ keepAlive: true, maxSockets: Infinity });
  const writer = new http.Agent({ keepAlive: true, maxSockets: 1 });
  const aborter = new AbortController();
  setMaxListeners(WAITERS * 2, aborter.signal);
  const samples: number[] = [];
  const roundP99: number[] = [];
  let wrongIndex = 0;
  try {
    await rawRequest(agent.url, 'PUT', '/v1/kv/fanout', { body: 'v0', agent: writer });
    for (let round = 1; round <= ROUNDS; round++) {
      const index = (await rawRequest(agent.url, 'GET', '/v1/kv/fanout')).index as bigint;
      const arrivals = Array.from({ length: WAITERS }, () =>
        rawRequest(agent.url, 'GET', `/v1/kv/fanout?index=${index}&wait=1m`, { agent: pool, signal: aborter.signal }).then(
          (res) => {
            if (res.index === undefined || res.index <= index) wrongIndex++;
            return performance.now();
          },
        ),
      );
      // Let all of them park (their connections stay open for the next rounds).
      await new Promise((r) => setTimeout(r, round === 1 ? 3000 : 1000));
      const sent = performance.now();
      await rawRequest(agent.url, 'PUT', '/v1/kv/fanout', { body: `v${round}`, agent: writer });
      const round_ = (await Promise.all(arrivals)).map((t) => t - sent).sort((a, b) => a - b);
      samples.push(...round_);
      roundP99.push(percentile(round_, 99));
    }
    samples.sort((a, b) => a - b);
    return {
      'waiters on one key': WAITERS,
      rounds: ROUNDS,
      'wake latency p50, ms': percentile(samples, 50),
      'wake latency p99, ms': percentile(samples, 99),
      'wake latency max, ms': samples[samples.length - 1] ?? NaN,
      'best round p99, ms': Math.min(...roundP99),
      'median round p99, ms': percentile([...roundP99].sort((a, b) => a - b), 50),
      'load average (1 min) at the end': loadavg()[0] ?? NaN,
      'responses without a higher index (should be 0)': wrongIndex,
    };
  } finally {
    aborter.abort();
    pool.destroy();
    writer.destroy();
    await agent.stop();
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) console.log(await run());
