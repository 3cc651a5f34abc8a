import { expect } from 'chai';
import { StatsD } from 'hot-shots';
import { Consul } from '@kvx/client';
import { startFaultProxy, type FaultProxy } from '../support/fault-proxy.js';

const TOKEN = 'metrics-secret-token';

describe('client: metrics', () => {
  let proxy: FaultProxy;
  let statsd: StatsD;
  let consul: Consul;

  beforeEach(async () => {
    proxy = await startFaultProxy('http://127.0.0.1:9');
    statsd = new StatsD({ mock: true });
    consul = new Consul({
      address: proxy.address,
      env: {},
      token: TOKEN,
      metrics: statsd,
      retry: { minDelay: 1, maxDelay: 1, budget: false },
      breaker: { volumeThreshold: 2, resetTimeout: 60_000 },
    });
  });
  afterEach(async () => {
    await consul.close();
    await proxy.close();
    statsd.close();
  });

  const lines = (): string[] => statsd.mockBuffer ?? [];

  it('times each request by endpoint, method and status', async () => {
    proxy.respond({ status: 404, headers: { 'X-Consul-Index': '3' } });
    await consul.kv.get('missing');
    expect(lines()).to.have.lengthOf(1);
    expect(lines()[0]).to.match(/^kvx\.consul\.request:[\d.]+\|ms\|#endpoint:kv_get,method:GET,status:404$/);
  });

  it('counts retries with their reason, and tags failed attempts with the error code', async () => {
    proxy.respond({ status: 500, body: 'No cluster leader' });
    proxy.respond({ status: 200, body: 'true' });
    await consul.kv.put('k', 'v');
    expect(lines().filter((l) => l.startsWith('kvx.consul.retry'))).to.deep.equal(['kvx.consul.retry:1|c|#endpoint:kv_put,reason:KVX_HTTP']);
    expect(lines().filter((l) => l.startsWith('kvx.consul.request')).map((l) => l.replace(/:[\d.]+\|/, ':N|'))).to.deep.equal([
      'kvx.consul.request:N|ms|#endpoint:kv_put,method:PUT,status:500',
      'kvx.consul.request:N|ms|#endpoint:kv_put,method:PUT,status:200',
    ]);
  });

  it('counts breaker state changes', async () => {
    await consul.close();
    consul = new Consul({ address: proxy.address, env: {}, metrics: statsd, retry: false, breaker: { volumeThreshold: 2 } });
    await proxy.refuse();
    for (let i = 0; i < 2; i++) await consul.status.leader().catch(() => undefined);
    expect(lines()).to.include('kvx.consul.breaker:1|c|#kind:request,state:open');
    expect(lines().filter((l) => l.startsWith('kvx.consul.request'))[0]).to.match(/status:KVX_CONNECTION$/);
  });

  it('counts watch wake-ups, telling changes from timeouts', async () => {
    proxy.respond({ status: 200, body: '[]', headers: { 'X-Consul-Index': '7' } });
    proxy.respond({ status: 200, body: '[]', headers: { 'X-Consul-Index': '7' } });
    proxy.respond({ status: 200, body: '[]', headers: { 'X-Consul-Index': '8' } });
    const watch = consul.watch((o) => consul.session.list(o), { rateLimit: false });
    let seen = 0;
    for await (const _ of watch) if (++seen === 2) break;
    const wakeups = lines().filter((l) => l.startsWith('kvx.consul.watch.wakeup'));
    expect(wakeups).to.deep.equal([
      'kvx.consul.watch.wakeup:1|c|#changed:true',
      'kvx.consul.watch.wakeup:1|c|#changed:false',
      'kvx.consul.watch.wakeup:1|c|#changed:true',
    ]);
  });

  it('never puts the token into a metric', async () => {
    proxy.respond({ status: 403, body: `Permission denied for ${TOKEN}` });
    await consul.kv.get('k').catch(() => undefined);
    expect(lines()).to.have.length.greaterThan(0);
    for (const l of lines()) expect(l).not.to.include(TOKEN);
  });
});
