import { expect } from 'chai';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import type { AclConfig } from '@kvx/devagent';

import { startTestAgent, type DevAgent } from '../support/dev-agent.js';
import { client, type KvJson, type RawClient } from './raw-http.js';

/** Two readers of the same prefix with different rules, and a writer. */
const ACL: AclConfig = {
  default_policy: 'deny',
  tokens: {
    alpha: { key_prefix: { 'shared/a/': 'read', 'shared/both': 'read' } },
    beta: { key_prefix: { 'shared/b/': 'read', 'shared/both': 'read' } },
    root: { key_prefix: { '': 'write' } },
  },
};

describe('devagent: replies shared between identical reads stay per token', () => {
  let dir: string;
  let agent: DevAgent;
  let c: RawClient;
  const as = (token: string) => ({ headers: { 'X-Consul-Token': token } });
  const keysOf = (entries: KvJson[]): string[] => entries.map((e) => e.Key);

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'kvx-shared-replies-'));
    const file = join(dir, 'acl.json');
    await writeFile(file, JSON.stringify(ACL));
    agent = await startTestAgent({ aclFile: file });
    c = client(agent.url);
    for (const key of ['shared/a/1', 'shared/a/2', 'shared/b/1', 'shared/both']) {
      expect((await c.put(`/v1/kv/${key}`, key, as('root'))).text).to.equal('true');
    }
  });
  afterEach(async () => {
    await agent.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('a recursive list of the same prefix at the same index shows each token only its own keys', async () => {
    const replies = [];
    for (const token of ['alpha', 'beta', 'alpha', 'beta']) replies.push(await c.get('/v1/kv/shared/?recurse', as(token)));
    expect(new Set(replies.map((r) => r.index)).size).to.equal(1);
    expect(replies.map((r) => keysOf(r.json<KvJson[]>()))).to.deep.equal([
      ['shared/a/1', 'shared/a/2', 'shared/both'],
      ['shared/b/1', 'shared/both'],
      ['shared/a/1', 'shared/a/2', 'shared/both'],
      ['shared/b/1', 'shared/both'],
    ]);
  });

  it('a keys listing of the same prefix at the same index shows each token only its own keys', async () => {
    const replies = [];
    for (const token of ['beta', 'alpha', 'beta', 'alpha']) replies.push(await c.get('/v1/kv/shared/?keys', as(token)));
    expect(new Set(replies.map((r) => r.index)).size).to.equal(1);
    expect(replies.map((r) => r.json<string[]>())).to.deep.equal([
      ['shared/b/1', 'shared/both'],
      ['shared/a/1', 'shared/a/2', 'shared/both'],
      ['shared/b/1', 'shared/both'],
      ['shared/a/1', 'shared/a/2', 'shared/both'],
    ]);
  });

  it('blocking reads woken by the same write answer each token with its own keys', async () => {
    const { index } = await c.get('/v1/kv/shared/?recurse', as('alpha'));
    const wait = (token: string) => c.get(`/v1/kv/shared/?recurse&index=${String(index)}&wait=5s`, as(token));
    const woken = [wait('alpha'), wait('beta'), wait('alpha'), wait('beta')];
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect((await c.put('/v1/kv/shared/both', 'changed', as('root'))).text).to.equal('true');
    const replies = await Promise.all(woken);
    expect(new Set(replies.map((r) => r.index)).size).to.equal(1);
    expect(replies.map((r) => keysOf(r.json<KvJson[]>()))).to.deep.equal([
      ['shared/a/1', 'shared/a/2', 'shared/both'],
      ['shared/b/1', 'shared/both'],
      ['shared/a/1', 'shared/a/2', 'shared/both'],
      ['shared/b/1', 'shared/both'],
    ]);
  });

  it('a token that may read nothing under the prefix gets no entries from a reply shared by others', async () => {
    expect((await c.get('/v1/kv/shared/a/?recurse', as('alpha'))).status).to.equal(200);
    const res = await c.get('/v1/kv/shared/a/?recurse', as('beta'));
    expect(res.status).to.equal(404);
  });
});
