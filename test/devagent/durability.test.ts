import { expect } from 'chai';
import http from 'node:http';
import { appendFile, mkdtemp, readdir, readFile, rm, stat, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { DataDirError } from '@kvx/devagent';

import { decodeCommit, encodeCommit, encodeImage } from '../../packages/devagent/src/persist/codec.js';
import { openJournal } from '../../packages/devagent/src/persist/journal.js';
import { Store } from '../../packages/devagent/src/state/store.js';
import { spawnAgent, startTestAgent } from '../support/dev-agent.js';
import { client, createSession, getEntry, rawRequest, sleep, type KvJson } from './raw-http.js';

async function walFiles(dir: string): Promise<string[]> {
  return (await readdir(dir)).filter((n) => n.startsWith('wal-')).sort();
}

describe('devagent durability (--data-dir)', function () {
  this.timeout(60_000);
  let dir: string;

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'kvx-devagent-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('keeps KV data, sessions and the index across a clean restart', async () => {
    let agent = await startTestAgent({ dataDir: dir });
    let c = client(agent.url);
    await c.put('/v1/kv/a?flags=3304740253564472344', 'one');
    await c.put('/v1/kv/b', 'two');
    await c.del('/v1/kv/b');
    const s = await createSession(c, { TTL: '10s', Name: 'kept' });
    await c.put(`/v1/kv/locked?acquire=${s}`, 'held');
    const before = await getEntry(c, 'a');
    const indexBefore = (await c.get('/v1/kv/missing')).index!;
    const prefixBefore = (await c.get('/v1/kv/b?recurse')).index!;
    await agent.close();

    agent = await startTestAgent({ dataDir: dir });
    c = client(agent.url);
    try {
      expect(await getEntry(c, 'a')).to.deep.equal(before);
      expect((await c.get('/v1/kv/a')).text).to.contain('"Flags":3304740253564472344');
      expect((await c.get('/v1/kv/b')).status).to.equal(404);
      expect((await c.get('/v1/kv/missing')).index).to.equal(indexBefore);
      expect((await c.get('/v1/kv/b?recurse')).index, 'tombstone kept').to.equal(prefixBefore);
      expect((await c.get(`/v1/session/info/${s}`)).json<{ Name: string }[]>()[0]!.Name).to.equal('kept');
      expect((await getEntry(c, 'locked'))?.Session).to.equal(s);
      await c.put('/v1/kv/c', 'three');
      expect((await getEntry(c, 'c'))!.ModifyIndex > Number(indexBefore)).to.equal(true);
    } finally {
      await agent.close();
    }
  });

  /** Streams acknowledged writes and deletes into a child agent, SIGKILLs it, restarts it, checks every ack. */
  async function killMidStream(extra: readonly string[]): Promise<void> {
    const agent = await spawnAgent(['--data-dir', dir, ...extra]);
    const keepAlive = new http.Agent({ keepAlive: true, maxSockets: 16 });
    const acked = new Map<string, string>();
    const deleted = new Set<string>();
    let maxIndex = 0n;
    let stop = false;
    const writer = async (w: number): Promise<void> => {
      for (let n = 0; !stop; n++) {
        const key = `w${w}/${n}`;
        const value = `value-${w}-${n}`;
        try {
          const res = await rawRequest(agent.url, 'PUT', `/v1/kv/${key}`, { body: value, agent: keepAlive });
          if (res.text === 'true') acked.set(key, value);
          if (n % 5 === 4) {
            const victim = `w${w}/${n - 2}`;
            // Once the delete is sent the key's fate is unknown until it is acknowledged.
            acked.delete(victim);
            const del = await rawRequest(agent.url, 'DELETE', `/v1/kv/${victim}`, { agent: keepAlive });
            if (del.text === 'true') deleted.add(victim);
          }
          const read = await rawRequest(agent.url, 'GET', '/v1/kv/never-written', { agent: keepAlive });
          if (read.index !== undefined && read.index > maxIndex) maxIndex = read.index;
        } catch {
          return;
        }
      }
    };
    const writers = Array.from({ length: 8 }, (_, w) => writer(w));
    await sleep(1500);
    await agent.kill('SIGKILL');
    stop = true;
    await Promise.all(writers);
    keepAlive.destroy();
    expect(acked.size).to.be.greaterThan(50);

    const restarted = await spawnAgent(['--data-dir', dir, ...extra]);
    try {
      const c = client(restarted.url);
      const all = (await c.get('/v1/kv/?recurse')).json<KvJson[]>();
      const stored = new Map(all.map((e) => [e.Key, Buffer.from(e.Value ?? '', 'base64').toString()]));
      for (const [key, value] of acked) expect(stored.get(key), key).to.equal(value);
      for (const key of deleted) expect(stored.has(key), key).to.equal(false);
      expect((await c.get('/v1/kv/never-written')).index! >= maxIndex).to.equal(true);
    } finally {
      await restarted.stop();
    }
  }

  it('loses no acknowledged write when killed with SIGKILL mid-stream, and the index never goes backwards', async () => {
    await killMidStream([]);
  });

  it('loses no acknowledged write when killed with SIGKILL while snapshotting every 4 KiB of log', async () => {
    await killMidStream(['--snapshot-threshold', '4096']);
  });

  it('recovers from a torn last log record (truncated mid-record) and keeps appending after it', async () => {
    let agent = await startTestAgent({ dataDir: dir });
    let c = client(agent.url);
    for (let i = 0; i < 5; i++) await c.put(`/v1/kv/k${i}`, `v${i}`);
    await agent.close();
    const [wal] = await walFiles(dir);
    const path = join(dir, wal!);
    await truncate(path, (await stat(path)).size - 3);

    agent = await startTestAgent({ dataDir: dir });
    c = client(agent.url);
    try {
      for (let i = 0; i < 4; i++) expect((await getEntry(c, `k${i}`))?.Value).to.equal(Buffer.from(`v${i}`).toString('base64'));
      expect((await c.get('/v1/kv/k4')).status, 'the torn write is dropped').to.equal(404);
      await c.put('/v1/kv/after', 'ok');
    } finally {
      await agent.close();
    }
    agent = await startTestAgent({ dataDir: dir });
    try {
      expect((await getEntry(client(agent.url), 'after'))?.Value).to.equal(Buffer.from('ok').toString('base64'));
    } finally {
      await agent.close();
    }
  });

  it('ignores garbage appended after the last intact record (checksum mismatch)', async () => {
    let agent = await startTestAgent({ dataDir: dir });
    await client(agent.url).put('/v1/kv/k', 'v');
    await agent.close();
    const [wal] = await walFiles(dir);
    await appendFile(join(dir, wal!), Buffer.from([10, 0, 0, 0, 1, 2, 3, 4, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9]));
    agent = await startTestAgent({ dataDir: dir });
    try {
      expect((await getEntry(client(agent.url), 'k'))?.Value).to.equal('dg==');
    } finally {
      await agent.close();
    }
  });

  it('refuses to start when a record in the middle of the log is damaged (intact records follow)', async () => {
    const agent = await startTestAgent({ dataDir: dir });
    const c = client(agent.url);
    for (let i = 0; i < 3; i++) await c.put(`/v1/kv/k${i}`, `v${i}`);
    await agent.close();
    const [wal] = await walFiles(dir);
    const path = join(dir, wal!);
    const data = await readFile(path);
    data[12] = data[12]! ^ 0xff;
    await writeFile(path, data);
    let error: unknown;
    try {
      await startTestAgent({ dataDir: dir });
    } catch (err) {
      error = err;
    }
    expect(error).to.be.instanceOf(DataDirError);
    expect((error as Error).message).to.contain('damaged');
  });

  it('snapshots and truncates the log past the threshold, and restores from snapshot + log', async () => {
    let agent = await startTestAgent({ dataDir: dir, snapshotThreshold: 2048 });
    let c = client(agent.url);
    for (let i = 0; i < 200; i++) await c.put(`/v1/kv/s/${i}`, `value-${i}`);
    for (let i = 0; i < 200; i += 2) await c.del(`/v1/kv/s/${i}`);
    const s = await createSession(c, { Name: 'snap' });
    const lastIndex = (await c.get('/v1/kv/missing')).index!;
    await agent.close();
    const files = await readdir(dir);
    expect(files).to.include('snapshot');
    expect((await walFiles(dir)).length).to.equal(1);
    for (const f of await walFiles(dir)) expect((await stat(join(dir, f))).size).to.be.below(4096);

    agent = await startTestAgent({ dataDir: dir, snapshotThreshold: 2048 });
    c = client(agent.url);
    try {
      const keys = (await c.get('/v1/kv/s/?keys')).json<string[]>();
      expect(keys).to.have.length(100);
      expect(keys.every((k) => Number(k.slice(2)) % 2 === 1)).to.equal(true);
      expect((await c.get(`/v1/session/info/${s}`)).json<unknown[]>()).to.have.length(1);
      expect((await c.get('/v1/kv/missing')).index).to.equal(lastIndex);
    } finally {
      await agent.close();
    }
  });

  it('restarts session TTL timers from scratch after a restart', async () => {
    let agent = await startTestAgent({ dataDir: dir });
    const id = await createSession(client(agent.url), { TTL: '200ms' });
    await agent.close();
    await sleep(500);
    agent = await startTestAgent({ dataDir: dir });
    const c = client(agent.url);
    try {
      expect((await c.get(`/v1/session/info/${id}`)).json<unknown[]>(), 'alive right after restart').to.have.length(1);
      await sleep(650);
      expect((await c.get(`/v1/session/info/${id}`)).text).to.equal('[]');
    } finally {
      await agent.close();
    }
  });

  it('a LockDelay that fits no time.Duration is refused and the data directory still restarts', async () => {
    let agent = await startTestAgent({ dataDir: dir });
    let c = client(agent.url);
    for (const raw of ['1e400', '-1e400']) {
      expect((await c.put('/v1/session/create', `{"LockDelay":${raw}}`)).status, raw).to.equal(400);
    }
    const negative = await createSession(c, { LockDelay: -5 });
    await agent.close();
    agent = await startTestAgent({ dataDir: dir });
    c = client(agent.url);
    try {
      expect((await c.get(`/v1/session/info/${negative}`)).json<{ LockDelay: number }[]>()[0]!.LockDelay).to.equal(0);
    } finally {
      await agent.close();
    }
  });

  it('LockDelays beyond 2^53 ns survive a restart from the log and from a snapshot', async () => {
    const given: unknown[] = [1e16, '3000h', '2562047h47m16.854775807s'];
    for (const snapshotThreshold of [1 << 20, 1]) {
      let agent = await startTestAgent({ dataDir: dir, snapshotThreshold });
      let c = client(agent.url);
      const ids = [];
      for (const lockDelay of given) ids.push(await createSession(c, { LockDelay: lockDelay }));
      const before = await Promise.all(ids.map(async (id) => (await c.get(`/v1/session/info/${id}`)).text));
      await agent.close();
      agent = await startTestAgent({ dataDir: dir, snapshotThreshold });
      c = client(agent.url);
      try {
        const after = await Promise.all(ids.map(async (id) => (await c.get(`/v1/session/info/${id}`)).text));
        expect(after, `snapshotThreshold ${snapshotThreshold}`).to.deep.equal(before);
      } finally {
        await agent.close();
      }
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('the codec refuses to encode a session it could not read back', () => {
    const session = {
      id: '00000000-0000-0000-0000-000000000001',
      name: '',
      node: 'n',
      lockDelayNs: 15e9,
      behavior: 'release' as const,
      ttl: '',
      ttlMs: 0,
      nodeChecks: [],
      serviceChecks: null,
      checks: undefined,
      createIndex: 2,
      modifyIndex: 2,
    };
    for (const lockDelayNs of [Infinity, -Infinity, NaN, 2 ** 63, -1, 1.5]) {
      const bad = { ...session, lockDelayNs };
      expect(() => encodeCommit(2, [{ type: 'session-set', session: bad }]), String(lockDelayNs)).to.throw(DataDirError);
      const image = { lastIndex: 2, kvIndex: 0, sessionsIndex: 2, entries: [], tombstones: [], sessions: [bad] };
      expect(() => encodeImage(image, 1), String(lockDelayNs)).to.throw(DataDirError);
    }
    const big = { ...session, lockDelayNs: 2 ** 63 - 1024 };
    expect(decodeCommit(encodeCommit(2, [{ type: 'session-set', session: big }])).mutations).to.deep.equal([
      { type: 'session-set', session: big },
    ]);
  });

  it('a commit the log refuses to encode changes nothing in memory', async () => {
    const store = new Store();
    const journal = await openJournal(dir, store, { snapshotThreshold: 1 << 20 });
    store.attachJournal(journal);
    try {
      const session = {
        id: '00000000-0000-0000-0000-000000000002',
        name: '',
        node: 'n',
        lockDelayNs: -1,
        behavior: 'release' as const,
        ttl: '',
        ttlMs: 0,
        nodeChecks: [],
        serviceChecks: null,
        checks: undefined,
        createIndex: store.nextIndex,
        modifyIndex: store.nextIndex,
      };
      const before = { index: store.lastIndex, sessionsIndex: store.sessionsIndex };
      const commit = store.commit([{ type: 'session-set', session }]);
      let error: unknown;
      await commit.durable?.catch((err: unknown) => (error = err));
      expect(error).to.be.instanceOf(DataDirError);
      expect(store.session(session.id)).to.equal(undefined);
      expect({ index: store.lastIndex, sessionsIndex: store.sessionsIndex }).to.deep.equal(before);
    } finally {
      await journal.close();
    }
  });

  it('refuses a data directory in use by another running agent', async () => {
    const first = await spawnAgent(['--data-dir', dir]);
    try {
      let error: unknown;
      try {
        await startTestAgent({ dataDir: dir });
      } catch (err) {
        error = err;
      }
      expect(error).to.be.instanceOf(DataDirError);
    } finally {
      await first.stop();
    }
  });
});
