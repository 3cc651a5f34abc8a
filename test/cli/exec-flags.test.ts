import { expect } from 'chai';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Consul, publish } from '@kvx/client';
import { ExitCode } from '../../packages/cli/src/exit-codes.js';
import { startTestAgent, type DevAgent } from '../support/dev-agent.js';
import { kvxRunner } from './support/kvx.js';

const lines = (n: number): string => Array.from({ length: n }, (_, i) => `line ${i + 1}`).join('\n') + '\n';

describe('kvx in/out --exec and --validate', () => {
  let agent: DevAgent;
  let consul: Consul;
  let dir: string;
  let kvx: ReturnType<typeof kvxRunner>;
  before(async () => {
    agent = await startTestAgent();
    consul = new Consul({ address: agent.url, env: {} });
    await publish({ consul, key: 'hosts', content: lines(12) });
  });
  after(async () => {
    await consul.close();
    await agent.close();
  });
  beforeEach(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'kvx-cli-exec-'));
    kvx = kvxRunner(dir, () => agent.url);
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('out refuses an --exec that needs a shell with exit 1, before writing the file', async () => {
    const r = await kvx(['out', '-k', 'hosts', '-f', 'x', '-e', 'pkill -HUP dnsmasq || true']);
    expect(r.code, r.stderr).to.equal(ExitCode.USAGE);
    expect(r.stderr).to.include('needs a shell');
    expect(await readdir(dir)).to.deep.equal([]);
  });

  it('out refuses an invalid --validate with exit 1, before writing the file', async () => {
    const r = await kvx(['out', '-k', 'hosts', '-f', 'x', '--validate', 'check {} | grep ok']);
    expect(r.code, r.stderr).to.equal(ExitCode.USAGE);
    expect(await readdir(dir)).to.deep.equal([]);
  });

  it('out stops a --validate command at --exec-timeout, keeps nothing and exits 4', async () => {
    const started = performance.now();
    const r = await kvx(['out', '-k', 'hosts', '-f', 'x', '--validate', 'sleep 30', '--exec-timeout', '300ms']);
    expect(r.code, r.stderr).to.equal(ExitCode.VERIFICATION_FAILED);
    // The default bound is 60 s: the flag's 300 ms is what ended it.
    expect(performance.now() - started).to.be.below(15_000);
    expect(await readdir(dir)).to.deep.equal([]);
  });

  it('in refuses an invalid --exec with exit 1, before committing', async () => {
    await writeFile(path.join(dir, 'src'), lines(12));
    const r = await kvx(['in', '-k', 'fresh', '-f', 'src', '-e', 'echo $HOME']);
    expect(r.code, r.stderr).to.equal(ExitCode.USAGE);
    expect((await consul.kv.get('kvexpress/fresh/data')).value).to.equal(undefined);
  });

  it('out reruns a failed --exec on the next run of the same version, then exits 0', async () => {
    const args = ['out', '-k', 'hosts', '-f', 'x', '-e', `sh -c 'echo run >> "${path.join(dir, 'runs')}"; test -f "${path.join(dir, 'ok')}"'`];
    const first = await kvx(args);
    expect(first.code, first.stderr).to.equal(ExitCode.EXEC_FAILED);
    await writeFile(path.join(dir, 'ok'), '');
    const second = await kvx(args);
    expect(second.code, second.stderr).to.equal(ExitCode.OK);
    expect(second.stdout).to.match(/up to date .*retried ok/);
    const third = await kvx(args);
    expect(third.code).to.equal(ExitCode.OK);
    expect(await readFile(path.join(dir, 'runs'), 'utf8')).to.equal('run\nrun\n');
  });

  it('clean removes the pending-exec marker', async () => {
    const first = await kvx(['out', '-k', 'hosts', '-f', 'x', '-e', 'false']);
    expect(first.code).to.equal(ExitCode.EXEC_FAILED);
    const r = await kvx(['clean', '-f', 'x', '--keep-file'], { noAgent: true });
    expect(r.code, r.stderr).to.equal(ExitCode.OK);
    expect(await readdir(dir)).to.deep.equal(['x']);
  });
});
