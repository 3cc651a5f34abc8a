import { expect } from 'chai';
import dgram from 'node:dgram';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { ExitCode } from '../../packages/cli/src/exit-codes.js';
import { startTestAgent, type DevAgent } from '../support/dev-agent.js';
import { kvxRunner, type KvxRun } from './support/kvx.js';

const lines = (n: number): string => Array.from({ length: n }, (_, i) => `line ${i + 1}`).join('\n') + '\n';

/** A loopback port nothing listens on. */
async function closedPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

function expectOneLine(r: KvxRun, pattern: RegExp): void {
  const errLines = r.stderr.split('\n').filter(Boolean);
  expect(errLines, r.stderr).to.have.length(1);
  expect(errLines[0]).to.match(/^kvx: /).and.match(pattern);
}

describe('kvx failure exit codes', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'kvx-cli-fail-'));
    await writeFile(path.join(dir, 'in.txt'), lines(12));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  describe('Consul unreachable', () => {
    it('exits 5 with one line after the default retries (bounded by the test timeout)', async () => {
      const port = await closedPort();
      const kvx = kvxRunner(dir, () => `127.0.0.1:${port}`);
      const r = await kvx(['out', '-k', 'hosts', '-f', 'o']);
      expect(r.code).to.equal(ExitCode.UNAVAILABLE);
      expectOneLine(r, /ECONNREFUSED|cannot reach/);
    });

    it('exits 5 for in, quickly with --retries 0', async () => {
      const port = await closedPort();
      const kvx = kvxRunner(dir, () => `127.0.0.1:${port}`);
      const r = await kvx(['in', '-k', 'hosts', '-f', 'in.txt', '--retries', '0']);
      expect(r.code).to.equal(ExitCode.UNAVAILABLE);
      expectOneLine(r, /cannot reach/);
    });

    it('exits 5 against an agent that accepts connections and never answers (--timeout, --retries)', async () => {
      const sockets = new Set<net.Socket>();
      const server = net.createServer((s) => sockets.add(s));
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      try {
        const kvx = kvxRunner(dir, () => `127.0.0.1:${(server.address() as net.AddressInfo).port}`);
        const r = await kvx(['out', '-k', 'hosts', '-f', 'o', '--timeout', '200ms', '--retries', '1']);
        expect(r.code).to.equal(ExitCode.UNAVAILABLE);
        expectOneLine(r, /timed out|timeout|200 ?ms/i);
      } finally {
        for (const s of sockets) s.destroy();
        server.close();
      }
    });

    it('honours CONSUL_HTTP_ADDR from the environment', async () => {
      const port = await closedPort();
      const kvx = kvxRunner(dir, () => '', { CONSUL_HTTP_ADDR: `127.0.0.1:${port}` });
      const r = await kvx(['status', '--retries', '0'], { noAgent: true });
      expect(r.code).to.equal(ExitCode.UNAVAILABLE);
      expect(r.stderr).to.include(`127.0.0.1:${port}`);
    });
  });

  describe('ACLs', () => {
    const token = 'reader-secret-token-1234';
    let agent: DevAgent;
    before(async () => {
      agent = await startTestAgent({
        acl: { default_policy: 'deny', tokens: { [token]: { key_prefix: { '': 'read' } }, 'writer-secret-token-5678': { key_prefix: { '': 'write' } } } },
      });
    });
    after(async () => {
      await agent.close();
    });

    it('exits 6 when the token may read but not write', async () => {
      const kvx = kvxRunner(dir, () => agent.url);
      const r = await kvx(['in', '-k', 'hosts', '-f', 'in.txt', '--token', token]);
      expect(r.code).to.equal(ExitCode.PERMISSION_DENIED);
      expectOneLine(r, /denied/);
    });

    it('exits 6 without a token under default deny', async () => {
      const kvx = kvxRunner(dir, () => agent.url);
      const r = await kvx(['out', '-k', 'hosts', '-f', 'o']);
      expect(r.code).to.equal(ExitCode.PERMISSION_DENIED);
    });

    it('never prints the token, not even with --verbose or --json', async () => {
      const kvx = kvxRunner(dir, () => agent.url);
      for (const argv of [
        ['in', '-k', 'hosts', '-f', 'in.txt', '--token', token, '--verbose'],
        ['in', '-k', 'hosts', '-f', 'in.txt', '--token', token, '--json', '--verbose'],
        ['in', '-k', 'hosts', '-f', 'in.txt', '--token', 'writer-secret-token-5678', '--verbose'],
      ]) {
        const r = await kvx(argv);
        expect(r.stdout + r.stderr).not.to.include('secret-token');
        expect(r.stderr).to.not.equal('');
      }
    });

    it('reads the token from --token-file and CONSUL_HTTP_TOKEN', async () => {
      await writeFile(path.join(dir, 'token'), 'writer-secret-token-5678\n');
      const kvx = kvxRunner(dir, () => agent.url);
      const r = await kvx(['in', '-k', 'viafile', '-f', 'in.txt', '--token-file', path.join(dir, 'token')]);
      expect(r.code, r.stderr).to.equal(0);
      const env = kvxRunner(dir, () => agent.url, { CONSUL_HTTP_TOKEN: 'writer-secret-token-5678' });
      expect((await env(['in', '-k', 'viaenv', '-f', 'in.txt'])).code).to.equal(0);
    });
  });

  describe('size limit', () => {
    let agent: DevAgent;
    before(async () => {
      agent = await startTestAgent({ kvMaxValueSize: 1024 });
    });
    after(async () => {
      await agent.close();
    });

    it('exits 7 when Consul refuses the value as too large', async () => {
      await writeFile(path.join(dir, 'big.txt'), lines(400));
      const kvx = kvxRunner(dir, () => agent.url);
      const r = await kvx(['in', '-k', 'big', '-f', 'big.txt']);
      expect(r.code, r.stderr).to.equal(ExitCode.TOO_LARGE);
      expectOneLine(r, /too large|413/);
    });
  });

  describe('an agent with a lower kv_max_value_size', () => {
    let agent: DevAgent;
    before(async () => {
      agent = await startTestAgent({ kvMaxValueSize: 65536 });
    });
    after(async () => {
      await agent.close();
    });

    /** 300 KiB of incompressible-enough text. */
    const big = (): string => Array.from({ length: 300 * 16 }, (_, i) => `${i.toString(36).padStart(8, '0')} ${'x'.repeat(54)}`).join('\n') + '\n';

    it('kvx in --max-value-size chunks to the agent\'s limit, and kvx out delivers the file', async () => {
      const content = big();
      expect(content.length).to.equal(300 * 1024);
      await writeFile(path.join(dir, 'big.txt'), content);
      const kvx = kvxRunner(dir, () => agent.url);
      const r = await kvx(['in', '-k', 'bigchunks', '-f', 'big.txt', '--max-value-size', '65536']);
      expect(r.code, r.stderr).to.equal(ExitCode.OK);
      expect(r.stdout).to.match(/in \d+ chunks/);
      const o = await kvx(['out', '-k', 'bigchunks', '-f', 'delivered.txt']);
      expect(o.code, o.stderr).to.equal(ExitCode.OK);
      expect(await readFile(path.join(dir, 'delivered.txt'), 'utf8')).to.equal(content);
    });

    it('takes the chunk size from the config file\'s max_value_size', async () => {
      await writeFile(path.join(dir, 'big.txt'), big());
      await writeFile(path.join(dir, 'kvx.yaml'), 'max_value_size: 64KiB\n');
      const kvx = kvxRunner(dir, () => agent.url);
      const r = await kvx(['in', '-k', 'bigconfig', '-f', 'big.txt', '--config', 'kvx.yaml']);
      expect(r.code, r.stderr).to.equal(ExitCode.OK);
    });

    it('exits 7 without --max-value-size (the default chunk size is over the limit)', async () => {
      await writeFile(path.join(dir, 'big.txt'), big());
      const kvx = kvxRunner(dir, () => agent.url);
      const r = await kvx(['in', '-k', 'bigdefault', '-f', 'big.txt']);
      expect(r.code, r.stderr).to.equal(ExitCode.TOO_LARGE);
    });
  });

  describe('metrics', () => {
    let agent: DevAgent;
    let socket: dgram.Socket;
    let received: string[];
    before(async () => {
      agent = await startTestAgent();
    });
    after(async () => {
      await agent.close();
    });
    beforeEach(async () => {
      received = [];
      socket = dgram.createSocket('udp4');
      socket.on('message', (msg) => received.push(...msg.toString().split('\n')));
      await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
    });
    afterEach(() => {
      socket.close();
    });

    /** Waits until a received metric line matches, or fails after 2 s. */
    async function metric(pattern: RegExp): Promise<string> {
      for (let i = 0; i < 40; i++) {
        const hit = received.find((l) => pattern.test(l));
        if (hit !== undefined) return hit;
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      throw new Error(`no metric matching ${String(pattern)}; received: ${received.join(' | ')}`);
    }

    it('sends metrics to the --dogstatsd address (kvexpress ignored -D)', async () => {
      const { port } = socket.address();
      const kvx = kvxRunner(dir, () => agent.url);
      expect((await kvx(['in', '-k', 'm1', '-f', 'in.txt', '--dogstatsd', `127.0.0.1:${port}`])).code).to.equal(0);
      expect(await metric(/^kvx\.in:1\|c\|#key:m1,/)).to.include('direction:in');
      await metric(/^kvx\.consul\.request:/);
    });

    it('accepts kvexpress\'s -D/--dogstatsd_address and -s/--server spellings', async () => {
      const { port } = socket.address();
      const kvx = kvxRunner(dir, () => agent.url);
      const r = await kvx(['in', '-k', 'm4', '-f', 'in.txt', '-D', `127.0.0.1:${port}`, '-s', agent.url], { noAgent: true });
      expect(r.code, r.stderr).to.equal(0);
      await metric(/^kvx\.in:1\|c\|#key:m4,/);
    });

    it('uses --metrics-prefix for the kvexpress metric names', async () => {
      const { port } = socket.address();
      const kvx = kvxRunner(dir, () => agent.url);
      await kvx(['in', '-k', 'm2', '-f', 'in.txt']);
      const r = await kvx(['out', '-k', 'm2', '-f', 'o', '--dogstatsd', `127.0.0.1:${port}`, '--metrics-prefix', 'kvexpress']);
      expect(r.code, r.stderr).to.equal(0);
      await metric(/^kvexpress\.out:1\|c\|#key:m2,/);
    });

    /** The DogStatsD update event of a second `kvx in` of key `k`, run with `extra` flags. */
    async function updateEvent(k: string, extra: string[]): Promise<string> {
      const { port } = socket.address();
      const kvx = kvxRunner(dir, () => agent.url);
      expect((await kvx(['in', '-k', k, '-f', 'in.txt'])).code).to.equal(0);
      await writeFile(path.join(dir, 'in.txt'), lines(14));
      const r = await kvx(['in', '-k', k, '-f', 'in.txt', '--dogstatsd', `127.0.0.1:${port}`, ...extra]);
      expect(r.code, r.stderr).to.equal(0);
      return metric(new RegExp(`^_e\\{\\d+,\\d+\\}:Updated: kvexpress/${k}/data\\|`));
    }

    it('puts the unified diff into update events by default', async () => {
      expect(await updateEvent('d1', [])).to.include('@@').and.include('+line 14');
    });

    it('leaves the diff out of update events with --no-diff-events', async () => {
      const event = await updateEvent('d2', ['--no-diff-events']);
      expect(event).to.match(/checksum [0-9a-f]{64} -> [0-9a-f]{64}/);
      expect(event).not.to.include('@@').and.not.include('line 14');
    });

    it('leaves the diff out of update events with the config file\'s diff_events: false', async () => {
      await writeFile(path.join(dir, 'kvx.yaml'), 'diff_events: false\n');
      const event = await updateEvent('d3', ['--config', 'kvx.yaml']);
      expect(event).not.to.include('@@').and.not.include('line 14');
    });

    it('takes the address from the config file\'s dogstatsd_address', async () => {
      const { port } = socket.address();
      await writeFile(path.join(dir, 'kvx.yaml'), `dogstatsd_address: 127.0.0.1:${port}\n`);
      const kvx = kvxRunner(dir, () => agent.url);
      expect((await kvx(['in', '-k', 'm3', '-f', 'in.txt', '--config', 'kvx.yaml'])).code).to.equal(0);
      await metric(/^kvx\.in:1\|c\|#key:m3,/);
    });
  });
});
