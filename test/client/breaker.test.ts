import { expect } from 'chai';
import { CircuitOpenError, Consul, opossumBreakerFactory, type BreakerKind } from '@kvx/client';
import { startFaultProxy, type FaultProxy } from '../support/fault-proxy.js';
import { caught } from './helpers.js';


const LEADER = { status: 200, body: '"127.0.0.1:8300"', headers: { 'Content-Type': 'application/json' } };

describe('client: circuit breaker', () => {
  let proxy: FaultProxy;
  let consul: Consul;

  beforeEach(async () => {
    proxy = await startFaultProxy('http://127.0.0.1:9');
    consul = new Consul({
      address: proxy.address,
      env: {},
      retry: false,
      breaker: { volumeThreshold: 4, errorThresholdPercentage: 50, resetTimeout: 150 },
    });
  });
  afterEach(async () => {
    await consul.close();
    await proxy.close();
  });

  it('stays closed after a single early failure', async () => {
    proxy.respond({ status: 500, body: 'No cluster leader' });
    proxy.respond({ ...LEADER, count: 3 });
    await caught(consul.status.leader());
    for (let i = 0; i < 3; i++) await consul.status.leader();
    expect(consul.breakerStates.request).to.equal('closed');
  });

  it('opens after repeated 5xx and then fails fast without sending', async () => {
    proxy.respond({ status: 500, body: 'No cluster leader', count: 4 });
    for (let i = 0; i < 4; i++) await caught(consul.status.leader());
    expect(consul.breakerStates.request).to.equal('open');
    const err = await caught(consul.status.leader());
    expect(err).to.be.instanceOf(CircuitOpenError);
    expect(err.code).to.equal('KVX_CIRCUIT_OPEN');
    expect(proxy.requests).to.equal(4);
  });

  it('opens on connection failures too', async () => {
    await proxy.refuse();
    for (let i = 0; i < 4; i++) await caught(consul.status.leader());
    expect(await caught(consul.status.leader())).to.be.instanceOf(CircuitOpenError);
  });

  it('lets one probe through after resetTimeout and closes when it succeeds', async () => {
    proxy.respond({ status: 500, body: 'No cluster leader', count: 4 });
    for (let i = 0; i < 4; i++) await caught(consul.status.leader());
    await new Promise((r) => setTimeout(r, 200));
    expect(consul.breakerStates.request).to.equal('halfOpen');
    proxy.respond(LEADER);
    expect(await consul.status.leader()).to.equal('127.0.0.1:8300');
    expect(consul.breakerStates.request).to.equal('closed');
  });

  it('re-opens when the half-open probe fails', async () => {
    proxy.respond({ status: 500, body: 'No cluster leader', count: 5 });
    for (let i = 0; i < 4; i++) await caught(consul.status.leader());
    await new Promise((r) => setTimeout(r, 200));
    await caught(consul.status.leader());
    expect(consul.breakerStates.request).to.equal('open');
  });

  it('does not count 4xx replies as failures', async () => {
    proxy.respond({ status: 403, body: 'Permission denied', count: 10 });
    for (let i = 0; i < 10; i++) await caught(consul.session.destroy('s'));
    expect(consul.breakerStates.request).to.equal('closed');
    expect(proxy.requests).to.equal(10);
  });

  it('keeps failing long polls out of the ordinary requests breaker', async () => {
    proxy.respond({ status: 500, body: 'No cluster leader', count: 6, pathPrefix: '/v1/kv/' });
    for (let i = 0; i < 6; i++) await caught(consul.kv.get('k', { index: 5n, wait: 1000 }));
    expect(consul.breakerStates.longPoll).to.equal('open');
    expect(consul.breakerStates.request).to.equal('closed');
    proxy.respond(LEADER);
    expect(await consul.status.leader()).to.equal('127.0.0.1:8300');
  });

  it('builds its breakers through an injected factory, per address and request kind', async () => {
    const calls: [string, BreakerKind][] = [];
    const c = new Consul({
      address: proxy.address,
      env: {},
      breakerFactory: (address, kind, policy) => {
        calls.push([address, kind]);
        return kind === 'request' ? opossumBreakerFactory(address, kind, policy) : undefined;
      },
    });
    await c.close();
    expect(calls).to.deep.equal([
      [`http://${proxy.address}`, 'request'],
      [`http://${proxy.address}`, 'longPoll'],
    ]);
    expect(c.breakerStates.longPoll).to.equal(undefined);
  });
});
