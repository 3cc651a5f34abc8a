import { expect } from 'chai';
import {
  AbortedError,
  ConnectionError,
  Consul,
  HttpError,
  PermissionDeniedError,
  RateLimitedError,
  TxnConflictError,
  TooLargeError,
} from '@kvx/client';
import { eventually } from '../support/eventually.js';
import { startFaultProxy, type FaultProxy } from '../support/fault-proxy.js';
import { caught } from './helpers.js';


const KV_FOUND = '[{"LockIndex":0,"Key":"k","Flags":0,"Value":"dg==","CreateIndex":5,"ModifyIndex":5}]';
const ok = (body: string, headers: Record<string, string> = {}) => ({
  status: 200,
  body,
  headers: { 'Content-Type': 'application/json', 'X-Consul-Index': '5', ...headers },
});

/**
 * The retry policy, with faults scripted at the proxy. The proxy's target has no listener, so every reply
 * the client gets is a scripted one and the proxy's request log is exactly what the client sent.
 */
describe('client: retries', () => {
  let proxy: FaultProxy;
  let consul: Consul;

  beforeEach(async () => {
    proxy = await startFaultProxy('http://127.0.0.1:9');
    consul = new Consul({
      address: proxy.address,
      env: {},
      retry: { retries: 4, minDelay: 1, maxDelay: 10, budget: false },
      breaker: false,
    });
  });
  afterEach(async () => {
    await consul.close();
    await proxy.close();
  });

  describe('idempotent requests', () => {
    it('retries a read whose connection was reset after sending', async () => {
      proxy.resetNext(2);
      proxy.respond(ok(KV_FOUND));
      const r = await consul.kv.get('k');
      expect(r.value?.value.toString()).to.equal('v');
      expect(proxy.requests).to.equal(3);
    });

    it('retries 500 "No cluster leader"', async () => {
      proxy.respond({ status: 500, body: 'No cluster leader', count: 2 });
      proxy.respond(ok('true'));
      expect(await consul.kv.put('k', 'v')).to.equal(true);
      expect(proxy.requests).to.equal(3);
    });

    it('retries 429 and waits at least Retry-After when the policy allows that long', async () => {
      await consul.close();
      consul = new Consul({ address: proxy.address, env: {}, retry: { retries: 4, minDelay: 1, maxDelay: 1000, budget: false }, breaker: false });
      proxy.respond({ status: 429, body: 'rate limit exceeded', headers: { 'Retry-After': '0.3' } });
      proxy.respond(ok(KV_FOUND));
      const started = performance.now();
      await consul.kv.get('k');
      expect(performance.now() - started).to.be.at.least(290);
      expect(proxy.requests).to.equal(2);
    });

    it('gives up after `retries` retries with the last error', async () => {
      proxy.respond({ status: 503, body: 'unavailable', count: 10 });
      const err = await caught(consul.kv.get('k'));
      expect(err).to.be.instanceOf(HttpError);
      expect(err.status).to.equal(503);
      expect(proxy.requests).to.equal(5);
    });

    for (const [status, type] of [
      [400, HttpError],
      [403, PermissionDeniedError],
      [404, HttpError],
      [413, TooLargeError],
    ] as const) {
      it(`never retries ${status}`, async () => {
        proxy.respond({ status, body: 'no', count: 5 });
        const err = await caught(consul.session.destroy('abc'));
        expect(err).to.be.instanceOf(type);
        expect(err.status).to.equal(status);
        expect(err.retryable).to.equal(false);
        expect(proxy.requests).to.equal(1);
      });
    }

    it('never retries a 409 transaction conflict and reports each failed op', async () => {
      proxy.respond({
        status: 409,
        body: '{"Results":null,"Errors":[{"OpIndex":1,"What":"failed to set key \\"b\\", index is stale"}]}',
        headers: { 'Content-Type': 'application/json' },
        count: 5,
      });
      const err = await caught(consul.txn.execute([{ verb: 'get', key: 'a' }, { verb: 'cas', key: 'b', index: 3n, value: 'x' }]));
      expect(err).to.be.instanceOf(TxnConflictError);
      expect(err.code).to.equal('KVX_TXN_CONFLICT');
      expect((err as TxnConflictError).errors).to.deep.equal([{ opIndex: 1, what: 'failed to set key "b", index is stale' }]);
      expect(proxy.requests).to.equal(1);
    });
  });

  describe('conditional writes', () => {
    it('does not retry a CAS whose connection broke after sending, and marks the error ambiguous', async () => {
      proxy.resetNext(1);
      proxy.respond(ok('true'));
      const err = await caught(consul.kv.cas('k', 'v', 7n));
      expect(err).to.be.instanceOf(ConnectionError);
      expect(err.ambiguous).to.equal(true);
      expect(proxy.requests).to.equal(1);
    });

    it('does not retry acquire, release or a write transaction after a 500', async () => {
      proxy.respond({ status: 500, body: 'rpc error', count: 10 });
      await caught(consul.kv.acquire('k', 'v', 'sess'));
      await caught(consul.kv.release('k', 'v', 'sess'));
      await caught(consul.txn.execute([{ verb: 'set', key: 'k', value: 'v' }]));
      expect(proxy.requests).to.equal(3);
    });

    it('retries a CAS while the agent refuses connections, since it was never sent', async () => {
      await consul.close();
      consul = new Consul({ address: proxy.address, env: {}, retry: { retries: 40, minDelay: 50, maxDelay: 50, budget: false } });
      await proxy.refuse();
      const pending = consul.kv.cas('k', 'v', 7n);
      await new Promise((r) => setTimeout(r, 100));
      proxy.respond(ok('true'));
      await proxy.pass();
      expect(await pending).to.equal(true);
      expect(proxy.requests).to.equal(1);
    });

    it('retries a conditional write answered with 429, which Consul rejects before applying', async () => {
      proxy.respond({ status: 429, body: 'slow down' });
      proxy.respond(ok('true'));
      expect(await consul.kv.acquire('k', 'v', 'sess')).to.equal(true);
      expect(proxy.requests).to.equal(2);
    });

    it('retries a read-only transaction after a reset', async () => {
      proxy.resetNext(1);
      proxy.respond(ok('{"Results":[{"KV":{"LockIndex":0,"Key":"a","Flags":0,"Value":null,"CreateIndex":2,"ModifyIndex":2}}],"Errors":null}'));
      const r = await consul.txn.execute([{ verb: 'get', key: 'a' }]);
      expect(r.results.map((p) => p.key)).to.deep.equal(['a']);
      expect(proxy.requests).to.equal(2);
    });
  });

  describe('retry budget', () => {
    it('surfaces failures at once when the shared budget is spent', async () => {
      await consul.close();
      consul = new Consul({
        address: proxy.address,
        env: {},
        retry: { retries: 10, minDelay: 1, maxDelay: 1, budget: { ratePerSecond: 0.001, burst: 2 } },
        breaker: false,
      });
      proxy.respond({ status: 500, body: 'No cluster leader', count: 100 });
      await caught(consul.kv.get('a'));
      expect(proxy.requests).to.equal(3);
      await caught(consul.kv.get('b'));
      expect(proxy.requests).to.equal(4);
    });
  });

  describe('Retry-After beyond the policy', () => {
    it('surfaces a 429 asking for longer than maxDelay at once, with the delay it asked for', async () => {
      proxy.respond({ status: 429, body: 'slow down', headers: { 'Retry-After': '3600' }, count: 5 });
      const started = performance.now();
      const err = await caught(consul.kv.get('k'));
      expect(err).to.be.instanceOf(RateLimitedError);
      expect((err as RateLimitedError).retryAfterMs).to.equal(3_600_000);
      expect(proxy.requests).to.equal(1);
      expect(performance.now() - started).to.be.below(2000);
    });

    it('surfaces a 429 asking for longer than the time left of maxRetryTime', async () => {
      await consul.close();
      consul = new Consul({
        address: proxy.address,
        env: {},
        retry: { retries: 4, minDelay: 1, maxDelay: 5000, maxRetryTime: 500, budget: false },
        breaker: false,
      });
      proxy.respond({ status: 429, body: 'slow down', headers: { 'Retry-After': '1' }, count: 5 });
      const err = await caught(consul.kv.get('k'));
      expect((err as RateLimitedError).retryAfterMs).to.equal(1000);
      expect(proxy.requests).to.equal(1);
    });

    it('does not spend the retry budget on a 429 it surfaces', async () => {
      await consul.close();
      consul = new Consul({
        address: proxy.address,
        env: {},
        retry: { retries: 4, minDelay: 1, maxDelay: 10, budget: { ratePerSecond: 0.001, burst: 1 } },
        breaker: false,
      });
      proxy.respond({ status: 429, body: 'slow down', headers: { 'Retry-After': '60' } });
      proxy.respond({ status: 500, body: 'No cluster leader' });
      proxy.respond(ok(KV_FOUND));
      await caught(consul.kv.get('k'));
      expect((await consul.kv.get('k')).value?.value.toString()).to.equal('v');
      expect(proxy.requests).to.equal(3);
    });

    it('waits a Retry-After given as an HTTP-date', async () => {
      await consul.close();
      consul = new Consul({ address: proxy.address, env: {}, retry: { retries: 1, minDelay: 1, maxDelay: 5000, budget: false }, breaker: false });
      // HTTP-dates have whole seconds: two seconds ahead is a wait of more than one.
      proxy.respond({ status: 429, body: 'slow down', headers: { 'Retry-After': new Date(Date.now() + 2000).toUTCString() } });
      proxy.respond(ok(KV_FOUND));
      const started = performance.now();
      await consul.kv.get('k');
      expect(performance.now() - started).to.be.at.least(900);
      expect(proxy.requests).to.equal(2);
    });

    for (const bad of ['-5', '1e3', 'soon', '', '2024-01-01', 'Tue, 99 Foo 2024 99:99:99 GMT']) {
      it(`ignores the malformed Retry-After ${JSON.stringify(bad)}`, async () => {
        await consul.close();
        consul = new Consul({ address: proxy.address, env: {}, retry: false });
        proxy.respond({ status: 429, body: 'slow', headers: { 'Retry-After': bad } });
        const err = await caught(consul.kv.get('k'));
        expect(err).to.be.instanceOf(RateLimitedError);
        expect((err as RateLimitedError).retryAfterMs).to.equal(undefined);
      });
    }
  });

  it('reports a 429 as RateLimitedError with the Retry-After delay when retries are off', async () => {
    await consul.close();
    consul = new Consul({ address: proxy.address, env: {}, retry: false });
    proxy.respond({ status: 429, body: 'slow', headers: { 'Retry-After': '2' } });
    const err = await caught(consul.kv.get('k'));
    expect(err).to.be.instanceOf(RateLimitedError);
    expect((err as RateLimitedError).retryAfterMs).to.equal(2000);
  });

  for (const breaker of [true, false]) {
    it(`ends a request waiting to retry as soon as the client closes, with AbortedError (${breaker ? 'with' : 'without'} breakers)`, async () => {
      await consul.close();
      consul = new Consul({ address: proxy.address, env: {}, retry: { retries: 4, minDelay: 4000, maxDelay: 4000, budget: false }, ...(breaker ? {} : { breaker: false }) });
      for (let i = 0; i < 5; i++) proxy.respond({ status: 500, body: 'No cluster leader' });
      const pending = caught(consul.kv.get('k'));
      await eventually('the first attempt', () => proxy.requests >= 1);
      await new Promise((resolve) => setTimeout(resolve, 50));
      const closedAt = performance.now();
      await consul.close();
      const err = await pending;
      expect(err).to.be.instanceOf(AbortedError);
      expect(err.message).to.match(/client is closed/);
      // The wait it was in was up to 4 s long.
      expect(performance.now() - closedAt).to.be.below(1000);
    });
  }
});
