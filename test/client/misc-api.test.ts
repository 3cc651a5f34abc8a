import { expect } from 'chai';
import { Consul, PermissionDeniedError } from '@kvx/client';
import type { DevAgent } from '@kvx/devagent';
import { startTestAgent } from '../support/dev-agent.js';
import { caught } from './helpers.js';

describe('client: events, status and agent against the dev agent', () => {
  let agent: DevAgent;
  let consul: Consul;

  before(async () => {
    agent = await startTestAgent({ nodeName: 'client-test-node', datacenter: 'dc7' });
  });
  after(async () => {
    await agent.close();
  });
  beforeEach(() => {
    consul = new Consul({ address: agent.url, env: {} });
  });
  afterEach(async () => {
    await consul.close();
  });

  it('describes the agent', async () => {
    const self = await consul.agent.self();
    expect(self.nodeName).to.equal('client-test-node');
    expect(self.datacenter).to.equal('dc7');
    expect(self.config['NodeName']).to.equal('client-test-node');
  });

  it('reports a leader and peers', async () => {
    const leader = await consul.status.leader();
    expect(leader).to.match(/:\d+$/);
    expect(await consul.status.peers()).to.include(leader);
  });

  it('fires an event and lists it with its payload', async () => {
    const fired = await consul.event.fire('deploy', 'v42');
    expect(fired.name).to.equal('deploy');
    expect(fired.payload?.toString()).to.equal('v42');
    const listed = await consul.event.list({ name: 'deploy' });
    expect(listed.value.map((e) => e.id)).to.include(fired.id);
    expect(listed.value.find((e) => e.id === fired.id)?.payload?.toString()).to.equal('v42');
  });

  it('fires an event without payload', async () => {
    expect((await consul.event.fire('ping')).payload).to.equal(undefined);
  });
});

describe('client: ACL denials from the dev agent', () => {
  const TOKEN = 'reader-secret-7d1c';
  let agent: DevAgent;
  let consul: Consul;

  before(async () => {
    agent = await startTestAgent({ acl: { default_policy: 'deny', tokens: { [TOKEN]: { key_prefix: { '': 'read' } } } } });
  });
  after(async () => {
    await agent.close();
  });
  beforeEach(() => {
    consul = new Consul({ address: agent.url, env: {}, token: TOKEN });
  });
  afterEach(async () => {
    await consul.close();
  });

  it('reads with a read token and gets PermissionDeniedError on a write, without the token in the error', async () => {
    expect((await consul.kv.get('k')).value).to.equal(undefined);
    const err = await caught(consul.kv.put('k', 'v'));
    expect(err).to.be.instanceOf(PermissionDeniedError);
    expect(err.status).to.equal(403);
    expect(JSON.stringify(err) + String(err) + (err.stack ?? '')).not.to.include(TOKEN);
  });
});
