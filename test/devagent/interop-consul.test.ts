import { expect } from 'chai';
import Consul from 'consul';

import { startTestAgent, type DevAgent } from '../support/dev-agent.js';

/**
 * Entry shape the npm `consul` package returns (Value already decoded to a string). Note the package (through
 * papi) resolves a `false` body as `undefined`, so refused writes are asserted as "not true".
 */
interface Pair {
  Key: string;
  Value: string | null;
  Flags: number;
  Session?: string;
  LockIndex: number;
  ModifyIndex: number;
}

interface TxnResult {
  Results: { KV: { Key: string; Value: string | null } }[];
}

describe('devagent interoperability with the npm "consul" client (v2.0.1)', () => {
  let agent: DevAgent;
  let consul: Consul;

  beforeEach(async () => {
    agent = await startTestAgent({ nodeName: 'interop-node' });
    consul = new Consul({ host: agent.host, port: agent.port });
  });
  afterEach(async () => {
    consul.destroy();
    await agent.close();
  });

  it('kv set / get / keys / del', async () => {
    expect(await consul.kv.set('app/config', 'hello')).to.equal(true);
    await consul.kv.set('app/other', 'x');
    const pair = (await consul.kv.get('app/config')) as Pair;
    expect(pair).to.include({ Key: 'app/config', Value: 'hello', Flags: 0 });
    expect(await consul.kv.keys('app/')).to.deep.equal(['app/config', 'app/other']);
    const all = (await consul.kv.get({ key: 'app/', recurse: true })) as Pair[];
    expect(all.map((p) => p.Key)).to.deep.equal(['app/config', 'app/other']);
    expect(await consul.kv.del('app/config')).to.equal(true);
    expect(await consul.kv.get('app/config')).to.equal(undefined);
    await consul.kv.del({ key: 'app/', recurse: true });
    expect(await consul.kv.keys('app/').catch((e: { statusCode?: number }) => e.statusCode)).to.equal(404);
  });

  it('kv raw get returns the stored bytes', async () => {
    await consul.kv.set('bin', 'raw-value');
    const raw = (await consul.kv.get({ key: 'bin', raw: true })) as unknown as Buffer;
    expect(Buffer.from(raw).toString()).to.equal('raw-value');
  });

  it('kv CAS succeeds only with the current ModifyIndex', async () => {
    await consul.kv.set('cas', 'v1');
    const pair = (await consul.kv.get('cas')) as Pair;
    expect(await consul.kv.set({ key: 'cas', value: 'v2', cas: pair.ModifyIndex + 1 })).to.not.equal(true);
    expect(await consul.kv.set({ key: 'cas', value: 'v2', cas: pair.ModifyIndex })).to.equal(true);
    expect(((await consul.kv.get('cas')) as Pair).Value).to.equal('v2');
    expect(await consul.kv.set({ key: 'new', value: 'x', cas: 0 })).to.equal(true);
    expect(await consul.kv.set({ key: 'new', value: 'y', cas: 0 })).to.not.equal(true);
    expect(((await consul.kv.get('new')) as Pair).Value).to.equal('x');
  });

  it('sessions: create, info, list, node, renew, destroy', async () => {
    const { ID } = await consul.session.create({ name: 'interop', ttl: '10s', behavior: 'delete', lockdelay: '1s' });
    const info = await consul.session.info(ID);
    expect(info).to.include({ ID, Name: 'interop', TTL: '10s', Behavior: 'delete', LockDelay: 1e9, Node: 'interop-node' });
    expect((await consul.session.list()).map((s) => s.ID)).to.deep.equal([ID]);
    expect((await consul.session.node('interop-node')).map((s) => s.ID)).to.deep.equal([ID]);
    const renewed = await consul.session.renew(ID);
    expect(renewed[0]?.ID).to.equal(ID);
    await consul.session.destroy(ID);
    expect(await consul.session.info(ID)).to.equal(undefined);
  });

  it('acquire / release through kv.set', async () => {
    const { ID: s } = await consul.session.create({ name: 'holder' });
    const { ID: t } = await consul.session.create({ name: 'contender' });
    expect(await consul.kv.set({ key: 'lock', value: 'mine', acquire: s })).to.equal(true);
    expect(await consul.kv.set({ key: 'lock', value: 'theirs', acquire: t })).to.not.equal(true);
    expect(await consul.kv.get('lock')).to.include({ Session: s, LockIndex: 1 });
    expect(await consul.kv.set({ key: 'lock', value: 'mine', release: s })).to.equal(true);
    expect(await consul.kv.set({ key: 'lock', value: 'theirs', acquire: t })).to.equal(true);
    expect(await consul.kv.get('lock')).to.include({ Session: t, LockIndex: 2 });
  });

  it('transactions: commit and rollback', async () => {
    // The package's typings declare an options object, but its implementation takes the op list.
    const txn = consul.transaction as unknown as { create(ops: unknown[]): Promise<TxnResult> };
    const ok = (await txn.create([
      { KV: { Verb: 'set', Key: 'tx/a', Value: Buffer.from('1').toString('base64') } },
      { KV: { Verb: 'get', Key: 'tx/a' } },
    ]));
    expect(ok.Results.map((r) => r.KV.Key)).to.deep.equal(['tx/a', 'tx/a']);
    expect(ok.Results[1]!.KV.Value).to.equal(Buffer.from('1').toString('base64'));
    let status: number | undefined;
    try {
      await txn.create([
        { KV: { Verb: 'set', Key: 'tx/b', Value: null } },
        { KV: { Verb: 'get', Key: 'tx/missing' } },
      ]);
    } catch (err) {
      status = (err as { statusCode?: number }).statusCode;
    }
    expect(status).to.equal(409);
    expect(await consul.kv.get('tx/b')).to.equal(undefined);
  });

  it('events: fire and list', async () => {
    const fired = await consul.event.fire('deploy', 'v42');
    expect(fired).to.include({ Name: 'deploy', Version: 1 });
    await consul.event.fire('other');
    const listed = await consul.event.list({ name: 'deploy' });
    expect(listed.map((e) => e.ID)).to.deep.equal([fired.ID]);
    expect(listed[0]!.Payload).to.equal('v42');
  });

  it('status leader / peers and agent self', async () => {
    expect(await consul.status.leader()).to.equal('127.0.0.1:8300');
    expect(await consul.status.peers()).to.deep.equal(['127.0.0.1:8300']);
    const self = (await consul.agent.self()) as { Config: { NodeName: string } };
    expect(self.Config.NodeName).to.equal('interop-node');
  });

  it('watch: emits the current value, then each change, via blocking queries', async () => {
    await consul.kv.set('watched', 'v0');
    const watch = consul.watch({ method: consul.kv.get.bind(consul.kv), options: { key: 'watched', wait: '5s' } });
    const seen: string[] = [];
    const errors: unknown[] = [];
    watch.on('error', (err: unknown) => errors.push(err));
    try {
      await new Promise<void>((resolve) => {
        watch.on('change', (data: Pair | undefined) => {
          seen.push(data?.Value ?? '<none>');
          if (seen.length === 1) void consul.kv.set('unrelated', 'x').then(() => consul.kv.set('watched', 'v1'));
          if (seen.length === 2) void consul.kv.del('watched');
          if (seen.length === 3) resolve();
        });
      });
    } finally {
      watch.end();
    }
    expect(seen).to.deep.equal(['v0', 'v1', '<none>']);
    expect(errors).to.deep.equal([]);
  });

  it('watch on a key prefix sees creates under the prefix', async () => {
    const watch = consul.watch({ method: consul.kv.keys.bind(consul.kv), options: { key: 'svc/', wait: '5s' } });
    const seen: unknown[] = [];
    try {
      await new Promise<void>((resolve) => {
        watch.on('change', (data: unknown) => {
          seen.push(data);
          if (seen.length === 1) void consul.kv.set('svc/a', '1');
          if (seen.length === 2) resolve();
        });
        watch.on('error', () => {
          seen.push('error');
          if (seen.length === 1) void consul.kv.set('svc/a', '1');
        });
      });
    } finally {
      watch.end();
    }
    expect(seen[seen.length - 1]).to.deep.equal(['svc/a']);
  });
});
