/**
 * Graceful handover of `kvx lock` with default settings (TTL 15 s, kill grace 5 s, server lock-delay): from
 * SIGTERM to the holding supervisor until the child of a hot spare is running. The holder stops its child
 * (which exits on SIGTERM at once), releases the key (no lock-delay on release) and destroys its session; the
 * spares' blocking reads wake with the release, one acquires, confirms its session and starts its child
 * through its reaper, which it started while waiting.
 *
 * Supervisors run from sources (`node --import tsx`), as in the tests, against a dev agent in a child process.
 * Standalone: `node --import tsx bench/lock-handover.ts` (after `npx tsc -b`).
 */
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { spawnAgent } from '../test/support/dev-agent.js';
import { makeTempDir, removeTempDir } from '../test/lock/helpers.js';
import { eventually } from '../test/support/eventually.js';
import { FIXTURES, killAll, readIntervals, spawnRunner, type Runner } from '../test/lock/runner.js';
import { nearestRank } from './support/measure.js';

const HANDOVERS = 20;
const SPARES = 2;

export async function run(): Promise<Record<string, unknown>> {
  const agent = await spawnAgent();
  const dir = await makeTempDir();
  const log = join(dir, 'intervals.log');
  const runners: Runner[] = [];
  const topUp = (): void => {
    while (runners.filter((r) => r.running()).length < SPARES + 1) {
      const name = `r${runners.length}`;
      runners.push(
        spawnRunner(name, `127.0.0.1:${agent.port}`, ['--verbose', '--no-shell', 'bench/handover', join(FIXTURES, 'interval.sh'), log, name]),
      );
    }
  };
  const holder = (): Promise<Runner> =>
    eventually('a holder', async () => {
      const running = (await readIntervals(log)).filter((i) => i.stop === undefined);
      return runners.find((r) => r.running() && running.some((i) => i.id === r.name));
    }, 30_000);
  const samples: number[] = [];
  try {
    topUp();
    for (let i = 0; i < HANDOVERS; i++) {
      const current = await holder();
      // Every spare must be waiting on the key (reaper ready) before the clock starts.
      await eventually('the spares to wait', () => {
        // A runner that ended on its own (e.g. fenced on an overloaded machine) is replaced.
        topUp();
        return runners.filter((r) => r.running() && r.stderr().includes('Reaper ready')).length === SPARES + 1;
      }, 30_000);
      await new Promise((resolve) => setTimeout(resolve, 300));
      const before = (await readIntervals(log)).length;
      const sentAt = BigInt(Date.now()) * 1_000_000n;
      current.signal('SIGTERM');
      const next = await eventually('the next child', async () => (await readIntervals(log))[before], 30_000);
      samples.push(Number(next.start - sentAt) / 1e6);
      await current.exited;
      topUp();
    }
  } finally {
    await killAll(runners);
    await agent.stop();
    await removeTempDir(dir);
  }
  const sorted = [...samples].sort((a, b) => a - b);
  return {
    handovers: samples.length,
    'SIGTERM → spare child running, p50 (ms)': nearestRank(sorted, 50),
    'p90 (ms)': nearestRank(sorted, 90),
    'p99 (ms)': nearestRank(sorted, 99),
    'max (ms)': Math.max(...samples),
  };
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  console.log(await run());
}
