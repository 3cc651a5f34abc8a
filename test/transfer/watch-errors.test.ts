import { expect } from 'chai';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';

import { Consul, publish, watchAndDeliver, type WatchDelivery, type WatchTarget } from '@kvx/client';
import { startFaultProxy, type FaultProxy } from '../support/fault-proxy.js';
import { eventually } from '../support/eventually.js';
import { removeDir, startHarness, tempDir, textLines, type Harness } from './helpers.js';

describe('transfer: watchAndDeliver reports its watch errors and recoveries', () => {
  let h: Harness;
  let dir: string;
  let proxy: FaultProxy;
  let viaProxy: Consul;
  let running: WatchDelivery | undefined;
  before(async () => {
    h = await startHarness();
  });
  after(() => h.close());
  beforeEach(async () => {
    dir = await tempDir();
    proxy = await startFaultProxy(h.agent.url);
    viaProxy = new Consul({ address: proxy.url, env: {}, retry: { retries: 0 } });
  });
  afterEach(async () => {
    await running?.stop();
    running = undefined;
    await viaProxy.close();
    await proxy.close();
    await removeDir(dir);
  });

  it('calls onWatchError for transient failures of the data and pin watches, then onWatchRecovered, and keeps delivering', async () => {
    await publish({ consul: h.consul, key: 'unreach', content: textLines(12) });
    const failures: (WatchTarget & { attempt: number; code: unknown })[] = [];
    const recoveries: (WatchTarget & { downtimeMs: number })[] = [];
    const errors: unknown[] = [];
    const file = join(dir, 'unreach');
    running = await watchAndDeliver({
      consul: viaProxy,
      files: [{ key: 'unreach', file }],
      rateLimit: false,
      onError: (e) => errors.push(e),
      onWatchError: (e, t) => failures.push({ ...t, code: (e as { code?: unknown }).code }),
      onWatchRecovered: (t) => recoveries.push(t),
    });
    await eventually('the first delivery', async () => (await readFile(file, 'utf8').catch(() => '')) === textLines(12));
    await proxy.refuse();
    await eventually('failures of both watches', () => new Set(failures.map((f) => f.watch)).size === 2 && failures.some((f) => f.attempt >= 2));
    expect(failures.every((f) => f.key === 'unreach' && f.file === file && f.code === 'KVX_CONNECTION')).to.equal(true);
    expect(recoveries).to.deep.equal([]);
    await proxy.pass();
    await eventually('both watches recovering', () => new Set(recoveries.map((r) => r.watch)).size === 2);
    expect(recoveries.every((r) => r.downtimeMs > 0 && r.file === file)).to.equal(true);
    // Transient failures are the watch's own business: they never reach onError.
    expect(errors).to.deep.equal([]);
    await publish({ consul: h.consul, key: 'unreach', content: textLines(13) });
    await eventually('a delivery after the recovery', async () => (await readFile(file, 'utf8').catch(() => '')) === textLines(13));
  });
});
