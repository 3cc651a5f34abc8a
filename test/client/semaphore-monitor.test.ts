import { expect } from 'chai';
import { HttpError, Semaphore, SemaphoreLostError, type SemaphoreHandle } from '@kvx/client';
import { eventually } from '../support/eventually.js';
import { abortedWithin, CoordinationFixture, sleep, uniqueKey } from './coordination-support.js';

describe('coordination: Semaphore monitoring under faults', () => {
  const fixture = new CoordinationFixture({ faultProxy: true });
  let semaphore: Semaphore | undefined;

  async function holdWithRetries(prefix: string, retries: number): Promise<{ handle: SemaphoreHandle; retried: unknown[] }> {
    semaphore = fixture.releaseAfterTest(new Semaphore(fixture.proxied, { prefix, limit: 2, monitorRetries: retries, monitorRetryTime: 100, semaphoreWaitTime: 300 }));
    const retried: unknown[] = [];
    semaphore.on('monitorRetry', (err) => retried.push(err));
    const handle = await semaphore.acquire();
    if (handle === undefined) throw new Error('semaphore slot was not acquired');
    // Let the monitor's first (non-blocking) read finish, so the faults meet a later read.
    await sleep(100);
    return { handle, retried };
  }

  /** Writes an unrelated key under the prefix so the monitor's blocking listing returns and reads again. */
  async function wakeMonitor(prefix: string): Promise<void> {
    await fixture.agent.raw.put(`${prefix}/unrelated`, String(Date.now()));
  }

  it('keeps the slot across two injected HTTP 500s with monitorRetries 3', async () => {
    const prefix = uniqueKey('sem-keep');
    const { handle, retried } = await holdWithRetries(prefix, 3);
    fixture.proxy.respond({ status: 500, body: 'No cluster leader', count: 2, pathPrefix: `/v1/kv/${prefix}/?` });
    await wakeMonitor(prefix);
    await eventually('two monitor retries', () => retried.length === 2);
    await sleep(400);
    expect(handle.signal.aborted).to.equal(false);
    expect(semaphore?.isHeld).to.equal(true);
  });

  it('loses the slot after ten injected HTTP 500s', async () => {
    const prefix = uniqueKey('sem-lose');
    const { handle, retried } = await holdWithRetries(prefix, 3);
    fixture.proxy.respond({ status: 500, body: 'No cluster leader', count: 10, pathPrefix: `/v1/kv/${prefix}/?` });
    await wakeMonitor(prefix);
    const reason = (await abortedWithin(handle.signal, 5 * 100 + 1000)) as SemaphoreLostError;
    expect(reason).to.be.instanceOf(SemaphoreLostError);
    expect(reason.reason).to.equal('monitor-failed');
    expect(reason.cause).to.be.instanceOf(HttpError);
    expect(retried).to.have.length(3);
  });
});
