import { expect } from 'chai';
import { mkdtemp, rm } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { Consul } from '@kvx/client';
import { ExitCode } from '../../packages/cli/src/exit-codes.js';
import { redactUrl } from '../../packages/cli/src/input.js';
import { startTestAgent, type DevAgent } from '../support/dev-agent.js';
import { kvxRunner, type KvxRun } from './support/kvx.js';

const CONTENT = Array.from({ length: 12 }, (_, i) => `host-${i} 10.0.0.${i}`).join('\n') + '\n';
const PASSWORD = 'secretpw';

/** Neither stream of the run holds `secret`. */
function expectNoLeak(r: KvxRun, secret: string): void {
  expect(r.stderr).not.to.include(secret);
  expect(r.stdout).not.to.include(secret);
}

describe('kvx in -u with credentials', () => {
  let agent: DevAgent;
  let consul: Consul;
  let server: http.Server;
  let base: string;
  let dir: string;
  let kvx: ReturnType<typeof kvxRunner>;
  /** Authorization headers the server received. */
  let seen: (string | undefined)[];

  before(async () => {
    agent = await startTestAgent();
    consul = new Consul({ address: agent.url, env: {} });
    // Serves /hosts to user:secretpw only; /missing is a 404 for everyone.
    server = http.createServer((req, res) => {
      seen.push(req.headers.authorization);
      const expected = `Basic ${Buffer.from(`user:${PASSWORD}`).toString('base64')}`;
      if (req.headers.authorization !== expected) {
        res.writeHead(401, { 'www-authenticate': 'Basic realm="kvx"' }).end();
        return;
      }
      if (req.url?.startsWith('/hosts') === true) res.writeHead(200, { 'content-type': 'text/plain' }).end(CONTENT);
      else res.writeHead(404).end();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(async () => {
    await new Promise<void>((resolve) => server.close(() => resolve()));
    await consul.close();
    await agent.close();
  });
  beforeEach(async () => {
    seen = [];
    dir = await mkdtemp(path.join(os.tmpdir(), 'kvx-cli-url-'));
    kvx = kvxRunner(dir, () => agent.url);
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('sends the URL\'s user info as basic auth and publishes the content', async () => {
    const r = await kvx(['in', '-k', 'url1', '-u', `http://user:${PASSWORD}@${base}/hosts`, '--json']);
    expect(r.code, r.stderr).to.equal(ExitCode.OK);
    expect(seen).to.deep.equal([`Basic ${Buffer.from(`user:${PASSWORD}`).toString('base64')}`]);
    expect((await consul.kv.getRaw('kvexpress/url1/data')).value?.toString()).to.equal(CONTENT);
    expectNoLeak(r, PASSWORD);
  });

  it('records the source in the meta without the password', async () => {
    expect((await kvx(['in', '-k', 'url2', '-u', `http://user:${PASSWORD}@${base}/hosts`])).code).to.equal(ExitCode.OK);
    const meta = (await consul.kv.getRaw('kvexpress/url2/meta')).value?.toString() ?? '';
    expect(meta).to.include(`http://${base}/hosts`).and.not.include(PASSWORD).and.not.include('user:');
  });

  it('names the URL without its password in the error line and the --json document', async () => {
    const r = await kvx(['in', '-k', 'url3', '-u', `http://user:${PASSWORD}@${base}/missing`, '--json']);
    expect(r.code).to.equal(ExitCode.USAGE);
    expect(r.stderr).to.equal(`kvx: cannot fetch http://${base}/missing: HTTP 404 Not Found\n`);
    expect(JSON.parse(r.stdout)).to.deep.include({ ok: false, exitCode: ExitCode.USAGE });
    expectNoLeak(r, PASSWORD);
  });

  it('names the URL without its password when the server refuses the credentials', async () => {
    const r = await kvx(['in', '-k', 'url4', '-u', `http://user:wrong-${PASSWORD}@${base}/hosts`, '--verbose']);
    expect(r.code).to.equal(ExitCode.USAGE);
    expect(r.stderr).to.include(`cannot fetch http://${base}/hosts: HTTP 401`);
    expectNoLeak(r, `wrong-${PASSWORD}`);
  });

  it('redacts credential-like query values (token, password, secret) in messages', async () => {
    const r = await kvx(['in', '-k', 'url5', '-u', `http://${base}/missing?token=tok-123456&password=pw-123456&client_secret=s-123456&page=2`]);
    expect(r.code).to.equal(ExitCode.USAGE);
    expect(r.stderr).to.include(`http://${base}/missing?token=***&password=***&client_secret=***&page=2`);
    for (const secret of ['tok-123456', 'pw-123456', 's-123456']) expectNoLeak(r, secret);
  });

  it('redactUrl drops user info and queries from text that is not a URL', () => {
    expect(redactUrl('not a url user:pw@host?token=t')).to.equal('not a url host…');
    expect(redactUrl('http://u:p@h:1/a?x=1&api_key=k')).to.equal('http://h:1/a?x=1&api_key=***');
  });
});
