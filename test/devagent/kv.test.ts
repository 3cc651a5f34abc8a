import { expect } from 'chai';

import { startTestAgent, type DevAgent } from '../support/dev-agent.js';
import { client, createSession, getEntry, type KvJson, type RawClient } from './raw-http.js';

describe('devagent conformance: KV (§6 checklist 1–36f)', () => {
  let agent: DevAgent;
  let c: RawClient;

  beforeEach(async () => {
    agent = await startTestAgent();
    c = client(agent.url);
  });
  afterEach(async () => {
    await agent.close();
  });

  describe('reads and writes', () => {
    it('#1 GET of a never-written key is 404 with an empty body and X-Consul-Index ≥ 1', async () => {
      const res = await c.get('/v1/kv/never');
      expect(res.status).to.equal(404);
      expect(res.body.length).to.equal(0);
      expect(res.headers['content-type']).to.equal(undefined);
      expect(res.index! >= 1n).to.equal(true);
      expect(res.headers['x-consul-knownleader']).to.equal('true');
      expect(res.headers['x-consul-lastcontact']).to.equal('0');
    });

    it('#3 PUT flags=42 body "test" reads back Value dGVzdA== and Flags 42 with a non-zero index', async () => {
      await c.put('/v1/kv/a/b?flags=42', 'test');
      const res = await c.get('/v1/kv/a/b');
      expect(res.status).to.equal(200);
      expect(res.headers['content-type']).to.equal('application/json');
      const [e] = res.json<KvJson[]>();
      expect(e).to.include({ Key: 'a/b', Flags: 42, Value: 'dGVzdA==', LockIndex: 0 });
      expect(res.index).to.not.equal(0n);
      expect(res.index).to.equal(BigInt(e!.ModifyIndex));
    });

    it('emits DirEntry fields in Go order and omits Session when no session holds the key', async () => {
      await c.put('/v1/kv/order', 'x');
      const res = await c.get('/v1/kv/order');
      expect(res.text).to.match(/^\[\{"LockIndex":0,"Key":"order","Flags":0,"Value":"eA==","CreateIndex":\d+,"ModifyIndex":\d+\}\]$/);
    });

    it('stores and emits flags above 2^53 exactly (lock and semaphore flag values)', async () => {
      await c.put('/v1/kv/lock?flags=3304740253564472344', 'x');
      await c.put('/v1/kv/sem?flags=18446744073709551615', 'x');
      expect((await c.get('/v1/kv/lock')).text).to.contain('"Flags":3304740253564472344,');
      expect((await c.get('/v1/kv/sem')).text).to.contain('"Flags":18446744073709551615,');
    });

    it('flags that are not a uint64 fail with HTTP 500 and Go\'s ParseUint message', async () => {
      const bad = await c.put('/v1/kv/f?flags=abc', 'x');
      expect(bad.status).to.equal(500);
      expect(bad.text).to.equal('strconv.ParseUint: parsing "abc": invalid syntax');
      const big = await c.put('/v1/kv/f?flags=18446744073709551616', 'x');
      expect(big.status).to.equal(500);
      expect(big.text).to.contain('value out of range');
    });

    it('#4 a plain PUT answers the JSON body true', async () => {
      const res = await c.put('/v1/kv/plain', 'v');
      expect(res.status).to.equal(200);
      expect(res.text).to.equal('true');
      expect(res.headers['x-consul-index']).to.equal(undefined);
    });

    it('#5 DELETE of an existing key answers true and the key is then 404', async () => {
      await c.put('/v1/kv/gone', 'v');
      const res = await c.del('/v1/kv/gone');
      expect(res.text).to.equal('true');
      expect((await c.get('/v1/kv/gone')).status).to.equal(404);
    });

    it('#6 ?recurse returns all 100 keys under a prefix with their values and a non-zero index', async () => {
      for (let i = 0; i < 100; i++) await c.put(`/v1/kv/many/${String(i).padStart(3, '0')}`, `v${i}`);
      const res = await c.get('/v1/kv/many/?recurse');
      const entries = res.json<KvJson[]>();
      expect(entries).to.have.length(100);
      entries.forEach((e, i) => {
        expect(e.Key).to.equal(`many/${String(i).padStart(3, '0')}`);
        expect(Buffer.from(e.Value!, 'base64').toString()).to.equal(`v${i}`);
      });
      expect(res.index).to.not.equal(0n);
    });

    it('#7 after DELETE prefix?recurse, ?recurse on the prefix is 404', async () => {
      await c.put('/v1/kv/tree/a', '1');
      await c.put('/v1/kv/tree/b/c', '2');
      await c.put('/v1/kv/treeish', 'stays');
      expect((await c.del('/v1/kv/tree/?recurse')).text).to.equal('true');
      expect((await c.get('/v1/kv/tree/?recurse')).status).to.equal(404);
      expect((await c.get('/v1/kv/treeish')).status).to.equal(200);
    });

    it('#8 ?keys lists every full key under a prefix, and none (404) after a recursive delete', async () => {
      await c.put('/v1/kv/ks/a', '1');
      await c.put('/v1/kv/ks/b/c', '2');
      expect((await c.get('/v1/kv/ks/?keys')).json()).to.deep.equal(['ks/a', 'ks/b/c']);
      await c.del('/v1/kv/ks/?recurse');
      const res = await c.get('/v1/kv/ks/?keys');
      expect(res.status).to.equal(404);
      expect(res.body.length).to.equal(0);
    });

    it('#9 ?keys&separator=/ on the root folds folders; the misspelt seperator works the same', async () => {
      for (const k of ['bar', 'baz', 'foo/sub1', 'foo/sub2', 'zip']) await c.put(`/v1/kv/${k}`, 'x');
      expect((await c.get('/v1/kv/?keys&separator=/')).json()).to.deep.equal(['bar', 'baz', 'foo/', 'zip']);
      expect((await c.get('/v1/kv/?keys&seperator=/')).json()).to.deep.equal(['bar', 'baz', 'foo/', 'zip']);
      expect((await c.get('/v1/kv/?keys&seperator=z&separator=/')).json()).to.deep.equal(['bar', 'baz', 'foo/', 'zip']);
    });

    it('?keys on an empty store root answers 200 [] (never null or 404)', async () => {
      const res = await c.get('/v1/kv/?keys');
      expect(res.status).to.equal(200);
      expect(res.text).to.equal('[]');
    });

    it('#10 ?recurse on the root returns keys in byte-lexicographic (UTF-8) order', async () => {
      const keys = ['b', 'a/z', 'a', 'A', 'a-b', '\u00e9', '\uffff', '\u{1F600}'];
      for (const k of keys) await c.put(`/v1/kv/${encodeURIComponent(k)}`, 'x');
      const got = (await c.get('/v1/kv/?recurse')).json<KvJson[]>().map((e) => e.Key);
      const expected = [...keys].sort((x, y) => Buffer.compare(Buffer.from(x), Buffer.from(y)));
      expect(got).to.deep.equal(expected);
    });

    it('a prefix read is a plain string prefix: foo matches foo, foo/x and foobar', async () => {
      for (const k of ['foo', 'foo/x', 'foobar', 'fo']) await c.put(`/v1/kv/${k}`, 'x');
      const got = (await c.get('/v1/kv/foo?recurse')).json<KvJson[]>().map((e) => e.Key);
      expect(got).to.deep.equal(['foo', 'foo/x', 'foobar']);
    });

    it('#11 ?raw returns exactly the stored bytes as text/plain with index headers', async () => {
      const bytes = Buffer.from([0, 1, 2, 255, 254, 10]);
      await c.put('/v1/kv/bin', bytes);
      const res = await c.get('/v1/kv/bin?raw');
      expect(res.status).to.equal(200);
      expect(res.body.equals(bytes)).to.equal(true);
      expect(res.headers['content-type']).to.equal('text/plain');
      expect(res.headers['x-content-type-options']).to.equal('nosniff');
      expect(res.headers['content-security-policy']).to.equal('sandbox');
      expect(res.index).to.not.equal(undefined);
      expect(res.headers['x-consul-knownleader']).to.equal('true');
    });

    it('?raw on a missing key is 404, and ?raw is ignored for ?recurse', async () => {
      expect((await c.get('/v1/kv/nope?raw')).status).to.equal(404);
      await c.put('/v1/kv/r/a', 'x');
      expect((await c.get('/v1/kv/r/?recurse&raw')).json<KvJson[]>()[0]!.Key).to.equal('r/a');
    });

    it('#23 a PUT with an empty body stores a value that reads back as JSON null', async () => {
      await c.put('/v1/kv/empty', '');
      const res = await c.get('/v1/kv/empty');
      expect(res.text).to.contain('"Value":null');
      const raw = await c.get('/v1/kv/empty?raw');
      expect(raw.status).to.equal(200);
      expect(raw.body.length).to.equal(0);
    });

    it('URL-decodes the key (%2F is a slash, %20 a space)', async () => {
      await c.put('/v1/kv/a%2Fb%20c', 'x');
      expect((await getEntry(c, 'a/b%20c'))?.Key).to.equal('a/b c');
    });

    it('a body sent chunked (no Content-Length) is stored', async () => {
      await c.put('/v1/kv/chunked', 'streamed', { chunked: true });
      expect((await c.get('/v1/kv/chunked?raw')).text).to.equal('streamed');
    });
  });

  describe('CAS', () => {
    it('#12 cas=0 creates a key that does not exist', async () => {
      expect((await c.put('/v1/kv/cas0?cas=0', 'v')).text).to.equal('true');
      expect((await getEntry(c, 'cas0'))?.Value).to.equal('dg==');
    });

    it('#13 cas=0 on an existing key answers false and changes nothing', async () => {
      await c.put('/v1/kv/cas0?flags=1', 'orig');
      const before = await getEntry(c, 'cas0');
      expect((await c.put('/v1/kv/cas0?cas=0&flags=2', 'new')).text).to.equal('false');
      expect(await getEntry(c, 'cas0')).to.deep.equal(before);
    });

    it('#14 cas with an index different from ModifyIndex answers false', async () => {
      await c.put('/v1/kv/casx', 'orig');
      const e = await getEntry(c, 'casx');
      expect((await c.put(`/v1/kv/casx?cas=${e!.ModifyIndex + 100}`, 'new')).text).to.equal('false');
      expect((await getEntry(c, 'casx'))?.Value).to.equal(Buffer.from('orig').toString('base64'));
    });

    it('#15 cas with the current ModifyIndex answers true and updates value and flags', async () => {
      await c.put('/v1/kv/casy', 'orig');
      const e = await getEntry(c, 'casy');
      expect((await c.put(`/v1/kv/casy?cas=${e!.ModifyIndex}&flags=7`, 'new')).text).to.equal('true');
      const after = await getEntry(c, 'casy');
      expect(after).to.include({ Flags: 7, Value: Buffer.from('new').toString('base64'), CreateIndex: e!.CreateIndex });
      expect(after!.ModifyIndex).to.be.greaterThan(e!.ModifyIndex);
    });

    it('#16 cas with a non-zero index on a missing key answers false', async () => {
      expect((await c.put('/v1/kv/missing?cas=5', 'v')).text).to.equal('false');
      expect((await c.get('/v1/kv/missing')).status).to.equal(404);
    });

    it('#17 DELETE ?cas with a wrong index keeps the key; with the current index removes it', async () => {
      await c.put('/v1/kv/dcas', 'v');
      const e = await getEntry(c, 'dcas');
      expect((await c.del(`/v1/kv/dcas?cas=${e!.ModifyIndex + 1}`)).text).to.equal('false');
      expect((await c.get('/v1/kv/dcas')).status).to.equal(200);
      expect((await c.del(`/v1/kv/dcas?cas=${e!.ModifyIndex}`)).text).to.equal('true');
      expect((await c.get('/v1/kv/dcas')).status).to.equal(404);
    });

    it('#18 DELETE ?cas=0 never deletes an existing key', async () => {
      await c.put('/v1/kv/dcas0', 'v');
      expect((await c.del('/v1/kv/dcas0?cas=0')).text).to.equal('false');
      expect((await c.get('/v1/kv/dcas0')).status).to.equal(200);
    });
  });

  describe('validation', () => {
    it('#19 PUT with two of cas/acquire/release is 400 "Conflicting flags: …" with the re-encoded query', async () => {
      const res = await c.put('/v1/kv/k?release=s&cas=1', 'v');
      expect(res.status).to.equal(400);
      expect(res.text).to.equal('Conflicting flags: cas=1&release=s');
      expect((await c.put('/v1/kv/k?acquire=a&release=b', 'v')).status).to.equal(400);
    });

    it('#20 DELETE with both recurse and cas is 400 Conflicting flags', async () => {
      const res = await c.del('/v1/kv/k?recurse&cas=1');
      expect(res.status).to.equal(400);
      expect(res.text).to.contain('Conflicting');
    });

    it('#21 PUT, GET and DELETE on an empty key are 400 Missing key name', async () => {
      for (const res of [await c.put('/v1/kv/', 'v'), await c.get('/v1/kv/'), await c.del('/v1/kv/')]) {
        expect(res.status).to.equal(400);
        expect(res.text).to.equal('Missing key name');
      }
    });

    it('#22 PUT with Content-Length above 512 KiB is 413 with Consul\'s message', async () => {
      const res = await c.put('/v1/kv/big', Buffer.alloc(524289, 1));
      expect(res.status).to.equal(413);
      expect(res.text).to.equal(
        'Request body(524289 bytes) too large, max size: 524288 bytes. See https://www.consul.io/docs/agent/config/config-files#kv_max_value_size.',
      );
      expect((await c.get('/v1/kv/big')).status).to.equal(404);
    });

    it('a value of exactly 512 KiB is accepted', async () => {
      expect((await c.put('/v1/kv/big', Buffer.alloc(524288, 1))).text).to.equal('true');
    });

    it('a chunked body over the limit is refused with 413 while streaming', async () => {
      const res = await c.put('/v1/kv/big', Buffer.alloc(600_000, 1), { chunked: true });
      expect(res.status).to.equal(413);
      expect((await c.get('/v1/kv/big')).status).to.equal(404);
    });

    it('the value limit follows kvMaxValueSize', async () => {
      const small = await startTestAgent({ kvMaxValueSize: 10 });
      try {
        const res = await client(small.url).put('/v1/kv/k', '12345678901');
        expect(res.status).to.equal(413);
        expect(res.text).to.contain('max size: 10 bytes');
      } finally {
        await small.close();
      }
    });
  });

  describe('locks', () => {
    it('#28 acquire with session S on a new key answers true; GET shows LockIndex 1 and Session S', async () => {
      const s = await createSession(c);
      expect((await c.put(`/v1/kv/lk?acquire=${s}`, 'v')).text).to.equal('true');
      expect(await getEntry(c, 'lk')).to.include({ LockIndex: 1, Session: s });
    });

    it('#29 release with S answers true; LockIndex stays 1 and Session is gone', async () => {
      const s = await createSession(c);
      await c.put(`/v1/kv/lk?acquire=${s}`, 'v');
      expect((await c.put(`/v1/kv/lk?release=${s}`, 'v')).text).to.equal('true');
      const e = await getEntry(c, 'lk');
      expect(e?.LockIndex).to.equal(1);
      expect(e).to.not.have.property('Session');
    });

    it('release replaces value and flags with the request\'s (a bare release wipes the value)', async () => {
      const s = await createSession(c);
      await c.put(`/v1/kv/lk?acquire=${s}&flags=9`, 'v');
      await c.put(`/v1/kv/lk?release=${s}`);
      expect(await getEntry(c, 'lk')).to.include({ Value: null, Flags: 0 });
    });

    it('#30 acquire by the holder answers true, keeps LockIndex and updates the value', async () => {
      const s = await createSession(c);
      await c.put(`/v1/kv/lk?acquire=${s}`, 'one');
      expect((await c.put(`/v1/kv/lk?acquire=${s}`, 'two')).text).to.equal('true');
      expect(await getEntry(c, 'lk')).to.include({ LockIndex: 1, Value: Buffer.from('two').toString('base64') });
    });

    it('#31 acquire by T on a key held by S answers false', async () => {
      const s = await createSession(c);
      const t = await createSession(c);
      await c.put(`/v1/kv/lk?acquire=${s}`, 'v');
      expect((await c.put(`/v1/kv/lk?acquire=${t}`, 'w')).text).to.equal('false');
      expect(await getEntry(c, 'lk')).to.include({ Session: s, Value: 'dg==' });
    });

    it('#32 re-acquiring after a release increments LockIndex (1 → 2)', async () => {
      const s = await createSession(c);
      const t = await createSession(c);
      await c.put(`/v1/kv/lk?acquire=${s}`, 'v');
      await c.put(`/v1/kv/lk?release=${s}`, 'v');
      await c.put(`/v1/kv/lk?acquire=${t}`, 'v');
      expect(await getEntry(c, 'lk')).to.include({ LockIndex: 2, Session: t });
    });

    it('#33 release by a non-holder answers false; release of a missing key answers false', async () => {
      const s = await createSession(c);
      const t = await createSession(c);
      await c.put(`/v1/kv/lk?acquire=${s}`, 'v');
      expect((await c.put(`/v1/kv/lk?release=${t}`, 'v')).text).to.equal('false');
      expect((await c.put(`/v1/kv/nolk?release=${t}`, 'v')).text).to.equal('false');
      expect((await getEntry(c, 'lk'))?.Session).to.equal(s);
    });

    it('#34 acquire with an unknown session id is HTTP 500 invalid session', async () => {
      const res = await c.put('/v1/kv/lk?acquire=00000000-0000-0000-0000-000000000000', 'v');
      expect(res.status).to.equal(500);
      expect(res.text).to.equal('invalid session "00000000-0000-0000-0000-000000000000"');
    });

    it('acquire or release with an empty session is HTTP 500 missing session', async () => {
      for (const res of [await c.put('/v1/kv/lk?acquire=', 'v'), await c.put('/v1/kv/lk?release=', 'v')]) {
        expect(res.status).to.equal(500);
        expect(res.text).to.equal('missing session');
      }
    });

    it('#35 a plain PUT on a locked key succeeds and keeps its Session (LockIndex written as 0)', async () => {
      const s = await createSession(c);
      await c.put(`/v1/kv/lk?acquire=${s}`, 'v');
      expect((await c.put('/v1/kv/lk', 'plain')).text).to.equal('true');
      expect(await getEntry(c, 'lk')).to.include({ Session: s, LockIndex: 0, Value: Buffer.from('plain').toString('base64') });
    });

    it('#36 a session-held key can be deleted by a plain DELETE', async () => {
      const s = await createSession(c);
      await c.put(`/v1/kv/lk?acquire=${s}`, 'v');
      expect((await c.del('/v1/kv/lk')).text).to.equal('true');
      expect((await c.get('/v1/kv/lk')).status).to.equal(404);
    });
  });

  describe('indexes', () => {
    it('#36b ?keys&separator=/ on foo/bar/ lists a key and a folder of the same name', async () => {
      for (const k of ['foo/bar/baz', 'foo/bar/zip', 'foo/bar/zip/zam', 'foo/bar/zip/zorp']) await c.put(`/v1/kv/${k}`, 'x');
      expect((await c.get('/v1/kv/foo/bar/?keys&separator=/')).json()).to.deep.equal([
        'foo/bar/baz',
        'foo/bar/zip',
        'foo/bar/zip/',
      ]);
    });

    it('#36c GET of a missing key reports the latest KV-wide index, including writes to unrelated keys', async () => {
      await c.put('/v1/kv/one', 'x');
      const first = (await c.get('/v1/kv/missing')).index!;
      await c.put('/v1/kv/two', 'x');
      const second = (await c.get('/v1/kv/missing')).index!;
      expect(second > first).to.equal(true);
      expect(second).to.equal(BigInt((await getEntry(c, 'two'))!.ModifyIndex));
    });

    it('#36d a delete under a prefix sets the prefix index (tombstone); later writes elsewhere leave it', async () => {
      await c.put('/v1/kv/p/a', 'x');
      await c.put('/v1/kv/p/b', 'x');
      await c.del('/v1/kv/p/b');
      const afterDelete = (await c.get('/v1/kv/p/?recurse')).index!;
      const missing = (await c.get('/v1/kv/none')).index!;
      expect(afterDelete).to.equal(missing, 'the delete is the latest KV change');
      expect(afterDelete > BigInt((await getEntry(c, 'p/a'))!.ModifyIndex)).to.equal(true);
      await c.put('/v1/kv/elsewhere', 'x');
      expect((await c.get('/v1/kv/p/?recurse')).index).to.equal(afterDelete);
      expect((await c.get('/v1/kv/p/?keys')).index).to.equal(afterDelete);
    });

    it('#36d a recursive delete leaves a tombstone for its prefix, so an emptied prefix keeps its delete index', async () => {
      await c.put('/v1/kv/q/a', 'x');
      await c.del('/v1/kv/q/?recurse');
      const idx = (await c.get('/v1/kv/q/?recurse')).index!;
      await c.put('/v1/kv/other', 'x');
      const res = await c.get('/v1/kv/q/?recurse');
      expect(res.status).to.equal(404);
      expect(res.index).to.equal(idx);
    });

    it('#36e deleting a missing key (plain or ?cas=N) answers true and changes no index', async () => {
      await c.put('/v1/kv/x', 'x');
      const before = (await c.get('/v1/kv/missing')).index;
      expect((await c.del('/v1/kv/missing')).text).to.equal('true');
      expect((await c.del('/v1/kv/missing?cas=5')).text).to.equal('true');
      expect((await c.del('/v1/kv/nothing/?recurse')).text).to.equal('true');
      expect((await c.get('/v1/kv/missing')).index).to.equal(before);
    });

    it('#36f a PUT that changes nothing keeps ModifyIndex', async () => {
      await c.put('/v1/kv/same?flags=3', 'v');
      const before = await getEntry(c, 'same');
      await c.put('/v1/kv/same?flags=3', 'v');
      expect(await getEntry(c, 'same')).to.deep.equal(before);
      expect((await c.get('/v1/kv/missing')).index).to.equal(BigInt(before!.ModifyIndex));
    });

    it('the index is never 0: an empty store and an empty prefix report 1', async () => {
      expect((await c.get('/v1/kv/x')).index).to.equal(1n);
      expect((await c.get('/v1/kv/nothing/?recurse')).index).to.equal(1n);
      expect((await c.get('/v1/kv/?keys')).index).to.equal(1n);
    });

    it('a new key gets CreateIndex = ModifyIndex; an update keeps CreateIndex', async () => {
      await c.put('/v1/kv/ci', '1');
      const a = await getEntry(c, 'ci');
      expect(a!.CreateIndex).to.equal(a!.ModifyIndex);
      await c.put('/v1/kv/ci', '2');
      const b = await getEntry(c, 'ci');
      expect(b!.CreateIndex).to.equal(a!.CreateIndex);
      expect(b!.ModifyIndex).to.be.greaterThan(a!.ModifyIndex);
    });
  });
});
