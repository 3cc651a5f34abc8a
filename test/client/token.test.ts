import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { inspect } from 'node:util';
import { expect } from 'chai';
import { Consul } from '@kvx/client';
import { startFaultProxy, type FaultProxy } from '../support/fault-proxy.js';
import { caught } from './helpers.js';

const TOKEN = 'b5e6b3e2-secret-token-0f3c';
const CALL_TOKEN = 'c0ffee00-per-call-token-9a1d';

/** Every way a thrown error could leak the token when logged or serialised. */
function renderings(err: unknown): string[] {
  const e = err as Error;
  return [String(e), e.message, e.stack ?? '', inspect(e, { depth: 10, showHidden: true }), JSON.stringify(e), inspect(e.cause, { depth: 10 })];
}


describe('client: ACL token handling', () => {
  let proxy: FaultProxy;
  let dir: string;
  let consul: Consul | undefined;

  beforeEach(async () => {
    // Port 9 (discard) has no listener: only canned answers ever reach the client.
    proxy = await startFaultProxy('http://127.0.0.1:9');
    dir = await mkdtemp(path.join(os.tmpdir(), 'kvx-client-token-'));
  });
  afterEach(async () => {
    await consul?.close();
    consul = undefined;
    await proxy.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('sends the token as X-Consul-Token and never in the URL', async () => {
    consul = new Consul({ address: proxy.address, token: TOKEN, env: {} });
    proxy.respond({ status: 200, body: '"127.0.0.1:8300"' });
    await consul.status.leader();
    expect(proxy.log[0]!.headers['x-consul-token']).to.equal(TOKEN);
    expect(proxy.log[0]!.url).not.to.include(TOKEN);
    expect(proxy.log[0]!.headers['authorization']).to.equal(undefined);
  });

  it('prefers the token of CONSUL_HTTP_TOKEN_FILE (trimmed) over CONSUL_HTTP_TOKEN', async () => {
    const file = path.join(dir, 'token');
    await writeFile(file, `  ${TOKEN}\n`);
    consul = new Consul({ address: proxy.address, env: { CONSUL_HTTP_TOKEN_FILE: file, CONSUL_HTTP_TOKEN: 'env-token' } });
    proxy.respond({ status: 200, body: '"x"' });
    await consul.status.leader();
    expect(proxy.log[0]!.headers['x-consul-token']).to.equal(TOKEN);
  });

  it('uses CONSUL_HTTP_TOKEN when no token file is set, and a per-call token over it', async () => {
    consul = new Consul({ address: proxy.address, env: { CONSUL_HTTP_TOKEN: 'env-token' } });
    proxy.respond({ status: 200, body: '"x"', count: 2 });
    await consul.status.leader();
    await consul.status.leader({ token: TOKEN });
    expect(proxy.log.map((r) => r.headers['x-consul-token'])).to.deep.equal(['env-token', TOKEN]);
  });

  it('keeps the token out of a 403 error', async () => {
    consul = new Consul({ address: proxy.address, token: TOKEN, env: {} });
    proxy.respond({ status: 403, body: 'Permission denied: token with AccessorID abc lacks key:write' });
    const err = await caught(consul.kv.put('k', 'v'));
    expect(err.code).to.equal('KVX_PERMISSION_DENIED');
    for (const text of renderings(err)) expect(text).not.to.include(TOKEN);
  });

  it('keeps the token out of a connection error and its cause', async () => {
    consul = new Consul({ address: proxy.address, token: TOKEN, retry: false, env: {} });
    await proxy.refuse();
    const err = await caught(consul.kv.get('k'));
    expect(err.code).to.equal('KVX_CONNECTION');
    for (const text of renderings(err)) expect(text).not.to.include(TOKEN);
  });

  it('keeps the token out of a timeout error and its cause', async () => {
    consul = new Consul({ address: proxy.address, token: TOKEN, retry: false, timeout: 100, env: {} });
    proxy.blackhole();
    const err = await caught(consul.kv.get('k'));
    expect(err.code).to.equal('KVX_TIMEOUT');
    for (const text of renderings(err)) expect(text).not.to.include(TOKEN);
  });

  it('keeps the token out of the client address and 5xx errors', async () => {
    consul = new Consul({ address: proxy.address, token: TOKEN, retry: false, env: {} });
    proxy.respond({ status: 500, body: 'No cluster leader' });
    const err = await caught(consul.kv.get('k'));
    expect(err.status).to.equal(500);
    for (const text of [...renderings(err), consul.address]) expect(text).not.to.include(TOKEN);
  });

  describe('replies that echo the token back', () => {
    const echo = (status: number) => ({ status, body: `token "${TOKEN}" / "${CALL_TOKEN}" is not allowed here` });

    for (const [status, code] of [
      [403, 'KVX_PERMISSION_DENIED'],
      [500, 'KVX_HTTP'],
      [413, 'KVX_TOO_LARGE'],
      [429, 'KVX_RATE_LIMITED'],
      [400, 'KVX_HTTP'],
    ] as const) {
      it(`redacts the client's and the call's token from a ${status} body`, async () => {
        consul = new Consul({ address: proxy.address, token: TOKEN, retry: false, env: {} });
        proxy.respond(echo(status));
        const err = await caught(consul.kv.put('k', 'v', { token: CALL_TOKEN }));
        expect(err.code).to.equal(code);
        expect(err.message).to.include('token "<redacted>" / "<redacted>" is not allowed');
        for (const text of renderings(err)) {
          expect(text).not.to.include(TOKEN);
          expect(text).not.to.include(CALL_TOKEN);
        }
      });
    }

    it('redacts the token from the failures of a rolled-back transaction', async () => {
      consul = new Consul({ address: proxy.address, token: TOKEN, retry: false, env: {} });
      proxy.respond({ status: 409, body: JSON.stringify({ Results: null, Errors: [{ OpIndex: 0, What: `token ${TOKEN} lacks key:write` }] }) });
      const err = await caught(consul.txn.execute([{ verb: 'set', key: 'k', value: 'v' }]));
      expect(err.code).to.equal('KVX_TXN_CONFLICT');
      expect(err.message).to.include('token <redacted> lacks key:write');
      for (const text of renderings(err)) expect(text).not.to.include(TOKEN);
    });

    it('keeps an echoed token out of the error for a reply that is not JSON', async () => {
      consul = new Consul({ address: proxy.address, token: TOKEN, retry: false, env: {} });
      proxy.respond({ status: 200, body: `${TOKEN} is not JSON`, headers: { 'X-Consul-Index': '3' } });
      const err = await caught(consul.kv.list('p'));
      expect(err.code).to.equal('KVX_PROTOCOL');
      // V8's parse errors quote the ten characters at the error: not even a prefix of the token may show.
      for (const text of renderings(err)) expect(text).not.to.include(TOKEN.slice(0, 8));
    });

    it('redacts a padded per-call token, which the agent sees and echoes without its spaces', async () => {
      consul = new Consul({ address: proxy.address, retry: false, env: {} });
      proxy.respond({ status: 403, body: `ACL not found for token ${CALL_TOKEN}` });
      const err = await caught(consul.kv.get('k', { token: ` ${CALL_TOKEN}\t` }));
      expect(err.code).to.equal('KVX_PERMISSION_DENIED');
      for (const text of renderings(err)) expect(text).not.to.include(CALL_TOKEN);
    });

    it('refuses a per-call token with a line break before sending anything', async () => {
      consul = new Consul({ address: proxy.address, retry: false, env: {} });
      const err = await caught(consul.kv.get('k', { token: `${CALL_TOKEN}\n` }));
      expect(err.code).to.equal('KVX_INVALID_ARGUMENT');
      expect(err.message).not.to.include(CALL_TOKEN);
      expect(proxy.requests).to.equal(0);
    });

    it('keeps an echoed token out of the error for a session with an unknown behavior', async () => {
      consul = new Consul({ address: proxy.address, token: TOKEN, retry: false, env: {} });
      proxy.respond({ status: 200, body: JSON.stringify([{ ID: 's', Behavior: TOKEN }]), headers: { 'X-Consul-Index': '3' } });
      const err = await caught(consul.session.list());
      expect(err.code).to.equal('KVX_PROTOCOL');
      for (const text of renderings(err)) expect(text).not.to.include(TOKEN);
    });
  });
});
