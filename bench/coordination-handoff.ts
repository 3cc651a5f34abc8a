/**
 * How fast a Consul lock changes hands with kvx's `Lock` against a dev agent in a child process:
 *
 * - an uncontended acquire + release (session create, acquire, confirming read, release, session destroy);
 * - a hand-off to one waiter already blocked on the key, from the holder's `release()` call to the waiter
 *   holding (Consul issue #1006: the Go client once slept its 5 s retry here; kvx, like Go since PR #1008,
 *   blocks on the key and wakes with the release);
 * - the same with ten waiters racing for each release (Consul #7523);
 * - the take-over after the holder's session is invalidated, which Consul delays by the session's
 *   lock-delay (500 ms here) and the waiter notices within its jittered retry time (200 ms here).
 */
import { pathToFileURL } from 'node:url';
import { Consul, Lock, type LockHandle } from '@kvx/client';
import { spawnAgent } from '../test/support/dev-agent.js';
import { median, percentile } from './support/measure.js';

const ROUNDS = 30;
const LOCK_DELAY_MS = 500;
const RETRY_MS = 200;

const p90 = (xs: number[]): number => percentile([...xs].sort((a, b) => a - b), 90);

async function mustAcquire(lock: Lock): Promise<LockHandle> {
  const handle = await lock.acquire();
  if (handle === undefined) throw new Error('lock not acquired');
  return handle;
}

/** Hands the lock from holder to holder `rounds` times among `waiters + 1` contenders; ms per hand-off. */
async function handOffs(consul: Consul, key: string, waiters: number, rounds: number): Promise<number[]> {
  const locks = Array.from({ length: waiters + 1 }, () => new Lock(consul, { key, lockWaitTime: 60_000 }));
  const samples: number[] = [];
  let releasedAt = 0;
  let remaining = rounds;
  await Promise.all(
    locks.map(async (lock) => {
      while (remaining > 0) {
        const handle = await mustAcquire(lock);
        if (releasedAt > 0) samples.push(performance.now() - releasedAt);
        remaining--;
        // Let every other contender block on the key before the next release.
        await new Promise((resolve) => setTimeout(resolve, 20));
        releasedAt = performance.now();
        await handle.release();
        if (remaining <= 0) break;
      }
    }),
  );
  return samples;
}

export async function run(): Promise<Record<string, unknown>> {
  const agent = await spawnAgent();
  const consul = new Consul({ address: new URL(agent.url).host, env: {} });
  try {
    const uncontended: number[] = [];
    const solo = new Lock(consul, { key: 'bench/lock/solo' });
    for (let i = 0; i < ROUNDS; i++) {
      const started = performance.now();
      await (await mustAcquire(solo)).release();
      uncontended.push(performance.now() - started);
    }

    const oneWaiter = await handOffs(consul, 'bench/lock/one', 1, ROUNDS);
    const tenWaiters = await handOffs(consul, 'bench/lock/ten', 10, ROUNDS);

    const takeOver: number[] = [];
    for (let i = 0; i < 5; i++) {
      const key = `bench/lock/take-over/${i}`;
      const holder = await mustAcquire(new Lock(consul, { key, lockDelay: LOCK_DELAY_MS }));
      const waiter = new Lock(consul, { key, lockRetryTime: RETRY_MS });
      const pending = waiter.acquire();
      await new Promise((resolve) => setTimeout(resolve, 50));
      const started = performance.now();
      await consul.session.destroy(holder.session);
      const handle = await pending;
      takeOver.push(performance.now() - started);
      await handle?.release();
    }

    return {
      'uncontended acquire + release, median ms': median(uncontended),
      'hand-off to 1 blocked waiter, median ms': median(oneWaiter),
      'hand-off to 1 blocked waiter, p90 ms': p90(oneWaiter),
      'hand-off among 10 blocked waiters, median ms': median(tenWaiters),
      'hand-off among 10 blocked waiters, p90 ms': p90(tenWaiters),
      [`take-over after session invalidation (lock-delay ${LOCK_DELAY_MS} ms, retry ${RETRY_MS} ms ±20 %), median ms`]: median(takeOver),
    };
  } finally {
    await consul.close();
    await agent.stop();
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  console.log(await run());
}
