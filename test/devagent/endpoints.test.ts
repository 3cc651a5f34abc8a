import { expect } from 'chai';
import { connect } from 'node:net';

import { startTestAgent, type DevAgent } from '../support/dev-agent.js';
import { client, sleep, type RawClient } from './raw-http.js';

interface EventJson {
  ID: string;
  Name: string;
  Payload: string | null;
  NodeFilter: string;
  ServiceFilter: string;
  TagFilter: string;
  Version: number;
  LTime: number;
}

function idToIndex(id: string): bigint {
  const hex = id.replace(/-/g, '');
  return BigInt(`0x${hex.slice(0, 16)}`) ^ BigInt(`0x${hex.slice(16)}`);
}

describe('devagent conformance: events, status, agent/self and routing (§1.0, §1.6–1.8)', () => {
  let agent: DevAgent;
  let c: RawClient;

  beforeEach(async () => {
    agent = await startTestAgent({ nodeName: 'dev-node', datacenter: 'dc7' });
    c = client(agent.url);
  });
  afterEach(async () => {
    await agent.close();
  });

  describe('events', () => {
    it('fire answers the event with Version 1, LTime 0 and the payload in base64', async () => {
      const res = await c.put('/v1/event/fire/deploy?node=web.*', 'v1.2');
      expect(res.status).to.equal(200);
      const ev = res.json<EventJson>();
      expect(ev).to.include({ Name: 'deploy', Payload: Buffer.from('v1.2').toString('base64'), NodeFilter: 'web.*', Version: 1, LTime: 0 });
      expect(ev.ID).to.match(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
      expect(res.text).to.match(/^\{"ID":"[^"]+","Name":"deploy","Payload":"[^"]+","NodeFilter":"web\.\*","ServiceFilter":"","TagFilter":"","Version":1,"LTime":0\}$/);
    });

    it('a fire without body has Payload null; an empty name is 400 Missing name', async () => {
      expect((await c.put('/v1/event/fire/empty')).json<EventJson>().Payload).to.equal(null);
      const res = await c.put('/v1/event/fire/');
      expect(res.status).to.equal(400);
      expect(res.text).to.equal('Missing name');
    });

    it('a tag filter without a service filter, or a bad regex, is 500', async () => {
      const tag = await c.put('/v1/event/fire/x?tag=a');
      expect(tag.status).to.equal(500);
      expect(tag.text).to.equal('Cannot provide tag filter without service filter');
      const bad = await c.put('/v1/event/fire/x?node=(');
      expect(bad.status).to.equal(500);
      expect(bad.text).to.match(/^Invalid node filter: /);
    });

    it('an oversized event payload is refused with 500', async () => {
      expect((await c.put('/v1/event/fire/big', Buffer.alloc(600, 1))).status).to.equal(500);
    });

    it('list returns events oldest first with increasing LTime, filtered by name, index = XOR of the ID halves', async () => {
      const a = (await c.put('/v1/event/fire/a')).json<EventJson>();
      const b = (await c.put('/v1/event/fire/b', 'x')).json<EventJson>();
      const a2 = (await c.put('/v1/event/fire/a')).json<EventJson>();
      const all = await c.get('/v1/event/list');
      const events = all.json<EventJson[]>();
      expect(events.map((e) => e.ID)).to.deep.equal([a.ID, b.ID, a2.ID]);
      expect(events[1]!.LTime).to.be.greaterThan(events[0]!.LTime);
      expect(events[2]!.LTime).to.be.greaterThan(events[1]!.LTime);
      expect(all.index).to.equal(idToIndex(a2.ID));
      expect(all.headers['x-consul-knownleader']).to.equal(undefined);
      const onlyB = await c.get('/v1/event/list?name=b');
      expect(onlyB.json<EventJson[]>().map((e) => e.ID)).to.deep.equal([b.ID]);
      expect(onlyB.index).to.equal(idToIndex(b.ID));
    });

    it('list on no events is [] with index 1', async () => {
      const res = await c.get('/v1/event/list');
      expect(res.text).to.equal('[]');
      expect(res.index).to.equal(1n);
    });

    it('lists only events addressed to this node: node filter matching, no service filter, never _rexec', async () => {
      await c.put('/v1/event/fire/mine?node=^dev-');
      await c.put('/v1/event/fire/theirs?node=^web-');
      await c.put('/v1/event/fire/svc?service=api');
      expect((await c.put('/v1/event/fire/_rexec')).status).to.equal(200);
      const names = (await c.get('/v1/event/list')).json<EventJson[]>().map((e) => e.Name);
      expect(names).to.deep.equal(['mine']);
    });

    it('keeps only the most recent 256 events', async () => {
      for (let i = 0; i < 260; i++) await c.put(`/v1/event/fire/e${i}`);
      const events = (await c.get('/v1/event/list')).json<EventJson[]>();
      expect(events).to.have.length(256);
      expect(events[0]!.Name).to.equal('e4');
      expect(events[255]!.Name).to.equal('e259');
    });

    it('a blocking list waits while the index equals and returns when a new event arrives', async () => {
      await c.put('/v1/event/fire/a');
      const first = await c.get('/v1/event/list');
      const pending = c.get(`/v1/event/list?index=${first.index}&wait=5s`);
      await sleep(100);
      const fired = (await c.put('/v1/event/fire/b')).json<EventJson>();
      const res = await pending;
      expect(res.index).to.equal(idToIndex(fired.ID));
    });

    it('a blocking list with a different index returns at once (equality, not "greater than")', async () => {
      await c.put('/v1/event/fire/a');
      const started = performance.now();
      await c.get('/v1/event/list?index=12345&wait=5s');
      expect(performance.now() - started).to.be.below(1000);
    });

    it('a blocking list without wait defaults to max_query_time, without jitter', async () => {
      const quick = await startTestAgent({ maxQueryTime: 200 });
      try {
        const q = client(quick.url);
        const started = performance.now();
        await q.get('/v1/event/list?index=1');
        expect(performance.now() - started).to.be.at.least(195).and.below(1200);
      } finally {
        await quick.close();
      }
    });
  });

  describe('status and agent/self', () => {
    it('status/leader is a non-empty "host:8300" string and status/peers lists it', async () => {
      const leader = await c.get('/v1/status/leader');
      expect(leader.json()).to.equal('127.0.0.1:8300');
      expect(leader.headers['x-consul-index']).to.equal(undefined);
      expect((await c.get('/v1/status/peers')).json()).to.deep.equal(['127.0.0.1:8300']);
    });

    it('agent/self reports Config.NodeName and Datacenter; every top-level value is an object or null', async () => {
      const self = (await c.get('/v1/agent/self')).json<Record<string, unknown>>();
      for (const [k, v] of Object.entries(self)) expect(typeof v === 'object', k).to.equal(true);
      const config = self.Config as Record<string, unknown>;
      expect(config).to.include({ NodeName: 'dev-node', Datacenter: 'dc7', Server: true });
      expect(config.NodeID).to.match(/^[0-9a-f-]{36}$/);
      expect((self.Member as Record<string, unknown>).Name).to.equal('dev-node');
    });

    it('sessions default to the agent node', async () => {
      const { ID } = (await c.put('/v1/session/create')).json<{ ID: string }>();
      expect((await c.get(`/v1/session/info/${ID}`)).json<{ Node: string }[]>()[0]!.Node).to.equal('dev-node');
    });
  });

  describe('routing and errors', () => {
    it('a wrong method is 405 with Allow and "method X not allowed"', async () => {
      const res = await c.request('POST', '/v1/kv/k');
      expect(res.status).to.equal(405);
      expect(res.headers.allow).to.equal('OPTIONS,GET,PUT,DELETE');
      expect(res.text).to.equal('method POST not allowed');
      const txn = await c.request('GET', '/v1/txn');
      expect(txn.headers.allow).to.equal('OPTIONS,PUT');
    });

    it('OPTIONS on a registered path is 200 with Allow and no body', async () => {
      const res = await c.request('OPTIONS', '/v1/session/list');
      expect(res.status).to.equal(200);
      expect(res.headers.allow).to.equal('OPTIONS,GET');
      expect(res.body.length).to.equal(0);
    });

    it('unknown /v1/ paths are 404 "Invalid URL path: not a recognized HTTP API endpoint"', async () => {
      for (const path of ['/v1/nope', '/v1/session/list/extra', '/v1/catalog/nodes']) {
        const res = await c.get(path);
        expect(res.status, path).to.equal(404);
        expect(res.text).to.equal('Invalid URL path: not a recognized HTTP API endpoint');
      }
    });

    it('the bare prefix and unclean paths are redirected with 301 like Go\'s ServeMux', async () => {
      const bare = await c.get('/v1/kv?recurse');
      expect(bare.status).to.equal(301);
      expect(bare.headers.location).to.equal('/v1/kv/?recurse');
      const dotted = await c.get('/v1/kv/a//b');
      expect(dotted.status).to.equal(301);
      expect(dotted.headers.location).to.equal('/v1/kv/a/b');
    });

    it('Enterprise namespace and partition parameters are 400 on CE endpoints', async () => {
      const ns = await c.get('/v1/kv/k?ns=team');
      expect(ns.status).to.equal(400);
      expect(ns.text).to.equal('Invalid query parameter: "ns" - Namespaces are a Consul Enterprise feature');
      expect((await c.get('/v1/kv/k', { headers: { 'X-Consul-Namespace': 'x' } })).status).to.equal(400);
      expect((await c.put('/v1/kv/k?partition=p', 'v')).status).to.equal(400);
    });

    it('?dc= of another datacenter is 500 No path to datacenter; the own dc is accepted', async () => {
      const other = await c.get('/v1/kv/k?dc=elsewhere');
      expect(other.status).to.equal(500);
      expect(other.text).to.equal('No path to datacenter');
      expect((await c.get('/v1/kv/k?dc=dc7')).status).to.equal(404);
    });

    it('every response carries X-Consul-Default-ACL-Policy and Vary: Accept-Encoding', async () => {
      const res = await c.get('/v1/status/leader');
      expect(res.headers['x-consul-default-acl-policy']).to.equal('allow');
      expect(res.headers.vary).to.equal('Accept-Encoding');
    });

    it('?pretty indents JSON with 4 spaces and ends with a newline', async () => {
      await c.put('/v1/kv/p', 'x');
      const res = await c.get('/v1/kv/p?pretty');
      expect(res.text).to.match(/^\[\n {4}\{\n {8}"LockIndex": 0,/);
      expect(res.text.endsWith('\n')).to.equal(true);
    });

    it('with ACLs off every token form is accepted and ignored', async () => {
      expect((await c.put('/v1/kv/t?token=abc', 'v')).text).to.equal('true');
      expect((await c.get('/v1/kv/t', { headers: { 'X-Consul-Token': 'x' } })).status).to.equal(200);
      expect((await c.get('/v1/kv/t', { headers: { Authorization: 'Bearer y' } })).status).to.equal(200);
    });

    it('garbage on the socket never takes the agent down', async () => {
      await new Promise<void>((resolve) => {
        const sock = connect(agent.port, '127.0.0.1', () => {
          sock.end('GARBAGE \x00\x01 HTTP/9.9\r\n\r\n');
        });
        sock.on('close', () => resolve());
        sock.on('error', () => resolve());
        sock.resume();
      });
      for (const path of ['/v1/kv/%ZZ', '/v1/kv/a%00b']) expect((await c.get(path)).status, path).to.equal(400);
      expect((await c.put('/v1/txn', '['.repeat(100_000))).status).to.equal(400);
      expect((await c.get('/v1/status/leader')).status).to.equal(200);
    });

    it('keep-alive: many sequential requests reuse one connection', async () => {
      const http = await import('node:http');
      const keepAlive = new http.Agent({ keepAlive: true, maxSockets: 1 });
      const sockets = new Set<unknown>();
      keepAlive.on('free', (s) => sockets.add(s));
      try {
        for (let i = 0; i < 20; i++) await c.put(`/v1/kv/ka${i}`, 'v', { agent: keepAlive });
        expect(sockets.size).to.equal(1);
      } finally {
        keepAlive.destroy();
      }
    });
  });
});
