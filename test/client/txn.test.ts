import { expect } from 'chai';
import { Consul, InvalidArgumentError, TxnConflictError } from '@kvx/client';
import type { DevAgent } from '@kvx/devagent';
import { startTestAgent } from '../support/dev-agent.js';
import { caught } from './helpers.js';

describe('client: transactions against the dev agent', () => {
  let agent: DevAgent;
  let consul: Consul;

  before(async () => {
    agent = await startTestAgent();
  });
  after(async () => {
    await agent.close();
  });
  beforeEach(() => {
    consul = new Consul({ address: agent.url, env: {} });
  });
  afterEach(async () => {
    await consul.kv.deleteTree('');
    await consul.close();
  });

  it('applies several writes atomically and returns entries without values', async () => {
    const r = await consul.txn.execute([
      { verb: 'set', key: 'a', value: '1', flags: 16210313421097356768n },
      { verb: 'set', key: 'b', value: Buffer.from('2') },
    ]);
    expect(r.results.map((p) => [p.key, p.value.length, p.flags])).to.deep.equal([
      ['a', 0, 16210313421097356768n],
      ['b', 0, 0n],
    ]);
    expect((await consul.kv.get('b')).value?.value.toString()).to.equal('2');
  });

  it('reads values with get and get-tree', async () => {
    await consul.kv.put('t/x', 'X');
    await consul.kv.put('t/y', 'Y');
    const r = await consul.txn.execute([{ verb: 'get', key: 't/x' }, { verb: 'get-tree', key: 't/' }], { consistency: 'stale' });
    expect(r.results.map((p) => `${p.key}=${p.value.toString()}`)).to.deep.equal(['t/x=X', 't/x=X', 't/y=Y']);
  });

  it('sends exact 64-bit indexes for cas', async () => {
    await consul.kv.put('c', 'v');
    const idx = (await consul.kv.get('c')).value!.modifyIndex;
    const r = await consul.txn.execute([{ verb: 'cas', key: 'c', value: 'w', index: idx }]);
    expect(r.results[0]!.modifyIndex > idx).to.equal(true);
  });

  it('throws TxnConflictError listing each failed op on a rollback, applying nothing', async () => {
    await consul.kv.put('c', 'v');
    const err = await caught(
      consul.txn.execute([
        { verb: 'set', key: 'new', value: 'x' },
        { verb: 'cas', key: 'c', value: 'w', index: 1n },
        { verb: 'check-not-exists', key: 'c' },
      ]),
    );
    expect(err).to.be.instanceOf(TxnConflictError);
    expect(err.status).to.equal(409);
    const errors = (err as TxnConflictError).errors;
    expect(errors.map((e) => e.opIndex)).to.deep.equal([1, 2]);
    expect(errors[0]!.what).to.match(/index is stale/);
    expect((await consul.kv.get('new')).value).to.equal(undefined);
  });

  it('locks and unlocks keys with a session', async () => {
    const s = await consul.session.create({ lockDelay: 0 });
    await consul.txn.execute([{ verb: 'lock', key: 'l', value: 'v', session: s }]);
    expect((await consul.kv.get('l')).value?.session).to.equal(s);
    await consul.txn.execute([{ verb: 'unlock', key: 'l', value: 'v', session: s }]);
    expect((await consul.kv.get('l')).value?.session).to.equal(undefined);
    await consul.session.destroy(s);
  });

  it('rejects an empty transaction and unknown verbs before sending', async () => {
    expect(await caught(consul.txn.execute([]))).to.be.instanceOf(InvalidArgumentError);
    expect(await caught(consul.txn.execute([{ verb: 'explode' as 'get', key: 'k' }]))).to.be.instanceOf(InvalidArgumentError);
  });
});
