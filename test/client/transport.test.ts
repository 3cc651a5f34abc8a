import { execFileSync } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import tls from 'node:tls';
import { expect } from 'chai';
import { ConnectionError, Consul, DEFAULT_MAX_RESPONSE_SIZE, ResponseTooLargeError } from '@kvx/client';
import { startFaultProxy } from '../support/fault-proxy.js';
import { startTestAgent, type DevAgent } from '../support/dev-agent.js';
import { caught } from './helpers.js';

/** Forwards every connection accepted by `server` to the agent's TCP port. */
function forwardTo(server: net.Server, agent: DevAgent): void {
  server.on('secureConnection', (s: net.Socket) => pipe(s, agent));
  if (!(server instanceof tls.Server)) server.on('connection', (s: net.Socket) => pipe(s, agent));
}

function pipe(client: net.Socket, agent: DevAgent): void {
  const upstream = net.connect(agent.port, agent.host);
  client.pipe(upstream).pipe(client);
  client.on('error', () => upstream.destroy());
  upstream.on('error', () => client.destroy());
}

function listen(server: net.Server, where: string | number): Promise<void> {
  return new Promise((resolve) => (typeof where === 'string' ? server.listen(where, resolve) : server.listen(where, '127.0.0.1', resolve)));
}

function opensslAvailable(): boolean {
  try {
    execFileSync('openssl', ['version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** Creates a self-signed certificate and key valid for the DNS name `dns` only (not for 127.0.0.1). */
async function selfSigned(dir: string, name: string, dns: string): Promise<{ certFile: string; keyFile: string; cert: Buffer; key: Buffer }> {
  const certFile = path.join(dir, `${name}.crt`);
  const keyFile = path.join(dir, `${name}.key`);
  execFileSync(
    'openssl',
    ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', '1', '-subj', `/CN=${dns}`,
      '-addext', `subjectAltName=DNS:${dns}`, '-keyout', keyFile, '-out', certFile],
    { stdio: 'ignore' },
  );
  return { certFile, keyFile, cert: await readFile(certFile), key: await readFile(keyFile) };
}

describe('client: transports', () => {
  let agent: DevAgent;
  let dir: string;
  let server: net.Server | undefined;
  let consul: Consul | undefined;

  before(async () => {
    agent = await startTestAgent();
  });
  after(async () => {
    await agent.close();
  });
  beforeEach(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'kvx-client-transport-'));
  });
  afterEach(async () => {
    await consul?.close();
    consul = undefined;
    await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
    server = undefined;
    await rm(dir, { recursive: true, force: true });
  });

  it('talks to an agent on a unix:// socket', async () => {
    const socketPath = path.join(dir, 'consul.sock');
    server = net.createServer();
    forwardTo(server, agent);
    await listen(server, socketPath);
    consul = new Consul({ env: { CONSUL_HTTP_ADDR: `unix://${socketPath}` } });
    await consul.kv.put('unix/key', 'over a socket');
    expect((await consul.kv.get('unix/key')).value?.value.toString()).to.equal('over a socket');
    expect(consul.address).to.equal(`unix://${socketPath}`);
  });

  describe('response size limit', () => {
    for (const proxy of [false, true]) {
      it(`fails a reply above maxResponseSize with ResponseTooLargeError${proxy ? ' (environment-proxy adapter)' : ''}`, async () => {
        consul = new Consul({ address: agent.url, env: {}, proxy, maxResponseSize: 2048 });
        for (let i = 0; i < 4; i++) await consul.kv.put(`big/${i}`, 'x'.repeat(900));
        const err = await caught(consul.kv.list('big/'));
        expect(err).to.be.instanceOf(ResponseTooLargeError);
        expect([err.code, err.retryable, (err as ResponseTooLargeError).limit]).to.deep.equal(['KVX_RESPONSE_TOO_LARGE', false, 2048]);
        expect((await consul.kv.keys('big/')).value).to.have.length(4);
        await consul.kv.deleteTree('big/');
      });
    }

    it('limits replies by default, refusing one that announces more than the default limit', async () => {
      const proxy = await startFaultProxy('http://127.0.0.1:9');
      const client = new Consul({ address: proxy.address, env: {}, retry: false });
      consul = client;
      try {
        proxy.respond({ status: 200, body: '[]', headers: { 'Content-Length': String(DEFAULT_MAX_RESPONSE_SIZE + 1), 'X-Consul-Index': '3' } });
        expect(await caught(client.kv.list(''))).to.be.instanceOf(ResponseTooLargeError);
      } finally {
        await proxy.close();
      }
    });
  });

  describe('keep-alive pool', () => {
    it('keeps every watch on its own connection across changes: N watches open at most N connections', async function () {
      this.timeout(20_000);
      const watches = 300;
      const changes = 3;
      let connections = 0;
      server = net.createServer();
      server.on('connection', () => connections++);
      forwardTo(server, agent);
      await listen(server, 0);
      const client = new Consul({ address: `127.0.0.1:${(server.address() as net.AddressInfo).port}`, env: {} });
      consul = client;
      const writer = new Consul({ address: agent.url, env: {} });
      try {
        const keys = Array.from({ length: watches }, (_, i) => `pool/${i}`);
        await Promise.all(keys.map((key) => writer.kv.put(key, 'v0')));
        const pulls = keys.map((key) => {
          const it = client.watch((o) => client.kv.get(key, o))[Symbol.asyncIterator]();
          return async (): Promise<string | undefined> => {
            const r = await it.next();
            if (r.done) throw new Error(`the watch of ${key} ended`);
            return r.value.value?.value.toString();
          };
        });
        expect(new Set(await Promise.all(pulls.map((pull) => pull())))).to.deep.equal(new Set(['v0']));
        for (let c = 1; c <= changes; c++) {
          const next = Promise.all(pulls.map((pull) => pull()));
          await Promise.all(keys.map((key) => writer.kv.put(key, `v${c}`)));
          expect(new Set(await next)).to.deep.equal(new Set([`v${c}`]));
        }
        expect(connections).to.be.within(1, watches);
      } finally {
        await writer.close();
      }
    });
  });

  describe('TLS', function () {
    let server1: { certFile: string; keyFile: string; cert: Buffer; key: Buffer };
    let client1: { certFile: string; keyFile: string; cert: Buffer; key: Buffer };
    let port: number;

    before(function () {
      if (!opensslAvailable()) this.skip();
    });

    async function startTls(options: tls.TlsOptions): Promise<void> {
      server = tls.createServer(options);
      forwardTo(server, agent);
      await listen(server, 0);
      port = (server.address() as net.AddressInfo).port;
    }

    beforeEach(async () => {
      server1 = await selfSigned(dir, 'server', 'consul.test');
      client1 = await selfSigned(dir, 'client', 'client.test');
    });

    it('verifies the agent against the CA file from CONSUL_CACERT and CONSUL_TLS_SERVER_NAME', async () => {
      await startTls({ cert: server1.cert, key: server1.key });
      consul = new Consul({
        env: { CONSUL_HTTP_ADDR: `127.0.0.1:${port}`, CONSUL_HTTP_SSL: 'true', CONSUL_CACERT: server1.certFile, CONSUL_TLS_SERVER_NAME: 'consul.test' },
      });
      expect(await consul.status.leader()).to.match(/:\d+$/);
      expect(consul.address).to.equal(`https://127.0.0.1:${port}`);
    });

    it('rejects a trusted certificate issued for another name when no server name is set', async () => {
      await startTls({ cert: server1.cert, key: server1.key });
      consul = new Consul({ address: `https://127.0.0.1:${port}`, tls: { caFile: server1.certFile }, retry: false, env: {} });
      expect(await caught(consul.status.leader())).to.be.instanceOf(ConnectionError);
    });

    it('rejects an agent certificate it cannot verify', async () => {
      await startTls({ cert: server1.cert, key: server1.key });
      consul = new Consul({ address: `https://127.0.0.1:${port}`, retry: false, env: {} });
      const err = await caught(consul.status.leader());
      expect(err).to.be.instanceOf(ConnectionError);
    });

    it('skips verification when verify is false', async () => {
      await startTls({ cert: server1.cert, key: server1.key });
      consul = new Consul({ address: `https://127.0.0.1:${port}`, tls: { verify: false }, env: {} });
      expect(await consul.status.leader()).to.match(/:\d+$/);
    });

    it('presents a client certificate for mutual TLS', async () => {
      await startTls({ cert: server1.cert, key: server1.key, requestCert: true, rejectUnauthorized: true, ca: client1.cert });
      consul = new Consul({
        address: `https://127.0.0.1:${port}`,
        tls: { caFile: server1.certFile, serverName: 'consul.test', certFile: client1.certFile, keyFile: client1.keyFile },
        env: {},
      });
      expect(await consul.status.leader()).to.match(/:\d+$/);
    });

    it('fails without the client certificate the agent requires', async () => {
      await startTls({ cert: server1.cert, key: server1.key, requestCert: true, rejectUnauthorized: true, ca: client1.cert });
      consul = new Consul({
        address: `https://127.0.0.1:${port}`,
        tls: { caFile: server1.certFile, serverName: 'consul.test' },
        retry: false,
        env: {},
      });
      expect(await caught(consul.status.leader())).to.be.instanceOf(ConnectionError);
    });
  });
});
