import { join } from 'node:path';
import { expect } from 'chai';
import { startTestAgent, type DevAgent } from '../support/dev-agent.js';
import { eventually } from '../support/eventually.js';
import { makeTempDir, removeTempDir, sleep } from './helpers.js';
import { FIXTURES, killAll, overlaps, readIntervals, spawnRunner, type Runner } from './runner.js';

const ARGS = ['--verbose', '--session-ttl', '1s', '--lock-delay', '300ms', '--kill-grace', '500ms', '--no-shell'];
const RUNNERS = 3;
const ROUNDS = 10;
const BUDGET_MS = 40_000;

describe('lock: chaos', function () {
  this.timeout(60_000);
  let agent: DevAgent;
  let dir: string;
  const runners: Runner[] = [];

  before(async () => {
    agent = await startTestAgent();
    dir = await makeTempDir();
  });

  after(async () => {
    await killAll(runners);
    await agent.close();
    await removeTempDir(dir);
  });

  it('never runs two children at once while holders are killed at random (SIGKILL and SIGTERM)', async () => {
    const log = join(dir, 'intervals.log');
    const prefix = 'test/chaos';
    const topUp = (): void => {
      while (runners.filter((r) => r.running()).length < RUNNERS) {
        const name = `r${runners.length}`;
        runners.push(spawnRunner(name, `${agent.host}:${agent.port}`, [...ARGS, prefix, join(FIXTURES, 'interval.sh'), log, name]));
      }
    };
    const kills: Record<string, number> = { SIGKILL: 0, SIGTERM: 0 };
    const deadline = Date.now() + BUDGET_MS;
    let rounds = 0;
    while (rounds < ROUNDS && Date.now() < deadline) {
      topUp();
      const holder = await eventually('a holder', async () => {
        const running = (await readIntervals(log)).filter((i) => i.stop === undefined);
        return runners.find((r) => r.running() && running.some((i) => i.id === r.name));
      }, 15_000);
      await sleep(50 + Math.random() * 300);
      const signal = Math.random() < 0.5 ? 'SIGKILL' : 'SIGTERM';
      holder.signal(signal);
      kills[signal]!++;
      rounds++;
      topUp();
      await eventually(`${holder.name}'s child to stop`, async () => {
        const mine = (await readIntervals(log)).find((i) => i.id === holder.name);
        return mine?.stop !== undefined;
      }, 10_000);
    }
    await killAll(runners);
    const intervals = await readIntervals(log);
    console.log(`      ${rounds} holders killed (${kills['SIGKILL']} SIGKILL, ${kills['SIGTERM']} SIGTERM), ${intervals.length} children ran`);
    expect(overlaps(intervals)).to.deep.equal([]);
    expect(rounds).to.be.at.least(5);
  });
});
