import { expect } from 'chai';
import { Consul } from '@kvx/client';
import type { DevAgent } from '@kvx/devagent';
import { startTestAgent } from '../support/dev-agent.js';

describe('client: sessions against the dev agent', () => {
  let agent: DevAgent;
  let consul: Consul;
  let node: string;

  before(async () => {
    agent = await startTestAgent();
  });
  after(async () => {
    await agent.close();
  });
  beforeEach(async () => {
    consul = new Consul({ address: agent.url, env: {} });
    node = (await consul.agent.self()).nodeName;
  });
  afterEach(async () => {
    for (const s of (await consul.session.list()).value) await consul.session.destroy(s.id);
    await consul.close();
  });

  it('creates a session with the given settings and reads it back', async () => {
    const id = await consul.session.create({ name: 'web', ttl: '10s', lockDelay: 250, behavior: 'delete', nodeChecks: [] });
    const info = (await consul.session.info(id)).value!;
    expect(info).to.include({ id, name: 'web', node, ttl: '10s', lockDelay: 250, behavior: 'delete' });
    expect(info.nodeChecks).to.deep.equal([]);
    expect(info.createIndex > 0n).to.equal(true);
  });

  it("applies Consul's defaults: release, 15 s lock-delay, serfHealth", async () => {
    const info = (await consul.session.info(await consul.session.create())).value!;
    expect(info).to.include({ behavior: 'release', lockDelay: 15_000, ttl: '' });
    expect(info.nodeChecks).to.deep.equal(['serfHealth']);
  });

  it('sends a TTL given in milliseconds as a duration', async () => {
    const id = await consul.session.create({ ttl: 1500 });
    expect((await consul.session.info(id)).value?.ttl).to.equal('1500ms');
  });

  it('renews a live session and returns undefined for an unknown one', async () => {
    const id = await consul.session.create({ ttl: '10s' });
    expect((await consul.session.renew(id))?.id).to.equal(id);
    expect(await consul.session.renew('00000000-0000-0000-0000-000000000000')).to.equal(undefined);
  });

  it('destroys a session, idempotently', async () => {
    const id = await consul.session.create();
    expect(await consul.session.destroy(id)).to.equal(true);
    expect((await consul.session.info(id)).value).to.equal(undefined);
    expect(await consul.session.destroy(id)).to.equal(true);
  });

  it('lists sessions, and those of one node', async () => {
    const a = await consul.session.create({ name: 'a' });
    const b = await consul.session.create({ name: 'b' });
    expect((await consul.session.list()).value.map((s) => s.id).sort()).to.deep.equal([a, b].sort());
    expect((await consul.session.node(node)).value.map((s) => s.id).sort()).to.deep.equal([a, b].sort());
    expect((await consul.session.node('no-such-node')).value).to.deep.equal([]);
  });

  it('releases locks when the session is destroyed', async () => {
    const id = await consul.session.create({ lockDelay: 0 });
    await consul.kv.acquire('held', 'v', id);
    await consul.session.destroy(id);
    expect((await consul.kv.get('held')).value?.session).to.equal(undefined);
    await consul.kv.delete('held');
  });
});
