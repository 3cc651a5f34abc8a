import { expect } from 'chai';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Consul } from '@kvx/client';
import { run } from '../../packages/cli/src/run.js';
import { ExitCode } from '../../packages/cli/src/exit-codes.js';
import { startTestAgent, type DevAgent } from '../support/dev-agent.js';
import { eventually } from '../support/eventually.js';
import { testContext, type TestContext } from './support/context.js';

describe('kvx agent, kvx lock and kvx demo (in-process)', () => {
  let dir: string;
  let ctx: TestContext;
  beforeEach(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'kvx-cli-deleg-'));
    ctx = testContext({ cwd: dir });
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('agent --dev serves the Consul API until the context\'s SIGTERM, then exits 0', async () => {
    const running = run(['agent', '--dev', '--http-addr', '127.0.0.1:0'], ctx);
    await eventually('the listening line', () => /listening on http:\/\/127\.0\.0\.1:\d+/.test(ctx.stdout.text));
    const url = /listening on (\S+)/.exec(ctx.stdout.text)?.[1] ?? '';
    const consul = new Consul({ address: url, env: {} });
    try {
      await consul.kv.put('probe', 'ok');
      expect((await consul.kv.get('probe')).value?.value.toString()).to.equal('ok');
    } finally {
      await consul.close();
    }
    ctx.signals.emit('SIGTERM');
    expect(await running).to.equal(0);
    expect(ctx.signals.listeners).to.equal(0);
  });

  it('agent passes its own flag errors through as exit 1', async () => {
    expect(await run(['agent', '--bogus'], ctx)).to.equal(1);
    expect(ctx.stderr.text).to.match(/^kvx agent: .*bogus/);
  });

  describe('lock', () => {
    let agent: DevAgent;
    before(async () => {
      agent = await startTestAgent();
    });
    after(async () => {
      await agent.close();
    });

    it('runs the child while holding the lock and exits 0', async () => {
      const marker = path.join(dir, 'ran');
      const code = await run(
        ['lock', '--http-addr', agent.url, '--session-ttl', '10s', 'cli/lock-test', `echo "$CONSUL_LOCK_HELD" > ${marker}`],
        ctx,
      );
      expect(code, ctx.stderr.text).to.equal(0);
      expect((await readFile(marker, 'utf8')).trim()).to.equal('true');
    });

    it('takes the agent address from --config, and a -config value is not mistaken for the prefix', async () => {
      const config = path.join(dir, 'kvx.yml');
      await writeFile(config, `http_addr: ${agent.url}\n`);
      const marker = path.join(dir, 'ran');
      const code = await run(['lock', '-config', config, '--name', 'from config', 'cli/lock-config', `echo ok > ${marker}`], ctx);
      expect(code, ctx.stderr.text).to.equal(0);
      expect((await readFile(marker, 'utf8')).trim()).to.equal('ok');
    });

    it('lets --http-addr win over the config file', async () => {
      const config = path.join(dir, 'kvx.yml');
      await writeFile(config, 'http_addr: 127.0.0.1:1\n');
      const marker = path.join(dir, 'ran');
      const code = await run(['lock', '--config', config, '--http-addr', agent.url, 'cli/lock-flag', `echo ok > ${marker}`], ctx);
      expect(code, ctx.stderr.text).to.equal(0);
      expect((await readFile(marker, 'utf8')).trim()).to.equal('ok');
    });

    it('lets CONSUL_HTTP_ADDR win over the config file', async () => {
      const config = path.join(dir, 'kvx.yml');
      await writeFile(config, 'http_addr: 127.0.0.1:1\n');
      const envCtx = testContext({ cwd: dir, env: { CONSUL_HTTP_ADDR: agent.url } });
      const code = await run(['lock', `--config=${config}`, 'cli/lock-env', 'true'], envCtx);
      expect(code, envCtx.stderr.text).to.equal(0);
    });

    it('refuses an invalid config file with one line and exit 1, running nothing', async () => {
      const config = path.join(dir, 'kvx.yml');
      await writeFile(config, 'http_addr: [not, a, string]\n');
      const marker = path.join(dir, 'ran');
      const code = await run(['lock', '--config', config, 'cli/lock-bad', `touch ${marker}`], ctx);
      expect(code).to.equal(1);
      expect(ctx.stderr.text.trim().split('\n')).to.have.length(1);
      expect(ctx.stderr.text).to.match(/^kvx lock: .*http_addr/);
      expect(await readdir(dir)).to.not.include('ran');
    });

    it('passes the child\'s failure through with --child-exit-code', async () => {
      const code = await run(['lock', '--http-addr', agent.url, '--child-exit-code', 'cli/lock-fail', 'exit 3'], ctx);
      expect(code).to.equal(2);
    });
  });

  it('demo runs the tour and exits 0, leaving nothing behind', async () => {
    const demoDirs = async (): Promise<string[]> => (await readdir(os.tmpdir())).filter((n) => n.startsWith('kvx-demo-'));
    const before = await demoDirs();
    const code = await run(['demo', '--watchers', '3'], ctx);
    expect(code, ctx.stderr.text).to.equal(ExitCode.OK);
    expect(ctx.stdout.text).to.match(/3 nodes converged/).and.match(/3 of 3 nodes still hold version 2/);
    expect(ctx.stdout.text.match(/node-\d +written +v3/g)).to.have.length(3);
    expect((await demoDirs()).filter((n) => !before.includes(n))).to.deep.equal([]);
  });

  it('demo with --json prints one JSON document per delivery', async () => {
    expect(await run(['demo', '--watchers', '2', '--json'], ctx)).to.equal(0);
    const docs = ctx.stdout.lines.map((l) => JSON.parse(l) as { event: string; node: string; version: number });
    expect(docs.filter((d) => d.event === 'delivered')).to.have.length(6);
  });
});
