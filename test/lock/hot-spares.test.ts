import { join } from 'node:path';
import { expect } from 'chai';
import { startTestAgent, type DevAgent } from '../support/dev-agent.js';
import { eventually } from '../support/eventually.js';
import { makeTempDir, pidAlive, removeTempDir, sleep } from './helpers.js';
import { FIXTURES, killAll, overlaps, readIntervals, spawnRunner, waitForHolders, type Interval, type Runner } from './runner.js';

const TTL_MS = 1000;
const LOCK_DELAY_MS = 500;
/** The supervisors' renewal interval for this TTL and a 500 ms kill grace (see fencePlan). */
const RENEW_INTERVAL_MS = 200;
const ARGS = ['--verbose', '--session-ttl', `${TTL_MS}ms`, '--lock-delay', `${LOCK_DELAY_MS}ms`, '--kill-grace', '500ms', '--no-shell'];

function wallNs(): bigint {
  return BigInt(Date.now()) * 1_000_000n;
}

describe('lock: hot spares', function () {
  let agent: DevAgent;
  let address: string;
  let dir: string;
  let log: string;
  let runners: Runner[] = [];
  let prefix: string;
  let n = 0;

  function spares(count: number): Runner[] {
    for (let i = 0; i < count; i++) {
      const name = `spare${runners.length}`;
      runners.push(spawnRunner(name, address, [...ARGS, prefix, join(FIXTURES, 'interval.sh'), log, name]));
    }
    return runners;
  }

  async function started(count: number): Promise<Interval[]> {
    return eventually(`${count} child start(s)`, async () => {
      const intervals = await readIntervals(log);
      return intervals.length >= count ? intervals : undefined;
    }, 15_000);
  }

  before(async () => {
    agent = await startTestAgent();
    address = `${agent.host}:${agent.port}`;
  });

  after(async () => {
    await agent.close();
  });

  beforeEach(async () => {
    dir = await makeTempDir();
    log = join(dir, 'intervals.log');
    prefix = `test/hot-spares/${++n}`;
  });

  afterEach(async function () {
    if (this.currentTest?.state === 'failed') {
      for (const r of runners) console.error(`--- ${r.name} stderr:\n${r.stderr()}`);
    }
    await killAll(runners);
    runners = [];
    await removeTempDir(dir);
  });

  it('runs exactly one child out of three supervisors', async () => {
    spares(3);
    await waitForHolders(runners, 1);
    await sleep(1500);
    expect(runners.filter((r) => r.stderr().includes('Child started'))).to.have.length(1);
    expect((await readIntervals(log)).filter((i) => i.stop === undefined)).to.have.length(1);
  });

  it('hands over to a spare when the holder gets SIGTERM, the old child stopped first', async () => {
    spares(3);
    const [holder] = await waitForHolders(runners, 1);
    await started(1);
    holder!.signal('SIGTERM');
    expect(await holder!.exited).to.equal(0);
    const intervals = await started(2);
    const [first, second] = intervals;
    expect(first!.id).to.equal(holder!.name);
    expect(first!.stop).to.not.equal(undefined);
    expect(overlaps(intervals)).to.deep.equal([]);
    console.log(`      graceful handover: ${Number(second!.start - first!.stop!) / 1e6} ms from old child's stop to new child's start`);
  });

  it('after a SIGKILL of the holder, stops its orphaned child and lets a spare in only after session expiry and lock-delay', async () => {
    spares(3);
    const [holder] = await waitForHolders(runners, 1);
    await started(1);
    const pid = Number(/Child started: pid (\d+)/.exec(holder!.stderr())?.[1]);
    const killedAt = wallNs();
    holder!.signal('SIGKILL');
    await eventually('the orphaned child to stop', () => !pidAlive(pid), 5000);
    const intervals = await started(2);
    const [orphan, successor] = intervals;
    expect(orphan!.id).to.equal(holder!.name);
    expect(orphan!.stop).to.not.equal(undefined);
    expect(overlaps(intervals)).to.deep.equal([]);
    // Consul invalidates no sooner than one TTL after the last renewal (sent at most one renewal interval
    // before the kill), then refuses acquisitions for the lock-delay: no spare may start before that.
    const takeoverMs = Number(successor!.start - killedAt) / 1e6;
    expect(takeoverMs).to.be.at.least(TTL_MS - RENEW_INTERVAL_MS + LOCK_DELAY_MS);
    console.log(`      crash failover: ${takeoverMs} ms (TTL ${TTL_MS} ms, lock-delay ${LOCK_DELAY_MS} ms)`);
  });
});
