import { expect } from 'chai';
import { spawn } from 'node:child_process';

import { agentMain } from '@kvx/devagent';

import { AGENT_MAIN, REPO_ROOT, spawnAgent } from '../support/dev-agent.js';
import { client, sleep } from './raw-http.js';

/** Runs main.ts with exactly `args` and collects its output and exit code. */
function run(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', '--conditions=kvx-source', AGENT_MAIN, ...args], {
      cwd: REPO_ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

describe('devagent CLI (agentMain via main.ts)', function () {
  this.timeout(30_000);

  it('prints exactly one line "kvx dev agent listening on http://HOST:PORT" when ready', async () => {
    const agent = await spawnAgent([]);
    try {
      expect(agent.stdout()).to.equal(`kvx dev agent listening on ${agent.url}\n`);
      expect(agent.url).to.match(/^http:\/\/127\.0\.0\.1:\d+$/);
      expect(agent.port).to.be.greaterThan(0);
      expect((await client(agent.url).get('/v1/status/leader')).status).to.equal(200);
    } finally {
      await agent.stop();
    }
  });

  it('on SIGTERM answers an in-flight blocking query with the current result and exits 0', async () => {
    const agent = await spawnAgent(['--node', 'cli-node']);
    const c = client(agent.url);
    await c.put('/v1/kv/k', 'v');
    const first = await c.get('/v1/kv/k');
    const pending = c.get(`/v1/kv/k?index=${first.index}&wait=5m`);
    await sleep(200);
    const exit = agent.stop();
    const res = await pending;
    expect(res.status).to.equal(200);
    expect(res.index).to.equal(first.index);
    expect(await exit).to.equal(0);
    expect(agent.stderr()).to.equal('');
  });

  it('on SIGINT exits 0', async () => {
    const agent = await spawnAgent([]);
    expect(await agent.kill('SIGINT')).to.equal(0);
  });

  it('a bad flag exits 1 with one line on stderr and no stack trace', async () => {
    const res = await run(['--dev', '--bogus']);
    expect(res.code).to.equal(1);
    expect(res.stdout).to.equal('');
    expect(res.stderr.trim().split('\n')).to.have.length(1);
    expect(res.stderr).to.match(/^kvx agent: .*bogus/);
  });

  it('a bad duration, a bad address or a missing --dev exits 1 with one line', async () => {
    for (const args of [
      ['--dev', '--session-ttl-min', '10'],
      ['--dev', '--http-addr', 'nowhere'],
      ['--http-addr', '127.0.0.1:0'],
    ]) {
      const res = await run(args);
      expect(res.code, args.join(' ')).to.equal(1);
      expect(res.stderr.trim().split('\n'), args.join(' ')).to.have.length(1);
    }
  });

  it('a port already in use exits 1 with one line', async () => {
    const agent = await spawnAgent([]);
    try {
      const res = await run(['--dev', '--http-addr', `127.0.0.1:${agent.port}`]);
      expect(res.code).to.equal(1);
      expect(res.stderr).to.match(/^kvx agent: .*EADDRINUSE.*\n$/);
    } finally {
      await agent.stop();
    }
  });

  it('--help prints usage and exits 0', async () => {
    const res = await run(['--help']);
    expect(res.code).to.equal(0);
    expect(res.stdout).to.contain('Usage: kvx agent --dev');
  });

  it('flags reach the agent: node name, datacenter, session TTL minimum', async () => {
    const agent = await spawnAgent(['--node', 'n1', '--datacenter', 'east', '--session-ttl-min', '50ms']);
    try {
      const c = client(agent.url);
      const self = (await c.get('/v1/agent/self')).json<{ Config: { NodeName: string; Datacenter: string } }>();
      expect(self.Config).to.include({ NodeName: 'n1', Datacenter: 'east' });
      expect((await c.put('/v1/session/create', JSON.stringify({ TTL: '60ms' }))).status).to.equal(200);
    } finally {
      await agent.stop();
    }
  });

  it('agentMain runs in-process and returns 0 when its signal aborts', async () => {
    const lines: string[] = [];
    const stop = new AbortController();
    const done = agentMain(['--dev', '--http-addr', '127.0.0.1:0'], {
      stdout: { write: (t: string) => lines.push(t) },
      stderr: { write: (t: string) => lines.push(t) },
      signal: stop.signal,
      handleSignals: false,
    });
    while (lines.length === 0) await sleep(10);
    expect(lines[0]).to.match(/^kvx dev agent listening on http:\/\/127\.0\.0\.1:\d+\n$/);
    stop.abort();
    expect(await done).to.equal(0);
  });
});
