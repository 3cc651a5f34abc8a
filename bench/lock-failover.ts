/**
 * Crash failover of `kvx lock`: the holding supervisor is SIGKILLed (its reaper stops the orphaned child at
 * once), nothing releases the key, and a hot spare can only take over once Consul has invalidated the
 * session — the dev agent, like Consul, at most 2 × TTL after the last renewal — and the lock-delay has
 * passed. The spare sees the session vanish from the key at once, but its acquisition is refused while the
 * lock-delay lasts, and it retries only after each retry pause (`lockRetryTimeMs`: lock-delay / 4, between
 * 50 ms and 5 s, with ±20 % jitter). So it takes over up to one pause after the lock-delay ends:
 *
 *     failover ≤ 2 × TTL + lock-delay + 1.2 × retry pause (+ a few requests and the child's start)
 *
 * which is the bound each setting is reported against, next to the base 2 × TTL + lock-delay. (Consul's own
 * `consul lock` retries every 5 s without jitter: with its defaults, 45 s + up to 5 s.)
 * Measured from the SIGKILL to the spare's child running, for a few TTL × lock-delay settings.
 *
 * Supervisors run from sources (`node --import tsx`), as in the tests, against a dev agent in a child process
 * with `session_ttl_min` 100 ms. Standalone: `node --import tsx bench/lock-failover.ts` (after `npx tsc -b`).
 */
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { lockRetryTimeMs } from '@kvx/lock';
import { spawnAgent } from '../test/support/dev-agent.js';
import { makeTempDir, removeTempDir } from '../test/lock/helpers.js';
import { eventually } from '../test/support/eventually.js';
import { FIXTURES, killAll, readIntervals, spawnRunner, type Runner } from '../test/lock/runner.js';

const SETTINGS = [
  { ttlMs: 1000, lockDelayMs: 500 },
  { ttlMs: 1000, lockDelayMs: 1000 },
  { ttlMs: 2000, lockDelayMs: 500 },
  { ttlMs: 2000, lockDelayMs: 1000 },
] as const;
const TRIALS = 3;
/** The jitter the client's Lock puts around its lock-delay retry pause (±20 %). */
const RETRY_JITTER_FRACTION = 0.2;

async function failovers(port: number, ttlMs: number, lockDelayMs: number, trials: number): Promise<number[]> {
  const dir = await makeTempDir();
  const log = join(dir, 'intervals.log');
  const prefix = `bench/failover/${ttlMs}-${lockDelayMs}`;
  const runners: Runner[] = [];
  const args = ['--verbose', '--no-shell', '--session-ttl', `${ttlMs}ms`, '--lock-delay', `${lockDelayMs}ms`, prefix];
  const topUp = (): void => {
    while (runners.filter((r) => r.running()).length < 2) {
      const name = `r${runners.length}`;
      runners.push(spawnRunner(name, `127.0.0.1:${port}`, [...args, join(FIXTURES, 'interval.sh'), log, name]));
    }
  };
  const samples: number[] = [];
  try {
    topUp();
    for (let i = 0; i < trials; i++) {
      const holder = await eventually('a holder', async () => {
        const running = (await readIntervals(log)).filter((t) => t.stop === undefined);
        return runners.find((r) => r.running() && running.some((t) => t.id === r.name));
      }, 30_000);
      await eventually('the spare to wait', () => {
        // A runner that ended on its own (e.g. fenced on an overloaded machine) is replaced.
        topUp();
        return runners.filter((r) => r.running() && r.stderr().includes('Reaper ready')).length === 2;
      }, 30_000);
      const before = (await readIntervals(log)).length;
      const killedAt = BigInt(Date.now()) * 1_000_000n;
      holder.signal('SIGKILL');
      const next = await eventually('the successor', async () => (await readIntervals(log))[before], 30_000);
      samples.push(Number(next.start - killedAt) / 1e6);
      topUp();
    }
  } finally {
    await killAll(runners);
    await removeTempDir(dir);
  }
  return samples;
}

export async function run(): Promise<Record<string, unknown>> {
  const agent = await spawnAgent(['--session-ttl-min', '100ms']);
  const result: Record<string, unknown> = {};
  try {
    for (const { ttlMs, lockDelayMs } of SETTINGS) {
      const samples = await failovers(agent.port, ttlMs, lockDelayMs, TRIALS);
      const mean = samples.reduce((a, b) => a + b, 0) / samples.length;
      const base = 2 * ttlMs + lockDelayMs;
      const retryMs = lockRetryTimeMs(lockDelayMs);
      const maxPause = retryMs * (1 + RETRY_JITTER_FRACTION);
      result[`TTL ${ttlMs} ms, lock-delay ${lockDelayMs} ms`] = {
        'mean / max (ms)': `${mean.toFixed(0)} / ${Math.max(...samples).toFixed(0)}`,
        'base: 2×TTL + lock-delay (ms)': base,
        'retry pause (ms)': `${retryMs.toFixed(0)} ±${RETRY_JITTER_FRACTION * 100} %`,
        'bound: base + max pause (ms)': Math.round(base + maxPause),
        'mean beyond base (ms)': Math.round(mean - base),
      };
    }
  } finally {
    await agent.stop();
  }
  return result;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  console.log(await run());
}
