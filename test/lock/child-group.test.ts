import { spawn, type ChildProcess } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'chai';
import { ChildGroup, type Lease } from '../../packages/lock/src/child-group.js';
import type { FromReaper } from '../../packages/lock/src/reaper-protocol.js';
import { eventually } from '../support/eventually.js';
import { makeTempDir, pidAlive, readIfExists, readPid, removeTempDir, sleep } from './helpers.js';

const fixtures = fileURLToPath(new URL('./fixtures/', import.meta.url));
const family = join(fixtures, 'family.sh');
const signals = join(fixtures, 'signals.sh');

function farLease(): Lease {
  const now = process.hrtime.bigint();
  return { termAt: now + 600_000_000_000n, killAt: now + 600_000_000_000n };
}

function leaseIn(termMs: number, killMs: number): Lease {
  const now = process.hrtime.bigint();
  return { termAt: now + BigInt(termMs * 1e6), killAt: now + BigInt(killMs * 1e6) };
}

describe('lock: child process group', function () {
  let dir: string;
  let group: ChildGroup | undefined;
  const events: FromReaper[] = [];

  async function start(file: string, args: string[], lease: () => Lease = farLease): Promise<ChildGroup> {
    const g = ChildGroup.prepare({ passStdin: false, killGraceMs: 500, onEvent: (e) => events.push(e) });
    group = g;
    await g.ready;
    g.start({ file, args, env: process.env, lease: lease() });
    return g;
  }

  beforeEach(async () => {
    dir = await makeTempDir();
    events.length = 0;
  });

  afterEach(async () => {
    if (group !== undefined) {
      const pid = group.pid;
      await group.stop('shutdown', 0);
      if (pid !== undefined) {
        try {
          process.kill(-pid, 'SIGKILL');
        } catch {}
      }
      group = undefined;
    }
    await removeTempDir(dir);
  });

  it('runs the child in a process group of its own, led by the child', async () => {
    const g = await start(family, [dir]);
    const pid = await g.started;
    const grandchild = await readPid(join(dir, 'grandchild.pid'));
    const stat = await readFile(`/proc/${grandchild}/stat`, 'utf8');
    const pgrp = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[2]);
    expect(pgrp).to.equal(pid);
    expect(pid).to.not.equal(process.pid);
  });

  it('stops the whole group, grandchildren included', async () => {
    const g = await start(family, [dir]);
    const pid = await g.started;
    const grandchild = await readPid(join(dir, 'grandchild.pid'));
    await g.stop('shutdown', 2000);
    expect(pidAlive(pid)).to.equal(false);
    expect(pidAlive(grandchild)).to.equal(false);
    expect(events.map((e) => e.type)).to.include.members(['terminating', 'exited', 'done']);
    expect(events.map((e) => e.type)).to.not.include('killing');
  });

  it('SIGKILLs a group that ignores SIGTERM once the grace period is over', async () => {
    const g = await start(family, [dir, 'ignore-term']);
    await g.started;
    const grandchild = await readPid(join(dir, 'grandchild.pid'));
    const t0 = performance.now();
    await g.stop('lock-lost', 300);
    expect(performance.now() - t0).to.be.at.least(290);
    expect(pidAlive(grandchild)).to.equal(false);
    const types = events.map((e) => e.type);
    expect(types.indexOf('grace-expired')).to.be.above(types.indexOf('terminating'));
    expect(types.indexOf('killing')).to.be.above(types.indexOf('grace-expired'));
    expect((await g.exited).signal).to.equal('SIGKILL');
  });

  it('keeps to the grace period of a stop while the lease is still being extended', async () => {
    const g = await start(family, [dir, 'ignore-term']);
    await g.started;
    const grandchild = await readPid(join(dir, 'grandchild.pid'));
    const stopped = g.stop('shutdown', 300);
    for (let i = 0; i < 5; i++) {
      g.setLease(farLease());
      await sleep(50);
    }
    await stopped;
    expect(pidAlive(grandchild)).to.equal(false);
    expect(events.map((e) => e.type)).to.include('killing');
  });

  it('stops the group on its own when the lease runs out', async () => {
    const g = await start(family, [dir, 'ignore-term'], () => leaseIn(300, 600));
    await g.started;
    const grandchild = await readPid(join(dir, 'grandchild.pid'));
    await g.done;
    expect(pidAlive(grandchild)).to.equal(false);
    expect(events.find((e) => e.type === 'terminating')).to.deep.include({ reason: 'fenced' });
    expect(events.map((e) => e.type)).to.include('killing');
  });

  it('keeps the group running while the lease is extended', async () => {
    const g = await start(family, [dir], () => leaseIn(300, 400));
    const pid = await g.started;
    for (let i = 0; i < 6; i++) {
      await sleep(100);
      g.setLease(leaseIn(300, 400));
    }
    expect(pidAlive(pid)).to.equal(true);
    expect(events.map((e) => e.type)).to.not.include('terminating');
  });

  it('reports the exit status of the child and cleans up what it left behind', async () => {
    const g = await start('/bin/sh', ['-c', `sleep 60 & echo $! > ${dir}/grandchild.pid; exit 3`]);
    const exit = await g.exited;
    expect(exit).to.deep.equal({ code: 3, signal: null });
    const grandchild = Number((await readIfExists(join(dir, 'grandchild.pid')))?.trim());
    await g.done;
    expect(pidAlive(grandchild)).to.equal(false);
    expect(events.find((e) => e.type === 'terminating')).to.deep.include({ reason: 'child-exited' });
  });

  it('reports a child that cannot be started', async () => {
    const g = await start(join(dir, 'no-such-program'), []);
    let error: unknown;
    await g.started.catch((e: unknown) => (error = e));
    expect(error).to.be.instanceOf(Error);
    expect((await g.exited).error).to.match(/ENOENT/);
    await g.done;
  });

  it('forwards signals to every member of the group', async () => {
    const g = await start(signals, [dir]);
    await g.started;
    await readPid(join(dir, 'child.pid'));
    g.signal('SIGUSR1');
    await eventually('USR1', async () => (await readIfExists(join(dir, 'signals')))?.includes('USR1'));
    g.signal('SIGHUP');
    await eventually('HUP', async () => (await readIfExists(join(dir, 'signals')))?.includes('HUP'));
    expect((await readIfExists(join(dir, 'signals')))?.split('\n')).to.deep.equal(['USR1', 'HUP', '']);
  });

  describe('when the supervisor dies', () => {
    let holder: ChildProcess | undefined;

    afterEach(() => {
      holder?.kill('SIGKILL');
      holder = undefined;
    });

    it('stops the orphaned group at once, grandchildren included', async () => {
      holder = spawn(process.execPath, ['--import', 'tsx', join(fixtures, 'group-holder.ts'), '2000', family, dir], {
        stdio: ['ignore', 'pipe', 'inherit'],
      });
      const grandchild = await readPid(join(dir, 'grandchild.pid'));
      const child = await readPid(join(dir, 'child.pid'));
      holder.kill('SIGKILL');
      const t0 = performance.now();
      await eventually('the orphaned family to die', () => !pidAlive(child) && !pidAlive(grandchild), 5000);
      // SIGTERM suffices here: the whole family is gone long before the 2 s grace.
      expect(performance.now() - t0).to.be.below(1500);
    });

    it('SIGKILLs an orphaned group that ignores SIGTERM after the grace period', async () => {
      holder = spawn(process.execPath, ['--import', 'tsx', join(fixtures, 'group-holder.ts'), '300', family, dir, 'ignore-term'], {
        stdio: ['ignore', 'pipe', 'inherit'],
      });
      const grandchild = await readPid(join(dir, 'grandchild.pid'));
      await readPid(join(dir, 'child.pid'));
      holder.kill('SIGKILL');
      await sleep(150);
      expect(pidAlive(grandchild)).to.equal(true);
      await eventually('the orphaned family to be killed', () => !pidAlive(grandchild), 3000);
    });
  });
});
