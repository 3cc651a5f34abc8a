import { expect } from 'chai';
import {
  InvalidArgumentError,
  Lock,
  LockConflictError,
  LockHeldError,
  LockInUseError,
  LockLostError,
  LockNotHeldError,
  LockReleasedError,
  type Consul,
  type LockHandle,
} from '@kvx/client';
import {
  abortedWithin,
  caught,
  CoordinationFixture,
  mustAcquire,
  LOCK_FLAGS_TEXT,
  SEMAPHORE_FLAGS_TEXT,
  sleep,
  timed,
  uniqueKey,
} from './coordination-support.js';
import { eventually } from '../support/eventually.js';
import { startFaultProxy } from '../support/fault-proxy.js';

describe('coordination: Lock', () => {
  const fixture = new CoordinationFixture();

  /** A lock whose holding is released after the test if it is still held. */
  function lock(options: ConstructorParameters<typeof Lock>[1], client: Consul = fixture.consul): Lock {
    return fixture.releaseAfterTest(new Lock(client, { lockWaitTime: 300, lockRetryTime: 50, ...options }));
  }

  it('rejects release before acquire with LockNotHeldError', async () => {
    const err = await caught(lock({ key: uniqueKey('lock') }).release());
    expect(err).to.be.instanceOf(LockNotHeldError);
    expect(err.message).to.equal('Lock not held');
    expect(err.code).to.equal('KVX_LOCK_NOT_HELD');
  });

  it('acquires, and a second acquire on the same object fails with LockHeldError', async () => {
    const l = lock({ key: uniqueKey('lock') });
    const handle = await mustAcquire(l);
    expect(handle.signal.aborted).to.equal(false);
    expect(l.isHeld).to.equal(true);
    const err = await caught(l.acquire());
    expect(err).to.be.instanceOf(LockHeldError);
    expect(err.message).to.equal('Lock already held');
  });

  it('writes the key as Consul Go does: lock flags, value, holder session', async () => {
    const key = uniqueKey('layout');
    const handle = await mustAcquire(lock({ key, value: 'payload' }));
    const entry = await fixture.agent.raw.get(key);
    expect(entry?.flags).to.equal(LOCK_FLAGS_TEXT);
    expect(entry?.session).to.equal(handle.session);
    expect(entry?.value.toString()).to.equal('payload');
  });

  it('creates its session with Go defaults: name "Consul API Lock", TTL "15s", behavior release', async () => {
    const handle = await mustAcquire(lock({ key: uniqueKey('session') }));
    const session = await fixture.agent.raw.session(handle.session);
    expect(session?.['Name']).to.equal('Consul API Lock');
    expect(session?.['TTL']).to.equal('15s');
    expect(session?.['Behavior']).to.equal('release');
    expect(session?.['NodeChecks']).to.deep.equal(['serfHealth']);
  });

  it('sends acquire with flags=3304740253564472344 exactly', async () => {
    const proxy = await startFaultProxy(fixture.agent.url);
    try {
      await mustAcquire(lock({ key: uniqueKey('flags') }, fixture.agent.client({ address: proxy.address })));
      const acquires = proxy.log.map((r) => r.url).filter((u) => u.includes('acquire='));
      expect(acquires).to.have.length(1);
      expect(acquires[0]).to.match(/[?&]flags=3304740253564472344(&|$)/);
    } finally {
      await proxy.close();
    }
  });

  it('aborts its signal with LockReleasedError on release; a second release fails', async () => {
    const l = lock({ key: uniqueKey('release') });
    const events: string[] = [];
    l.on('acquired', () => events.push('acquired'));
    l.on('released', () => events.push('released'));
    const handle = await mustAcquire(l);
    await l.release();
    expect(events).to.deep.equal(['acquired', 'released']);
    expect(handle.signal.aborted).to.equal(true);
    expect(handle.signal.reason).to.be.instanceOf(LockReleasedError);
    expect(l.isHeld).to.equal(false);
    expect(await caught(l.release())).to.be.instanceOf(LockNotHeldError);
  });

  it('leaves no listener on the session renewer once the lock is released', async () => {
    const primitive = lock({ key: uniqueKey('lock') });
    for (let cycle = 0; cycle < 3; cycle++) {
      await mustAcquire(primitive);
      const renewer = primitive.sessionRenewer;
      expect(renewer?.listenerCount('lost'), `cycle ${cycle}`).to.equal(1);
      await primitive.release();
      expect(renewer?.listenerCount('lost'), `cycle ${cycle}`).to.equal(0);
    }
  });

  it('release clears the session, keeps value and flags, and destroys the owned session', async () => {
    const key = uniqueKey('release-layout');
    const l = lock({ key, value: 'kept' });
    const handle = await mustAcquire(l);
    await handle.release();
    const entry = await fixture.agent.raw.get(key);
    expect(entry?.session).to.equal(undefined);
    expect(entry?.flags).to.equal(LOCK_FLAGS_TEXT);
    expect(entry?.value.toString()).to.equal('kept');
    expect(await fixture.agent.raw.session(handle.session)).to.equal(undefined);
  });

  it('loses the lock within 1 s when its session is destroyed from outside, and can acquire again', async () => {
    const l = lock({ key: uniqueKey('lost-session'), lockDelay: 0 });
    const handle = await mustAcquire(l);
    const events: LockLostError[] = [];
    l.on('lost', (e) => events.push(e));
    await fixture.agent.raw.destroySession(handle.session);
    const reason = await abortedWithin(handle.signal, 1000);
    expect(reason).to.be.instanceOf(LockLostError);
    expect((reason as LockLostError).reason).to.equal('key-released');
    expect(events).to.deep.equal([reason]);
    expect(l.isHeld).to.equal(false);
    const again = await mustAcquire(l);
    expect(again.session).to.not.equal(handle.session);
  });

  it('a release after loss resolves, and the next release fails with LockNotHeldError', async () => {
    const l = lock({ key: uniqueKey('lost-release'), lockDelay: 0 });
    const handle = await mustAcquire(l);
    await fixture.agent.raw.destroySession(handle.session);
    await abortedWithin(handle.signal, 1000);
    await l.release();
    expect(await caught(l.release())).to.be.instanceOf(LockNotHeldError);
  });

  it('loses the lock when the key is deleted, ten times in a row on the same key', async () => {
    const key = uniqueKey('lost-delete');
    const l = lock({ key });
    for (let i = 0; i < 10; i++) {
      const handle = await mustAcquire(l);
      await fixture.agent.raw.delete(key);
      const reason = await abortedWithin(handle.signal, 2000);
      expect((reason as LockLostError).reason).to.equal('key-deleted');
      await eventually('owned session destroyed', async () => (await fixture.agent.raw.session(handle.session)) === undefined);
    }
  });

  it('lets three contenders hold the lock one after another, never two at once', async () => {
    const key = uniqueKey('contenders');
    let holders = 0;
    let maxHolders = 0;
    let done = 0;
    await Promise.all(
      [0, 1, 2].map(async () => {
        const handle = await mustAcquire(lock({ key }));
        holders++;
        maxHolders = Math.max(maxHolders, holders);
        await sleep(100);
        holders--;
        done++;
        await handle.release();
      }),
    );
    expect(done).to.equal(3);
    expect(maxHolders).to.equal(1);
  });

  it('destroy: refuses while held or in use, succeeds after release and on a missing key', async () => {
    const key = uniqueKey('destroy');
    const mine = lock({ key });
    const other = lock({ key });
    await mustAcquire(mine);
    expect(await caught(mine.destroy())).to.be.instanceOf(LockHeldError);
    const inUse = await caught(other.destroy());
    expect(inUse).to.be.instanceOf(LockInUseError);
    expect(inUse.message).to.equal('Lock in use');
    await mine.release();
    await mine.destroy();
    expect(await fixture.agent.raw.get(key)).to.equal(undefined);
    await other.destroy();
  });

  it('refuses to acquire or destroy a key carrying the semaphore flags (LockConflictError)', async () => {
    const key = uniqueKey('conflict');
    await fixture.agent.raw.put(key, '{"Limit":2,"Holders":{}}', `flags=${SEMAPHORE_FLAGS_TEXT}`);
    const l = lock({ key });
    const err = await caught(l.acquire());
    expect(err).to.be.instanceOf(LockConflictError);
    expect(err.message).to.equal('Existing key does not match lock use');
    expect(await caught(l.destroy())).to.be.instanceOf(LockConflictError);
    expect(l.isHeld).to.equal(false);
  });

  it('a second lock object with the same session reclaims at once without a new acquire', async () => {
    const key = uniqueKey('reclaim');
    const session = await fixture.agent.raw.createSession({ Name: 'shared', TTL: '15s' });
    const proxy = await startFaultProxy(fixture.agent.url);
    try {
      const first = await mustAcquire(lock({ key, session }));
      const second = lock({ key, session }, fixture.agent.client({ address: proxy.address }));
      const handle = await mustAcquire(second);
      expect(proxy.log.filter((r) => r.url.includes('acquire='))).to.have.length(0);
      expect(handle.session).to.equal(session);
      await second.release();
      await abortedWithin(first.signal, 1000);
      expect(await fixture.agent.raw.session(session), 'a caller-supplied session is not destroyed').to.not.equal(undefined);
    } finally {
      await proxy.close();
      await fixture.agent.raw.destroySession(session);
    }
  });

  it('gives a fencing token: the LockIndex and ModifyIndex after acquisition, greater for the next holder', async () => {
    const key = uniqueKey('fencing');
    const l = lock({ key });
    const first = await mustAcquire(l);
    const entry = await fixture.agent.raw.get(key);
    expect(first.lockIndex.toString()).to.equal(entry?.lockIndex);
    expect(first.modifyIndex.toString()).to.equal(entry?.modifyIndex);
    expect(first.fencingToken).to.equal(first.modifyIndex);
    await first.release();
    const second = await mustAcquire(l);
    expect(second.lockIndex).to.equal(first.lockIndex + 1n);
    expect(second.fencingToken > first.fencingToken).to.equal(true);
  });

  describe('one-shot mode', () => {
    it('returns undefined after between lockWaitTime and twice that when the key stays held', async () => {
      const key = uniqueKey('try-once');
      await mustAcquire(lock({ key }));
      const waiter = lock({ key, lockTryOnce: true, lockWaitTime: 300 });
      const { value, ms } = await timed(() => waiter.acquire());
      expect(value).to.equal(undefined);
      expect(ms).to.be.at.least(290);
      expect(ms).to.be.below(600 + 300);
    });

    it('acquires once the holder has released', async () => {
      const key = uniqueKey('try-once-release');
      const holder = lock({ key });
      await mustAcquire(holder);
      const waiter = lock({ key, lockTryOnce: true, lockWaitTime: 300 });
      expect(await waiter.acquire()).to.equal(undefined);
      await holder.release();
      expect(await waiter.acquire()).to.not.equal(undefined);
    });
  });

  describe('lock-delay', () => {
    it('is honoured after the holder session is invalidated', async () => {
      const key = uniqueKey('lock-delay');
      const holder = await mustAcquire(lock({ key, lockDelay: 500 }));
      const session = await fixture.agent.raw.session(holder.session);
      expect(session?.['LockDelay']).to.equal(500_000_000);
      const waiter = lock({ key, lockRetryTime: 50 });
      await fixture.agent.raw.destroySession(holder.session);
      const { value, ms } = await timed(() => waiter.acquire());
      expect(value).to.not.equal(undefined);
      expect(ms).to.be.at.least(400);
    });

    it('is not applied after a normal release', async () => {
      const key = uniqueKey('no-lock-delay');
      const holder = lock({ key, lockDelay: 3000 });
      await mustAcquire(holder);
      const waiter = lock({ key, lockRetryTime: 50 });
      const pending = timed(() => waiter.acquire());
      await sleep(100);
      await holder.release();
      const { value, ms } = await pending;
      expect(value).to.not.equal(undefined);
      expect(ms).to.be.below(2000);
    });
  });

  describe('cancellation', () => {
    it('aborting a pending acquire resolves undefined promptly and destroys the created session', async () => {
      const key = uniqueKey('abort');
      await mustAcquire(lock({ key }));
      const before = await fixture.agent.raw.sessionIds();
      const waiter = lock({ key, lockWaitTime: 15_000 });
      const ac = new AbortController();
      const pending = timed(() => waiter.acquire({ signal: ac.signal }));
      await sleep(150);
      ac.abort();
      const { value, ms } = await pending;
      expect(value).to.equal(undefined);
      expect(ms).to.be.below(1000);
      expect(waiter.isHeld).to.equal(false);
      expect(await fixture.agent.raw.sessionIds()).to.have.members(before);
    });

    it('an already aborted signal returns undefined without creating a session', async () => {
      const before = await fixture.agent.raw.sessionIds();
      expect(await lock({ key: uniqueKey('pre-aborted') }).acquire({ signal: AbortSignal.abort() })).to.equal(undefined);
      expect(await fixture.agent.raw.sessionIds()).to.have.members(before);
    });
  });

  describe('interop with keys written like Consul Go / consul lock', () => {
    async function goHolder(key: string, value = ''): Promise<string> {
      const session = await fixture.agent.raw.createSession({ Name: 'Consul API Lock', TTL: '15s' });
      expect(await fixture.agent.raw.put(key, value, `acquire=${session}&flags=${LOCK_FLAGS_TEXT}`)).to.equal(true);
      return session;
    }

    it('blocks while a Go-style holder has the key, then acquires once it releases', async () => {
      const key = uniqueKey('interop');
      const session = await goHolder(key, 'go');
      const l = lock({ key });
      let handle: LockHandle | undefined;
      const pending = l.acquire().then((h) => (handle = h));
      await sleep(400);
      expect(handle).to.equal(undefined);
      expect(await fixture.agent.raw.put(key, 'go', `release=${session}&flags=${LOCK_FLAGS_TEXT}`)).to.equal(true);
      await pending;
      expect(handle).to.not.equal(undefined);
      expect((await fixture.agent.raw.get(key))?.session).to.equal(handle?.session);
      await fixture.agent.raw.destroySession(session);
    });

    it('a Go-style contender cannot acquire while kvx holds the key', async () => {
      const key = uniqueKey('interop-reverse');
      await mustAcquire(lock({ key }));
      const session = await fixture.agent.raw.createSession({ Name: 'Consul API Lock', TTL: '15s' });
      expect(await fixture.agent.raw.put(key, '', `acquire=${session}&flags=${LOCK_FLAGS_TEXT}`)).to.equal(false);
      await fixture.agent.raw.destroySession(session);
    });
  });

  describe('options', () => {
    it('rejects a missing key', () => {
      expect(() => new Lock(fixture.consul, {} as never)).to.throw(InvalidArgumentError, 'missing key');
      expect(() => new Lock(fixture.consul, { key: '/' })).to.throw(InvalidArgumentError, 'missing key');
    });

    it('rejects a malformed session TTL with Go’s wording', () => {
      expect(() => new Lock(fixture.consul, { key: 'k', sessionTtl: '15 seconds' })).to.throw(
        InvalidArgumentError,
        'invalid sessionTtl: time: unknown unit " seconds" in duration "15 seconds"',
      );
    });

    it('rejects negative monitor retries and non-positive waits', () => {
      expect(() => new Lock(fixture.consul, { key: 'k', monitorRetries: -1 })).to.throw(InvalidArgumentError, 'monitorRetries');
      expect(() => new Lock(fixture.consul, { key: 'k', lockWaitTime: 0 })).to.throw(InvalidArgumentError, 'lockWaitTime');
    });

    it('path-joins the key like Go (duplicate and trailing slashes collapse, leading slash dropped)', () => {
      expect(new Lock(fixture.consul, { key: '/svc//web/.lock/' }).key).to.equal('svc/web/.lock');
    });
  });
});
