import { join } from 'node:path';
import { expect } from 'chai';
import { startTestAgent, type DevAgent } from '../support/dev-agent.js';
import { startFaultProxy, type FaultProxy } from '../support/fault-proxy.js';
import { eventually } from '../support/eventually.js';
import { makeTempDir, removeTempDir } from './helpers.js';
import { keySession, sessionInfo } from './raw-consul.js';
import { FIXTURES, killAll, overlaps, readIntervals, spawnRunner, waitForHolders, type Runner } from './runner.js';

const ARGS = ['--verbose', '--session-ttl', '1s', '--lock-delay', '300ms', '--kill-grace', '500ms', '--no-shell'];

describe('lock: partitioned holder', function () {
  let agent: DevAgent;
  let proxy: FaultProxy;
  let dir: string;
  let log: string;
  let runners: Runner[] = [];

  function runner(name: string, address: string, prefix: string): Runner {
    const r = spawnRunner(name, address, [...ARGS, prefix, join(FIXTURES, 'interval.sh'), log, name]);
    runners.push(r);
    return r;
  }

  beforeEach(async () => {
    agent = await startTestAgent();
    proxy = await startFaultProxy(agent.url);
    dir = await makeTempDir();
    log = join(dir, 'intervals.log');
  });

  afterEach(async function () {
    if (this.currentTest?.state === 'failed') {
      for (const r of runners) console.error(`--- ${r.name} stderr:\n${r.stderr()}`);
    }
    // Closing the proxy first fails the cut-off runner's hanging requests, so it exits promptly.
    await proxy.close();
    await killAll(runners);
    runners = [];
    await agent.close();
    await removeTempDir(dir);
  });

  it('stops the child of a holder cut off from Consul before any other runner starts its own', async () => {
    const prefix = 'test/partition';
    const cut = runner('cut-off', proxy.address, prefix);
    await waitForHolders([cut], 1);
    await eventually('the child to start', async () => (await readIntervals(log)).length === 1);
    const session = await keySession(agent.url, `${prefix}/.lock`);
    const spares = [runner('spare1', `${agent.host}:${agent.port}`, prefix), runner('spare2', `${agent.host}:${agent.port}`, prefix)];
    await eventually('the spares to wait', () => spares.every((r) => r.stderr().includes('Attempting lock acquisition')));

    proxy.blackhole();
    const fencedAt = await eventually('the cut-off holder to fence itself', async () => {
      const [first] = await readIntervals(log);
      return first?.stop;
    });
    // The server still knows the session when the child is already gone: the fence came first.
    expect(await sessionInfo(agent.url, session!)).to.not.equal(undefined);
    // The reaper and the supervisor both act at the deadline; the supervisor's report may come a moment later.
    await eventually('the fencing report', () => /not confirmed for \d+ ms \(TTL 1000 ms\)/.test(cut.stderr()), 5000);

    await waitForHolders(spares, 1);
    const intervals = await eventually('the successor to start', async () => {
      const all = await readIntervals(log);
      return all.length === 2 ? all : undefined;
    });
    expect(intervals[0]!.id).to.equal('cut-off');
    expect(overlaps(intervals)).to.deep.equal([]);
    console.log(`      fenced child stopped ${Number(intervals[1]!.start - fencedAt) / 1e6} ms before the successor started`);
  });
});
