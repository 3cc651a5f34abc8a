import { expect } from 'chai';

import { startTestAgent, type DevAgent } from '../support/dev-agent.js';
import { client, createSession, sleep, type KvJson, type RawClient } from './raw-http.js';

/** Resolves to whether `promise` settled within `ms`. */
async function settlesWithin(promise: Promise<unknown>, ms: number): Promise<boolean> {
  return Promise.race([promise.then(() => true), sleep(ms).then(() => false)]);
}

describe('devagent conformance: blocking queries (§2, §6 checklist 24–27)', () => {
  let agent: DevAgent;
  let c: RawClient;

  beforeEach(async () => {
    agent = await startTestAgent();
    c = client(agent.url);
  });
  afterEach(async () => {
    await agent.close();
  });

  it('#24 a blocking GET on a missing key returns once the key is created, with a strictly greater index', async () => {
    const first = await c.get('/v1/kv/later');
    const pending = c.get(`/v1/kv/later?index=${first.index}&wait=5s`);
    expect(await settlesWithin(pending, 150)).to.equal(false);
    await c.put('/v1/kv/later?flags=5', 'here');
    const res = await pending;
    expect(res.status).to.equal(200);
    expect(res.json<KvJson[]>()[0]).to.include({ Flags: 5, Value: Buffer.from('here').toString('base64') });
    expect(res.index! > first.index!).to.equal(true);
  });

  it('#24 a blocking GET on a missing key keeps blocking through writes to other keys (not-found rule)', async () => {
    const first = await c.get('/v1/kv/awaited');
    const pending = c.get(`/v1/kv/awaited?index=${first.index}&wait=5s`);
    await c.put('/v1/kv/unrelated', 'x');
    await c.put('/v1/kv/aw', 'x');
    expect(await settlesWithin(pending, 200)).to.equal(false);
    await c.put('/v1/kv/awaited', 'x');
    expect((await pending).status).to.equal(200);
  });

  it('a blocking GET on a missing key with an older index returns at once (the KV index already passed it)', async () => {
    const first = await c.get('/v1/kv/missing');
    await c.put('/v1/kv/other', 'x');
    const started = performance.now();
    const res = await c.get(`/v1/kv/missing?index=${first.index}&wait=5s`);
    expect(res.status).to.equal(404);
    expect(performance.now() - started).to.be.below(1000);
    expect(res.index! > first.index!).to.equal(true);
  });

  it('#25 a blocking ?recurse on an empty prefix returns once a key under it is created, with 1 entry', async () => {
    const first = await c.get('/v1/kv/dir/?recurse');
    expect(first.status).to.equal(404);
    const pending = c.get(`/v1/kv/dir/?recurse&index=${first.index}&wait=5s`);
    await c.put('/v1/kv/dirt', 'not under dir/');
    expect(await settlesWithin(pending, 150)).to.equal(false);
    await c.put('/v1/kv/dir/a', 'x');
    const res = await pending;
    expect(res.json<KvJson[]>()).to.have.length(1);
    expect(res.index! > first.index!).to.equal(true);
  });

  it('a blocking ?recurse wakes on a delete under the prefix (tombstone raises the index)', async () => {
    await c.put('/v1/kv/dir/a', 'x');
    await c.put('/v1/kv/dir/b', 'x');
    const first = await c.get('/v1/kv/dir/?recurse');
    const pending = c.get(`/v1/kv/dir/?recurse&index=${first.index}&wait=5s`);
    await c.del('/v1/kv/dir/b');
    const res = await pending;
    expect(res.json<KvJson[]>().map((e) => e.Key)).to.deep.equal(['dir/a']);
    expect(res.index! > first.index!).to.equal(true);
  });

  it('a blocking ?keys wakes on a write under its prefix', async () => {
    const first = await c.get('/v1/kv/?keys');
    const pending = c.get(`/v1/kv/?keys&index=${first.index}&wait=5s`);
    await c.put('/v1/kv/k', 'x');
    expect((await pending).json()).to.deep.equal(['k']);
  });

  // Upper bounds allow generous scheduling slack (shared CI machines); the jitter bound itself is unit-tested.
  const SLACK_MS = 1000;

  it('#26 with the current index and a short wait, returns 200 after ≥ wait and < wait·17/16 with the same index', async () => {
    await c.put('/v1/kv/k', 'x');
    const first = await c.get('/v1/kv/k');
    const started = performance.now();
    const res = await c.get(`/v1/kv/k?index=${first.index}&wait=400ms`);
    const elapsed = performance.now() - started;
    expect(res.status).to.equal(200);
    expect(res.index).to.equal(first.index);
    expect(elapsed).to.be.at.least(395);
    expect(elapsed).to.be.below((400 * 17) / 16 + SLACK_MS);
  });

  it('#27 index=0 never blocks', async () => {
    await c.put('/v1/kv/k', 'x');
    const started = performance.now();
    await c.get('/v1/kv/k?index=0&wait=10s');
    await c.get('/v1/kv/none?index=0&wait=10s');
    expect(performance.now() - started).to.be.below(1000);
  });

  it('an index above the current one blocks until the wait elapses', async () => {
    await c.put('/v1/kv/k', 'x');
    const started = performance.now();
    const res = await c.get('/v1/kv/k?index=999999&wait=200ms');
    expect(performance.now() - started).to.be.at.least(195);
    expect(res.status).to.equal(200);
  });

  it('a write to one key wakes the waiter on that key only', async () => {
    await c.put('/v1/kv/a', '1');
    await c.put('/v1/kv/b', '1');
    const a = await c.get('/v1/kv/a');
    const b = await c.get('/v1/kv/b');
    const waitA = c.get(`/v1/kv/a?index=${a.index}&wait=5s`);
    const waitB = c.get(`/v1/kv/b?index=${b.index}&wait=5s`);
    await c.put('/v1/kv/a', '2');
    expect((await waitA).json<KvJson[]>()[0]!.Value).to.equal(Buffer.from('2').toString('base64'));
    expect(await settlesWithin(waitB, 200)).to.equal(false);
    await c.put('/v1/kv/b', '2');
    expect((await waitB).status).to.equal(200);
  });

  it('a PUT that changes nothing does not wake a waiter on the key', async () => {
    await c.put('/v1/kv/same', 'v');
    const first = await c.get('/v1/kv/same');
    const pending = c.get(`/v1/kv/same?index=${first.index}&wait=5s`);
    await c.put('/v1/kv/same', 'v');
    expect(await settlesWithin(pending, 200)).to.equal(false);
    await c.put('/v1/kv/same', 'w');
    expect((await pending).index! > first.index!).to.equal(true);
  });

  it('a blocking GET on an existing key wakes when the key is deleted (404, higher index)', async () => {
    await c.put('/v1/kv/doomed', 'v');
    const first = await c.get('/v1/kv/doomed');
    const pending = c.get(`/v1/kv/doomed?index=${first.index}&wait=5s`);
    await c.del('/v1/kv/doomed');
    const res = await pending;
    expect(res.status).to.equal(404);
    expect(res.index! > first.index!).to.equal(true);
  });

  it('the default wait is default_query_time and waits above max_query_time are capped', async () => {
    const quick = await startTestAgent({ defaultQueryTime: 150, maxQueryTime: 300 });
    try {
      const q = client(quick.url);
      await q.put('/v1/kv/k', 'x');
      const idx = (await q.get('/v1/kv/k')).index!;
      let started = performance.now();
      await q.get(`/v1/kv/k?index=${idx}`);
      const defaulted = performance.now() - started;
      expect(defaulted).to.be.at.least(145).and.below(150 * (17 / 16) + SLACK_MS);
      started = performance.now();
      await q.get(`/v1/kv/k?index=${idx}&wait=1h`);
      const capped = performance.now() - started;
      expect(capped).to.be.at.least(295).and.below(300 * (17 / 16) + SLACK_MS);
    } finally {
      await quick.close();
    }
  });

  it('a blocking session info on an unknown id keeps blocking until that session appears or the wait ends', async () => {
    const first = await c.get('/v1/session/info/none');
    const started = performance.now();
    const pending = c.get(`/v1/session/info/none?index=${first.index}&wait=400ms`);
    await createSession(c);
    const res = await pending;
    expect(performance.now() - started).to.be.at.least(395);
    expect(res.text).to.equal('[]');
  });

  it('a blocking session list wakes on create and destroy', async () => {
    const first = await c.get('/v1/session/list');
    const pending = c.get(`/v1/session/list?index=${first.index}&wait=5s`);
    const id = await createSession(c);
    expect((await pending).json<{ ID: string }[]>().map((s) => s.ID)).to.deep.equal([id]);
    const second = await c.get('/v1/session/list');
    const gone = c.get(`/v1/session/list?index=${second.index}&wait=5s`);
    await c.put(`/v1/session/destroy/${id}`);
    expect((await gone).text).to.equal('[]');
  });

  it('a session TTL expiry wakes a blocking read of a key it held', async () => {
    const s = await createSession(c, { TTL: '100ms', LockDelay: 0 });
    await c.put(`/v1/kv/held?acquire=${s}`, 'v');
    const first = await c.get('/v1/kv/held');
    const res = await c.get(`/v1/kv/held?index=${first.index}&wait=5s`);
    expect(res.json<KvJson[]>()[0]).to.not.have.property('Session');
  });

  it('bad wait and index values are 400; stale with consistent is 400', async () => {
    const wait = await c.get('/v1/kv/k?wait=10');
    expect(wait.status).to.equal(400);
    expect(wait.text).to.equal('Invalid wait time');
    for (const bad of ['-1', 'abc', '18446744073709551616']) {
      const res = await c.get(`/v1/kv/k?index=${bad}`);
      expect(res.status, bad).to.equal(400);
      expect(res.text).to.equal('Invalid index');
    }
    const both = await c.get('/v1/kv/k?stale&consistent');
    expect(both.status).to.equal(400);
    expect(both.text).to.equal('Cannot specify ?stale with ?consistent, conflicting semantics.');
    expect((await c.get('/v1/kv/k?max_stale=xyz')).text).to.equal('Invalid max_stale value "xyz"');
  });

  it('Go duration forms are accepted for wait (ms, s, fractions, µs, compound, bare 0)', async () => {
    for (const wait of ['15000ms', '1.5s', '1m30s', '10µs', '10us', '100ns', '0', '1h']) {
      const res = await c.get(`/v1/kv/k?wait=${encodeURIComponent(wait)}`);
      expect(res.status, wait).to.equal(404);
    }
  });

  it('closing the agent answers pending blocking queries with their current result', async () => {
    await c.put('/v1/kv/k', 'x');
    const first = await c.get('/v1/kv/k');
    const pending = c.get(`/v1/kv/k?index=${first.index}&wait=60s`);
    await sleep(50);
    const started = performance.now();
    await agent.close();
    const res = await pending;
    expect(res.status).to.equal(200);
    expect(res.index).to.equal(first.index);
    expect(performance.now() - started).to.be.below(2000);
  });

  it('the agent keeps serving after a blocking client disconnects', async () => {
    await c.put('/v1/kv/k', 'x');
    const first = await c.get('/v1/kv/k');
    const aborter = new AbortController();
    const pending = c.get(`/v1/kv/k?index=${first.index}&wait=60s`, { signal: aborter.signal });
    await sleep(50);
    aborter.abort();
    await pending.catch(() => undefined);
    await c.put('/v1/kv/k', 'y');
    expect((await c.get('/v1/kv/k')).status).to.equal(200);
  });
});
