import { expect } from 'chai';
import { AbortedError, Consul, KvxError } from '@kvx/client';
import { LeaseExpiredError, LockTimeoutError, runLocked, type RunLockedOptions } from '@kvx/lock';
import { startTestAgent, type DevAgent } from '../support/dev-agent.js';
import { startFaultProxy, type FaultProxy } from '../support/fault-proxy.js';
import { sleep } from './helpers.js';
import { destroySession, holdLikeConsulLock, keySession, rawKey, sessionInfo } from './raw-consul.js';

function whenAborted(signal: AbortSignal): Promise<unknown> {
  return new Promise((resolve) => signal.addEventListener('abort', () => resolve(signal.reason), { once: true }));
}

describe('lock: runLocked', function () {
  let agent: DevAgent;
  let consul: Consul;
  let proxy: FaultProxy | undefined;
  let n = 0;
  let prefix: string;
  let fast: RunLockedOptions;

  before(async () => {
    agent = await startTestAgent();
  });

  after(async () => {
    await agent.close();
  });

  beforeEach(() => {
    consul = new Consul({ address: agent.url });
    prefix = `test/run-locked/${++n}`;
    fast = { consul, sessionTtlMs: 1000, lockDelayMs: 300, stopGraceMs: 300 };
  });

  afterEach(async () => {
    await consul.close();
    await proxy?.close();
    proxy = undefined;
  });

  it('runs the task while holding <prefix>/.lock, returns its result, then releases and removes the key', async () => {
    const result = await runLocked(
      prefix,
      async (ctx) => {
        expect(await keySession(agent.url, `${prefix}/.lock`)).to.equal(ctx.session);
        expect(ctx.signal.aborted).to.equal(false);
        return 42;
      },
      fast,
    );
    expect(result).to.equal(42);
    expect(await rawKey(agent.url, `${prefix}/.lock`)).to.equal(undefined);
  });

  it('runs competing tasks one at a time, with growing fencing tokens', async () => {
    const runs: { start: number; end: number; token: bigint }[] = [];
    await Promise.all(
      [0, 1, 2].map(() =>
        runLocked(
          prefix,
          async (ctx) => {
            const start = performance.now();
            await sleep(150);
            runs.push({ start, end: performance.now(), token: ctx.fencingToken });
          },
          fast,
        ),
      ),
    );
    runs.sort((a, b) => a.start - b.start);
    for (let i = 1; i < runs.length; i++) {
      expect(runs[i]!.start).to.be.at.least(runs[i - 1]!.end);
      expect(runs[i]!.token > runs[i - 1]!.token).to.equal(true);
    }
  });

  it('aborts the task when the lock is lost (session destroyed from outside)', async () => {
    const reason = await runLocked(
      prefix,
      async (ctx) => {
        const aborted = whenAborted(ctx.signal);
        await destroySession(agent.url, ctx.session);
        return aborted;
      },
      fast,
    );
    expect(reason).to.be.instanceOf(KvxError);
    // Whichever notices first: the monitor (key released) or a renewal (no such session).
    expect((reason as KvxError).code).to.be.oneOf(['KVX_LOCK_LOST', 'KVX_SESSION_EXPIRED']);
  });

  it('aborts the task before the session can expire when Consul cannot be reached', async () => {
    proxy = await startFaultProxy(agent.url);
    const cutOff = new Consul({ address: proxy.address, timeout: 500 });
    try {
      let sessionAtAbort: unknown;
      const reason = await runLocked(
        prefix,
        async (ctx) => {
          const aborted = whenAborted(ctx.signal);
          proxy!.blackhole();
          const why = await aborted;
          sessionAtAbort = await sessionInfo(agent.url, ctx.session);
          return why;
        },
        { ...fast, consul: cutOff, monitorRetries: 0 },
      );
      expect(reason).to.be.instanceOf(LeaseExpiredError);
      expect(sessionAtAbort).to.not.equal(undefined);
    } finally {
      await cutOff.close();
    }
  });

  it('rejects with LockTimeoutError when the lock stays held past timeoutMs', async () => {
    const held = await holdLikeConsulLock(agent.url, prefix);
    let ran = false;
    try {
      const attempt = runLocked(prefix, () => (ran = true), { ...fast, timeoutMs: 300 });
      await attempt.then(
        () => expect.fail('acquired a held lock'),
        (err: unknown) => expect(err).to.be.instanceOf(LockTimeoutError),
      );
      expect(ran).to.equal(false);
    } finally {
      await held.release();
    }
  });

  it('rejects with AbortedError when the caller aborts the acquisition', async () => {
    const held = await holdLikeConsulLock(agent.url, prefix);
    try {
      const controller = new AbortController();
      const attempt = runLocked(prefix, () => 'ran', { ...fast, signal: controller.signal });
      await sleep(100);
      controller.abort();
      await attempt.then(
        () => expect.fail('acquired a held lock'),
        (err: unknown) => expect(err).to.be.instanceOf(AbortedError),
      );
    } finally {
      await held.release();
    }
  });
});
