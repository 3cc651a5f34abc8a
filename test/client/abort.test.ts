import { expect } from 'chai';
import { AbortedError, Consul } from '@kvx/client';
import { startFaultProxy, type FaultProxy } from '../support/fault-proxy.js';
import { caught } from './helpers.js';


/** How long `p` takes to settle, in ms. */
async function settleTime(p: Promise<unknown>): Promise<number> {
  const started = performance.now();
  await p.catch(() => undefined);
  return performance.now() - started;
}

describe('client: cancellation', () => {
  let proxy: FaultProxy;
  let consul: Consul;

  beforeEach(async () => {
    proxy = await startFaultProxy('http://127.0.0.1:9');
    proxy.blackhole();
    consul = new Consul({ address: proxy.address, env: {}, retry: { minDelay: 1000, maxDelay: 1000, budget: false } });
  });
  afterEach(async () => {
    await consul.close();
    await proxy.close();
  });

  it('rejects at once, without sending, when the signal is already aborted', async () => {
    const err = await caught(consul.kv.get('k', { signal: AbortSignal.abort() }));
    expect(err).to.be.instanceOf(AbortedError);
    expect(proxy.requests).to.equal(0);
  });

  it('aborting a pending blocking get rejects it with AbortedError quickly', async () => {
    const ac = new AbortController();
    const pending = consul.kv.get('k', { index: 10n, wait: 60_000, signal: ac.signal });
    await new Promise((r) => setTimeout(r, 50));
    expect(proxy.requests).to.equal(1);
    ac.abort();
    const err = await caught(pending);
    expect(err).to.be.instanceOf(AbortedError);
    expect(err.code).to.equal('KVX_ABORTED');
  });

  for (const [name, call] of [
    ['kv.put', (c: Consul, signal: AbortSignal) => c.kv.put('k', 'v', { signal })],
    ['kv.cas', (c: Consul, signal: AbortSignal) => c.kv.cas('k', 'v', 1n, { signal })],
    ['kv.list', (c: Consul, signal: AbortSignal) => c.kv.list('p', { signal })],
    ['session.create', (c: Consul, signal: AbortSignal) => c.session.create({ signal })],
    ['session.renew', (c: Consul, signal: AbortSignal) => c.session.renew('s', { signal })],
    ['txn.execute', (c: Consul, signal: AbortSignal) => c.txn.execute([{ verb: 'get', key: 'k' }], { signal })],
    ['event.fire', (c: Consul, signal: AbortSignal) => c.event.fire('e', 'p', { signal })],
    ['status.leader', (c: Consul, signal: AbortSignal) => c.status.leader({ signal })],
    ['agent.self', (c: Consul, signal: AbortSignal) => c.agent.self({ signal })],
  ] as const) {
    it(`${name} honours its AbortSignal`, async () => {
      const ac = new AbortController();
      const pending = call(consul, ac.signal);
      setTimeout(() => ac.abort(), 30);
      expect(await caught(pending)).to.be.instanceOf(AbortedError);
    });
  }

  it('aborting during a retry wait rejects without waiting out the backoff', async () => {
    proxy.respond({ status: 500, body: 'No cluster leader' });
    const ac = new AbortController();
    const pending = consul.kv.get('k', { signal: ac.signal });
    await new Promise((r) => setTimeout(r, 50));
    ac.abort();
    expect(await settleTime(pending)).to.be.below(500);
    expect(await caught(pending)).to.be.instanceOf(AbortedError);
  });

  it('close() aborts in-flight requests', async () => {
    const pending = consul.kv.get('k', { index: 10n, wait: 60_000 });
    await new Promise((r) => setTimeout(r, 50));
    await consul.close();
    expect(await caught(pending)).to.be.instanceOf(AbortedError);
  });

  it('rejects requests made after close()', async () => {
    await consul.close();
    expect(await caught(consul.status.leader())).to.be.instanceOf(AbortedError);
    expect(proxy.requests).to.equal(0);
  });
});
