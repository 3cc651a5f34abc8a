import { mkdtemp, rm } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { expect } from 'chai';
import { Axios, AxiosError, AxiosHeaders, isCancel, type AxiosRequestConfig } from 'axios';
import { ConnectionPool } from '../../packages/client/src/transport/connection-pool.js';
import { createUndiciAdapter, type UndiciAdapterDefaults } from '../../packages/client/src/transport/undici-adapter.js';
import { startFaultProxy, type FaultProxy } from '../support/fault-proxy.js';
import { caught } from './helpers.js';

/** A local HTTP server for replies the fault proxy cannot script (binary bodies, redirects, endless streams). */
interface TestServer {
  url: string;
  /** Connections accepted so far. */
  connections: number;
  close(): Promise<void>;
}

async function serve(handler: http.RequestListener, socketPath?: string): Promise<TestServer> {
  const server = http.createServer(handler);
  const out: TestServer = {
    url: '',
    connections: 0,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
  server.on('connection', () => out.connections++);
  await new Promise<void>((resolve) => (socketPath ? server.listen(socketPath, resolve) : server.listen(0, '127.0.0.1', resolve)));
  out.url = socketPath ? 'http://localhost' : `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return out;
}

describe('client: undici adapter for axios', () => {
  let proxy: FaultProxy;
  let pools: ConnectionPool[];
  let server: TestServer | undefined;

  /** axios on the adapter, aimed at `baseURL` (the proxy by default), over a pool of its own. */
  function client(defaults: UndiciAdapterDefaults = {}, baseURL = proxy.url, socketPath?: string): Axios {
    const pool = new ConnectionPool(baseURL, { keepAliveTimeout: 4000, connectTimeout: 10_000, connect: socketPath ? { socketPath } : {} });
    pools.push(pool);
    return new Axios({
      adapter: createUndiciAdapter({ dispatcher: pool, baseURL }, { responseType: 'arraybuffer', headers: { 'User-Agent': 'kvx-test' }, ...defaults }),
    });
  }
  const get = (ax: Axios, config: AxiosRequestConfig = {}) => ax.request<Buffer>({ method: 'GET', url: '/v1/kv/k', ...config });

  beforeEach(async () => {
    proxy = await startFaultProxy('http://127.0.0.1:9');
    pools = [];
  });
  afterEach(async () => {
    await Promise.all(pools.map((pool) => pool.destroy()));
    await proxy.close();
    await server?.close();
    server = undefined;
  });

  it('returns the status, the headers and the body as a Buffer', async () => {
    proxy.respond({ status: 200, body: '[1]', headers: { 'X-Consul-Index': '7' } });
    const res = await get(client(), { url: '/v1/kv/a%20b?recurse=' });
    expect(res.status).to.equal(200);
    expect(Buffer.isBuffer(res.data) && res.data.toString()).to.equal('[1]');
    expect((res.headers as AxiosHeaders).get('X-Consul-Index')).to.equal('7');
    expect(res.headers['x-consul-index']).to.equal('7');
    expect(proxy.log[0]!.url).to.equal('/v1/kv/a%20b?recurse=');
  });

  it("keeps axios's header API: case-insensitive reads and name formatting", async () => {
    proxy.respond({ status: 200, headers: { 'X-Consul-KnownLeader': 'true' } });
    const headers = (await get(client())).headers;
    expect(headers).to.be.instanceOf(AxiosHeaders);
    if (!(headers instanceof AxiosHeaders)) return;
    expect(headers.get('x-CONSUL-knownleader')).to.equal('true');
    headers.normalize(true);
    expect(headers['X-Consul-Knownleader']).to.equal('true');
  });

  it('drops a response header named like a method of the header object, instead of breaking on it', async () => {
    server = await serve((_req, res) => res.writeHead(200, { normalize: 'x', get: 'y', 'X-Consul-Index': '4' }).end('ok'));
    const res = await get(client({}, server.url));
    expect(res.data.toString()).to.equal('ok');
    expect((res.headers as AxiosHeaders).get('x-consul-index')).to.equal('4');
  });

  it('returns UTF-8 text for the other buffered response types', async () => {
    proxy.respond({ status: 200, body: 'héllo' });
    expect((await get(client(), { responseType: 'text' })).data).to.equal('héllo');
  });

  it('decodes text that arrives in several chunks, characters split across them included', async () => {
    const text = 'é€😀'.repeat(50_000);
    const bytes = Buffer.from(text);
    server = await serve((_req, res) => {
      res.writeHead(200, { 'Content-Length': String(bytes.length) });
      // Cut inside a multi-byte character, and send the halves in separate writes.
      res.write(bytes.subarray(0, 100_001), () => setTimeout(() => res.end(bytes.subarray(100_001)), 10));
    });
    expect((await get(client({}, server.url), { responseType: 'text' })).data).to.equal(text);
  });

  it('sends its fixed headers, lets a request replace them, and never asks for compression', async () => {
    proxy.respond({ status: 200, count: 2 });
    const ax = client({ headers: { 'User-Agent': 'kvx-test', 'X-Consul-Token': 'fixed' } });
    await get(ax);
    await get(ax, { headers: { 'x-consul-token': 'per-call' } });
    expect(proxy.log.map((r) => r.headers['x-consul-token'])).to.deep.equal(['fixed', 'per-call']);
    expect(proxy.log[1]!.headers['user-agent']).to.equal('kvx-test');
    expect(proxy.log[0]!.headers['accept-encoding']).to.equal(undefined);
  });

  it('returns a compressed body as sent, without decompressing it', async () => {
    const gz = gzipSync('{"a":1}');
    server = await serve((_req, res) => res.writeHead(200, { 'Content-Encoding': 'gzip' }).end(gz));
    const res = await get(client({}, server.url));
    expect(res.data.equals(gz)).to.equal(true);
  });

  it('sends a Buffer or a string body with its length', async () => {
    const seen: { length: string | undefined; body: string }[] = [];
    server = await serve((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        seen.push({ length: req.headers['content-length'], body: Buffer.concat(chunks).toString() });
        res.end('true');
      });
    });
    const ax = client({}, server.url);
    await ax.request({ method: 'PUT', url: '/v1/kv/k', data: Buffer.from([0x68, 0x69]) });
    await ax.request({ method: 'PUT', url: '/v1/kv/k', data: 'é' });
    expect(seen).to.deep.equal([
      { length: '2', body: 'hi' },
      { length: '2', body: 'é' },
    ]);
  });

  it('reuses its keep-alive connection', async () => {
    server = await serve((_req, res) => res.end('ok'));
    const ax = client({}, server.url);
    for (let i = 0; i < 3; i++) await get(ax);
    expect(server.connections).to.equal(1);
  });

  it('returns a redirect as is instead of following it', async () => {
    let requests = 0;
    server = await serve((_req, res) => {
      requests++;
      res.writeHead(301, { Location: '/elsewhere' }).end();
    });
    const res = await get(client({}, server.url));
    expect([res.status, res.headers['location'], requests]).to.deep.equal([301, '/elsewhere', 1]);
  });

  it("rejects the statuses validateStatus refuses, as axios's settle does", async () => {
    proxy.respond({ status: 500, body: 'No cluster leader' });
    proxy.respond({ status: 404 });
    const ax = client();
    const validateStatus = (s: number): boolean => s < 300;
    const e500 = await caught(get(ax, { validateStatus }), AxiosError);
    const e404 = await caught(get(ax, { validateStatus }), AxiosError);
    expect([e500.code, e500.response?.status, e404.code]).to.deep.equal([AxiosError.ERR_BAD_RESPONSE, 500, AxiosError.ERR_BAD_REQUEST]);
  });

  it('talks over a unix socket', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'kvx-undici-adapter-'));
    try {
      const socketPath = path.join(dir, 'agent.sock');
      server = await serve((req, res) => res.end(`via ${req.url ?? ''}`), socketPath);
      const res = await get(client({}, server.url, socketPath));
      expect(res.data.toString()).to.equal('via /v1/kv/k');
    } finally {
      await server?.close();
      server = undefined;
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('fails a request that gets no reply in time with ETIMEDOUT, or ECONNABORTED without clarifyTimeoutError', async () => {
    proxy.blackhole();
    const started = performance.now();
    const clarified = await caught(get(client({ clarifyTimeoutError: true }), { timeout: 100 }), AxiosError);
    const plain = await caught(get(client(), { timeout: 100 }), AxiosError);
    expect([clarified.code, plain.code]).to.deep.equal([AxiosError.ETIMEDOUT, AxiosError.ECONNABORTED]);
    expect(performance.now() - started).to.be.below(2000);
  });

  it('cancels an in-flight request when its signal aborts', async () => {
    proxy.blackhole();
    const ac = new AbortController();
    setTimeout(() => ac.abort(), 30);
    const err = await caught(get(client(), { signal: ac.signal }), AxiosError);
    expect(isCancel(err)).to.equal(true);
    expect(err.code).to.equal(AxiosError.ERR_CANCELED);
  });

  it('rejects an already aborted signal without sending', async () => {
    const err = await caught(get(client(), { signal: AbortSignal.abort() }), AxiosError);
    expect(err.code).to.equal(AxiosError.ERR_CANCELED);
    expect(proxy.requests).to.equal(0);
  });

  it('reports a refused connection as ECONNREFUSED', async () => {
    await proxy.refuse();
    expect((await caught(get(client()), AxiosError)).code).to.equal('ECONNREFUSED');
  });

  it('reports a connection reset after the request was sent as ECONNRESET', async () => {
    proxy.resetNext(1);
    expect((await caught(get(client()), AxiosError)).code).to.equal('ECONNRESET');
    expect(proxy.requests).to.equal(1);
  });

  it('reports a connection that breaks in the middle of the reply as ECONNRESET', async () => {
    server = await serve((_req, res) => {
      res.writeHead(200, { 'Content-Length': '100' });
      res.write('only part', () => res.socket?.destroy());
    });
    expect((await caught(get(client({}, server.url)), AxiosError)).code).to.equal('ECONNRESET');
  });

  it('rejects a reply whose Content-Length exceeds maxContentLength', async () => {
    proxy.respond({ status: 200, body: 'x'.repeat(1000) });
    const err = await caught(get(client({ maxContentLength: 100 })), AxiosError);
    expect(err.code).to.equal(AxiosError.ERR_BAD_RESPONSE);
    expect(err.message).to.contain('maxContentLength');
  });

  it('cuts off an endless reply once it exceeds maxContentLength', async () => {
    let closed!: () => void;
    const serverSawClose = new Promise<void>((resolve) => (closed = resolve));
    server = await serve((_req, res) => {
      const chunk = Buffer.alloc(16 * 1024, 'x');
      const pump = (): void => {
        while (!res.destroyed && res.write(chunk));
      };
      res.on('drain', pump);
      res.on('close', closed);
      pump();
    });
    const err = await caught(get(client({ maxContentLength: 64 * 1024 }, server.url)), AxiosError);
    expect(err.code).to.equal(AxiosError.ERR_BAD_RESPONSE);
    await serverSawClose;
  });

  it('refuses a body above maxBodyLength without sending it', async () => {
    const err = await caught(client({ maxBodyLength: 4 }).request({ method: 'PUT', url: '/v1/kv/k', data: 'too long' }), AxiosError);
    expect(err.code).to.equal(AxiosError.ERR_BAD_REQUEST);
    expect(proxy.requests).to.equal(0);
  });

  it('rejects a header value undici refuses as an AxiosError, without sending or quoting it', async () => {
    const err = await caught(get(client(), { headers: { 'X-Consul-Token': 'to✓en' } }), AxiosError);
    expect(err.code).to.equal(AxiosError.ERR_BAD_REQUEST);
    expect(err.message).not.to.contain('to✓en');
    expect(proxy.requests).to.equal(0);
  });

  it("sends an absolute URL of the pool's origin, and refuses one of another origin without sending", async () => {
    proxy.respond({ status: 200, body: 'ok' });
    expect((await get(client(), { url: `${proxy.url}/v1/kv/abs` })).data.toString()).to.equal('ok');
    const err = await caught(get(client(), { url: 'http://192.0.2.1:8500/v1/kv/k' }), AxiosError);
    expect(err.code).to.equal(AxiosError.ERR_NOT_SUPPORT);
    expect(proxy.requests).to.equal(1);
  });

  it('gives up on a request still waiting for its connection when the deadline passes, and never sends it', async () => {
    // A listener that never accepts: the connection attempt hangs in the backlog (or is left unanswered).
    const silent = http.createServer();
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(silent.address() as AddressInfo).port}`;
    silent.on('connection', (socket) => socket.pause());
    try {
      const err = await caught(get(client({ clarifyTimeoutError: true }, url), { timeout: 100 }), AxiosError);
      expect(err.code).to.equal(AxiosError.ETIMEDOUT);
    } finally {
      silent.closeAllConnections();
      await new Promise<void>((resolve) => silent.close(() => resolve()));
    }
  });

  for (const [what, config] of [
    ['query params', { params: { a: 1 } }],
    ['streamed responses', { responseType: 'stream' }],
    ['object bodies', { method: 'PUT', data: { a: 1 } }],
  ] as const) {
    it(`refuses ${what}, which it does not implement`, async () => {
      expect((await caught(get(client(), config), AxiosError)).code).to.equal(AxiosError.ERR_NOT_SUPPORT);
      expect(proxy.requests).to.equal(0);
    });
  }
});
