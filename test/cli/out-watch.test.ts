import { expect } from 'chai';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Consul, publish, stop as stopKey } from '@kvx/client';
import { run } from '../../packages/cli/src/run.js';
import { ExitCode } from '../../packages/cli/src/exit-codes.js';
import { startTestAgent, type DevAgent } from '../support/dev-agent.js';
import { eventually } from '../support/eventually.js';
import { startFaultProxy, type FaultProxy } from '../support/fault-proxy.js';
import { testContext, type TestContext } from './support/context.js';

const lines = (n: number, tag = 'v'): string => Array.from({ length: n }, (_, i) => `${tag} line ${i + 1}`).join('\n') + '\n';

const contentOf = (file: string): Promise<string | undefined> => readFile(file, 'utf8').catch(() => undefined);

describe('kvx out --watch', () => {
  let agent: DevAgent;
  let consul: Consul;
  let dir: string;
  let ctx: TestContext;
  before(async () => {
    agent = await startTestAgent();
    consul = new Consul({ address: agent.url, env: {} });
  });
  after(async () => {
    await consul.close();
    await agent.close();
  });
  beforeEach(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'kvx-cli-watch-'));
    ctx = testContext({ cwd: dir });
  });
  afterEach(async () => {
    ctx.signals.emit('SIGTERM');
    await rm(dir, { recursive: true, force: true });
  });

  it('delivers the current version and every change, and exits 0 on SIGTERM', async () => {
    await publish({ consul, key: 'w1', content: lines(12, 'one') });
    const running = run(['out', '--watch', '-k', 'w1', '-f', 'hosts', '--http-addr', agent.url], ctx);
    const file = path.join(dir, 'hosts');
    await eventually('first delivery', async () => (await contentOf(file)) === lines(12, 'one'));
    await publish({ consul, key: 'w1', content: lines(12, 'two') });
    await eventually('second delivery', async () => (await contentOf(file)) === lines(12, 'two'));
    ctx.signals.emit('SIGTERM');
    expect(await running).to.equal(ExitCode.OK);
    expect(ctx.stdout.text).to.match(/watching 1 file/).and.match(/hosts: written from w1/).and.match(/stopped\n$/);
    expect(ctx.signals.listeners).to.equal(0);
  });

  it('keeps running through a stop key, reporting it, and delivers after start', async () => {
    await publish({ consul, key: 'w2', content: lines(12, 'one') });
    await stopKey({ consul, key: 'w2', reason: 'frozen' });
    const running = run(['out', '--watch', '-k', 'w2', '-f', 'hosts', '--http-addr', agent.url], ctx);
    await eventually('the stop to be reported', () => ctx.stderr.text.includes('frozen'));
    expect(await contentOf(path.join(dir, 'hosts'))).to.equal(undefined);
    await consul.kv.delete('kvexpress/w2/stop');
    await eventually('delivery after start', async () => (await contentOf(path.join(dir, 'hosts'))) === lines(12, 'one'));
    ctx.signals.emit('SIGINT');
    expect(await running).to.equal(ExitCode.OK);
  });

  it('delivers every file of the config file\'s files: list, across prefixes', async () => {
    await publish({ consul, key: 'hosts', content: lines(12, 'h') });
    await publish({ consul, key: 'app', prefix: 'canary', content: lines(12, 'a') });
    await writeFile(
      path.join(dir, 'kvx.yaml'),
      `consul_server: ${agent.url}\nfiles:\n  - key: hosts\n    file: out/hosts\n    chmod: "0644"\n` +
        '  - key: app\n    file: out/app.conf\n    prefix: canary\n',
    );
    const running = run(['out', '--watch', '--config', 'kvx.yaml'], ctx);
    await eventually('both files', async () =>
      (await contentOf(path.join(dir, 'out/hosts'))) === lines(12, 'h') && (await contentOf(path.join(dir, 'out/app.conf'))) === lines(12, 'a'),
    );
    expect(ctx.stdout.text).to.include('watching 2 files');
    ctx.signals.emit('SIGTERM');
    expect(await running).to.equal(ExitCode.OK);
  });

  it('applies the out flags to every entry of the files: list, and lets an entry\'s own settings win', async () => {
    await publish({ consul, key: 'short', content: lines(3, 's'), minLines: 1 });
    await publish({ consul, key: 'private', content: lines(3, 'p'), minLines: 1 });
    await writeFile(
      path.join(dir, 'kvx.yaml'),
      `consul_server: ${agent.url}\nfiles:\n  - key: short\n    file: short\n  - key: private\n    file: private\n    chmod: "0600"\n`,
    );
    const running = run(['out', '--watch', '--config', 'kvx.yaml', '-l', '3', '-c', '0604'], ctx);
    await eventually('both files', async () =>
      (await contentOf(path.join(dir, 'short'))) === lines(3, 's') && (await contentOf(path.join(dir, 'private'))) === lines(3, 'p'),
    );
    expect((await stat(path.join(dir, 'short'))).mode & 0o777).to.equal(0o604);
    expect((await stat(path.join(dir, 'private'))).mode & 0o777).to.equal(0o600);
    ctx.signals.emit('SIGTERM');
    expect(await running).to.equal(ExitCode.OK);
  });

  it('refuses --watch without -k/-f or a files: list', async () => {
    expect(await run(['out', '--watch', '--http-addr', agent.url], ctx)).to.equal(ExitCode.USAGE);
    expect(ctx.stderr.text).to.match(/^kvx: kvx out --watch needs -k KEY -f FILE, or --config FILE with a files: list\n$/);
  });

  describe('through a proxy', () => {
    let proxy: FaultProxy;
    beforeEach(async () => {
      proxy = await startFaultProxy(agent.url);
    });
    afterEach(async () => {
      ctx.signals.emit('SIGTERM');
      await proxy.close();
    });

    it('reads through the leader with --consistent (the watch default is stale)', async () => {
      await publish({ consul, key: 'wc', content: lines(12) });
      const running = run(['out', '--watch', '-k', 'wc', '-f', 'hosts', '--consistent', '--http-addr', proxy.url], ctx);
      await eventually('delivery', async () => (await contentOf(path.join(dir, 'hosts'))) === lines(12));
      ctx.signals.emit('SIGTERM');
      expect(await running).to.equal(ExitCode.OK);
      const reads = proxy.log.filter((r) => r.url.startsWith('/v1/kv/kvexpress/wc/'));
      expect(reads).not.to.have.length(0);
      for (const r of reads) expect(r.url).to.include('consistent').and.not.include('stale');
    });

    it('reads stale without --consistent', async () => {
      await publish({ consul, key: 'ws', content: lines(12) });
      const running = run(['out', '--watch', '-k', 'ws', '-f', 'hosts', '--http-addr', proxy.url], ctx);
      await eventually('delivery', async () => (await contentOf(path.join(dir, 'hosts'))) === lines(12));
      ctx.signals.emit('SIGTERM');
      expect(await running).to.equal(ExitCode.OK);
      expect(proxy.log.find((r) => r.url.startsWith('/v1/kv/kvexpress/ws/'))?.url).to.include('stale');
    });

    it('warns once when Consul becomes unreachable, and says when it is back', async () => {
      await publish({ consul, key: 'wu', content: lines(12) });
      const running = run(['out', '--watch', '-k', 'wu', '-f', 'hosts', '--retries', '0', '--http-addr', proxy.url], ctx);
      await eventually('delivery', async () => (await contentOf(path.join(dir, 'hosts'))) === lines(12));
      expect(ctx.stderr.text).to.equal('');
      await proxy.refuse();
      await eventually('the warning', () => ctx.stderr.text.includes('cannot reach Consul'));
      // Several watches keep failing and retrying meanwhile: still one line.
      await new Promise((resolve) => setTimeout(resolve, 600));
      expect(ctx.stderr.lines).to.have.length(1);
      expect(ctx.stderr.lines[0]).to.match(new RegExp(`^kvx: warning: cannot reach Consul at ${proxy.url}.*; still retrying$`));
      await proxy.pass();
      // The failures may have opened the client's breaker (10 requests, half of them failed), and then nothing
      // reaches Consul before its reset timeout (5 s) plus the watches' jitter: allow for that, not just for a probe.
      await eventually('the recovery line', () => ctx.stderr.text.includes('reachable again'), 12_000);
      expect(ctx.stderr.lines[1]).to.match(new RegExp(`^kvx: Consul at ${proxy.url} is reachable again \\(after \\d+ s\\)$`));
      await publish({ consul, key: 'wu', content: lines(13) });
      await eventually('delivery after recovery', async () => (await contentOf(path.join(dir, 'hosts'))) === lines(13));
      ctx.signals.emit('SIGTERM');
      expect(await running).to.equal(ExitCode.OK);
    });

    it('does not call Consul reachable while it answers without a leader', async () => {
      await publish({ consul, key: 'wl', content: lines(12) });
      const running = run(['out', '--watch', '-k', 'wl', '-f', 'hosts', '--retries', '0', '--http-addr', proxy.url], ctx);
      await eventually('delivery', async () => (await contentOf(path.join(dir, 'hosts'))) === lines(12));
      // What a cluster that lost its leader answers: KV reads fail, the status endpoint names no leader.
      proxy.respond({ status: 500, body: 'No cluster leader', pathPrefix: '/v1/kv/', count: 1_000_000 });
      proxy.respond({ status: 200, body: '""', headers: { 'content-type': 'application/json' }, pathPrefix: '/v1/status/leader', count: 1_000_000 });
      await publish({ consul, key: 'wl', content: lines(13) });
      await eventually('the warning', () => ctx.stderr.text.includes('cannot reach Consul'));
      await eventually('a leaderless probe answer', () => proxy.count('/v1/status/leader') >= 1);
      await new Promise((resolve) => setTimeout(resolve, 200));
      expect(ctx.stderr.text).not.to.include('reachable again');
      ctx.signals.emit('SIGTERM');
      expect(await running).to.equal(ExitCode.OK);
    });
  });

  it('applies a files: entry\'s own compress and splay', async () => {
    // A kvexpress <= 1.15 value: gzip+base64 stored plain, only decoded when compress is on.
    const legacy = await readFile('/work/shared/fixtures/kvexpress/legacy-gzip-b64-of-url-fixture.txt');
    const fixture = await readFile('/work/shared/fixtures/kvexpress/url-gistfile1.txt');
    await consul.kv.put('kvexpress/wz/data', legacy);
    await consul.kv.put('kvexpress/wz/checksum', '307b198c768b7a174b11e00c70bb1bd7b32597a86790279f763c4544dc12d1ff');
    await writeFile(
      path.join(dir, 'kvx.yaml'),
      `consul_server: ${agent.url}\nfiles:\n  - key: wz\n    file: legacy\n    compress: true\n    splay: 1ms\n    exec: "true"\n`,
    );
    const running = run(['out', '--watch', '--config', 'kvx.yaml'], ctx);
    await eventually('the decoded delivery', async () => (await readFile(path.join(dir, 'legacy')).catch(() => Buffer.alloc(0))).equals(fixture));
    ctx.signals.emit('SIGTERM');
    expect(await running).to.equal(ExitCode.OK);
  });
});
