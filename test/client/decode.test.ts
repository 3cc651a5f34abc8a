import { expect } from 'chai';
import { Consul, ProtocolError } from '@kvx/client';
import { startFaultProxy, type FaultProxy } from '../support/fault-proxy.js';
import { caught } from './helpers.js';

const json = (body: string) => ({ status: 200, body, headers: { 'Content-Type': 'application/json', 'X-Consul-Index': '9' } });
const session = (id: string, lockDelay: string) =>
  `{"ID":"${id}","Name":"","Node":"n1","LockDelay":${lockDelay},"Behavior":"release","TTL":"","NodeChecks":null,"CreateIndex":4,"ModifyIndex":4}`;
const kvEntry = (flags: string) => `[{"LockIndex":0,"Key":"k","Flags":${flags},"Value":null,"CreateIndex":5,"ModifyIndex":5}]`;

/** Decoding of replies Consul (or something in front of it) may send, scripted at the proxy. */
describe('client: decoding of odd replies', () => {
  let proxy: FaultProxy;
  let consul: Consul;

  beforeEach(async () => {
    proxy = await startFaultProxy('http://127.0.0.1:9');
    consul = new Consul({ address: proxy.address, env: {}, retry: false });
  });
  afterEach(async () => {
    await consul.close();
    await proxy.close();
  });

  it('reads a negative LockDelay as a signed duration instead of failing every session', async () => {
    proxy.respond(json(`[${session('a', '-1000000')},${session('b', '15000000000')}]`));
    const sessions = (await consul.session.list()).value;
    expect(sessions.map((s) => [s.id, s.lockDelay])).to.deep.equal([
      ['a', -1],
      ['b', 15_000],
    ]);
  });

  it('reads the most negative int64 LockDelay exactly', async () => {
    proxy.respond(json(`[${session('a', '-9223372036854775808')}]`));
    expect((await consul.session.info('a')).value?.lockDelay).to.equal(-9_223_372_036_854);
  });

  it('rejects a LockDelay beyond int64 with a ProtocolError', async () => {
    proxy.respond(json(`[${session('a', '9223372036854775808')}]`));
    expect(await caught(consul.session.list())).to.be.instanceOf(ProtocolError);
  });

  it('accepts the largest uint64 Flags', async () => {
    proxy.respond(json(kvEntry('18446744073709551615')));
    expect((await consul.kv.get('k')).value?.flags).to.equal(2n ** 64n - 1n);
  });

  for (const index of ['18446744073709551616', '99999999999999999999999', '-1', '5, 5']) {
    it(`rejects the X-Consul-Index ${JSON.stringify(index)}, which is not a uint64, with a ProtocolError`, async () => {
      proxy.respond({ status: 200, body: kvEntry('0'), headers: { 'Content-Type': 'application/json', 'X-Consul-Index': index } });
      const err = await caught(consul.kv.get('k'));
      expect(err).to.be.instanceOf(ProtocolError);
      expect(err.message).to.match(/malformed X-Consul-Index/);
    });
  }

  it('rejects a session or an event without an ID with a ProtocolError', async () => {
    proxy.respond(json(`[${session('', '0')}]`));
    expect((await caught(consul.session.list())).message).to.match(/session without its ID/);
    proxy.respond(json('[{"Name":"deploy","Version":1,"LTime":2}]'));
    expect((await caught(consul.event.list())).message).to.match(/event without its ID/);
  });

  it('rejects a read of one key answered with another key or several, with a ProtocolError', async () => {
    proxy.respond(json(kvEntry('0').replace('"Key":"k"', '"Key":"other"')));
    expect((await caught(consul.kv.get('k'))).message).to.match(/answered a read of "k" with other entries/);
    proxy.respond(json(`[${kvEntry('0').slice(1, -1)},${kvEntry('0').slice(1, -1)}]`));
    expect(await caught(consul.kv.get('k'))).to.be.instanceOf(ProtocolError);
  });

  it('rejects a successful transaction reply that lists errors, with a ProtocolError', async () => {
    proxy.respond(json('{"Results":null,"Errors":[{"OpIndex":0,"What":"failed"}]}'));
    const err = await caught(consul.txn.execute([{ verb: 'get', key: 'k' }]));
    expect(err).to.be.instanceOf(ProtocolError);
    expect(err.message).to.match(/successful transaction reply with errors/);
  });

  it('rejects a rolled-back transaction naming an OpIndex beyond 2^53, instead of rounding it', async () => {
    proxy.respond({ status: 409, body: '{"Results":null,"Errors":[{"OpIndex":18446744073709551615,"What":"x"}]}' });
    const err = await caught(consul.txn.execute([{ verb: 'get', key: 'k' }]));
    expect(err).to.be.instanceOf(ProtocolError);
    expect(err.message).to.match(/OpIndex too large/);
  });

  it('rejects JSON nested too deeply to read with a ProtocolError', async () => {
    proxy.respond(json(`${'['.repeat(100_000)}${']'.repeat(100_000)}`));
    const err = await caught(consul.status.peers());
    expect(err).to.be.instanceOf(ProtocolError);
    expect(err.message).to.match(/nested too deeply/);
  });

  for (const flags of ['18446744073709551616', '1e20', '-1', '1.5', '"7"']) {
    it(`rejects Flags ${flags}, which is not a uint64, with a ProtocolError`, async () => {
      proxy.respond(json(kvEntry(flags)));
      const err = await caught(consul.kv.get('k'));
      expect(err).to.be.instanceOf(ProtocolError);
      expect(err.message).to.match(/Flags that is not a uint64/);
    });
  }
});
