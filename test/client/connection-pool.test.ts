import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { expect } from 'chai';
import type { Dispatcher } from 'undici';
import { ConnectionPool } from '../../packages/client/src/transport/connection-pool.js';

/** One GET through the pool, resolving with the reply text. */
function get(pool: ConnectionPool, path = '/'): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    const handler: Dispatcher.DispatchHandler = {
      onResponseData: (_c, chunk) => void chunks.push(chunk),
      onResponseEnd: () => resolve(Buffer.concat(chunks).toString()),
      onResponseError: (_c, err) => reject(err),
    };
    pool.dispatch({ method: 'GET', path }, handler);
  });
}

describe('client: connection pool', () => {
  let server: http.Server;
  let url: string;
  let connections: number;
  /** Replies to `/hold` wait until released, so that requests overlap. */
  let held: (() => void)[];
  let pool: ConnectionPool;

  beforeEach(async () => {
    connections = 0;
    held = [];
    server = http.createServer((req, res) => {
      if (req.url === '/hold') held.push(() => res.end('held'));
      else res.end('ok');
    });
    server.on('connection', () => connections++);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    pool = new ConnectionPool(url, { keepAliveTimeout: 4000, connectTimeout: 2000, connect: {} });
  });

  afterEach(async () => {
    await pool.destroy();
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  it('sends a request made right after a reply ended on the same connection', async () => {
    for (let i = 0; i < 20; i++) expect(await get(pool)).to.equal('ok');
    expect(connections).to.equal(1);
    expect(pool.size).to.equal(1);
  });

  it('never puts a second request on a connection whose reply is still pending', async () => {
    const slow = get(pool, '/hold');
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(await get(pool)).to.equal('ok');
    expect(connections).to.equal(2);
    held.forEach((release) => release());
    expect(await slow).to.equal('held');
  });

  it('opens as many connections as requests overlap, and reuses them afterwards', async () => {
    const burst = Array.from({ length: 5 }, () => get(pool, '/hold'));
    while (held.length < 5) await new Promise((resolve) => setTimeout(resolve, 5));
    held.forEach((release) => release());
    await Promise.all(burst);
    await Promise.all(Array.from({ length: 5 }, () => get(pool)));
    expect(connections).to.equal(5);
  });

  it('drops the connections the agent closed once they are idle, and shrinks back', async () => {
    const burst = Array.from({ length: 4 }, () => get(pool, '/hold'));
    while (held.length < 4) await new Promise((resolve) => setTimeout(resolve, 5));
    held.forEach((release) => release());
    await Promise.all(burst);
    expect(pool.size).to.equal(4);
    server.closeAllConnections();
    const deadline = Date.now() + 2000;
    while (pool.size > 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10));
    expect(pool.size).to.equal(0);
    expect(await get(pool)).to.equal('ok');
  });

  it('fails the requests in flight when destroyed, and refuses new ones without sending', async () => {
    const inFlight = get(pool, '/hold');
    while (held.length < 1) await new Promise((resolve) => setTimeout(resolve, 5));
    await pool.destroy();
    let failed: unknown;
    await inFlight.catch((err: unknown) => (failed = err));
    expect(failed).to.be.instanceOf(Error);
    expect(() => pool.dispatch({ method: 'GET', path: '/' }, {})).to.throw(/closed/);
  });
});
