import { expect } from 'chai';
import { Consul, type KvPair, type QueryResult } from '@kvx/client';
import type { DevAgent } from '@kvx/devagent';
import { startTestAgent } from '../support/dev-agent.js';
import { startFaultProxy, type FaultProxy } from '../support/fault-proxy.js';
import { eventually } from '../support/eventually.js';
import { delay } from './helpers.js';

/** Pulls results from a watch one at a time. */
function puller<T>(iterable: AsyncIterable<QueryResult<T>>): () => Promise<QueryResult<T>> {
  const it = iterable[Symbol.asyncIterator]();
  return async () => {
    const r = await it.next();
    if (r.done) throw new Error('watch ended');
    return r.value;
  };
}

describe('client: watches against the dev agent', () => {
  let agent: DevAgent;
  let proxy: FaultProxy;
  let consul: Consul;
  let writer: Consul;

  beforeEach(async () => {
    agent = await startTestAgent();
    proxy = await startFaultProxy(agent.url);
    consul = new Consul({ address: proxy.address, env: {}, timeout: 300, retry: { minDelay: 10, maxDelay: 50 } });
    writer = new Consul({ address: agent.url, env: {} });
  });
  afterEach(async () => {
    await consul.close();
    await writer.close();
    await proxy.close();
    await agent.close();
  });

  it('yields the current value first, then each change', async () => {
    await writer.kv.put('w/key', 'v0');
    const next = puller(consul.watch((o) => consul.kv.get('w/key', o), { wait: 5000 }));
    expect((await next()).value?.value.toString()).to.equal('v0');
    await writer.kv.put('w/key', 'v1');
    expect((await next()).value?.value.toString()).to.equal('v1');
    await writer.kv.delete('w/key');
    expect((await next()).value).to.equal(undefined);
  });

  it('sends exactly one request per change', async () => {
    await writer.kv.put('w/count', '0');
    const watch = consul.watch((o) => consul.kv.get('w/count', o), { wait: 10_000, rateLimit: false });
    const next = puller(watch);
    await next();
    const changes = 5;
    for (let i = 1; i <= changes; i++) {
      const pending = next();
      // Change only once the watch's next long poll is parked at the agent.
      await eventually(`request ${i + 1}`, () => proxy.count('/v1/kv/w/count') === i + 1);
      await delay(20);
      await writer.kv.put('w/count', String(i));
      expect((await pending).value?.value.toString()).to.equal(String(i));
    }
    watch.stop();
    expect(proxy.count('/v1/kv/w/count')).to.equal(changes + 1);
  });

  it('keeps watching a prefix across deletions', async () => {
    await writer.kv.put('pre/a', '1');
    const next = puller(consul.watch((o) => consul.kv.list('pre/', o), { wait: 5000 }));
    expect((await next()).value.map((p) => p.key)).to.deep.equal(['pre/a']);
    await writer.kv.put('pre/b', '2');
    expect((await next()).value.map((p) => p.key)).to.deep.equal(['pre/a', 'pre/b']);
    await writer.kv.delete('pre/a');
    expect((await next()).value.map((p) => p.key)).to.deep.equal(['pre/b']);
  });

  it('survives an agent restart, where the index goes backwards', async () => {
    for (let i = 0; i < 20; i++) await writer.kv.put(`filler/${i}`, 'x');
    await writer.kv.put('w/restart', 'before');
    const seen: (KvPair | undefined)[] = [];
    const watch = consul.watch((o) => consul.kv.get('w/restart', o), { wait: 500, backoff: { minDelay: 10, maxDelay: 100 } });
    const next = puller(watch);
    const first = await next();
    seen.push(first.value);
    const port = agent.port;
    await agent.close();
    agent = await startTestAgent({ httpAddr: `127.0.0.1:${port}` });
    await writer.close();
    writer = new Consul({ address: agent.url, env: {} });
    await writer.kv.put('w/restart', 'after');
    let r: QueryResult<KvPair | undefined>;
    do {
      r = await next();
      seen.push(r.value);
    } while (r.value?.value.toString() !== 'after');
    expect(r.index < first.index).to.equal(true);
    expect(watch.endReason).to.equal(undefined);
    expect(seen[0]?.value.toString()).to.equal('before');
  });

  it('recovers from a black-holed connection once it times out', async () => {
    await writer.kv.put('w/hole', 'v0');
    const watch = consul.watch((o) => consul.kv.get('w/hole', o), { wait: 300, backoff: { minDelay: 10, maxDelay: 50 } });
    const next = puller(watch);
    await next();
    proxy.blackhole();
    const pending = next();
    await eventually('a black-holed request', () => proxy.log.some((r) => r.outcome === 'blackholed'));
    await delay(700);
    await proxy.pass();
    await writer.kv.put('w/hole', 'v1');
    expect((await pending).value?.value.toString()).to.equal('v1');
    expect(proxy.log.filter((r) => r.outcome === 'blackholed').length).to.be.at.least(1);
  });

  it("waits for an open breaker's next probe instead of letting its fast failures compound the backoff", async function () {
    this.timeout(15_000);
    const client = new Consul({ address: proxy.address, env: {}, timeout: 300, retry: false, breaker: { volumeThreshold: 2, resetTimeout: 1000 } });
    try {
      await writer.kv.put('w/breaker', 'v0');
      const watch = client.watch((o) => client.kv.get('w/breaker', o), { wait: 5000, backoff: { minDelay: 100, maxDelay: 20_000 } });
      const next = puller(watch);
      await next();
      const pending = next();
      await proxy.refuse();
      await writer.kv.put('w/breaker', 'v1');
      // Long enough for an exponential backoff fed by every fast failure to grow past several seconds.
      await delay(3500);
      expect(client.breakerStates.longPoll).to.not.equal('closed');
      await proxy.pass();
      const back = performance.now();
      expect((await pending).value?.value.toString()).to.equal('v1');
      // The breaker probes within its reset timeout (1 s); the watch follows within its jitter (≤ 100 ms).
      expect(performance.now() - back).to.be.below(2000);
      expect(watch.endReason).to.equal(undefined);
    } finally {
      await client.close();
    }
  });

  it("backs off as usual while the breaker's probe is a long poll still under way", async function () {
    this.timeout(15_000);
    const client = new Consul({ address: proxy.address, env: {}, timeout: 300, retry: false, breaker: { volumeThreshold: 2, resetTimeout: 300 } });
    const calls = [0, 0];
    const watches = ['w/probe-a', 'w/probe-b'].map((key, i) =>
      client.watch(
        (o) => {
          calls[i]!++;
          return client.kv.get(key, o);
        },
        // No rate limit, which would cap a spinning watch at 2 requests a second and hide it.
        { wait: 5000, backoff: { minDelay: 200, maxDelay: 20_000 }, rateLimit: false },
      ),
    );
    try {
      await Promise.all(['w/probe-a', 'w/probe-b'].map((key) => writer.kv.put(key, 'v0')));
      const nexts = watches.map((w) => puller(w));
      await Promise.all(nexts.map((next) => next()));
      for (const next of nexts) void next().catch(() => undefined);
      await proxy.refuse();
      await eventually('the long-poll breaker to open', () => client.breakerStates.longPoll === 'open');
      // The next long poll after the reset timeout is the probe; it hangs, and the circuit stays half-open.
      await proxy.pass();
      proxy.blackhole();
      await eventually('a black-holed request', () => proxy.log.some((r) => r.outcome === 'blackholed'));
      const before = calls[0]! + calls[1]!;
      await delay(1500);
      // Retrying every 0–200 ms would make ≈ 15 calls here; a growing backoff makes a handful.
      expect(calls[0]! + calls[1]! - before).to.be.below(10);
    } finally {
      watches.forEach((w) => w.stop());
      await client.close();
    }
  });

  it('ends promptly with endReason "aborted" when aborted during a long poll', async () => {
    await writer.kv.put('w/abort', 'v0');
    const ac = new AbortController();
    const watch = consul.watch((o) => consul.kv.get('w/abort', o), { wait: 60_000, signal: ac.signal });
    const results: unknown[] = [];
    const done = (async () => {
      for await (const r of watch) results.push(r);
    })();
    await eventually('the second request', () => proxy.count('/v1/kv/w/abort') === 2);
    const started = performance.now();
    ac.abort();
    await done;
    expect(performance.now() - started).to.be.below(1000);
    expect(watch.endReason).to.equal('aborted');
    expect(results).to.have.lengthOf(1);
  });

  it('ends every watch when the client closes', async () => {
    const watch = consul.watch((o) => consul.kv.get('w/close', o), { wait: 60_000 });
    const done = (async () => {
      for await (const _ of watch);
    })();
    await eventually('the second request', () => proxy.count('/v1/kv/w/close') === 2);
    await consul.close();
    await done;
    expect(watch.endReason).to.equal('aborted');
  });
});
