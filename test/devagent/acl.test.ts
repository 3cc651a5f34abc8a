import { expect } from 'chai';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { AgentConfigError, type AclConfig } from '@kvx/devagent';

import { startTestAgent, type DevAgent } from '../support/dev-agent.js';
import { client, type KvJson, type RawClient } from './raw-http.js';

const ACL: AclConfig = {
  default_policy: 'deny',
  tokens: {
    'app-token': {
      key_prefix: { '': 'read', 'app/': 'write', 'app/secret': 'deny' },
      session_prefix: { '': 'write' },
      event_prefix: { 'deploy': 'write', '': 'read' },
      agent_prefix: { '': 'read' },
    },
    'reader': { key_prefix: { 'app/': 'read' } },
    'root': { key_prefix: { '': 'write' }, session_prefix: { '': 'write' }, event_prefix: { '': 'write' } },
  },
};

const b64 = (s: string): string => Buffer.from(s).toString('base64');

describe('devagent conformance: ACLs (403 and filtering)', () => {
  let agent: DevAgent;
  let c: RawClient;
  const as = (token: string) => ({ headers: { 'X-Consul-Token': token } });

  beforeEach(async () => {
    agent = await startTestAgent({ acl: ACL });
    c = client(agent.url);
    for (const key of ['app/a', 'app/secret', 'app/secret/deeper', 'other']) {
      expect((await c.put(`/v1/kv/${key}`, 'v', as('root'))).text).to.equal('true');
    }
  });
  afterEach(async () => {
    await agent.close();
  });

  it('announces the default policy in X-Consul-Default-ACL-Policy', async () => {
    expect((await c.get('/v1/status/leader')).headers['x-consul-default-acl-policy']).to.equal('deny');
  });

  it('a denied single-key read is 403 with Consul\'s "Permission denied" text', async () => {
    const res = await c.get('/v1/kv/app/secret', as('app-token'));
    expect(res.status).to.equal(403);
    expect(res.text).to.match(/^Permission denied: token with AccessorID '[0-9a-f-]{36}' lacks permission 'key:read' on "app\/secret"$/);
    expect((await c.get('/v1/kv/app/a', as('app-token'))).status).to.equal(200);
  });

  it('the longest matching prefix wins', async () => {
    expect((await c.get('/v1/kv/app/secret/deeper', as('app-token'))).status).to.equal(403);
    expect((await c.get('/v1/kv/other', as('app-token'))).status).to.equal(200);
    expect((await c.put('/v1/kv/other', 'x', as('app-token'))).status).to.equal(403);
    expect((await c.put('/v1/kv/app/new', 'x', as('app-token'))).text).to.equal('true');
  });

  it('recurse filters unreadable keys and sets X-Consul-Results-Filtered-By-ACLs when a token was given', async () => {
    const res = await c.get('/v1/kv/app/?recurse', as('app-token'));
    expect(res.json<KvJson[]>().map((e) => e.Key)).to.deep.equal(['app/a']);
    expect(res.headers['x-consul-results-filtered-by-acls']).to.equal('true');
    const keys = await c.get('/v1/kv/?keys', as('app-token'));
    expect(keys.json()).to.deep.equal(['app/a', 'other']);
    expect(keys.headers['x-consul-results-filtered-by-acls']).to.equal('true');
  });

  it('without a token the anonymous token applies the default policy and no filtered header is sent', async () => {
    const single = await c.get('/v1/kv/other');
    expect(single.status).to.equal(403);
    const list = await c.get('/v1/kv/?recurse');
    expect(list.status).to.equal(404);
    expect(list.headers['x-consul-results-filtered-by-acls']).to.equal(undefined);
  });

  it('an unknown token acts as anonymous', async () => {
    expect((await c.get('/v1/kv/other', as('who-knows'))).status).to.equal(403);
  });

  it('a token without a matching rule gets the default policy', async () => {
    expect((await c.get('/v1/kv/other', as('reader'))).status).to.equal(403);
    expect((await c.get('/v1/kv/app/a', as('reader'))).status).to.equal(200);
    expect((await c.put('/v1/kv/app/a', 'x', as('reader'))).status).to.equal(403);
  });

  it('token precedence: ?token= over X-Consul-Token over Authorization: Bearer', async () => {
    expect((await c.get('/v1/kv/other?token=root', as('nobody'))).status).to.equal(200);
    expect((await c.get('/v1/kv/other?token=nobody', as('root'))).status).to.equal(403);
    expect((await c.get('/v1/kv/other', { headers: { 'X-Consul-Token': 'root', Authorization: 'Bearer nobody' } })).status).to.equal(200);
    expect((await c.get('/v1/kv/other', { headers: { Authorization: 'bearer root' } })).status).to.equal(200);
  });

  it('writes and deletes are denied with 403; a recursive delete needs write on everything below the prefix', async () => {
    expect((await c.del('/v1/kv/app/secret', as('app-token'))).status).to.equal(403);
    const tree = await c.del('/v1/kv/app/?recurse', as('app-token'));
    expect(tree.status).to.equal(403);
    expect(tree.text).to.contain("lacks permission 'key:write'");
    expect((await c.get('/v1/kv/app/a', as('root'))).status).to.equal(200);
    expect((await c.del('/v1/kv/app/?recurse', as('root'))).text).to.equal('true');
  });

  it('txn: a denied write op fails with a Permission denied error (409); get results are filtered', async () => {
    const denied = await c.put('/v1/txn', JSON.stringify([{ KV: { Verb: 'set', Key: 'other', Value: b64('x') } }]), as('app-token'));
    expect(denied.status).to.equal(409);
    expect(denied.json<{ Errors: { What: string }[] }>().Errors[0]!.What).to.match(/^Permission denied/);
    const read = await c.put('/v1/txn', JSON.stringify([{ KV: { Verb: 'get-tree', Key: 'app/' } }]), as('app-token'));
    expect(read.json<{ Results: { KV: KvJson }[] }>().Results.map((r) => r.KV.Key)).to.deep.equal(['app/a']);
  });

  it('session writes need a session rule for the node: denied with default deny, allowed with session_prefix write', async () => {
    expect((await c.put('/v1/session/create', '{}', as('reader'))).status).to.equal(403);
    const ok = await c.put('/v1/session/create', '{}', as('app-token'));
    expect(ok.status).to.equal(200);
    const { ID } = ok.json<{ ID: string }>();
    expect((await c.put(`/v1/session/renew/${ID}`, undefined, as('reader'))).status).to.equal(403);
    expect((await c.put(`/v1/session/destroy/${ID}`, undefined, as('reader'))).status).to.equal(403);
    expect((await c.get('/v1/session/list', as('reader'))).text).to.equal('[]');
    expect((await c.get('/v1/session/list', as('app-token'))).json<unknown[]>()).to.have.length(1);
  });

  it('events: fire needs write on the name; list filters unreadable events', async () => {
    expect((await c.put('/v1/event/fire/deploy', undefined, as('app-token'))).status).to.equal(200);
    expect((await c.put('/v1/event/fire/restart', undefined, as('app-token'))).status).to.equal(403);
    await c.put('/v1/event/fire/restart', undefined, as('root'));
    const res = await c.get('/v1/event/list', as('reader'));
    expect(res.text).to.equal('[]');
    expect(res.headers['x-consul-results-filtered-by-acls']).to.equal('true');
  });

  it('agent/self needs agent read', async () => {
    expect((await c.get('/v1/agent/self', as('reader'))).status).to.equal(403);
    expect((await c.get('/v1/agent/self', as('app-token'))).status).to.equal(200);
  });

  it('default_policy allow lets unknown tokens do anything a deny rule does not forbid', async () => {
    const open = await startTestAgent({ acl: { default_policy: 'allow', tokens: { t: { key_prefix: { 'locked/': 'deny' } } } } });
    try {
      const o = client(open.url);
      expect((await o.put('/v1/kv/free', 'v')).text).to.equal('true');
      expect((await o.put('/v1/kv/locked/x', 'v', as('t'))).status).to.equal(403);
      expect((await o.put('/v1/kv/locked/x', 'v')).text).to.equal('true');
    } finally {
      await open.close();
    }
  });

  describe('ACL file', () => {
    let dir: string;
    beforeEach(async () => {
      dir = await mkdtemp(join(tmpdir(), 'kvx-acl-'));
    });
    afterEach(async () => {
      await rm(dir, { recursive: true, force: true });
    });

    it('loads rules from aclFile', async () => {
      const file = join(dir, 'acl.json');
      await writeFile(file, JSON.stringify(ACL));
      const fromFile = await startTestAgent({ aclFile: file });
      try {
        expect((await client(fromFile.url).get('/v1/kv/x')).status).to.equal(403);
      } finally {
        await fromFile.close();
      }
    });

    it('refuses an invalid ACL file with AgentConfigError before listening', async () => {
      const file = join(dir, 'bad.json');
      await writeFile(file, JSON.stringify({ default_policy: 'maybe' }));
      let error: unknown;
      try {
        await startTestAgent({ aclFile: file });
      } catch (err) {
        error = err;
      }
      expect(error).to.be.instanceOf(AgentConfigError);
      expect((error as Error).message).to.contain('default_policy');
    });
  });
});
