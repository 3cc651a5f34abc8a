import { mkdtemp, rm, writeFile, mkdir } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import { Consul, InvalidArgumentError } from '@kvx/client';

/** Builds a client from options and an explicit environment, and closes it at once. */
async function addressOf(options: ConstructorParameters<typeof Consul>[0]): Promise<string> {
  const c = new Consul(options);
  await c.close();
  return c.address;
}

describe('client: configuration', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'kvx-client-config-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  describe('address', () => {
    it('defaults to http://127.0.0.1:8500 with an empty environment', async () => {
      expect(await addressOf({ env: {} })).to.equal('http://127.0.0.1:8500');
    });

    it('reads CONSUL_HTTP_ADDR as host:port', async () => {
      expect(await addressOf({ env: { CONSUL_HTTP_ADDR: '10.0.0.5:8501' } })).to.equal('http://10.0.0.5:8501');
    });

    it('reads CONSUL_HTTP_ADDR with an http:// or https:// scheme', async () => {
      expect(await addressOf({ env: { CONSUL_HTTP_ADDR: 'http://consul.local:8500' } })).to.equal('http://consul.local:8500');
      expect(await addressOf({ env: { CONSUL_HTTP_ADDR: 'https://consul.local:8501' } })).to.equal('https://consul.local:8501');
    });

    it('reads CONSUL_HTTP_ADDR as a unix:// socket', async () => {
      expect(await addressOf({ env: { CONSUL_HTTP_ADDR: 'unix:///var/run/consul.sock' } })).to.equal('unix:///var/run/consul.sock');
    });

    it('uses https for a bare host:port when CONSUL_HTTP_SSL is true', async () => {
      expect(await addressOf({ env: { CONSUL_HTTP_ADDR: 'h:8501', CONSUL_HTTP_SSL: 'true' } })).to.equal('https://h:8501');
    });

    it('lets the explicit address win over CONSUL_HTTP_ADDR', async () => {
      expect(await addressOf({ address: '127.0.0.2:9000', env: { CONSUL_HTTP_ADDR: '10.0.0.5:8501' } })).to.equal('http://127.0.0.2:9000');
    });

    it('brackets IPv6 hosts', async () => {
      expect(await addressOf({ address: '[::1]:8500', env: {} })).to.equal('http://[::1]:8500');
    });

    for (const bad of ['', 'ftp://h:1', 'h:99999', 'http://h:8500/v1/kv', 'user:pw@h:8500', 'unix://relative.sock', 'h:8500?x=1']) {
      it(`rejects the address ${JSON.stringify(bad)} with InvalidArgumentError`, () => {
        expect(() => new Consul({ address: bad, env: {} })).to.throw(InvalidArgumentError);
      });
    }

    it('rejects a malformed CONSUL_HTTP_SSL', () => {
      expect(() => new Consul({ env: { CONSUL_HTTP_SSL: 'yes please' } })).to.throw(InvalidArgumentError, /CONSUL_HTTP_SSL/);
    });
  });

  describe('options', () => {
    for (const [name, options] of [
      ['a zero timeout', { timeout: 0 }],
      ['a timeout beyond what a timer holds', { timeout: 2 ** 31 }],
      ['a zero maxResponseSize', { maxResponseSize: 0 }],
      ['a fractional maxResponseSize', { maxResponseSize: 1.5 }],
      ['a NaN maxResponseSize', { maxResponseSize: NaN }],
      ['a zero keepAliveTimeout', { keepAliveTimeout: 0 }],
      ['a fractional keepAliveTimeout', { keepAliveTimeout: 2.5 }],
      ['an infinite keepAliveTimeout', { keepAliveTimeout: Infinity }],
      ['a negative retry count', { retry: { retries: -1 } }],
      ['maxDelay below minDelay', { retry: { minDelay: 100, maxDelay: 10 } }],
      ['a breaker threshold above 100 %', { breaker: { errorThresholdPercentage: 150 } }],
      ['a zero breaker volumeThreshold', { breaker: { volumeThreshold: 0 } }],
      ['a zero rate limit', { rateLimit: { ratePerSecond: 0, burst: 1 } }],
      ['an unknown consistency', { consistency: 'eventual' }],
    ] as const) {
      it(`rejects ${name} eagerly`, () => {
        expect(() => new Consul({ ...(options as object), env: {} })).to.throw(InvalidArgumentError);
      });
    }
  });

  describe('token', () => {
    it('rejects an unreadable token file with InvalidArgumentError', () => {
      expect(() => new Consul({ tokenFile: path.join(dir, 'missing'), env: {} })).to.throw(InvalidArgumentError, /token file/);
    });

    it('rejects a token containing a line break', () => {
      expect(() => new Consul({ token: 'a\nb', env: {} })).to.throw(InvalidArgumentError);
    });
  });

  describe('TLS', () => {
    it('rejects certificate files for an http address', async () => {
      const ca = path.join(dir, 'ca.pem');
      await writeFile(ca, 'x');
      expect(() => new Consul({ address: 'http://h:8500', tls: { caFile: ca }, env: {} })).to.throw(InvalidArgumentError, /https/);
    });

    it('rejects a client certificate without a key', async () => {
      const cert = path.join(dir, 'cert.pem');
      await writeFile(cert, 'x');
      expect(() => new Consul({ address: 'https://h:8501', tls: { certFile: cert }, env: {} })).to.throw(InvalidArgumentError, /key/);
    });

    it('rejects a missing CA file named by CONSUL_CACERT', () => {
      expect(() => new Consul({ env: { CONSUL_HTTP_ADDR: 'https://h:8501', CONSUL_CACERT: path.join(dir, 'nope.pem') } })).to.throw(
        InvalidArgumentError,
        /CA file/,
      );
    });

    it('rejects a CONSUL_CAPATH directory without certificates', async () => {
      await mkdir(path.join(dir, 'empty'));
      expect(() => new Consul({ env: { CONSUL_HTTP_ADDR: 'https://h:8501', CONSUL_CAPATH: path.join(dir, 'empty') } })).to.throw(
        InvalidArgumentError,
        /no \.pem/,
      );
    });

    it('ignores TLS environment variables for an http agent', async () => {
      expect(await addressOf({ env: { CONSUL_HTTP_ADDR: 'h:8500', CONSUL_CACERT: path.join(dir, 'nope.pem') } })).to.equal('http://h:8500');
    });

    it('rejects a malformed CONSUL_HTTP_SSL_VERIFY for an https agent', () => {
      expect(() => new Consul({ env: { CONSUL_HTTP_ADDR: 'https://h:8501', CONSUL_HTTP_SSL_VERIFY: 'maybe' } })).to.throw(
        InvalidArgumentError,
        /CONSUL_HTTP_SSL_VERIFY/,
      );
    });
  });
});
