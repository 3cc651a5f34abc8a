import { expect } from 'chai';
import { InvalidArgumentError, SessionExpiredError, SessionRenewer } from '@kvx/client';
import { eventually } from '../support/eventually.js';
import { abortedWithin, CoordinationFixture, sleep } from './coordination-support.js';

describe('coordination: SessionRenewer', () => {
  const fixture = new CoordinationFixture({ faultProxy: true });

  /** A renewer through the fault proxy, stopped and its session destroyed after the test. */
  async function renewed(...args: Parameters<typeof SessionRenewer.create>): Promise<SessionRenewer> {
    const renewer = await SessionRenewer.create(...args);
    fixture.afterTest(() => renewer.stop({ destroy: true }));
    return renewer;
  }

  async function start(ttl: string, options: { retryInterval?: number } = {}): Promise<SessionRenewer> {
    return renewed(fixture.proxied, { name: 'renewer test', ttl }, options);
  }

  it('creates the session with the given name and TTL', async () => {
    const r = await start('300ms');
    const session = await fixture.agent.raw.session(r.sessionId);
    expect(session?.['Name']).to.equal('renewer test');
    expect(session?.['TTL']).to.equal('300ms');
  });

  it('sends a TTL given in milliseconds as a Go duration', async () => {
    const renewer = await renewed(fixture.proxied, { ttl: 15_000 });
    expect((await fixture.agent.raw.session(renewer.sessionId))?.['TTL']).to.equal('15s');
  });

  it('keeps a short-TTL session alive well past twice its TTL', async () => {
    const r = await start('300ms');
    const renewed: unknown[] = [];
    r.on('renewed', (e) => renewed.push(e));
    const confirmedAtStart = r.lastConfirmed;
    await sleep(1200);
    expect(await fixture.agent.raw.session(r.sessionId)).to.not.equal(undefined);
    expect(renewed.length).to.be.at.least(3);
    expect(r.lastConfirmed).to.be.above(confirmedAtStart);
    expect(r.validUntil).to.equal(r.lastConfirmed + r.ttl);
    expect(r.state).to.equal('running');
  });

  it('survives injected HTTP 500s that last less than the TTL', async () => {
    const r = await start('1s', { retryInterval: 100 });
    const failures: unknown[] = [];
    r.on('renewFailed', (e) => failures.push(e));
    fixture.proxy.respond({ status: 500, body: 'No cluster leader', count: 3, pathPrefix: '/v1/session/renew/' });
    await eventually('three failed renewals', () => failures.length === 3, 3000);
    await new Promise((resolve) => r.once('renewed', resolve));
    expect(r.state).to.equal('running');
    expect(r.signal.aborted).to.equal(false);
    expect(await fixture.agent.raw.session(r.sessionId)).to.not.equal(undefined);
  });

  it('reports the session expired at once when Consul answers 404 (session destroyed)', async () => {
    const r = await start('400ms');
    const lost: SessionExpiredError[] = [];
    r.on('lost', (e) => lost.push(e));
    await fixture.agent.raw.destroySession(r.sessionId);
    const reason = (await abortedWithin(r.signal, 1000)) as SessionExpiredError;
    expect(reason).to.be.instanceOf(SessionExpiredError);
    expect(reason.expiry).to.equal('not-found');
    expect(reason.code).to.equal('KVX_SESSION_EXPIRED');
    expect(lost).to.deep.equal([reason]);
    expect(r.state).to.equal('lost');
  });

  it('gives up once renewals have failed for longer than the TTL', async () => {
    const r = await start('400ms', { retryInterval: 50 });
    fixture.proxy.respond({ status: 500, body: 'No cluster leader', count: 1000, pathPrefix: '/v1/session/renew/' });
    const reason = (await abortedWithin(r.signal, 2000)) as SessionExpiredError;
    expect(reason.expiry).to.equal('renew-timeout');
    expect(performance.now()).to.be.at.least(r.lastConfirmed + r.ttl);
  });

  it('bounds a hanging renewal by the time left, and reports the loss on time', async () => {
    const r = await start('400ms');
    fixture.proxy.blackhole();
    const reason = (await abortedWithin(r.signal, 1500)) as SessionExpiredError;
    expect(reason.expiry).to.equal('renew-timeout');
    await fixture.proxy.pass();
  });

  it('adopts the TTL Consul returns with a renewal', async () => {
    const r = await start('400ms');
    const entry = { ID: r.sessionId, Name: 'renewer test', Node: 'n', LockDelay: 15_000_000_000, Behavior: 'release', TTL: '2s', NodeChecks: [], ServiceChecks: null, CreateIndex: 1, ModifyIndex: 1 };
    fixture.proxy.respond({
      status: 200,
      body: JSON.stringify([entry]),
      headers: { 'Content-Type': 'application/json' },
      pathPrefix: '/v1/session/renew/',
    });
    await new Promise((resolve) => r.once('renewed', resolve));
    expect(r.ttl).to.equal(2000);
  });

  it('stop({ destroy: true }) destroys the session; stop() alone leaves it', async () => {
    const kept = await start('15s');
    await kept.stop();
    expect(kept.state).to.equal('stopped');
    expect(await fixture.agent.raw.session(kept.sessionId)).to.not.equal(undefined);
    await kept.stop({ destroy: true });
    expect(await fixture.agent.raw.session(kept.sessionId)).to.equal(undefined);
  });

  it('validates its options eagerly', () => {
    expect(() => new SessionRenewer(fixture.proxied, '', { ttl: '1s' })).to.throw(InvalidArgumentError);
    expect(() => new SessionRenewer(fixture.proxied, 'id', { ttl: 'soon' })).to.throw(InvalidArgumentError, 'time: invalid duration "soon"');
    expect(() => new SessionRenewer(fixture.proxied, 'id', { ttl: 0 })).to.throw(InvalidArgumentError, 'ttl must be positive');
  });
});
