import { expect } from 'chai';
import { Consul, InvalidArgumentError, PermissionDeniedError, type QueryResult, type SessionEntry } from '@kvx/client';
import { startFaultProxy, type FaultProxy } from '../support/fault-proxy.js';
import { delay } from './helpers.js';

/** A session-list reply with the given index (the body does not matter to the watch rules). */
const list = (index: number) => ({ status: 200, body: '[]', headers: { 'Content-Type': 'application/json', 'X-Consul-Index': String(index) } });

/** The `index` query parameter of each request the proxy saw. */
const sentIndexes = (proxy: FaultProxy): (string | null)[] => proxy.log.map((r) => new URL(r.url, 'http://x').searchParams.get('index'));

/**
 * Consul's blocking-query client rules, checked against scripted replies at the proxy (its target has no
 * listener, so the proxy's log is exactly what the watch sent).
 */
describe('client: watch rules', () => {
  let proxy: FaultProxy;
  let consul: Consul;

  beforeEach(async () => {
    proxy = await startFaultProxy('http://127.0.0.1:9');
    consul = new Consul({ address: proxy.address, env: {}, retry: false, breaker: false });
  });
  afterEach(async () => {
    await consul.close();
    await proxy.close();
  });

  /** Collects `n` yields of a session-list watch, then stops it. */
  async function take(n: number, options: Parameters<Consul['watch']>[1] = {}): Promise<bigint[]> {
    const seen: bigint[] = [];
    const watch = consul.watch((o) => consul.session.list(o), { rateLimit: false, backoff: { minDelay: 1, maxDelay: 5 }, ...options });
    for await (const r of watch) {
      seen.push(r.index);
      if (seen.length === n) break;
    }
    return seen;
  }

  it('starts with a plain read, then blocks on the returned index', async () => {
    proxy.respond(list(5));
    proxy.respond(list(9));
    expect(await take(2, { wait: 2000 })).to.deep.equal([5n, 9n]);
    expect(sentIndexes(proxy)).to.deep.equal([null, '5']);
    expect(new URL(proxy.log[1]!.url, 'http://x').searchParams.get('wait')).to.equal('2000ms');
  });

  it('yields only when the index changed', async () => {
    for (const i of [5, 5, 5, 6]) proxy.respond(list(i));
    expect(await take(2)).to.deep.equal([5n, 6n]);
    expect(proxy.requests).to.equal(4);
  });

  it('resets to a plain read when the index goes backwards, without yielding the same result twice', async () => {
    for (const i of [50, 3, 3, 4]) proxy.respond(list(i));
    expect(await take(3)).to.deep.equal([50n, 3n, 4n]);
    expect(sentIndexes(proxy)).to.deep.equal([null, '50', null, '3']);
  });

  it('never blocks on index 0: a reported 0 becomes 1', async () => {
    proxy.respond(list(0));
    proxy.respond(list(2));
    await take(2);
    expect(sentIndexes(proxy)).to.deep.equal([null, '1']);
  });

  it('keeps going through transient errors with backoff', async () => {
    proxy.respond(list(5));
    proxy.respond({ status: 500, body: 'No cluster leader', count: 3 });
    proxy.resetNext(1);
    proxy.respond(list(6));
    expect(await take(2)).to.deep.equal([5n, 6n]);
    expect(sentIndexes(proxy)).to.deep.equal([null, '5', '5', '5', '5', '5']);
  });

  it('ends with endReason "error" and throws a non-retryable error', async () => {
    proxy.respond(list(5));
    proxy.respond({ status: 403, body: 'Permission denied' });
    const watch = consul.watch((o) => consul.session.list(o), { rateLimit: false });
    const seen: QueryResult<SessionEntry[]>[] = [];
    let thrown: unknown;
    try {
      for await (const r of watch) seen.push(r);
    } catch (err) {
      thrown = err;
    }
    expect(seen).to.have.lengthOf(1);
    expect(thrown).to.be.instanceOf(PermissionDeniedError);
    expect(watch.endReason).to.equal('error');
    expect(watch.error).to.equal(thrown);
  });

  it('ends with endReason "aborted" when the loop breaks', async () => {
    proxy.respond(list(5));
    const watch = consul.watch((o) => consul.session.list(o));
    for await (const _ of watch) break;
    expect(watch.endReason).to.equal('aborted');
  });

  it('rate-limits iterations with its token bucket', async () => {
    for (let i = 1; i <= 50; i++) proxy.respond(list(i));
    const ac = new AbortController();
    const watch = consul.watch((o) => consul.session.list(o), { rateLimit: { ratePerSecond: 5, burst: 2 }, signal: ac.signal });
    setTimeout(() => ac.abort(), 450);
    let yields = 0;
    for await (const _ of watch) yields++;
    // A burst of 2, then one every 200 ms: at most 4 iterations in 450 ms.
    expect(proxy.requests).to.be.within(3, 4);
    expect(yields).to.equal(proxy.requests);
  });

  it('spaces iterations by minInterval', async () => {
    for (let i = 1; i <= 50; i++) proxy.respond(list(i));
    const ac = new AbortController();
    const watch = consul.watch((o) => consul.session.list(o), { rateLimit: false, minInterval: 200, signal: ac.signal });
    setTimeout(() => ac.abort(), 450);
    for await (const _ of watch);
    expect(proxy.requests).to.equal(3);
  });

  it('can be iterated only once', async () => {
    const watch = consul.watch((o) => consul.session.list(o));
    watch[Symbol.asyncIterator]();
    expect(() => watch[Symbol.asyncIterator]()).to.throw(InvalidArgumentError);
    watch.stop();
  });

  it('rejects a wait above Consul’s 600 s cap', () => {
    expect(() => consul.watch((o) => consul.session.list(o), { wait: 601_000 })).to.throw(InvalidArgumentError);
  });

  it('stops promptly when aborted during its error backoff', async () => {
    proxy.respond(list(5));
    proxy.respond({ status: 500, body: 'down', count: 100 });
    const ac = new AbortController();
    const watch = consul.watch((o) => consul.session.list(o), {
      rateLimit: false,
      backoff: { minDelay: 60_000, maxDelay: 60_000 },
      signal: ac.signal,
    });
    const done = (async () => {
      for await (const _ of watch);
    })();
    await delay(100);
    const started = performance.now();
    ac.abort();
    await done;
    expect(performance.now() - started).to.be.below(1000);
    expect(watch.endReason).to.equal('aborted');
  });
});
