import { expect } from 'chai';
import { HttpError, Lock, LockLostError, PermissionDeniedError, SessionExpiredError, type LockHandle } from '@kvx/client';
import { eventually } from '../support/eventually.js';
import { abortedWithin, caught, CoordinationFixture, sleep, uniqueKey } from './coordination-support.js';

describe('coordination: Lock monitoring under faults', () => {
  const fixture = new CoordinationFixture({ faultProxy: true });
  let lock: Lock | undefined;

  async function holdWithRetries(key: string, retries: number): Promise<{ handle: LockHandle; retried: unknown[] }> {
    lock = fixture.releaseAfterTest(new Lock(fixture.proxied, { key, monitorRetries: retries, monitorRetryTime: 100, lockWaitTime: 300 }));
    const retried: unknown[] = [];
    lock.on('monitorRetry', (err) => retried.push(err));
    const handle = await lock.acquire();
    if (handle === undefined) throw new Error('lock was not acquired');
    return { handle, retried };
  }

  /** Makes the monitor's blocking read return, so that its next read meets the scripted faults. */
  async function wakeMonitor(key: string): Promise<void> {
    const entry = await fixture.agent.raw.get(key);
    await fixture.agent.raw.put(key, `touched ${Date.now()}`, `flags=${entry?.flags ?? '0'}`);
  }

  it('keeps the lock across two injected HTTP 500s with monitorRetries 3', async () => {
    const key = uniqueKey('monitor-keep');
    const { handle, retried } = await holdWithRetries(key, 3);
    fixture.proxy.respond({ status: 500, body: 'No cluster leader', count: 2, pathPrefix: `/v1/kv/${key}` });
    await wakeMonitor(key);
    await eventually('two monitor retries', () => retried.length === 2);
    await sleep(400);
    expect(handle.signal.aborted).to.equal(false);
    expect(lock?.isHeld).to.equal(true);
    expect(retried.every((e) => e instanceof HttpError && e.status === 500)).to.equal(true);
  });

  it('loses the lock after ten injected HTTP 500s, within (retries + 2) × retry time + 1 s', async () => {
    const key = uniqueKey('monitor-lose');
    const { handle, retried } = await holdWithRetries(key, 3);
    fixture.proxy.respond({ status: 500, body: 'No cluster leader', count: 10, pathPrefix: `/v1/kv/${key}` });
    await wakeMonitor(key);
    const reason = await abortedWithin(handle.signal, 5 * 100 + 1000);
    expect(reason).to.be.instanceOf(LockLostError);
    expect((reason as LockLostError).reason).to.equal('monitor-failed');
    expect((reason as LockLostError).cause).to.be.instanceOf(HttpError);
    expect(retried).to.have.length(3);
    await eventually('owned session destroyed', async () => (await fixture.agent.raw.session(handle.session)) === undefined);
  });

  it('loses the lock at once on a non-retryable error (403), whatever the retry budget', async () => {
    const key = uniqueKey('monitor-403');
    const { handle, retried } = await holdWithRetries(key, 3);
    fixture.proxy.respond({ status: 403, body: 'Permission denied', count: 1, pathPrefix: `/v1/kv/${key}` });
    await wakeMonitor(key);
    const reason = (await abortedWithin(handle.signal, 1000)) as LockLostError;
    expect(reason.cause).to.be.instanceOf(PermissionDeniedError);
    expect(retried).to.have.length(0);
  });

  it('rides out connection resets on the monitor like 500s', async () => {
    const key = uniqueKey('monitor-reset');
    const { handle, retried } = await holdWithRetries(key, 3);
    fixture.proxy.resetNext(2, `/v1/kv/${key}`);
    await wakeMonitor(key);
    await eventually('two monitor retries', () => retried.length === 2);
    await sleep(300);
    expect(handle.signal.aborted).to.equal(false);
  });

  it('loses the lock when its session renewer learns the session is gone (404 on renew)', async () => {
    const key = uniqueKey('renewer-lost');
    lock = fixture.releaseAfterTest(new Lock(fixture.proxied, { key, sessionTtl: '400ms', lockWaitTime: 300 }));
    const handle = await lock.acquire();
    if (handle === undefined) throw new Error('lock was not acquired');
    fixture.proxy.respond({ status: 404, body: 'Session id not found', count: 1, pathPrefix: '/v1/session/renew/' });
    const reason = (await abortedWithin(handle.signal, 1500)) as LockLostError;
    expect(reason.reason).to.equal('session-expired');
    expect(lock.isHeld).to.equal(false);
    await eventually('session destroyed by the loss cleanup', async () => (await fixture.agent.raw.session(handle.session)) === undefined);
  });

  it('fails a pending acquisition with SessionExpiredError when its session is lost while waiting', async () => {
    const key = uniqueKey('waiting-session-lost');
    const holder = new Lock(fixture.agent.client(), { key });
    await holder.acquire();
    try {
      lock = fixture.releaseAfterTest(new Lock(fixture.proxied, { key, sessionTtl: '400ms', lockWaitTime: 5000 }));
      const pending = caught(lock.acquire());
      fixture.proxy.respond({ status: 404, body: 'Session id not found', count: 1, pathPrefix: '/v1/session/renew/' });
      const err = await pending;
      expect(err).to.be.instanceOf(SessionExpiredError);
      expect(lock.isHeld).to.equal(false);
    } finally {
      await holder.release();
    }
  });

  it('keeps the lock with a short TTL while the session renewer renews it', async () => {
    const key = uniqueKey('renewed');
    lock = fixture.releaseAfterTest(new Lock(fixture.proxied, { key, sessionTtl: '300ms', lockWaitTime: 300 }));
    const handle = await lock.acquire();
    if (handle === undefined) throw new Error('lock was not acquired');
    await sleep(1200);
    expect(handle.signal.aborted).to.equal(false);
    expect((await fixture.agent.raw.get(key))?.session).to.equal(handle.session);
    expect(lock.sessionRenewer?.state).to.equal('running');
  });
});
