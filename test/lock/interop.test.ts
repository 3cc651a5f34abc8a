import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'chai';
import { startTestAgent, type DevAgent } from '../support/dev-agent.js';
import { eventually } from '../support/eventually.js';
import { makeTempDir, removeTempDir, sleep } from './helpers.js';
import { holdLikeConsulLock, LOCK_FLAGS, raw, rawKey, SEMAPHORE_FLAGS, sessionInfo, type RawHolder } from './raw-consul.js';
import { killAll, spawnRunner, waitForHolders, type Runner } from './runner.js';

describe('lock: interoperability with consul lock', function () {
  let agent: DevAgent;
  let address: string;
  let dir: string;
  let runners: Runner[] = [];
  let held: RawHolder | undefined;
  let prefix: string;
  let n = 0;

  function run(args: string[]): Runner {
    const r = spawnRunner(`r${runners.length}`, address, args);
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
    prefix = `test/interop/${++n}`;
  });

  afterEach(async () => {
    await killAll(runners);
    runners = [];
    await held?.release();
    held = undefined;
    await removeTempDir(dir);
  });

  it('holds <prefix>/.lock with the lock flags and a consul-lock session (15s TTL, release, default lock-delay)', async () => {
    const r = run(['--verbose', prefix, 'sleep', '30']);
    await waitForHolders([r], 1);
    const text = await rawKey(agent.url, `${prefix}/.lock`);
    expect(text).to.include(`"Flags":${LOCK_FLAGS},`);
    const [entry] = JSON.parse(text!) as { Key: string; Value: string | null; Session: string; LockIndex: number }[];
    expect(entry).to.deep.include({ Key: `${prefix}/.lock`, Value: null, LockIndex: 1 });
    const session = await sessionInfo(agent.url, entry!.Session);
    expect(session).to.deep.include({
      Name: `Consul lock for 'sleep 30' at '${prefix}'`,
      TTL: '15s',
      Behavior: 'release',
      LockDelay: 15_000_000_000,
    });
    expect(session?.['NodeChecks']).to.deep.equal(['serfHealth']);
  });

  it('strips one leading slash from the prefix, as consul lock does', async () => {
    const r = run(['--verbose', `/${prefix}`, 'sleep', '30']);
    await waitForHolders([r], 1);
    expect(await rawKey(agent.url, `${prefix}/.lock`)).to.be.a('string');
  });

  it('lays out a semaphore as consul lock -n does (contender key, .lock record, delete behaviour)', async () => {
    const r = run(['--verbose', '-n', '2', prefix, 'sleep', '30']);
    await waitForHolders([r], 1);
    const listing = (await raw(agent.url, 'GET', `/v1/kv/${prefix}/?recurse`)).text;
    const pairs = JSON.parse(listing) as { Key: string; Value: string | null; Session?: string }[];
    const contender = pairs.find((p) => p.Session !== undefined);
    const record = pairs.find((p) => p.Key === `${prefix}/.lock`);
    expect(contender?.Key).to.equal(`${prefix}/${contender?.Session}`);
    expect(Buffer.from(record!.Value!, 'base64').toString()).to.equal(`{"Limit":2,"Holders":{"${contender!.Session}":true}}`);
    expect(listing.match(new RegExp(`"Flags":${SEMAPHORE_FLAGS},`, 'g'))).to.have.length(2);
    expect(await sessionInfo(agent.url, contender!.Session!)).to.deep.include({ Behavior: 'delete', TTL: '15s' });
  });

  it('waits while consul lock holds the key, and acquires as soon as it is released', async () => {
    held = await holdLikeConsulLock(agent.url, prefix);
    const r = run(['--verbose', '--session-ttl', '1s', prefix, `touch ${dir}/ran`]);
    await eventually('the acquisition to start', () => r.stderr().includes('Attempting lock acquisition'));
    await sleep(700);
    expect(existsSync(join(dir, 'ran'))).to.equal(false);
    await held.release();
    held = undefined;
    // One blocking round: the release wakes the waiting read at once.
    const code = await Promise.race([r.exited, sleep(5000).then(() => 'still waiting')]);
    expect(code).to.equal(0);
    expect(existsSync(join(dir, 'ran'))).to.equal(true);
  });

  it('keeps a consul-lock contender out while it holds the key', async () => {
    const r = run(['--verbose', prefix, 'sleep', '30']);
    await waitForHolders([r], 1);
    const created = await raw(agent.url, 'PUT', '/v1/session/create', JSON.stringify({ Name: 'go contender', TTL: '15s' }));
    const other = (JSON.parse(created.text) as { ID: string }).ID;
    const attempt = await raw(agent.url, 'PUT', `/v1/kv/${prefix}/.lock?acquire=${other}&flags=${LOCK_FLAGS}`);
    expect(attempt.text.trim()).to.equal('false');
    await raw(agent.url, 'PUT', `/v1/session/destroy/${other}`);
  });
});
