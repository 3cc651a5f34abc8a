import { Writable } from 'node:stream';
import { expect } from 'chai';
import { lockMain, parseLockArgs } from '@kvx/lock';

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

async function main(argv: string[], env: Record<string, string> = {}): Promise<{ code: number; stderr: string; stdout: string }> {
  const out = capture();
  const err = capture();
  const code = await lockMain(argv, { stdout: out.stream, stderr: err.stream, env });
  return { code, stdout: out.text(), stderr: err.text() };
}

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

  for (const [argv, message] of [
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

  it('exits 1 with "Error querying Consul agent" when the agent cannot be reached', async () => {
    const { code, stderr } = await main(['p', 'true'], { CONSUL_HTTP_ADDR: '127.0.0.1:1' });
    expect(code).to.equal(1);
    expect(stderr).to.match(/^Error querying Consul agent: .*\n$/);
  });
});
