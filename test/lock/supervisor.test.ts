import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { expect } from 'chai';
import { startTestAgent, type DevAgent } from '../support/dev-agent.js';
import { eventually } from '../support/eventually.js';
import { makeTempDir, pidAlive, readIfExists, readPid, removeTempDir, sleep } from './helpers.js';
import { destroySession, holdLikeConsulLock, keySession, raw, rawKey, type RawHolder } from './raw-consul.js';
import { FIXTURES, killAll, spawnRunner, waitForHolders, type Runner } from './runner.js';

/**
 * Short settings (the agent allows 100 ms TTLs), with a TTL long enough that an overloaded test machine does not
 * make healthy holders fence themselves; every test runner is verbose (its log is the evidence).
 */
const FAST = ['--verbose', '--session-ttl', '2s', '--lock-delay', '300ms', '--kill-grace', '500ms'];

describe('lock: kvx lock against the dev agent', function () {
  let agent: DevAgent;
  let address: string;
  let dir: string;
  let runners: Runner[] = [];
  let held: RawHolder | undefined;
  let prefix: string;
  let n = 0;

  function run(args: string[], name = `r${runners.length}`, stdin?: string): Runner {
    const r = spawnRunner(name, address, args, stdin);
    runners.push(r);
    return r;
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
    prefix = `test/supervisor/${++n}`;
  });

  afterEach(async function () {
    if (this.currentTest?.state === 'failed') {
      for (const r of runners) console.error(`--- ${r.name} stderr:\n${r.stderr()}`);
    }
    await killAll(runners);
    runners = [];
    await held?.release();
    held = undefined;
    await removeTempDir(dir);
  });

  it('runs the child with CONSUL_LOCK_HELD, the fencing token and the session, then releases and cleans up', async () => {
    const r = run([...FAST, prefix, `env > ${dir}/env`]);
    expect(await r.exited).to.equal(0);
    const env = await readFile(join(dir, 'env'), 'utf8');
    expect(env).to.match(/^CONSUL_LOCK_HELD=true$/m);
    expect(env).to.match(/^KVX_LOCK_INDEX=[1-9]\d*$/m);
    const session = /^KVX_LOCK_SESSION=(.+)$/m.exec(env)?.[1];
    expect(session).to.match(/^[0-9a-f-]{36}$/);
    expect(await rawKey(agent.url, `${prefix}/.lock`)).to.equal(undefined);
    expect(await raw(agent.url, 'GET', `/v1/session/info/${session!}`)).to.deep.include({ text: '[]' });
    expect(r.stderr()).to.include('Cleanup succeeded');
  });

  it('gives every later holder a larger KVX_LOCK_INDEX, for a lock and for a semaphore', async () => {
    for (const limit of ['1', '2']) {
      for (let i = 0; i < 2; i++) {
        const r = run([...FAST, '-n', limit, `${prefix}/${limit}`, `echo $KVX_LOCK_INDEX >> ${dir}/tokens-${limit}`]);
        expect(await r.exited).to.equal(0);
      }
      const tokens = (await readFile(join(dir, `tokens-${limit}`), 'utf8')).trim().split('\n').map(BigInt);
      expect(tokens).to.have.length(2);
      expect(tokens[0]! < tokens[1]!, `tokens ${tokens.join(", ")}`).to.equal(true);
    }
  });

  it('lets the child read stdin only with --pass-stdin', async () => {
    const passed = run([...FAST, '--pass-stdin', prefix, 'cat'], 'passed', 'hello\n');
    expect(await passed.exited).to.equal(0);
    expect(passed.stdout()).to.equal('hello\n');
    const withheld = run([...FAST, prefix, 'cat'], 'withheld', 'hello\n');
    expect(await withheld.exited).to.equal(0);
    expect(withheld.stdout()).to.equal('');
  });

  it('exits 2 with --child-exit-code when the child fails, and says why', async () => {
    const r = run([...FAST, '--child-exit-code', prefix, 'exit 3']);
    expect(await r.exited).to.equal(2);
    expect(r.stderr()).to.include('Error running handler: exit status 3');
  });

  it('exits 0 when the child fails without --child-exit-code', async () => {
    const r = run([...FAST, prefix, 'exit 3']);
    expect(await r.exited).to.equal(0);
  });

  it('joins the words with single spaces for the shell, and passes them untouched with --no-shell', async () => {
    const shell = run([...FAST, prefix, 'echo', 'a  b']);
    expect(await shell.exited).to.equal(0);
    expect(shell.stdout()).to.equal('a b\n');
    const direct = run([...FAST, '--no-shell', prefix, 'echo', 'a  b']);
    expect(await direct.exited).to.equal(0);
    expect(direct.stdout()).to.equal('a  b\n');
  });

  it('gives up after --timeout with exit 1, without running the child', async () => {
    held = await holdLikeConsulLock(agent.url, prefix);
    const r = run([...FAST, '--timeout', '500ms', prefix, `touch ${dir}/ran`]);
    expect(await r.exited).to.equal(1);
    expect(r.stderr()).to.include('Shutdown triggered or timeout during lock acquisition');
    expect(existsSync(join(dir, 'ran'))).to.equal(false);
  });

  it('accepts consul lock\'s single-dash flags', async () => {
    held = await holdLikeConsulLock(agent.url, prefix);
    const r = run(['-verbose', '-session-ttl=1s', '-timeout=300ms', '-shell=false', prefix, 'touch', `${dir}/ran`]);
    expect(await r.exited).to.equal(1);
    expect(r.stderr()).to.include('Attempting lock acquisition');
    expect(existsSync(join(dir, 'ran'))).to.equal(false);
  });

  it('refuses a semaphore on a prefix held as a lock (exit 1)', async () => {
    held = await holdLikeConsulLock(agent.url, prefix);
    const r = run([...FAST, '-n', '2', prefix, `touch ${dir}/ran`]);
    expect(await r.exited).to.equal(1);
    expect(r.stderr()).to.include('Lock acquisition failed: Existing key does not match semaphore use');
    expect(existsSync(join(dir, 'ran'))).to.equal(false);
  });

  it('refuses a lock on a prefix used as a semaphore, and a semaphore with another limit (exit 1)', async () => {
    const holder = run([...FAST, '-n', '2', prefix, 'sleep 30']);
    await waitForHolders([holder], 1);
    const lock = run([...FAST, prefix, `touch ${dir}/ran`]);
    expect(await lock.exited).to.equal(1);
    expect(lock.stderr()).to.include('Lock acquisition failed: Existing key does not match lock use');
    const other = run([...FAST, '-n', '3', prefix, `touch ${dir}/ran`]);
    expect(await other.exited).to.equal(1);
    expect(other.stderr()).to.include('semaphore limit conflict (lock: 2, local: 3)');
    expect(existsSync(join(dir, 'ran'))).to.equal(false);
  });

  it('aborts the acquisition at once on SIGTERM (exit 1), without waiting for the blocking read', async () => {
    held = await holdLikeConsulLock(agent.url, prefix);
    const r = run([...FAST, prefix, `touch ${dir}/ran`]);
    await eventually('the acquisition to start', () => r.stderr().includes('Attempting lock acquisition'));
    await sleep(200);
    r.signal('SIGTERM');
    const code = await Promise.race([r.exited, sleep(5000).then(() => 'still running')]);
    expect(code).to.equal(1);
    expect(r.stderr()).to.include('Shutdown triggered or timeout during lock acquisition');
  });

  it('forwards SIGUSR1, SIGHUP and SIGQUIT to the child, and stops it on SIGTERM', async () => {
    const r = run([...FAST, '--no-shell', prefix, join(FIXTURES, 'signals.sh'), dir]);
    await readPid(join(dir, 'child.pid'));
    const signals = async (): Promise<string> => (await readIfExists(join(dir, 'signals'))) ?? '';
    for (const [signal, name] of [['SIGUSR1', 'USR1'], ['SIGHUP', 'HUP'], ['SIGQUIT', 'QUIT']] as const) {
      r.signal(signal);
      await eventually(`${name} at the child`, async () => (await signals()).includes(name));
    }
    r.signal('SIGTERM');
    expect(await r.exited).to.equal(0);
    expect((await signals()).trim().split('\n')).to.deep.equal(['USR1', 'HUP', 'QUIT', 'TERM']);
    expect(r.stderr()).to.include('Shutdown triggered, killing child');
  });

  it('stops the child and its grandchildren when the session is destroyed from outside', async () => {
    const r = run([...FAST, '--no-shell', prefix, join(FIXTURES, 'family.sh'), dir]);
    const child = await readPid(join(dir, 'child.pid'));
    const grandchild = await readPid(join(dir, 'grandchild.pid'));
    const session = await keySession(agent.url, `${prefix}/.lock`);
    await destroySession(agent.url, session!);
    expect(await r.exited).to.equal(0);
    expect(pidAlive(child)).to.equal(false);
    expect(pidAlive(grandchild)).to.equal(false);
    expect(r.stderr()).to.include('Lock lost');
    expect(r.stderr()).to.include('Terminating child pid');
  });

  it('stops the child and its grandchildren when the lock key is deleted from outside', async () => {
    const r = run([...FAST, '--no-shell', prefix, join(FIXTURES, 'family.sh'), dir, 'ignore-term']);
    const child = await readPid(join(dir, 'child.pid'));
    const grandchild = await readPid(join(dir, 'grandchild.pid'));
    await raw(agent.url, 'DELETE', `/v1/kv/${prefix}/.lock`);
    expect(await r.exited).to.equal(0);
    expect(pidAlive(child)).to.equal(false);
    expect(pidAlive(grandchild)).to.equal(false);
    expect(r.stderr()).to.include('Child did not exit after grace period of 500ms');
    expect(r.stderr()).to.include('Killing child pid');
  });

  it('runs two children out of three runners with -n 2, and a third once one finishes', async () => {
    const trio = [0, 1, 2].map((i) => run([...FAST, '-n', '2', prefix, `sleep 30`], `s${i}`));
    const holders = await waitForHolders(trio, 2);
    await sleep(500);
    expect(trio.filter((r) => r.stderr().includes('Child started'))).to.have.length(2);
    holders[0]!.signal('SIGTERM');
    expect(await holders[0]!.exited).to.equal(0);
    await waitForHolders(trio, 3);
  });
});
