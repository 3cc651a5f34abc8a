import { spawn } from 'node:child_process';
import { createSocket, type Socket } from 'node:dgram';
import { Writable } from 'node:stream';
import { expect } from 'chai';
import { lockMain, parseLockArgs } from '@kvx/lock';
import { startTestAgent, type DevAgent } from '../support/dev-agent.js';
import { eventually } from '../support/eventually.js';
import { LOCK_MAIN, REPO_ROOT } from './runner.js';

function capture(): { stream: Writable; text: () => string } {
  let text = '';
  const stream = new Writable({
    write(chunk: Buffer, _enc, done) {
      text += chunk.toString();
      done();
    },
  });
  return { stream, text: () => text };
}

async function main(
  argv: string[],
  env: Record<string, string> = {},
  programName?: string,
): Promise<{ code: number; stderr: string; stdout: string }> {
  const out = capture();
  const err = capture();
  const code = await lockMain(argv, { stdout: out.stream, stderr: err.stream, env, ...(programName === undefined ? {} : { programName }) });
  return { code, stdout: out.text(), stderr: err.text() };
}

/** Runs the `kvx-lock` bin's entry point from sources; `closeStdout` closes the read end of its stdout at once. */
function spawnBin(args: string[], closeStdout = false): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const proc = spawn(process.execPath, ['--import', 'tsx', '--conditions=kvx-source', LOCK_MAIN, ...args], {
    cwd: REPO_ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  if (closeStdout) proc.stdout.destroy();
  else proc.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
  proc.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  return new Promise((resolve) => proc.once('close', (code) => resolve({ code, stdout, stderr })));
}

const UNREACHABLE = { CONSUL_HTTP_ADDR: '127.0.0.1:1' };

describe('lock: command line', () => {
  it("parses consul lock's flags and kvx's additions", () => {
    const line = parseLockArgs([
      '-n', '2', '--name', 'job', '--pass-stdin', '--timeout', '1.5s', '--monitor-retry', '5', '--no-shell',
      '--child-exit-code', '--verbose', '--session-ttl', '2s', '--lock-delay', '250ms', '--kill-grace', '1s',
      '--fence-margin', '300ms', 'svc/cron', './job', '--flag-of-the-job',
    ]);
    expect(line?.verbose).to.equal(true);
    expect(line?.supervisor).to.deep.equal({
      limit: 2, prefix: 'svc/cron', command: ['./job', '--flag-of-the-job'], passStdin: true, timeoutMs: 1500,
      monitorRetries: 5, shell: false, childExitCode: true, sessionTtlMs: 2000, killGraceMs: 1000,
      sessionName: 'job', lockDelayMs: 250, fenceMarginMs: 300,
    });
  });

  it("uses consul lock's defaults", () => {
    const line = parseLockArgs(['svc/cron', './job']);
    expect(line?.supervisor).to.deep.equal({
      limit: 1, prefix: 'svc/cron', command: ['./job'], passStdin: false, timeoutMs: 0, monitorRetries: 3,
      shell: true, childExitCode: false, sessionTtlMs: 15_000, killGraceMs: 5000,
    });
    expect(line?.consul).to.deep.equal({});
  });

  it('takes -try as the deprecated spelling of -timeout', () => {
    expect(parseLockArgs(['-try=2s', 'p', 'c'])?.supervisor.timeoutMs).to.equal(2000);
  });

  it('maps the Consul flags to client options', () => {
    const line = parseLockArgs([
      '--http-addr', '10.0.0.1:8500', '--token', 't', '--datacenter', 'dc2', '--stale', '--tls-server-name', 'consul', 'p', 'c',
    ]);
    expect(line?.consul).to.deep.equal({
      address: '10.0.0.1:8500', token: 't', datacenter: 'dc2', consistency: 'stale', tls: { serverName: 'consul' },
    });
  });

  it('maps --tls-skip-verify, also in Go spelling, to an unverified TLS connection', () => {
    expect(parseLockArgs(['--tls-skip-verify', 'p', 'c'])?.consul).to.deep.equal({ tls: { verify: false } });
    expect(parseLockArgs(['-tls-skip-verify=true', 'p', 'c'])?.consul).to.deep.equal({ tls: { verify: false } });
  });

  it('maps --consistent to consistent reads', () => {
    expect(parseLockArgs(['-consistent', 'p', 'c'])?.consul).to.deep.equal({ consistency: 'consistent' });
  });

  it('refuses --stale together with --consistent', async () => {
    const { code, stderr } = await main(['--stale', '--consistent', 'p', 'c'], UNREACHABLE);
    expect(code).to.equal(1);
    expect(stderr).to.equal("error: option '--stale' cannot be used with option '--consistent'\n");
  });

  it('reads --dogstatsd as host:port', () => {
    expect(parseLockArgs(['--dogstatsd', 'statsd.local:8125', 'p', 'c'])?.dogstatsd).to.deep.equal({ host: 'statsd.local', port: 8125 });
    expect(parseLockArgs(['-dogstatsd=[::1]:9125', 'p', 'c'])?.dogstatsd).to.deep.equal({ host: '::1', port: 9125 });
    expect(parseLockArgs(['p', 'c'])?.dogstatsd).to.equal(undefined);
  });

  for (const [argv, message] of [
    [['-dogstatsd', 'localhost', 'p', 'c'], 'invalid value "localhost" for flag -dogstatsd: parse error (use host:port)'],
    [['-n', '0', 'p', 'c'], 'Lock holder limit must be positive'],
    [['p'], 'Key prefix and child command must be specified'],
    [[], 'Key prefix and child command must be specified'],
    [['-timeout=-1s', 'p', 'c'], 'Timeout must be positive'],
    [['-monitor-retry=-1', 'p', 'c'], "Number for 'monitor-retry' must be >= 0"],
    [['-n', 'x', 'p', 'c'], 'invalid value "x" for flag -n: parse error'],
    [['-timeout', 'soon', 'p', 'c'], 'invalid value "soon" for flag -timeout: parse error'],
  ] as const) {
    it(`exits 1 with "${message}" for ${JSON.stringify(argv)}`, async () => {
      const { code, stderr } = await main([...argv], { CONSUL_HTTP_ADDR: '127.0.0.1:1' });
      expect(code).to.equal(1);
      expect(stderr).to.equal(`${message}\n`);
    });
  }

  it('exits 1 on an unknown flag, with commander\'s one-line message', async () => {
    const { code, stderr } = await main(['-bogus', 'p', 'c']);
    expect(code).to.equal(1);
    expect(stderr).to.equal("error: unknown option '--bogus'\n");
  });

  it('prints the help on --help and exits 0', async () => {
    const { code, stdout } = await main(['--help']);
    expect(code).to.equal(0);
    expect(stdout).to.include('Usage: kvx lock [options] PREFIX CHILD...');
    expect(stdout).to.include('--kill-grace');
  });

  it('names itself in the help as it was invoked', async () => {
    const { stdout } = await main(['--help'], {}, 'kvx-lock');
    expect(stdout).to.include('Usage: kvx-lock [options] PREFIX CHILD...');
  });

  it('is kvx-lock in the help of the kvx-lock bin', async () => {
    const { code, stdout } = await spawnBin(['--help']);
    expect(code).to.equal(0);
    expect(stdout).to.match(/^Usage: kvx-lock \[options\] PREFIX CHILD\.\.\.$/m);
  });

  it('exits quietly when its stdout is closed (kvx-lock --help | head -1)', async () => {
    const { code, stderr } = await spawnBin(['--help'], true);
    expect(stderr).to.equal('');
    expect(code).to.equal(0);
  });

  it('warns when the lock-delay is shorter than the fencing guarantee assumes (TTL - margin)', async () => {
    const { stderr } = await main(['--session-ttl', '2s', '--lock-delay', '1s', 'p', 'true'], UNREACHABLE);
    const lines = stderr.split('\n');
    expect(lines[0]).to.equal(
      'Warning: lock-delay 1s is shorter than session TTL - fence margin (1.6s): a holder whose session ' +
        'is invalidated by a failing health check may still run when the next one starts (see docs/lock-fencing.md)',
    );
    expect(lines[1]).to.match(/^Error querying Consul agent: /);
  });

  it("warns when the server's default lock-delay (15s) is shorter than TTL - margin", async () => {
    const { stderr } = await main(['--session-ttl', '30s', 'p', 'true'], UNREACHABLE);
    expect(stderr.split('\n')[0]).to.match(/^Warning: lock-delay 15s \(the server's default\) is shorter than session TTL - fence margin \(24s\)/);
  });

  it('does not warn when the lock-delay covers TTL - margin, nor for a semaphore, which lock-delay does not protect', async () => {
    for (const argv of [
      ['--session-ttl', '2s', '--lock-delay', '1.6s', 'p', 'true'],
      ['p', 'true'],
      ['-n', '2', '--session-ttl', '2s', '--lock-delay', '0s', 'p', 'true'],
    ]) {
      const { stderr } = await main(argv, UNREACHABLE);
      expect(stderr, argv.join(' ')).to.match(/^Error querying Consul agent: [^\n]*\n$/);
    }
  });

  it('exits 1 with "Error querying Consul agent" when the agent cannot be reached', async () => {
    const { code, stderr } = await main(['p', 'true'], { CONSUL_HTTP_ADDR: '127.0.0.1:1' });
    expect(code).to.equal(1);
    expect(stderr).to.match(/^Error querying Consul agent: .*\n$/);
  });
});

describe('lock: metrics with --dogstatsd', () => {
  let agent: DevAgent;
  let statsd: Socket;
  const datagrams: string[] = [];

  before(async () => {
    agent = await startTestAgent();
    statsd = createSocket('udp4');
    statsd.on('message', (msg) => datagrams.push(msg.toString()));
    await new Promise<void>((resolve) => statsd.bind(0, '127.0.0.1', resolve));
  });

  after(async () => {
    await new Promise<void>((resolve) => statsd.close(() => resolve()));
    await agent.close();
  });

  it("sends the client's request metrics to the DogStatsD agent", async () => {
    const { port } = statsd.address();
    const { code } = await main(
      ['--dogstatsd', `127.0.0.1:${port}`, '--session-ttl', '1s', '--lock-delay', '1s', 'test/metrics', 'true'],
      { CONSUL_HTTP_ADDR: `${agent.host}:${agent.port}` },
    );
    expect(code).to.equal(0);
    const lines = await eventually('a request metric', () => {
      const all = datagrams.flatMap((d) => d.split('\n'));
      return all.some((l) => l.startsWith('kvx.consul.request:')) && all;
    }, 5000);
    expect(lines.find((l) => l.startsWith('kvx.consul.request:'))).to.match(/\|ms\|#.*endpoint:/);
  });
});
