import { expect } from 'chai';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

import {
  Consul,
  pin,
  publish,
  sha256Hex,
  start,
  stop,
  unpin,
  watchAndDeliver,
  type DeliverResult,
  type KvxError,
  type WatchDelivery,
} from '@kvx/client';
import { startFaultProxy, type FaultProxy } from '../support/fault-proxy.js';
import { eventually } from '../support/eventually.js';
import { removeDir, startHarness, tempDir, textLines, type Harness } from './helpers.js';

describe('transfer: watchAndDeliver', () => {
  let h: Harness;
  let dir: string;
  let running: WatchDelivery | undefined;
  let results: DeliverResult[];
  let errors: KvxError[];
  before(async () => {
    h = await startHarness();
  });
  after(() => h.close());
  beforeEach(async () => {
    dir = await tempDir();
    results = [];
    errors = [];
  });
  afterEach(async () => {
    await running?.stop();
    running = undefined;
    await removeDir(dir);
  });

  /** A command that appends the delivered checksum to exec.log. */
  const logExec = (): string[] => ['sh', '-c', `echo "$KVX_CHECKSUM" >> ${join(dir, 'exec.log')}`];
  const execLog = async (): Promise<string[]> =>
    (await readFile(join(dir, 'exec.log'), 'utf8').catch(() => '')).split('\n').filter((l) => l !== '');

  const watch = async (key: string, consul: Consul = h.consul, extra: { hostname?: string } = {}): Promise<void> => {
    running = await watchAndDeliver({
      consul,
      files: [{ key, file: join(dir, key), exec: logExec() }],
      rateLimit: false,
      onResult: (r) => results.push(r),
      onError: (e) => errors.push(e as KvxError),
      ...extra,
    });
  };

  it('delivers the current version at start', async () => {
    await publish({ consul: h.consul, key: 'initial', content: textLines(12) });
    await watch('initial');
    await eventually('the first delivery', () => results.length === 1);
    expect(await readFile(join(dir, 'initial'), 'utf8')).to.equal(textLines(12));
  });

  it('delivers N successive versions in order, running the command once per version', async () => {
    await watch('series');
    const versions = Array.from({ length: 5 }, (_, i) => textLines(12, `v${i}`));
    for (const [i, content] of versions.entries()) {
      await publish({ consul: h.consul, key: 'series', content });
      await eventually(`version ${i}`, () => results.length === i + 1);
      expect(await readFile(join(dir, 'series'), 'utf8')).to.equal(content);
    }
    expect(await execLog()).to.deep.equal(versions.map((v) => sha256Hex(v)));
    expect(results.map((r) => r.status)).to.deep.equal(Array(5).fill('written'));
  });

  it('never reruns the command for wake-ups that bring no new version (stop set and removed)', async () => {
    await publish({ consul: h.consul, key: 'dedup', content: textLines(12) });
    const wakeups: Record<string, unknown>[] = [];
    running = await watchAndDeliver({
      consul: h.consul,
      files: [{ key: 'dedup', file: join(dir, 'dedup'), exec: logExec() }],
      rateLimit: false,
      onResult: (r) => results.push(r),
      onError: (e) => errors.push(e as KvxError),
      logger: (_level, message, fields) => {
        if (message.startsWith('wake-up without a new version')) wakeups.push(fields);
      },
    });
    await eventually('the first delivery', () => results.length === 1);
    await stop({ consul: h.consul, key: 'dedup', reason: 'hold' });
    await eventually('the stop wake-up', () => wakeups.length === 1);
    await start({ consul: h.consul, key: 'dedup' });
    await eventually('the start wake-up', () => wakeups.length === 2);
    expect(wakeups.map((w) => w['stopped'])).to.deep.equal([true, false]);
    expect(errors).to.deep.equal([]);
    expect(results).to.have.length(1);
    expect(await execLog()).to.have.length(1);
  });

  it('holds a version written while stopped and delivers it once the stop is removed', async () => {
    await publish({ consul: h.consul, key: 'held', content: textLines(12, 'v1') });
    await watch('held');
    await eventually('the first delivery', () => results.length === 1);
    await stop({ consul: h.consul, key: 'held', reason: 'hold' });
    // A writer that ignores stop keys (kvexpress copy does) changes the content meanwhile.
    const v2 = textLines(12, 'v2');
    await h.consul.txn.execute([
      { verb: 'set', key: 'kvexpress/held/data', value: v2 },
      { verb: 'set', key: 'kvexpress/held/checksum', value: sha256Hex(v2) },
    ]);
    await eventually('the held version', () => errors.length === 1);
    expect(errors[0]?.code).to.equal('KVX_STOPPED');
    expect(await readFile(join(dir, 'held'), 'utf8')).to.equal(textLines(12, 'v1'));
    await start({ consul: h.consul, key: 'held' });
    await eventually('the delivery after the stop', () => results.length === 2);
    expect(await readFile(join(dir, 'held'), 'utf8')).to.equal(v2);
    expect(await execLog()).to.deep.equal([sha256Hex(textLines(12, 'v1')), sha256Hex(v2)]);
  });

  it('leaves a pinned file alone and restores it from Consul once unpinned', async () => {
    await publish({ consul: h.consul, key: 'pinned', content: textLines(12) });
    await watch('pinned', h.consul, { hostname: 'watch-host' });
    await eventually('the first delivery', () => results.length === 1);
    const file = join(dir, 'pinned');
    await pin({ consul: h.consul, file, hostname: 'watch-host', note: false });
    await eventually('the pin to be seen', () => errors.some((e) => e.code === 'KVX_PINNED'));
    await writeFile(file, 'hand edit\n');
    await publish({ consul: h.consul, key: 'pinned', content: textLines(13) });
    await new Promise((r) => setTimeout(r, 200));
    expect(await readFile(file, 'utf8')).to.equal('hand edit\n');
    await unpin({ consul: h.consul, file, hostname: 'watch-host', note: false });
    await eventually('the delivery after unpinning', () => results.length === 2);
    expect(await readFile(file, 'utf8')).to.equal(textLines(13));
  });

  it('reports a version that fails verification and keeps the last good file', async () => {
    await publish({ consul: h.consul, key: 'bad', content: textLines(12) });
    await watch('bad');
    await eventually('the first delivery', () => results.length === 1);
    await h.consul.kv.put('kvexpress/bad/data', textLines(12, 'tampered'));
    await eventually('the verification failure', () => errors.length === 1);
    expect(errors[0]?.code).to.equal('KVX_VERIFY');
    expect(await readFile(join(dir, 'bad'), 'utf8')).to.equal(textLines(12));
  });

  it('delivers several files from one call', async () => {
    await publish({ consul: h.consul, key: 'multi-a', content: textLines(12, 'a') });
    await publish({ consul: h.consul, key: 'multi-b', content: textLines(12, 'b') });
    running = await watchAndDeliver({
      consul: h.consul,
      files: [
        { key: 'multi-a', file: join(dir, 'a') },
        { key: 'multi-b', file: join(dir, 'b') },
      ],
      onResult: (r) => results.push(r),
    });
    await eventually('both deliveries', () => results.length === 2);
    expect(await readFile(join(dir, 'a'), 'utf8')).to.equal(textLines(12, 'a'));
    expect(await readFile(join(dir, 'b'), 'utf8')).to.equal(textLines(12, 'b'));
  });

  it('delivers a dozen files from one call without a listener-leak warning', async () => {
    const warnings: Error[] = [];
    const onWarning = (w: Error): void => void warnings.push(w);
    process.on('warning', onWarning);
    try {
      const keys = Array.from({ length: 12 }, (_, i) => `dozen-${i}`);
      for (const key of keys) await publish({ consul: h.consul, key, content: textLines(12, key) });
      running = await watchAndDeliver({
        consul: h.consul,
        files: keys.map((key) => ({ key, file: join(dir, key) })),
        onResult: (r) => results.push(r),
      });
      await eventually('the twelve deliveries', () => results.length === keys.length);
      // Warnings are emitted on the next tick.
      await new Promise((r) => setImmediate(r));
      expect(warnings.map((w) => w.name)).to.not.include('MaxListenersExceededWarning');
    } finally {
      process.off('warning', onWarning);
    }
  });

  it('ends cleanly when its signal is aborted', async () => {
    const controller = new AbortController();
    running = await watchAndDeliver({ consul: h.consul, files: [{ key: 'abort', file: join(dir, 'abort') }], signal: controller.signal });
    controller.abort();
    await running.done;
  });

  describe('requests per change', () => {
    let proxy: FaultProxy;
    let viaProxy: Consul;
    before(async () => {
      proxy = await startFaultProxy(h.agent.url);
      viaProxy = new Consul({ address: proxy.url, env: {} });
    });
    after(async () => {
      await viaProxy.close();
      await proxy.close();
    });

    it('a watch started while Consul is unreachable delivers once it is back', async () => {
      await publish({ consul: h.consul, key: 'outage', content: textLines(12) });
      await proxy.refuse();
      running = await watchAndDeliver({
        consul: viaProxy,
        files: [{ key: 'outage', file: join(dir, 'outage') }],
        onResult: (r) => results.push(r),
      });
      await new Promise((r) => setTimeout(r, 500));
      expect(results).to.deep.equal([]);
      await proxy.pass();
      await eventually('the delivery after the outage', () => results.length === 1);
      expect(await readFile(join(dir, 'outage'), 'utf8')).to.equal(textLines(12));
    });

    it('costs each watcher exactly one request per change of a small file', async () => {
      await publish({ consul: h.consul, key: 'counted', content: textLines(12, 'v0') });
      await watch('counted', viaProxy);
      await eventually('the first delivery', () => results.length === 1);
      await new Promise((r) => setTimeout(r, 100));
      const before = proxy.requests;
      for (let i = 1; i <= 3; i++) {
        await publish({ consul: h.consul, key: 'counted', content: textLines(12, `v${i}`) });
        await eventually(`version ${i}`, () => results.length === i + 1);
        await new Promise((r) => setTimeout(r, 100));
      }
      expect(proxy.requests - before).to.equal(3);
      expect(proxy.log.slice(-3).every((r) => r.url.startsWith('/v1/kv/kvexpress/counted/?') && r.url.includes('stale'))).to.equal(true);
    });
  });
});
