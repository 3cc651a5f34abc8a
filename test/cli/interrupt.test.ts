import { expect } from 'chai';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Consul, publish } from '@kvx/client';
import { ExitCode } from '../../packages/cli/src/exit-codes.js';
import { run } from '../../packages/cli/src/run.js';
import { startTestAgent, type DevAgent } from '../support/dev-agent.js';
import { eventually } from '../support/eventually.js';
import { testContext, type TestContext } from './support/context.js';

const lines = (n: number, tag = 'v'): string => Array.from({ length: n }, (_, i) => `${tag} line ${i + 1}`).join('\n') + '\n';

/** Whether a process with this pid exists. */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** A shell hook that records its pid in `pidFile`, then sleeps far longer than any test. */
const sleeper = (pidFile: string): string => `echo $$ > ${pidFile}; exec sleep 31`;

describe('interrupting a one-shot command (SIGINT/SIGTERM)', () => {
  let agent: DevAgent;
  let consul: Consul;
  let dir: string;
  let ctx: TestContext;
  let pid: number | undefined;
  before(async () => {
    agent = await startTestAgent();
    consul = new Consul({ address: agent.url, env: {} });
  });
  after(async () => {
    await consul.close();
    await agent.close();
  });
  beforeEach(async () => {
    pid = undefined;
    dir = await mkdtemp(path.join(os.tmpdir(), 'kvx-cli-int-'));
    ctx = testContext({ cwd: dir });
  });
  afterEach(async () => {
    if (pid !== undefined && alive(pid)) process.kill(pid, 'SIGKILL');
    await rm(dir, { recursive: true, force: true });
  });

  /** Waits until the hook wrote its pid file, and returns the pid. */
  async function hookPid(pidFile: string): Promise<number> {
    await eventually('the hook to start', async () => (await readFile(pidFile, 'utf8').catch(() => '')).trim() !== '');
    pid = Number((await readFile(pidFile, 'utf8')).trim());
    return pid;
  }

  it('out --validate: SIGINT stops the validate process, removes the temp file and exits 130', async () => {
    await publish({ consul, key: 'i1', content: lines(12) });
    const pidFile = path.join(dir, 'validate.pid');
    const running = run(['out', '-k', 'i1', '-f', 'hosts', '--shell', '--validate', sleeper(pidFile), '--http-addr', agent.url], ctx);
    const validatePid = await hookPid(pidFile);
    expect((await readdir(dir)).filter((f) => f.endsWith('.tmp'))).to.have.length(1);
    ctx.signals.emit('SIGINT');
    expect(await running).to.equal(ExitCode.INTERRUPTED);
    expect(ctx.stderr.lines).to.have.length(1);
    expect(ctx.stderr.lines[0]).to.match(/^kvx: interrupted by SIGINT/);
    expect(await readdir(dir)).to.deep.equal(['validate.pid']);
    await eventually('the validate process to end', () => !alive(validatePid));
    expect(ctx.signals.listeners).to.equal(0);
  });

  it('in --exec: SIGTERM stops the exec process and exits 143', async () => {
    await writeFile(path.join(dir, 'src'), lines(12));
    const pidFile = path.join(dir, 'exec.pid');
    const running = run(['in', '-k', 'i2', '-f', 'src', '--shell', '--exec', sleeper(pidFile), '--http-addr', agent.url], ctx);
    const execPid = await hookPid(pidFile);
    ctx.signals.emit('SIGTERM');
    expect(await running).to.equal(ExitCode.TERMINATED);
    expect(ctx.stderr.text).to.match(/^kvx: interrupted by SIGTERM/);
    await eventually('the exec process to end', () => !alive(execPid));
  });

  it('a command that finished is not affected by a later signal', async () => {
    await publish({ consul, key: 'i3', content: lines(12) });
    expect(await run(['out', '-k', 'i3', '-f', 'hosts', '--http-addr', agent.url], ctx)).to.equal(ExitCode.OK);
    expect(ctx.signals.listeners).to.equal(0);
  });
});
