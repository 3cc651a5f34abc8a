import { expect } from 'chai';
import { Consul, InvalidArgumentError, TooLargeError } from '@kvx/client';
import type { DevAgent } from '@kvx/devagent';
import { startTestAgent } from '../support/dev-agent.js';
import { caught } from './helpers.js';

const SEMAPHORE_FLAGS = 16210313421097356768n;
const MAX_UINT64 = 2n ** 64n - 1n;

describe('client: kv against the dev agent', () => {
  let agent: DevAgent;
  let consul: Consul;

  before(async () => {
    agent = await startTestAgent({ kvMaxValueSize: 1024 });
  });
  after(async () => {
    await agent.close();
  });
  beforeEach(() => {
    consul = new Consul({ address: agent.url, env: {} });
  });
  afterEach(async () => {
    await consul.kv.deleteTree('');
    await consul.close();
  });

  it('reads back what it wrote, with indexes', async () => {
    expect(await consul.kv.put('app/config', 'hello')).to.equal(true);
    const r = await consul.kv.get('app/config');
    expect(r.value?.key).to.equal('app/config');
    expect(r.value?.value.toString()).to.equal('hello');
    expect(r.value?.flags).to.equal(0n);
    expect(r.index).to.equal(r.value?.modifyIndex);
    expect(r.value?.createIndex).to.equal(r.value?.modifyIndex);
    expect(r.knownLeader).to.equal(true);
  });

  it('returns undefined with the KV index for a missing key', async () => {
    await consul.kv.put('other', 'x');
    const r = await consul.kv.get('missing');
    expect(r.value).to.equal(undefined);
    expect(r.index > 0n).to.equal(true);
  });

  it('reads an empty value (null on the wire) as an empty buffer', async () => {
    await consul.kv.put('empty', Buffer.alloc(0));
    const r = await consul.kv.get('empty');
    expect(r.value?.value).to.deep.equal(Buffer.alloc(0));
  });

  it('writes and reads 64-bit flags exactly, beyond 2^53', async () => {
    await consul.kv.put('sem', 'x', { flags: SEMAPHORE_FLAGS });
    await consul.kv.put('max', 'x', { flags: MAX_UINT64 });
    expect((await consul.kv.get('sem')).value?.flags).to.equal(SEMAPHORE_FLAGS);
    expect((await consul.kv.get('max')).value?.flags).to.equal(MAX_UINT64);
    expect((await consul.kv.list('')).value.map((p) => p.flags)).to.deep.equal([MAX_UINT64, SEMAPHORE_FLAGS]);
  });

  it('rejects flags outside uint64 before sending', async () => {
    expect(await caught(consul.kv.put('k', 'v', { flags: 2n ** 64n }))).to.be.instanceOf(InvalidArgumentError);
    expect(await caught(consul.kv.put('k', 'v', { flags: -1n }))).to.be.instanceOf(InvalidArgumentError);
  });

  it('round-trips binary values and keys needing escapes', async () => {
    const bytes = Buffer.from([0, 255, 10, 13, 0x80, 0x7f]);
    await consul.kv.put('dir/a b%c?d#e', bytes);
    expect((await consul.kv.get('dir/a b%c?d#e')).value?.value).to.deep.equal(bytes);
    expect((await consul.kv.getRaw('dir/a b%c?d#e')).value).to.deep.equal(bytes);
  });

  it('getRaw returns undefined for a missing key', async () => {
    expect((await consul.kv.getRaw('nope')).value).to.equal(undefined);
  });

  it('lists a prefix sorted by key, and [] for an empty prefix', async () => {
    await consul.kv.put('p/b', '2');
    await consul.kv.put('p/a', '1');
    await consul.kv.put('q', '3');
    expect((await consul.kv.list('p/')).value.map((p) => p.key)).to.deep.equal(['p/a', 'p/b']);
    expect((await consul.kv.list('none/')).value).to.deep.equal([]);
  });

  it('lists keys, grouped at a separator', async () => {
    for (const k of ['bar', 'baz', 'foo/sub1', 'foo/sub2', 'zip']) await consul.kv.put(k, 'x');
    expect((await consul.kv.keys('')).value).to.deep.equal(['bar', 'baz', 'foo/sub1', 'foo/sub2', 'zip']);
    expect((await consul.kv.keys('', { separator: '/' })).value).to.deep.equal(['bar', 'baz', 'foo/', 'zip']);
    expect((await consul.kv.keys('nothing/')).value).to.deep.equal([]);
  });

  it('cas writes only at the matching index, and 0 creates only', async () => {
    expect(await consul.kv.cas('c', 'v1', 0n)).to.equal(true);
    expect(await consul.kv.cas('c', 'v2', 0n)).to.equal(false);
    const idx = (await consul.kv.get('c')).value!.modifyIndex;
    expect(await consul.kv.cas('c', 'v3', idx + 1000n)).to.equal(false);
    expect(await consul.kv.cas('c', 'v3', idx)).to.equal(true);
    expect((await consul.kv.get('c')).value?.value.toString()).to.equal('v3');
  });

  it('acquires and releases a key for a session', async () => {
    const s1 = await consul.session.create({ lockDelay: 0 });
    const s2 = await consul.session.create({ lockDelay: 0 });
    expect(await consul.kv.acquire('lock', 'me', s1, { flags: 3304740253564472344n })).to.equal(true);
    expect(await consul.kv.acquire('lock', 'you', s2)).to.equal(false);
    const held = (await consul.kv.get('lock')).value!;
    expect(held.session).to.equal(s1);
    expect(held.lockIndex).to.equal(1n);
    expect(held.flags).to.equal(3304740253564472344n);
    expect(await consul.kv.release('lock', 'me', s2)).to.equal(false);
    expect(await consul.kv.release('lock', 'me', s1)).to.equal(true);
    expect((await consul.kv.get('lock')).value?.session).to.equal(undefined);
  });

  it('deletes a key, and with cas only at the matching index', async () => {
    await consul.kv.put('d', 'x');
    const idx = (await consul.kv.get('d')).value!.modifyIndex;
    expect(await consul.kv.delete('d', { cas: idx + 1n })).to.equal(false);
    expect(await consul.kv.delete('d', { cas: idx })).to.equal(true);
    expect((await consul.kv.get('d')).value).to.equal(undefined);
    expect(await consul.kv.delete('d')).to.equal(true);
  });

  it('deletes a tree by prefix', async () => {
    await consul.kv.put('t/a', '1');
    await consul.kv.put('t/b/c', '2');
    await consul.kv.put('u', '3');
    expect(await consul.kv.deleteTree('t/')).to.equal(true);
    expect((await consul.kv.keys('')).value).to.deep.equal(['u']);
  });

  it('maps an oversized value to TooLargeError', async () => {
    const err = await caught(consul.kv.put('big', Buffer.alloc(2048)));
    expect(err).to.be.instanceOf(TooLargeError);
    expect(err.code).to.equal('KVX_TOO_LARGE');
  });

  for (const key of ['app/..', 'app/../other', './app', 'a/./b', 'a//b', 'a/.']) {
    it(`refuses the key ${JSON.stringify(key)}, which Consul's router would turn into another path`, async () => {
      for (const call of [
        () => consul.kv.get(key),
        () => consul.kv.put(key, 'x'),
        () => consul.kv.delete(key),
        () => consul.kv.deleteTree(key),
        () => consul.kv.list(key),
        () => consul.kv.keys(key),
      ]) {
        const err = await caught(call());
        expect(err).to.be.instanceOf(InvalidArgumentError);
        expect(err.message).to.match(/path segments are not allowed/);
      }
    });
  }

  it('keeps keys with dots inside segments and a trailing "/"', async () => {
    await consul.kv.put('dots/.hidden/a..b/x.', 'v');
    expect((await consul.kv.get('dots/.hidden/a..b/x.')).value?.value.toString()).to.equal('v');
    expect((await consul.kv.keys('dots/', { separator: '/' })).value).to.deep.equal(['dots/.hidden/']);
  });

  it('refuses keys and prefixes that are not well-formed strings', async () => {
    expect(await caught(consul.kv.get('a\ud800b'))).to.be.instanceOf(InvalidArgumentError);
    expect(await caught(consul.kv.list(5 as unknown as string))).to.be.instanceOf(InvalidArgumentError);
    expect(await caught(consul.kv.get('k', { datacenter: 'dc\udc00' }))).to.be.instanceOf(InvalidArgumentError);
    expect(await caught(consul.session.info('..'))).to.be.instanceOf(InvalidArgumentError);
  });

  it('rejects empty keys and writes to keys starting with "/"', async () => {
    expect(await caught(consul.kv.get(''))).to.be.instanceOf(InvalidArgumentError);
    expect(await caught(consul.kv.put('/abs', 'x'))).to.be.instanceOf(InvalidArgumentError);
  });
});
