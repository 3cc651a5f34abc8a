import { expect } from 'chai';

import { Consul, parseManifest, publish, sha256Hex, type PublishResult } from '@kvx/client';
import { startFaultProxy, type FaultProxy } from '../support/fault-proxy.js';
import { eventually } from '../support/eventually.js';
import { rawGet, rejectsWith, startHarness, textLines, type Harness } from './helpers.js';

/** Reads data and checksum as a kvexpress reader would, and checks they belong together. */
async function consistentContent(h: Harness, key: string): Promise<string> {
  const checksum = (await rawGet(h.agent.url, `kvexpress/${key}/checksum`))?.value.toString() ?? '';
  const data = await rawGet(h.agent.url, `kvexpress/${key}/data`);
  if (data?.flags === 2n) {
    expect(parseManifest(key, data.value).sha256).to.equal(checksum);
  } else {
    expect(sha256Hex(data?.value ?? Buffer.alloc(0))).to.equal(checksum);
  }
  return checksum;
}

describe('transfer: concurrent writers', () => {
  let h: Harness;
  let proxy: FaultProxy;
  let slow: Consul;
  before(async () => {
    h = await startHarness();
    proxy = await startFaultProxy(h.agent.url);
    slow = new Consul({ address: proxy.url, env: {} });
  });
  after(async () => {
    await slow.close();
    await proxy.close();
    await h.close();
  });
  afterEach(() => proxy.pass());

  /**
   * Starts `late` through the proxy with every request held 600 ms, waits until its commit reached the proxy
   * (so it has read the key), then lets `early` commit directly, before the held commit is forwarded.
   */
  const overtake = async <T>(late: () => Promise<T>, early: () => Promise<unknown>): Promise<{ late: Promise<T> }> => {
    proxy.delay(600);
    const commits = proxy.log.filter((r) => r.url.startsWith('/v1/txn')).length;
    const pending = late();
    pending.catch(() => undefined);
    await eventually('the held commit', () => proxy.log.filter((r) => r.url.startsWith('/v1/txn')).length > commits);
    await early();
    // Only the held commit waits out its delay; the overtaken writer's retry runs at full speed.
    await proxy.pass();
    return { late: pending };
  };

  it('a writer overtaken between its read and its commit re-reads and retries: the result is one whole version', async () => {
    const { late } = await overtake(
      () => publish({ consul: slow, key: 'overtaken', content: textLines(12, 'late') }),
      () => publish({ consul: h.consul, key: 'overtaken', content: textLines(12, 'early') }),
    );
    expect((await late).attempts).to.equal(2);
    expect(await consistentContent(h, 'overtaken')).to.equal(sha256Hex(textLines(12, 'late')));
  });

  it("with onConflict 'fail', an overtaken writer reports KVX_CONFLICT and the other version stays whole", async () => {
    const { late } = await overtake(
      () => publish({ consul: slow, key: 'conflict', content: textLines(12, 'late'), onConflict: 'fail' }),
      () => publish({ consul: h.consul, key: 'conflict', content: textLines(12, 'early') }),
    );
    await rejectsWith(late, 'KVX_CONFLICT');
    expect(await consistentContent(h, 'conflict')).to.equal(sha256Hex(textLines(12, 'early')));
  });

  it('an overtaken writer whose content was committed by the other one is done (unchanged)', async () => {
    const { late } = await overtake(
      () => publish({ consul: slow, key: 'same', content: textLines(12, 'same') }),
      () => publish({ consul: h.consul, key: 'same', content: textLines(12, 'same') }),
    );
    expect((await late).status).to.equal('unchanged');
  });

  it('six writers racing on one key: all finish and data and checksum hold one of their versions', async () => {
    const contents = Array.from({ length: 6 }, (_, i) => textLines(12, `writer-${i}`));
    const results = await Promise.all(contents.map((content) => publish({ consul: h.consul, key: 'race', content, maxAttempts: 10 })));
    expect(results.every((r: PublishResult) => r.status === 'updated')).to.equal(true);
    expect(contents.map((c) => sha256Hex(c))).to.include(await consistentContent(h, 'race'));
  });

  it('two chunked writers racing: one whole version wins and only its chunks remain', async () => {
    const big = (tag: string) => Buffer.from(textLines(9000, `${tag} ${'y'.repeat(60)}`));
    const contents = [big('a'), big('b')];
    await Promise.all(contents.map((content) => publish({ consul: h.consul, key: 'race-big', content, maxAttempts: 10 })));
    const checksum = await consistentContent(h, 'race-big');
    expect(contents.map((c) => sha256Hex(c))).to.include(checksum);
    const manifest = parseManifest('race-big', (await rawGet(h.agent.url, 'kvexpress/race-big/data'))?.value ?? Buffer.alloc(0));
    const dirs = (await h.consul.kv.keys('kvexpress/race-big.chunks/', { separator: '/' })).value;
    expect(dirs).to.deep.equal([`kvexpress/race-big.chunks/${manifest.id}/`]);
  });
});
