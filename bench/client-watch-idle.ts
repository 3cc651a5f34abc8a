/**
 * Idle cost of many watches: 1,000 concurrent watches (one blocking query each, parked at a dev agent in a
 * child process) in one process, then this process's CPU time over 10 s while nothing changes, and the
 * memory they hold. Each watch keeps one keep-alive connection with one long poll in flight.
 */
import { setMaxListeners } from 'node:events';
import { pathToFileURL } from 'node:url';
import { Consul } from '@kvx/client';
import { spawnAgent } from '../test/support/dev-agent.js';

const WATCHES = 1000;
const IDLE_MS = 10_000;

export async function run(): Promise<Record<string, unknown>> {
  const agent = await spawnAgent();
  const consul = new Consul({ address: agent.url, env: {} });
  const ac = new AbortController();
  // Every watch listens on the one shared signal.
  setMaxListeners(WATCHES + 10, ac.signal);
  try {
    const heapBefore = process.memoryUsage().heapUsed;
    let firstResults = 0;
    const loops = Array.from({ length: WATCHES }, async (_, i) => {
      const watch = consul.watch((o) => consul.kv.get(`bench/idle/${i}`, o), { wait: 120_000, signal: ac.signal });
      for await (const _ of watch) firstResults++;
    });
    const settleStart = performance.now();
    while (firstResults < WATCHES) await new Promise((r) => setTimeout(r, 20));
    const settleMs = performance.now() - settleStart;
    // Let every watch park its long poll before measuring.
    await new Promise((r) => setTimeout(r, 2000));
    const heapWithWatches = process.memoryUsage().heapUsed;
    const cpu = process.cpuUsage();
    await new Promise((r) => setTimeout(r, IDLE_MS));
    const used = process.cpuUsage(cpu);
    ac.abort();
    await Promise.all(loops);
    const cpuMs = (used.user + used.system) / 1000;
    return {
      watches: WATCHES,
      'time until every watch had its first result, ms': settleMs,
      'idle window, s': IDLE_MS / 1000,
      'CPU time in the idle window, ms': cpuMs,
      'CPU share of one core while idle, %': (cpuMs / IDLE_MS) * 100,
      'heap held per watch, KiB': (heapWithWatches - heapBefore) / WATCHES / 1024,
    };
  } finally {
    ac.abort();
    await consul.close();
    await agent.stop();
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  console.log(await run());
}
