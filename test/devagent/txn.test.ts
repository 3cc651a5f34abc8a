import { expect } from 'chai';

import { startTestAgent, type DevAgent } from '../support/dev-agent.js';
import { client, createSession, getEntry, type KvJson, type RawClient } from './raw-http.js';

interface TxnReply {
  Results: { KV: KvJson }[] | null;
  Errors: { OpIndex: number; What: string }[] | null;
}

const b64 = (s: string): string => Buffer.from(s).toString('base64');

describe('devagent conformance: transactions (§6 checklist 36a, 58–66)', () => {
  let agent: DevAgent;
  let c: RawClient;

  beforeEach(async () => {
    agent = await startTestAgent();
    c = client(agent.url);
  });
  afterEach(async () => {
    await agent.close();
  });

  function txn(ops: unknown[], query = '') {
    return c.put(`/v1/txn${query}`, JSON.stringify(ops));
  }

  it('#58 [lock K without session, get K] is rolled back with 409 and both errors, no results', async () => {
    const res = await txn([{ KV: { Verb: 'lock', Key: 'k', Value: b64('v') } }, { KV: { Verb: 'get', Key: 'k' } }]);
    expect(res.status).to.equal(409);
    const body = res.json<TxnReply>();
    expect(body.Results).to.equal(null);
    expect(body.Errors).to.have.length(2);
    expect(body.Errors![0]).to.deep.equal({ OpIndex: 0, What: 'missing session' });
    expect(body.Errors![1]!.OpIndex).to.equal(1);
    expect(body.Errors![1]!.What).to.contain("doesn't exist");
    expect((await c.get('/v1/kv/k')).status).to.equal(404);
  });

  it('#59 the same txn with a valid session commits with 2 results (lock Value null, get with value)', async () => {
    const s = await createSession(c);
    const res = await txn([
      { KV: { Verb: 'lock', Key: 'k', Value: b64('v'), Session: s } },
      { KV: { Verb: 'get', Key: 'k' } },
    ]);
    expect(res.status).to.equal(200);
    const body = res.json<TxnReply>();
    expect(body.Errors).to.equal(null);
    expect(body.Results).to.have.length(2);
    expect(body.Results![0]!.KV).to.include({ Key: 'k', Session: s, LockIndex: 1, Value: null });
    expect(body.Results![1]!.KV).to.include({ Key: 'k', Session: s, LockIndex: 1, Value: b64('v') });
    expect(res.headers['x-consul-index']).to.equal(undefined);
  });

  it('#60 a read-only txn returns the value and is served like a read (leader headers, no X-Consul-Index)', async () => {
    const s = await createSession(c);
    await c.put(`/v1/kv/k?acquire=${s}`, 'v');
    const res = await txn([{ KV: { Verb: 'get', Key: 'k' } }]);
    expect(res.status).to.equal(200);
    expect(res.json<TxnReply>().Results![0]!.KV).to.include({ Value: b64('v'), Session: s, LockIndex: 1 });
    expect(res.headers['x-consul-knownleader']).to.equal('true');
    expect(res.headers['x-consul-lastcontact']).to.equal('0');
    expect(res.headers['x-consul-index']).to.equal(undefined);
  });

  it('a write txn carries no read metadata headers', async () => {
    const res = await txn([{ KV: { Verb: 'set', Key: 'k', Value: b64('v') } }]);
    expect(res.headers['x-consul-knownleader']).to.equal(undefined);
  });

  it('#61 after a lock txn a normal GET shows LockIndex 1 and Session S', async () => {
    const s = await createSession(c);
    await txn([{ KV: { Verb: 'lock', Key: 'k', Value: b64('v'), Session: s } }]);
    expect(await getEntry(c, 'k')).to.include({ LockIndex: 1, Session: s });
  });

  it('#62 a failing op anywhere rolls back all earlier writes of the transaction', async () => {
    await c.put('/v1/kv/existing', 'orig');
    const res = await txn([
      { KV: { Verb: 'set', Key: 'a', Value: b64('1') } },
      { KV: { Verb: 'delete', Key: 'existing' } },
      { KV: { Verb: 'delete-tree', Key: '' } },
      { KV: { Verb: 'cas', Key: 'b', Index: 999, Value: b64('2') } },
    ]);
    expect(res.status).to.equal(409);
    expect((await c.get('/v1/kv/a')).status).to.equal(404);
    expect((await getEntry(c, 'existing'))?.Value).to.equal(b64('orig'));
  });

  it('#63 errors list every failing op with its OpIndex, not just the first', async () => {
    const res = await txn([
      { KV: { Verb: 'get', Key: 'x' } },
      { KV: { Verb: 'set', Key: 'ok', Value: b64('1') } },
      { KV: { Verb: 'check-not-exists', Key: 'ok' } },
      { KV: { Verb: 'frobnicate', Key: 'y' } },
    ]);
    expect(res.json<TxnReply>().Errors).to.deep.equal([
      { OpIndex: 0, What: 'key "x" doesn\'t exist' },
      { OpIndex: 2, What: 'key "ok" exists' },
      { OpIndex: 3, What: 'unknown KV verb "frobnicate"' },
    ]);
  });

  it('#64 cas, delete-cas, check-index, check-session and check-not-exists failures carry Consul\'s messages', async () => {
    await c.put('/v1/kv/k', 'v');
    const k = (await getEntry(c, 'k'))!;
    const s = await createSession(c);
    const res = await txn([
      { KV: { Verb: 'cas', Key: 'k', Index: k.ModifyIndex + 1, Value: b64('x') } },
      { KV: { Verb: 'delete-cas', Key: 'k', Index: k.ModifyIndex + 1 } },
      { KV: { Verb: 'check-index', Key: 'k', Index: k.ModifyIndex + 1 } },
      { KV: { Verb: 'check-index', Key: 'nope', Index: 1 } },
      { KV: { Verb: 'check-session', Key: 'k', Session: s } },
      { KV: { Verb: 'check-session', Key: 'nope', Session: s } },
      { KV: { Verb: 'check-not-exists', Key: 'k' } },
      { KV: { Verb: 'unlock', Key: 'k', Session: s } },
      { KV: { Verb: 'lock', Key: 'k', Session: 'bogus' } },
    ]);
    expect(res.status).to.equal(409);
    expect(res.json<TxnReply>().Errors!.map((e) => e.What)).to.deep.equal([
      'failed to set key "k", index is stale',
      'failed to delete key "k", index is stale',
      `failed index check for key "k", current modify index ${k.ModifyIndex} != ${k.ModifyIndex + 1}`,
      'failed to check index, key "nope" doesn\'t exist',
      `failed session check for key "k", current session "" != "${s}"`,
      'failed to check session, key "nope" doesn\'t exist',
      'key "k" exists',
      'failed to unlock key "k", lock isn\'t held, or is held by another session',
      'invalid session "bogus"',
    ]);
  });

  it('#64 a lock on a key held by another session fails with "lock is already held"', async () => {
    const s = await createSession(c);
    const t = await createSession(c);
    await c.put(`/v1/kv/k?acquire=${s}`, 'v');
    const res = await txn([{ KV: { Verb: 'lock', Key: 'k', Session: t } }]);
    expect(res.json<TxnReply>().Errors).to.deep.equal([{ OpIndex: 0, What: 'failed to lock key "k", lock is already held' }]);
  });

  it('#65 delete verbs and check-not-exists add no results; set/cas/lock/unlock/check-* results have Value null', async () => {
    await c.put('/v1/kv/d1', 'x');
    await c.put('/v1/kv/d2', 'x');
    await c.put('/v1/kv/tree/a', 'x');
    const d2 = (await getEntry(c, 'd2'))!;
    const s = await createSession(c);
    const res = await txn([
      { KV: { Verb: 'set', Key: 'a', Value: b64('1') } },
      { KV: { Verb: 'cas', Key: 'b', Index: 0, Value: b64('2') } },
      { KV: { Verb: 'lock', Key: 'c', Value: b64('3'), Session: s } },
      { KV: { Verb: 'unlock', Key: 'c', Value: b64('4'), Session: s } },
      { KV: { Verb: 'check-index', Key: 'd2', Index: d2.ModifyIndex } },
      { KV: { Verb: 'delete', Key: 'd1' } },
      { KV: { Verb: 'delete-cas', Key: 'd2', Index: d2.ModifyIndex } },
      { KV: { Verb: 'delete-tree', Key: 'tree/' } },
      { KV: { Verb: 'check-not-exists', Key: 'd1' } },
    ]);
    expect(res.status).to.equal(200);
    const results = res.json<TxnReply>().Results!;
    expect(results.map((r) => r.KV.Key)).to.deep.equal(['a', 'b', 'c', 'c', 'd2']);
    for (const r of results) expect(r.KV.Value).to.equal(null);
    expect((await getEntry(c, 'c'))?.Value).to.equal(b64('4'));
    for (const gone of ['d1', 'd2', 'tree/a']) expect((await c.get(`/v1/kv/${gone}`)).status).to.equal(404);
  });

  it('later ops see the effects of earlier ops; get-tree and get-or-empty return values', async () => {
    const res = await txn([
      { KV: { Verb: 'set', Key: 't/1', Value: b64('one') } },
      { KV: { Verb: 'set', Key: 't/2', Value: b64('two') } },
      { KV: { Verb: 'get-tree', Key: 't/' } },
      { KV: { Verb: 'get-or-empty', Key: 't/none' } },
    ]);
    const kvs = res.json<TxnReply>().Results!.map((r) => r.KV);
    expect(kvs.slice(2).map((k) => [k.Key, k.Value])).to.deep.equal([
      ['t/1', b64('one')],
      ['t/2', b64('two')],
      ['t/none', null],
    ]);
  });

  it('all writes of one txn share one new index', async () => {
    const res = await txn([
      { KV: { Verb: 'set', Key: 'x', Value: b64('1') } },
      { KV: { Verb: 'set', Key: 'y', Value: b64('2') } },
    ]);
    const [x, y] = res.json<TxnReply>().Results!.map((r) => r.KV);
    expect(x!.ModifyIndex).to.equal(y!.ModifyIndex);
  });

  it('flags above 2^53 pass through a txn exactly', async () => {
    const body = '[{"KV":{"Verb":"set","Key":"f","Value":null,"Flags":16210313421097356768}}]';
    const res = await c.put('/v1/txn', body);
    expect(res.text).to.contain('"Flags":16210313421097356768');
    expect((await c.get('/v1/kv/f')).text).to.contain('"Flags":16210313421097356768');
  });

  it('#36a a txn set/cas carrying a Session attaches nothing and keeps an existing holder', async () => {
    const s = await createSession(c);
    const t = await createSession(c);
    await txn([{ KV: { Verb: 'set', Key: 'free', Value: b64('x'), Session: s } }]);
    expect(await getEntry(c, 'free')).to.not.have.property('Session');
    await c.put(`/v1/kv/held?acquire=${s}`, 'v');
    const held = (await getEntry(c, 'held'))!;
    await txn([{ KV: { Verb: 'cas', Key: 'held', Index: held.ModifyIndex, Value: b64('y'), Session: t } }]);
    expect((await getEntry(c, 'held'))?.Session).to.equal(s);
  });

  it('an empty Key fails the pre-check with "Must provide key" (delete-tree excepted)', async () => {
    const res = await txn([{ KV: { Verb: 'set', Key: '', Value: null } }, { KV: { Verb: 'delete-tree', Key: '' } }]);
    expect(res.status).to.equal(409);
    expect(res.json<TxnReply>().Errors).to.deep.equal([{ OpIndex: 0, What: 'Must provide key' }]);
  });

  it('a lock under lock-delay fails the pre-check with "due to lock delay"', async () => {
    const s = await createSession(c, { LockDelay: '5s' });
    const t = await createSession(c);
    await c.put(`/v1/kv/ld?acquire=${s}`, 'v');
    await c.put(`/v1/session/destroy/${s}`);
    const res = await txn([{ KV: { Verb: 'lock', Key: 'ld', Session: t } }]);
    expect(res.status).to.equal(409);
    expect(res.json<TxnReply>().Errors).to.deep.equal([{ OpIndex: 0, What: 'failed to lock key "ld" due to lock delay' }]);
  });

  it('#66 more than 128 ops is 413; exactly 128 is accepted', async () => {
    const ops = (n: number) => Array.from({ length: n }, (_, i) => ({ KV: { Verb: 'set', Key: `k${i}`, Value: null } }));
    const res = await txn(ops(129));
    expect(res.status).to.equal(413);
    expect(res.text).to.equal('Transaction contains too many operations (129 > 128)');
    expect((await txn(ops(128))).status).to.equal(200);
  });

  it('#66 the op limit follows txnMaxOps', async () => {
    const small = await startTestAgent({ txnMaxOps: 2 });
    try {
      const ops = Array.from({ length: 3 }, (_, i) => ({ KV: { Verb: 'get', Key: `k${i}` } }));
      expect((await client(small.url).put('/v1/txn', JSON.stringify(ops))).text).to.contain('(3 > 2)');
    } finally {
      await small.close();
    }
  });

  it('#66 malformed JSON, unknown fields and bad base64 are 400 Failed to parse body', async () => {
    for (const body of [
      '[{"KV":',
      '[{"KV":{"Verb":"set","Key":"k"},"Session":"x"}]',
      '[{"KV":{"Verb":"set","Key":"k","Bogus":1}}]',
      '[{"KV":{"Verb":"set","Key":"k","Value":"not base64!"}}]',
      '{"KV":{}}',
    ]) {
      const res = await c.put('/v1/txn', body);
      expect(res.status, body).to.equal(400);
      expect(res.text, body).to.match(/^Failed to parse body: /);
    }
  });

  it('a request body over txn_max_req_len is 413, and a value over kv_max_value_size is 413', async () => {
    const big = await c.put('/v1/txn', Buffer.alloc(524289, 0x20));
    expect(big.status).to.equal(413);
    expect(big.text).to.match(/^Request body\(524289 bytes\) too large, max size: 524288 bytes/);
    const small = await startTestAgent({ kvMaxValueSize: 4, txnMaxReqLen: 4096 });
    try {
      const res = await client(small.url).put('/v1/txn', JSON.stringify([{ KV: { Verb: 'set', Key: 'k', Value: b64('12345') } }]));
      expect(res.status).to.equal(413);
      expect(res.text).to.equal('Value for key "k" is too large (5 > 4 bytes)');
    } finally {
      await small.close();
    }
  });

  it('field names of ops match case-insensitively and ops without KV/Node/Service/Check are dropped', async () => {
    const res = await c.put('/v1/txn', JSON.stringify([{ kv: { verb: 'set', key: 'ci', value: b64('x') } }, {}]));
    expect(res.status).to.equal(200);
    expect(res.json<TxnReply>().Results).to.have.length(1);
  });

  it('catalog ops are refused with a 409 error (not supported by the dev agent)', async () => {
    const res = await txn([{ Node: { Verb: 'get', Node: { Node: 'n' } } }]);
    expect(res.status).to.equal(409);
    expect(res.json<TxnReply>().Errors![0]!.What).to.contain('not supported');
  });
});
