import { expect } from 'chai';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Consul, publish, stop as stopKey } from '@kvx/client';
import { run } from '../../packages/cli/src/run.js';
import { ExitCode } from '../../packages/cli/src/exit-codes.js';
import { startTestAgent, type DevAgent } from '../support/dev-agent.js';
import { testContext, type TestContext } from './support/context.js';

const lines = (n: number, tag = 'v'): string => Array.from({ length: n }, (_, i) => `${tag} line ${i + 1}`).join('\n') + '\n';

/** Polls `check` every 20 ms until it returns true, failing after 5 s. */
async function eventually(what: string, check: () => Promise<boolean> | boolean): Promise<void> {
  for (let i = 0; i < 250; i++) {
    if (await check()) return;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  throw new Error(`timed out waiting for ${what}`);
}

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

  it('refuses --watch without -k/-f or a files: list', async () => {
    expect(await run(['out', '--watch', '--http-addr', agent.url], ctx)).to.equal(ExitCode.USAGE);
    expect(ctx.stderr.text).to.match(/^kvx: kvx out --watch needs -k KEY -f FILE, or --config FILE with a files: list\n$/);
  });
});
