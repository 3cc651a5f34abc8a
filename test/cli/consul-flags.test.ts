import { expect } from 'chai';
import { consulOptionsFrom, metricsTarget } from '../../packages/cli/src/consul-flags.js';
import { parseConfigFile } from '../../packages/cli/src/config-file.js';

const fileConfig = parseConfigFile(
  'consul_server: file-host:8500\ntoken: file-token\ndatacenter: dc-file\ndogstatsd_address: file-statsd:8125\n' +
    'metrics_prefix: kvexpress\n',
  'c.yaml',
);

describe('cli connection flags', () => {
  it('uses the config file when neither flag nor environment is set', () => {
    const options = consulOptionsFrom({}, {}, fileConfig);
    expect(options.address).to.equal('file-host:8500');
    expect(options.token).to.equal('file-token');
    expect(options.datacenter).to.equal('dc-file');
  });

  it('lets the environment win over the config file (the client reads it)', () => {
    const env = { CONSUL_HTTP_ADDR: 'env-host:8500', CONSUL_HTTP_TOKEN: 'env-token' };
    const options = consulOptionsFrom({}, env, fileConfig);
    expect(options.address).to.equal(undefined);
    expect(options.token).to.equal(undefined);
    expect(options.env).to.deep.equal(env);
  });

  it('lets flags win over environment and config file', () => {
    const env = { CONSUL_HTTP_ADDR: 'env-host:8500' };
    const options = consulOptionsFrom({ httpAddr: 'flag-host:1', token: 'flag-token' }, env, fileConfig);
    expect(options.address).to.equal('flag-host:1');
    expect(options.token).to.equal('flag-token');
  });

  it('maps TLS flags, consistency, timeout and retries to client options', () => {
    const options = consulOptionsFrom(
      { caFile: '/ca.pem', clientCert: '/c.pem', clientKey: '/k.pem', tlsServerName: 'consul', tlsSkipVerify: true, stale: true, timeout: 2000, retries: 1 },
      {},
      undefined,
    );
    expect(options.tls).to.deep.equal({ caFile: '/ca.pem', certFile: '/c.pem', keyFile: '/k.pem', serverName: 'consul', verify: false });
    expect(options.consistency).to.equal('stale');
    expect(options.timeout).to.equal(2000);
    expect(options.retry).to.deep.equal({ maxRetryTime: 15_000, retries: 1 });
  });

  it('refuses --stale with --consistent', () => {
    expect(() => consulOptionsFrom({ stale: true, consistent: true }, {}, undefined)).to.throw(/cannot be used together/);
  });

  it('takes the dogstatsd address from the flag over the config file, with the metric prefix', () => {
    expect(metricsTarget({ dogstatsd: { host: '127.0.0.1', port: 9 } }, fileConfig)).to.deep.equal({
      address: { host: '127.0.0.1', port: 9 },
      prefix: 'kvexpress',
    });
    expect(metricsTarget({}, fileConfig)?.address).to.deep.equal({ host: 'file-statsd', port: 8125 });
    expect(metricsTarget({}, undefined)).to.equal(undefined);
    expect(metricsTarget({ dogstatsd: { host: 'h', port: 1 } }, undefined)?.prefix).to.equal('kvx');
  });
});
