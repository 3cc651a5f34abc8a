/**
 * Requests per change per watch: 200 watches on 200 keys go through the fault proxy (which counts every
 * request) to a dev agent in a child process; 10 rounds change every key once. In steady state a watch
 * must send exactly one request per change: the long poll the change answers.
 */
import { setMaxListeners } from 'node:events';
import { pathToFileURL } from 'node:url';
import { Consul } from '@kvx/client';
import { startFaultProxy } from '../test/support/fault-proxy.js';
import { spawnAgent } from '../test/support/dev-agent.js';

const WATCHES = 200;
const ROUNDS = 10;

async function until(cond: () => boolean, what: string): Promise<void> {
  const deadline = performance.now() + 20_000;
  while (!cond()) {
    if (performance.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

export async function run(): Promise<Record<string, unknown>> {
  const agent = await spawnAgent();
  const proxy = await startFaultProxy(agent.url);
  const watcher = new Consul({ address: proxy.address, env: {} });
  const writer = new Consul({ address: agent.url, env: {} });
  const ac = new AbortController();
  // Every watch listens on the one shared signal.
  setMaxListeners(WATCHES + 10, ac.signal);
  try {
    for (let i = 0; i < WATCHES; i++) await writer.kv.put(`bench/rpc/${i}`, 'v0');
    const yields = new Array<number>(WATCHES).fill(0);
    const loops = yields.map(async (_, i) => {
      const watch = watcher.watch((o) => watcher.kv.get(`bench/rpc/${i}`, o), { wait: 120_000, signal: ac.signal });
      for await (const _ of watch) yields[i]!++;
    });
    // Every watch has its first result and its first long poll parked: 2 requests each.
    await until(() => proxy.count('/v1/kv/bench/rpc/') === 2 * WATCHES, 'the first long polls');
    const started = performance.now();
    for (let round = 1; round <= ROUNDS; round++) {
      await Promise.all(yields.map((_, i) => writer.kv.put(`bench/rpc/${i}`, `v${round}`)));
      await until(() => yields.every((y) => y === round + 1), `round ${round}`);
      await until(() => proxy.count('/v1/kv/bench/rpc/') === (round + 2) * WATCHES, `round ${round}'s long polls`);
    }
    const elapsed = performance.now() - started;
    const requests = proxy.count('/v1/kv/bench/rpc/');
    ac.abort();
    await Promise.all(loops);
    return {
      watches: WATCHES,
      'changes per watch': ROUNDS,
      'requests seen at the proxy': requests,
      // Subtract each watch's initial plain read and the long poll left parked at the end.
      'requests per change per watch': (requests - 2 * WATCHES) / (WATCHES * ROUNDS),
      'yields per change per watch': (yields.reduce((a, b) => a + b, 0) - WATCHES) / (WATCHES * ROUNDS),
      'mean time per round (change all keys, all watches woken and re-parked), ms': elapsed / ROUNDS,
    };
  } finally {
    ac.abort();
    await watcher.close();
    await writer.close();
    await proxy.close();
    await agent.stop();
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  console.log(await run());
}
