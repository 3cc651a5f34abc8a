import { expect } from 'chai';
import { Consul, InvalidArgumentError, TimeoutError } from '@kvx/client';
import { startFaultProxy, type FaultProxy } from '../support/fault-proxy.js';
import { caught } from './helpers.js';

const json = (body: string) => ({ status: 200, body, headers: { 'Content-Type': 'application/json', 'X-Consul-Index': '9' } });

/** What the client puts on the wire for per-call and client-wide options, seen at the proxy. */
describe('client: request options on the wire', () => {
  let proxy: FaultProxy;
  let consul: Consul;

  beforeEach(async () => {
    proxy = await startFaultProxy('http://127.0.0.1:9');
  });
  afterEach(async () => {
    await consul.close();
    await proxy.close();
  });

  const params = (i: number): URLSearchParams => new URL(proxy.log[i]!.url, 'http://x').searchParams;

  it('sends the client datacenter, and a per-call datacenter over it', async () => {
    consul = new Consul({ address: proxy.address, env: {}, datacenter: 'dc2' });
    proxy.respond({ ...json('[]'), count: 2 });
    await consul.kv.list('p');
    await consul.kv.list('p', { datacenter: 'dc3' });
    expect([params(0).get('dc'), params(1).get('dc')]).to.deep.equal(['dc2', 'dc3']);
  });

  it('sends consistency modes as presence flags, the client default first', async () => {
    consul = new Consul({ address: proxy.address, env: {}, consistency: 'stale' });
    proxy.respond({ ...json('[]'), count: 3 });
    await consul.session.list();
    await consul.session.list({ consistency: 'consistent' });
    await consul.session.list({ consistency: 'default' });
    expect(proxy.log.map((r) => r.url)).to.deep.equal(['/v1/session/list?stale=', '/v1/session/list?consistent=', '/v1/session/list']);
  });

  it('sends a blocking index exactly and the wait in milliseconds', async () => {
    consul = new Consul({ address: proxy.address, env: {} });
    proxy.respond(json('[]'));
    await consul.session.list({ index: 18446744073709551615n, wait: 1500 });
    expect(params(0).get('index')).to.equal('18446744073709551615');
    expect(params(0).get('wait')).to.equal('1500ms');
  });

  it('sends index 0 as a plain read, without index or wait', async () => {
    consul = new Consul({ address: proxy.address, env: {} });
    proxy.respond(json('[]'));
    await consul.session.list({ index: 0n, wait: 1500 });
    expect(proxy.log[0]!.url).to.equal('/v1/session/list');
  });

  it('sends flags and cas indexes as exact decimal strings and the value as the raw body', async () => {
    consul = new Consul({ address: proxy.address, env: {} });
    proxy.respond(json('true'));
    await consul.kv.cas('a/b c', Buffer.from([1, 2, 3]), 16210313421097356768n, { flags: 18446744073709551615n });
    expect(proxy.log[0]!.url).to.equal('/v1/kv/a/b%20c?cas=16210313421097356768&flags=18446744073709551615');
    expect(proxy.log[0]!.headers['content-type']).to.equal('application/octet-stream');
  });

  it('applies a per-call timeout', async () => {
    consul = new Consul({ address: proxy.address, env: {}, retry: false, timeout: 10_000 });
    proxy.blackhole();
    const started = performance.now();
    const err = await caught(consul.status.leader({ timeout: 100 }));
    expect(err).to.be.instanceOf(TimeoutError);
    expect(err.ambiguous).to.equal(true);
    expect(performance.now() - started).to.be.below(5000);
  });

  it('gives a blocking read a timeout above wait + wait/16, plus the ordinary timeout as slack', async () => {
    consul = new Consul({ address: proxy.address, env: {}, retry: false, timeout: 150 });
    // Consul may answer a 1 s long poll after up to 1062 ms; within 1 s + 63 ms + 150 ms that is in time.
    proxy.respond({ ...json('[]'), delayMs: 1100 });
    expect((await consul.session.list({ index: 3n, wait: 1000 })).index).to.equal(9n);
    // The same late answer to an ordinary read times out.
    proxy.respond({ ...json('[]'), delayMs: 1100 });
    expect(await caught(consul.session.list())).to.be.instanceOf(TimeoutError);
  });

  it('limits the read rate when a client rate limit is set', async () => {
    consul = new Consul({ address: proxy.address, env: {}, rateLimit: { ratePerSecond: 10, burst: 1 } });
    proxy.respond({ ...json('[]'), count: 3 });
    const started = performance.now();
    for (let i = 0; i < 3; i++) await consul.session.list();
    expect(performance.now() - started).to.be.at.least(180);
  });

  for (const bad of [0, -1, NaN, Infinity, 2 ** 31]) {
    it(`rejects a per-call timeout of ${bad} on every kind of call, before sending anything`, async () => {
      consul = new Consul({ address: proxy.address, env: {} });
      proxy.respond({ ...json('true'), count: 10 });
      const calls: (() => Promise<unknown>)[] = [
        () => consul.kv.get('k', { timeout: bad }),
        () => consul.kv.put('k', 'v', { timeout: bad }),
        () => consul.kv.cas('k', 'v', 1n, { timeout: bad }),
        () => consul.session.list({ timeout: bad, index: 2n }),
        () => consul.txn.execute([{ verb: 'get', key: 'k' }], { timeout: bad }),
        () => consul.status.leader({ timeout: bad }),
      ];
      for (const call of calls) expect(await caught(call())).to.be.instanceOf(InvalidArgumentError);
      expect(proxy.requests).to.equal(0);
    });
  }

  it('rejects a non-positive wait', async () => {
    consul = new Consul({ address: proxy.address, env: {} });
    expect(await caught(consul.session.list({ index: 2n, wait: 0 }))).to.be.instanceOf(InvalidArgumentError);
  });
});
