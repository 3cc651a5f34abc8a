import { expect } from 'chai';
import {
  InvalidArgumentError,
  Lock,
  Semaphore,
  SemaphoreConflictError,
  SemaphoreHeldError,
  SemaphoreInUseError,
  SemaphoreLimitConflictError,
  SemaphoreLostError,
  SemaphoreNotHeldError,
  SemaphoreReleasedError,
  type SemaphoreHandle,
} from '@kvx/client';
import {
  abortedWithin,
  caught,
  CoordinationFixture,
  mustAcquire,
  SEMAPHORE_FLAGS_TEXT,
  sleep,
  timed,
  uniqueKey,
} from './coordination-support.js';

describe('coordination: Semaphore', () => {
  const fixture = new CoordinationFixture();

  function semaphore(options: ConstructorParameters<typeof Semaphore>[1]): Semaphore {
    return fixture.releaseAfterTest(new Semaphore(fixture.consul, { semaphoreWaitTime: 300, ...options }));
  }

  it('rejects release before acquire, a second acquire, and a second release', async () => {
    const s = semaphore({ prefix: uniqueKey('sem'), limit: 2 });
    const notHeld = await caught(s.release());
    expect(notHeld).to.be.instanceOf(SemaphoreNotHeldError);
    expect(notHeld.message).to.equal('Semaphore not held');
    const handle = await mustAcquire(s);
    const held = await caught(s.acquire());
    expect(held).to.be.instanceOf(SemaphoreHeldError);
    expect(held.message).to.equal('Semaphore already held');
    await s.release();
    expect(handle.signal.reason).to.be.instanceOf(SemaphoreReleasedError);
    expect(await caught(s.release())).to.be.instanceOf(SemaphoreNotHeldError);
  });

  it('lays out the keys byte for byte as Consul Go does', async () => {
    const prefix = uniqueKey('layout');
    const a = await mustAcquire(semaphore({ prefix, limit: 2, value: 'a' }));
    const b = await mustAcquire(semaphore({ prefix, limit: 2, value: 'b' }));
    const lock = await fixture.agent.raw.get(`${prefix}/.lock`);
    expect(lock?.flags).to.equal(SEMAPHORE_FLAGS_TEXT);
    expect(lock?.session).to.equal(undefined);
    const [first, second] = [a.session, b.session].sort();
    expect(lock?.value.toString()).to.equal(`{"Limit":2,"Holders":{"${first}":true,"${second}":true}}`);
    for (const h of [a, b]) {
      const contender = await fixture.agent.raw.get(`${prefix}/${h.session}`);
      expect(h.contenderKey).to.equal(`${prefix}/${h.session}`);
      expect(contender?.flags).to.equal(SEMAPHORE_FLAGS_TEXT);
      expect(contender?.session).to.equal(h.session);
    }
    expect((await fixture.agent.raw.get(`${prefix}/${a.session}`))?.value.toString()).to.equal('a');
  });

  it('creates its session with Go defaults: name "Consul API Semaphore", TTL "15s", behavior delete', async () => {
    const handle = await mustAcquire(semaphore({ prefix: uniqueKey('session'), limit: 1 }));
    const session = await fixture.agent.raw.session(handle.session);
    expect(session?.['Name']).to.equal('Consul API Semaphore');
    expect(session?.['TTL']).to.equal('15s');
    expect(session?.['Behavior']).to.equal('delete');
  });

  it('leaves no listener on the session renewer once the slot is released', async () => {
    const primitive = semaphore({ prefix: uniqueKey('sem'), limit: 2 });
    for (let cycle = 0; cycle < 3; cycle++) {
      await mustAcquire(primitive);
      const renewer = primitive.sessionRenewer;
      expect(renewer?.listenerCount('lost'), `cycle ${cycle}`).to.equal(1);
      await primitive.release();
      expect(renewer?.listenerCount('lost'), `cycle ${cycle}`).to.equal(0);
    }
  });

  it('release removes the holder, deletes the contender key and leaves {} behind', async () => {
    const prefix = uniqueKey('release');
    const s = semaphore({ prefix, limit: 2 });
    const handle = await mustAcquire(s);
    await s.release();
    expect((await fixture.agent.raw.get(`${prefix}/.lock`))?.value.toString()).to.equal('{"Limit":2,"Holders":{}}');
    expect(await fixture.agent.raw.get(handle.contenderKey)).to.equal(undefined);
    expect(await fixture.agent.raw.session(handle.session)).to.equal(undefined);
  });

  it('loses the slot within 1 s when its session is destroyed from outside', async () => {
    const s = semaphore({ prefix: uniqueKey('lost-session'), limit: 2 });
    const handle = await mustAcquire(s);
    await fixture.agent.raw.destroySession(handle.session);
    const reason = (await abortedWithin(handle.signal, 1000)) as SemaphoreLostError;
    expect(reason).to.be.instanceOf(SemaphoreLostError);
    expect(reason.reason).to.equal('holder-removed');
    expect(s.isHeld).to.equal(false);
    expect(await s.acquire()).to.not.equal(undefined);
  });

  it('loses the slot within 1 s when the prefix is deleted recursively', async () => {
    const prefix = uniqueKey('lost-prefix');
    const handle = await mustAcquire(semaphore({ prefix, limit: 2 }));
    await fixture.agent.raw.request('DELETE', `/v1/kv/${prefix}?recurse`);
    const reason = (await abortedWithin(handle.signal, 1000)) as SemaphoreLostError;
    expect(reason.reason).to.equal('key-deleted');
  });

  it('lets four contenders through a limit of 2, never more than two at once', async () => {
    const prefix = uniqueKey('four');
    let holders = 0;
    let maxHolders = 0;
    let done = 0;
    await Promise.all(
      [0, 1, 2, 3].map(async () => {
        const handle = await mustAcquire(semaphore({ prefix, limit: 2 }));
        holders++;
        maxHolders = Math.max(maxHolders, holders);
        await sleep(150);
        holders--;
        done++;
        await handle.release();
      }),
    );
    expect(done).to.equal(4);
    expect(maxHolders).to.equal(2);
  });

  it('one-shot: a third contender on a full limit of 2 gives up after the wait, then gets a freed slot', async () => {
    const prefix = uniqueKey('one-shot');
    const first = semaphore({ prefix, limit: 2 });
    await mustAcquire(first);
    await mustAcquire(semaphore({ prefix, limit: 2 }));
    const third = semaphore({ prefix, limit: 2, semaphoreTryOnce: true, semaphoreWaitTime: 300 });
    const { value, ms } = await timed(() => third.acquire());
    expect(value).to.equal(undefined);
    expect(ms).to.be.at.least(290);
    await first.release();
    expect(await third.acquire()).to.not.equal(undefined);
  });

  it('reports a limit conflict with Go’s exact message', async () => {
    const prefix = uniqueKey('limit');
    await mustAcquire(semaphore({ prefix, limit: 1 }));
    const err = await caught(semaphore({ prefix, limit: 2 }).acquire());
    expect(err).to.be.instanceOf(SemaphoreLimitConflictError);
    expect(err.message).to.equal('semaphore limit conflict (lock: 1, local: 2)');
    expect(err.code).to.equal('KVX_SEMAPHORE_LIMIT_CONFLICT');
  });

  it('rejects a non-positive limit and a missing prefix', () => {
    expect(() => new Semaphore(fixture.consul, { prefix: 'p', limit: 0 })).to.throw(InvalidArgumentError, 'semaphore limit must be positive');
    expect(() => new Semaphore(fixture.consul, { prefix: '', limit: 1 })).to.throw(InvalidArgumentError, 'missing prefix');
  });

  it('conflicts with a mutex at <prefix>/.lock on acquire and destroy', async () => {
    const prefix = uniqueKey('mutex');
    const mutex = fixture.releaseAfterTest(new Lock(fixture.consul, { key: `${prefix}/.lock` }));
    await mutex.acquire();
    const s = semaphore({ prefix, limit: 2 });
    const err = await caught(s.acquire());
    expect(err).to.be.instanceOf(SemaphoreConflictError);
    expect(err.message).to.equal('Existing key does not match semaphore use');
    expect(await caught(s.destroy())).to.be.instanceOf(SemaphoreConflictError);
  });

  it('destroy: refuses while held or in use, succeeds once all released, and again after that', async () => {
    const prefix = uniqueKey('destroy');
    const mine = semaphore({ prefix, limit: 2 });
    const other = semaphore({ prefix, limit: 2 });
    await mustAcquire(mine);
    await mustAcquire(other);
    expect(await caught(mine.destroy())).to.be.instanceOf(SemaphoreHeldError);
    await mine.release();
    const inUse = await caught(mine.destroy());
    expect(inUse).to.be.instanceOf(SemaphoreInUseError);
    expect(inUse.message).to.equal('Semaphore in use');
    await other.release();
    await mine.destroy();
    expect(await fixture.agent.raw.get(`${prefix}/.lock`)).to.equal(undefined);
    await mine.destroy();
  });

  it('a second semaphore object with the same session counts as holding at once', async () => {
    const prefix = uniqueKey('reclaim');
    const session = await fixture.agent.raw.createSession({ Name: 'shared', TTL: '15s', Behavior: 'delete' });
    try {
      const first = await mustAcquire(semaphore({ prefix, limit: 1, session }));
      const second = await mustAcquire(semaphore({ prefix, limit: 1, session }));
      expect(second.session).to.equal(first.session);
      expect((await fixture.agent.raw.get(`${prefix}/.lock`))?.value.toString()).to.equal(`{"Limit":1,"Holders":{"${session}":true}}`);
    } finally {
      await fixture.agent.raw.destroySession(session);
    }
  });

  it('aborting a pending acquire resolves undefined promptly and removes the contender', async () => {
    const prefix = uniqueKey('abort');
    await mustAcquire(semaphore({ prefix, limit: 1 }));
    const waiter = semaphore({ prefix, limit: 1, semaphoreWaitTime: 15_000 });
    const ac = new AbortController();
    const pending = timed(() => waiter.acquire({ signal: ac.signal }));
    await sleep(150);
    ac.abort();
    const { value, ms } = await pending;
    expect(value).to.equal(undefined);
    expect(ms).to.be.below(1000);
    // Its session is destroyed, and behavior "delete" takes the contender key with it.
    expect((await fixture.agent.raw.list(`${prefix}/`)).map((e) => e.key)).to.have.length(2);
  });

  describe('interop with keys written like Consul Go', () => {
    async function goHolder(prefix: string, limit: number): Promise<string> {
      const session = await fixture.agent.raw.createSession({ Name: 'Consul API Semaphore', TTL: '15s', Behavior: 'delete' });
      expect(await fixture.agent.raw.put(`${prefix}/${session}`, '', `acquire=${session}&flags=${SEMAPHORE_FLAGS_TEXT}`)).to.equal(true);
      const record = `{"Limit":${limit},"Holders":{"${session}":true}}`;
      expect(await fixture.agent.raw.put(`${prefix}/.lock`, record, `cas=0&flags=${SEMAPHORE_FLAGS_TEXT}`)).to.equal(true);
      return session;
    }

    it('counts a Go holder: waits while it holds the only slot, acquires once it releases', async () => {
      const prefix = uniqueKey('interop');
      const session = await goHolder(prefix, 1);
      const s = semaphore({ prefix, limit: 1 });
      let handle: SemaphoreHandle | undefined;
      const pending = s.acquire().then((h) => (handle = h));
      await sleep(400);
      expect(handle).to.equal(undefined);
      // Go's Release: CAS the holder out of .lock, then delete the contender key.
      const lock = await fixture.agent.raw.get(`${prefix}/.lock`);
      expect(await fixture.agent.raw.put(`${prefix}/.lock`, '{"Limit":1,"Holders":{}}', `cas=${lock?.modifyIndex}&flags=${SEMAPHORE_FLAGS_TEXT}`)).to.equal(true);
      await fixture.agent.raw.delete(`${prefix}/${session}`);
      await pending;
      expect(handle).to.not.equal(undefined);
      expect((await fixture.agent.raw.get(`${prefix}/.lock`))?.value.toString()).to.equal(`{"Limit":1,"Holders":{"${handle?.session}":true}}`);
      await fixture.agent.raw.destroySession(session);
    });

    it('prunes a Go holder whose session died while still listed in .lock', async () => {
      const prefix = uniqueKey('interop-dead');
      const session = await goHolder(prefix, 1);
      await fixture.agent.raw.destroySession(session);
      const handle = await mustAcquire(semaphore({ prefix, limit: 1 }));
      expect((await fixture.agent.raw.get(`${prefix}/.lock`))?.value.toString()).to.equal(`{"Limit":1,"Holders":{"${handle.session}":true}}`);
    });

    it('a Go-style reader sees kvx holders as live and the record as its own', async () => {
      const prefix = uniqueKey('interop-reverse');
      const handle = await mustAcquire(semaphore({ prefix, limit: 1 }));
      const entries = await fixture.agent.raw.list(`${prefix}/`);
      const liveSessions = new Set(entries.map((e) => e.session).filter(Boolean));
      const record = JSON.parse(entries.find((e) => e.key === `${prefix}/.lock`)?.value.toString() ?? '{}') as {
        Limit: number;
        Holders: Record<string, boolean>;
      };
      expect(record.Limit).to.equal(1);
      expect(Object.keys(record.Holders).filter((s) => liveSessions.has(s))).to.deep.equal([handle.session]);
    });
  });
});
