import { expect } from 'chai';

import { SessionManager, type SessionRequest } from '../../packages/devagent/src/state/sessions.js';
import { Store } from '../../packages/devagent/src/state/store.js';
import { startTestAgent, type DevAgent } from '../support/dev-agent.js';
import { client, createSession, getEntry, sleep, type RawClient } from './raw-http.js';

interface SessionJson {
  ID: string;
  Name: string;
  Node: string;
  LockDelay: number;
  Behavior: string;
  TTL: string;
  NodeChecks: string[] | null;
  ServiceChecks: unknown;
  Checks?: string[];
  CreateIndex: number;
  ModifyIndex: number;
}

describe('devagent conformance: sessions (§6 checklist 37–57)', () => {
  let agent: DevAgent;
  let c: RawClient;
  let node: string;

  beforeEach(async () => {
    agent = await startTestAgent({ nodeName: 'node-a' });
    c = client(agent.url);
    node = 'node-a';
  });
  afterEach(async () => {
    await agent.close();
  });

  async function info(id: string): Promise<SessionJson[]> {
    return (await c.get(`/v1/session/info/${id}`)).json<SessionJson[]>();
  }

  it('#37 create without a body returns a non-empty 8-4-4-4-12 ID; destroy answers true', async () => {
    const res = await c.put('/v1/session/create');
    expect(res.status).to.equal(200);
    const { ID } = res.json<{ ID: string }>();
    expect(ID).to.match(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
    const destroyed = await c.put(`/v1/session/destroy/${ID}`);
    expect(destroyed.text).to.equal('true');
    expect(await info(ID)).to.deep.equal([]);
  });

  it('#38 renew of a TTL "10s" session returns the entry with the same ID and TTL "10s"', async () => {
    const id = await createSession(c, { TTL: '10s' });
    const res = await c.put(`/v1/session/renew/${id}`);
    expect(res.status).to.equal(200);
    const [s] = res.json<SessionJson[]>();
    expect(s).to.include({ ID: id, TTL: '10s' });
    expect(res.headers['x-consul-index']).to.equal(undefined);
  });

  it('#39 renew after destroy is 404 with Consul\'s message', async () => {
    const id = await createSession(c, { TTL: '10s' });
    await c.put(`/v1/session/destroy/${id}`);
    const res = await c.put(`/v1/session/renew/${id}`);
    expect(res.status).to.equal(404);
    expect(res.text).to.equal(`Session id '${id}' not found`);
  });

  it('#43 info of a default session: index, KnownLeader, Node, NodeChecks ["serfHealth"], LockDelay 15s, release', async () => {
    const { ID } = (await c.put('/v1/session/create')).json<{ ID: string }>();
    const res = await c.get(`/v1/session/info/${ID}`);
    expect(res.index! > 0n).to.equal(true);
    expect(res.headers['x-consul-knownleader']).to.equal('true');
    const [s] = res.json<SessionJson[]>();
    expect(s).to.deep.include({ ID, Node: node, NodeChecks: ['serfHealth'], LockDelay: 15_000_000_000, Behavior: 'release', TTL: '', ServiceChecks: null, Name: '' });
    expect(s!.CreateIndex).to.be.greaterThan(0);
    expect(s).to.not.have.property('Checks');
    expect(res.text).to.match(/^\[\{"ID":"[^"]+","Name":"","Node":"node-a","LockDelay":15000000000,"Behavior":"release","TTL":"","NodeChecks":\["serfHealth"\],"ServiceChecks":null,"CreateIndex":\d+,"ModifyIndex":\d+\}\]$/);
  });

  it('#44 a session created with Checks: [] or NodeChecks: [] has NodeChecks [] and no Checks', async () => {
    for (const body of [{ Checks: [] }, { NodeChecks: [] }, { checks: null }]) {
      const { ID } = (await c.put('/v1/session/create', JSON.stringify(body))).json<{ ID: string }>();
      const [s] = await info(ID);
      expect(s!.NodeChecks, JSON.stringify(body)).to.deep.equal([]);
      expect(s).to.not.have.property('Checks');
    }
  });

  it('#45 info of an unknown or destroyed id is 200 []', async () => {
    const res = await c.get('/v1/session/info/00000000-0000-0000-0000-000000000000');
    expect(res.status).to.equal(200);
    expect(res.text).to.equal('[]');
  });

  it('#46 node(node) returns exactly that node\'s sessions and list() returns all, with index and KnownLeader', async () => {
    const a = await createSession(c);
    const b = await createSession(c);
    const list = await c.get('/v1/session/list');
    expect(list.json<SessionJson[]>().map((s) => s.ID)).to.have.members([a, b]);
    expect(list.index! > 0n).to.equal(true);
    expect(list.headers['x-consul-knownleader']).to.equal('true');
    const byNode = await c.get(`/v1/session/node/${node}`);
    expect(byNode.json<SessionJson[]>().map((s) => s.ID)).to.have.members([a, b]);
    expect((await c.get('/v1/session/node/other-node')).text).to.equal('[]');
  });

  it('list on an empty agent is 200 [] with index 1', async () => {
    const res = await c.get('/v1/session/list');
    expect(res.text).to.equal('[]');
    expect(res.index).to.equal(1n);
  });

  it('#47 creating with NodeChecks ["dne"] or ServiceChecks [{ID:"dne"}] fails with Missing check registration', async () => {
    const a = await c.put('/v1/session/create', JSON.stringify({ NodeChecks: ['dne'] }));
    expect(a.status).to.equal(500);
    expect(a.text).to.equal("Missing check 'dne' registration");
    const b = await c.put('/v1/session/create', JSON.stringify({ NodeChecks: [], ServiceChecks: [{ ID: 'dne' }] }));
    expect(b.status).to.equal(500);
    expect(b.text).to.equal("Missing check 'dne' registration");
  });

  it('#48 without a NodeChecks field the session gets ["serfHealth"]; an explicit "NodeChecks": [] yields none', async () => {
    const a = await createSession(c, { NodeChecks: undefined, Checks: undefined, Name: 'x' });
    expect((await info(a))[0]!.NodeChecks).to.deep.equal(['serfHealth']);
    const { ID } = (await c.put('/v1/session/create', '{"NodeChecks": []}')).json<{ ID: string }>();
    expect((await info(ID))[0]!.NodeChecks).to.deep.equal([]);
  });

  it('field names match case-insensitively', async () => {
    const { ID } = (await c.put('/v1/session/create', '{"name":"lower","ttl":"5s","behavior":"delete"}')).json<{ ID: string }>();
    expect((await info(ID))[0]).to.include({ Name: 'lower', TTL: '5s', Behavior: 'delete' });
  });

  it('a session on an unregistered node fails with Missing node registration', async () => {
    const res = await c.put('/v1/session/create', JSON.stringify({ Node: 'elsewhere' }));
    expect(res.status).to.equal(500);
    expect(res.text).to.equal('Missing node registration');
  });

  it('#50 TTL below session_ttl_min or above 24h fails with 500; an invalid TTL string fails with 500', async () => {
    const low = await c.put('/v1/session/create', JSON.stringify({ TTL: '50ms' }));
    expect(low.status).to.equal(500);
    expect(low.text).to.equal("Invalid Session TTL '50000000', must be between [100ms=24h0m0s]");
    const high = await c.put('/v1/session/create', JSON.stringify({ TTL: '25h' }));
    expect(high.status).to.equal(500);
    const bad = await c.put('/v1/session/create', JSON.stringify({ TTL: 'soon' }));
    expect(bad.status).to.equal(500);
    expect(bad.text).to.equal(`Session TTL 'soon' invalid: time: invalid duration "soon"`);
    const zero = await c.put('/v1/session/create', JSON.stringify({ TTL: '0s' }));
    expect(zero.status).to.equal(200);
  });

  it('#50 the default session_ttl_min is 10s', async () => {
    const strict = await startTestAgent({ sessionTtlMin: 10_000 });
    try {
      const res = await client(strict.url).put('/v1/session/create', JSON.stringify({ TTL: '9s' }));
      expect(res.text).to.equal("Invalid Session TTL '9000000000', must be between [10s=24h0m0s]");
    } finally {
      await strict.close();
    }
  });

  it('an unknown Behavior fails with 500 and a malformed body with 400 Request decode failed', async () => {
    const behavior = await c.put('/v1/session/create', JSON.stringify({ Behavior: 'explode' }));
    expect(behavior.status).to.equal(500);
    expect(behavior.text).to.equal("Invalid Behavior setting 'explode'");
    const junk = await c.put('/v1/session/create', '{not json');
    expect(junk.status).to.equal(400);
    expect(junk.text).to.match(/^Request decode failed: /);
  });

  it('#51 an un-renewed TTL session exists before its TTL and is gone after TTL·2 + TTL', async () => {
    const id = await createSession(c, { TTL: '150ms' });
    await sleep(100);
    expect(await info(id)).to.have.length(1);
    await sleep(150 * 3);
    expect(await info(id)).to.deep.equal([]);
  });

  it('#52 renewing before 2×TTL keeps the session alive for another 2×TTL', async () => {
    const id = await createSession(c, { TTL: '150ms' });
    await sleep(200);
    expect((await c.put(`/v1/session/renew/${id}`)).status).to.equal(200);
    await sleep(200);
    expect(await info(id), '400 ms after creation, 200 ms after renew').to.have.length(1);
    await sleep(250);
    expect(await info(id)).to.deep.equal([]);
  });

  it('#53 destroying a session with behavior release clears Session on its keys (key kept, LockIndex kept)', async () => {
    const s = await createSession(c, { LockDelay: 0 });
    await c.put(`/v1/kv/held?acquire=${s}`, 'v');
    await c.put(`/v1/session/destroy/${s}`);
    const e = await getEntry(c, 'held');
    expect(e).to.include({ LockIndex: 1, Value: 'dg==' });
    expect(e).to.not.have.property('Session');
  });

  it('#54 destroying a session with behavior delete deletes its keys', async () => {
    const s = await createSession(c, { Behavior: 'delete' });
    await c.put(`/v1/kv/held?acquire=${s}`, 'v');
    await c.put('/v1/kv/free', 'v');
    await c.put(`/v1/session/destroy/${s}`);
    expect((await c.get('/v1/kv/held')).status).to.equal(404);
    expect((await c.get('/v1/kv/free')).status).to.equal(200);
  });

  it('TTL expiry invalidates like destroy: held keys are released', async () => {
    const s = await createSession(c, { TTL: '100ms', LockDelay: 0 });
    await c.put(`/v1/kv/ttl-held?acquire=${s}`, 'v');
    await sleep(350);
    expect(await getEntry(c, 'ttl-held')).to.not.have.property('Session');
  });

  it('#55 after invalidation, acquiring the key fails for every session until the lock-delay expires', async () => {
    const s = await createSession(c, { LockDelay: '300ms' });
    const t = await createSession(c);
    await c.put(`/v1/kv/ld?acquire=${s}`, 'v');
    await c.put(`/v1/session/destroy/${s}`);
    expect((await c.put(`/v1/kv/ld?acquire=${t}`, 'w')).text).to.equal('false');
    const fresh = await createSession(c);
    expect((await c.put(`/v1/kv/ld?acquire=${fresh}`, 'w')).text).to.equal('false');
    expect((await c.put('/v1/kv/ld', 'plain writes ignore lock-delay')).text).to.equal('true');
    await sleep(350);
    expect((await c.put(`/v1/kv/ld?acquire=${t}`, 'w')).text).to.equal('true');
  });

  it('#55 a normal release does not start a lock-delay', async () => {
    const s = await createSession(c, { LockDelay: '10s' });
    const t = await createSession(c);
    await c.put(`/v1/kv/rel?acquire=${s}`, 'v');
    await c.put(`/v1/kv/rel?release=${s}`, 'v');
    expect((await c.put(`/v1/kv/rel?acquire=${t}`, 'w')).text).to.equal('true');
  });

  it('#56 LockDelay numbers below 1000 are seconds, larger numbers nanoseconds, strings Go durations', async () => {
    const cases: [unknown, number][] = [
      [15, 15e9],
      [0.5, 5e8],
      [2_000_000, 2_000_000],
      ['250ms', 2.5e8],
      ['1m', 60e9],
      [0, 0],
    ];
    for (const [given, ns] of cases) {
      const id = await createSession(c, { LockDelay: given });
      expect((await info(id))[0]!.LockDelay, JSON.stringify(given)).to.equal(ns);
    }
  });

  it('LockDelay numbers outside time.Duration\'s int64 nanoseconds are 400 Request decode failed, nothing created', async () => {
    for (const raw of ['1e400', '-1e400', '1e19', '9223372036854775808', '-1e10']) {
      const res = await c.put('/v1/session/create', `{"LockDelay":${raw}}`);
      expect(res.status, raw).to.equal(400);
      expect(res.text, raw).to.match(/^Request decode failed: /);
    }
    expect((await c.get('/v1/session/list')).text).to.equal('[]');
  });

  it('LockDelay strings that overflow time.Duration are 400 Request decode failed', async () => {
    for (const given of ['9999999999h', '2562048h', '1e400s']) {
      const res = await c.put('/v1/session/create', JSON.stringify({ LockDelay: given }));
      expect(res.status, given).to.equal(400);
      expect(res.text, given).to.match(/^Request decode failed: time: /);
    }
    expect((await c.get('/v1/session/list')).text).to.equal('[]');
  });

  it('a negative LockDelay means no lock-delay and is emitted as 0', async () => {
    const t = await createSession(c);
    for (const [i, given] of [-5, '-5s', -0.5, -2_000_000].entries()) {
      const id = await createSession(c, { LockDelay: given });
      expect((await c.get(`/v1/session/info/${id}`)).text, JSON.stringify(given)).to.contain('"LockDelay":0,');
      const key = `neg/${i}`;
      await c.put(`/v1/kv/${key}?acquire=${id}`, 'v');
      await c.put(`/v1/session/destroy/${id}`);
      expect((await c.put(`/v1/kv/${key}?acquire=${t}`, 'w')).text, JSON.stringify(given)).to.equal('true');
    }
  });

  it('the largest LockDelays are emitted as exact int64 integers', async () => {
    for (const given of ['2562047h47m16.854775807s', '2562047h', 9.2e18, 1e16]) {
      const id = await createSession(c, { LockDelay: given });
      const text = (await c.get(`/v1/session/info/${id}`)).text;
      const digits = /"LockDelay":(\d+),/.exec(text)?.[1];
      expect(digits, `${JSON.stringify(given)} in ${text}`).to.be.a('string');
      expect(BigInt(digits!) < 2n ** 63n, digits).to.equal(true);
    }
  });

  it('#56 LockDelay 0 disables the lock-delay', async () => {
    const s = await createSession(c, { LockDelay: 0 });
    const t = await createSession(c);
    await c.put(`/v1/kv/nd?acquire=${s}`, 'v');
    await c.put(`/v1/session/destroy/${s}`);
    expect((await c.put(`/v1/kv/nd?acquire=${t}`, 'w')).text).to.equal('true');
  });

  it('#57 destroy of an unknown session answers 200 true', async () => {
    const res = await c.put('/v1/session/destroy/00000000-0000-0000-0000-000000000000');
    expect(res.status).to.equal(200);
    expect(res.text).to.equal('true');
  });

  it('missing ids are 400: Missing session / Missing node name', async () => {
    for (const path of ['/v1/session/destroy/', '/v1/session/renew/']) {
      const res = await c.put(path);
      expect(res.status).to.equal(400);
      expect(res.text).to.equal('Missing session');
    }
    expect((await c.get('/v1/session/info/')).text).to.equal('Missing session');
    expect((await c.get('/v1/session/node/')).text).to.equal('Missing node name');
  });

  it('renewing a session without TTL succeeds', async () => {
    const id = await createSession(c);
    expect((await c.put(`/v1/session/renew/${id}`)).status).to.equal(200);
  });

  it('destroy and create change the sessions index', async () => {
    const before = (await c.get('/v1/session/list')).index!;
    const id = await createSession(c);
    const mid = (await c.get('/v1/session/list')).index!;
    await c.put(`/v1/session/destroy/${id}`);
    const after = (await c.get('/v1/session/list')).index!;
    expect(mid > before).to.equal(true);
    expect(after > mid).to.equal(true);
  });
});

describe('devagent session lock-delay bookkeeping', () => {
  const request: SessionRequest = {
    name: '',
    node: 'n',
    lockDelayNs: 1e6,
    behavior: 'release',
    ttl: '',
    nodeChecks: [],
    serviceChecks: null,
    checks: undefined,
  };
  let store: Store;
  let sessions: SessionManager;

  beforeEach(() => {
    store = new Store();
    sessions = new SessionManager(store, { nodeName: 'n', sessionTtlMin: 100 });
  });
  afterEach(() => {
    sessions.close();
  });

  /** Creates a session (1 ms lock-delay unless told) holding `keys`, then destroys it. */
  function holdAndInvalidate(keys: readonly string[], lockDelayNs = request.lockDelayNs): void {
    const { session } = sessions.create({ ...request, lockDelayNs });
    store.commit(
      keys.map((key) => ({
        type: 'kv-set' as const,
        entry: { key, flags: 0n, value: Buffer.alloc(0), session: session.id, lockIndex: 1, createIndex: 2, modifyIndex: 2 },
      })),
    );
    sessions.invalidate(session.id);
  }

  it('forgets an expired lock-delay when the key is looked up', async () => {
    holdAndInvalidate(['a']);
    expect(sessions.lockDelayed('a')).to.equal(true);
    await sleep(5);
    expect(sessions.lockDelayed('a')).to.equal(false);
    expect(sessions.lockDelayCount).to.equal(0);
  });

  it('sweeps expired lock-delays of keys never acquired again, keeping the live ones', async () => {
    for (let round = 0; round < 20; round++) {
      holdAndInvalidate(Array.from({ length: 500 }, (_, i) => `r${round}/${i}`), round < 19 ? 1e6 : 60e9);
      await sleep(3);
    }
    expect(sessions.lockDelayCount).to.be.below(2000);
    expect(sessions.lockDelayed('r19/0'), 'the latest delays are kept').to.equal(true);
  });

  it('refuses a lock-delay the data directory could not store', () => {
    for (const lockDelayNs of [Infinity, -1, 0.5, 2 ** 63]) {
      expect(() => sessions.create({ ...request, lockDelayNs }), String(lockDelayNs)).to.throw(/Invalid LockDelay/);
    }
    expect(store.sessions()).to.deep.equal([]);
  });
});
