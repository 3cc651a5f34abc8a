import { expect } from 'chai';
import { createSocket, type Socket } from 'node:dgram';
import { join } from 'node:path';

import { StatsD } from 'hot-shots';

import { deliver, publish, stop, TransferMetrics } from '@kvx/client';
import { eventually } from '../support/eventually.js';
import { removeDir, startHarness, tempDir, textLines, type Harness } from './helpers.js';

/** A DogStatsD server on a UDP port that records every line it receives. */
async function startDogStatsd(): Promise<{ socket: Socket; port: number; lines: string[] }> {
  const socket = createSocket('udp4');
  const lines: string[] = [];
  socket.on('message', (msg) => lines.push(...msg.toString('utf8').split('\n').filter((l) => l !== '')));
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
  return { socket, port: socket.address().port, lines };
}

describe('transfer: DogStatsD metrics and events', () => {
  let h: Harness;
  let dir: string;
  let server: Awaited<ReturnType<typeof startDogStatsd>>;
  let statsd: StatsD;
  before(async () => {
    h = await startHarness();
    server = await startDogStatsd();
    statsd = new StatsD({ host: '127.0.0.1', port: server.port, includeDataDogTags: false, maxBufferSize: 0 });
  });
  after(async () => {
    await new Promise<void>((resolve) => statsd.close(() => resolve()));
    server.socket.close();
    await h.close();
  });
  beforeEach(async () => {
    dir = await tempDir();
    server.lines.length = 0;
  });
  afterEach(() => removeDir(dir));

  const metric = (name: string) => server.lines.filter((l) => l.startsWith(`${name}:`));

  it("sends kvexpress's in/bytes/lines metrics with key, host, direction and location tags", async () => {
    const metrics = new TransferMetrics({ statsd, hostname: 'pub-host' });
    const result = await publish({ consul: h.consul, key: 'm1', content: textLines(12), compress: true, metrics });
    await eventually('the metrics', () => metric('kvx.lines').length === 1);
    const tags = '#key:m1,host:pub-host,direction:in,location:complete';
    expect(metric('kvx.in')).to.deep.equal([`kvx.in:1|c|${tags}`]);
    expect(metric('kvx.bytes')).to.deep.equal([`kvx.bytes:${result.storedSize}|g|${tags}`]);
    expect(metric('kvx.lines')).to.deep.equal([`kvx.lines:12|g|${tags}`]);
  });

  it('keeps kvexpress dashboards working with the kvexpress prefix', async () => {
    const metrics = new TransferMetrics({ statsd, prefix: 'kvexpress', hostname: 'h' });
    await publish({ consul: h.consul, key: 'm2', content: textLines(12), metrics });
    await deliver({ consul: h.consul, key: 'm2', file: join(dir, 'f'), metrics });
    await eventually('the out metric', () => metric('kvexpress.out').length === 1);
    expect(metric('kvexpress.in')).to.have.length(1);
    expect(metric('kvexpress.out')[0]).to.equal('kvexpress.out:1|c|#key:m2,host:h,direction:out,location:complete');
  });

  it('sends an update event carrying the unified diff', async () => {
    const metrics = new TransferMetrics({ statsd, hostname: 'h' });
    await publish({ consul: h.consul, key: 'm3', content: textLines(12, 'old'), metrics });
    await publish({ consul: h.consul, key: 'm3', content: textLines(12, 'old').replace('old 3', 'new 3'), metrics });
    const update = () => server.lines.find((l) => l.startsWith('_e{') && l.includes('+new 3'));
    await eventually('the update event', () => update() !== undefined);
    const event = update() ?? '';
    expect(event).to.include('Updated: kvexpress/m3/data');
    expect(event).to.include('-old 3\\n+new 3');
    expect(event).to.include('#key:m3,host:h,direction:in,location:complete,kvx:success');
  });

  it('leaves the diff out of update events with diffEvents: false', async () => {
    const metrics = new TransferMetrics({ statsd, diffEvents: false });
    await publish({ consul: h.consul, key: 'm4', content: textLines(12, 'secret-a'), metrics });
    await publish({ consul: h.consul, key: 'm4', content: textLines(12, 'secret-b'), metrics });
    const events = () => server.lines.filter((l) => l.startsWith('_e{') && l.includes('#key:m4,'));
    await eventually('the events', () => events().length === 2);
    expect(events().some((l) => l.includes('secret'))).to.equal(false);
  });

  it('sends a stop event and counts refused publishes', async () => {
    const metrics = new TransferMetrics({ statsd, hostname: 'h' });
    await stop({ consul: h.consul, key: 'm5', reason: 'frozen', metrics });
    await publish({ consul: h.consul, key: 'm5', content: textLines(12), metrics }).catch(() => undefined);
    await eventually('the stopped metric', () => metric('kvx.stopped').length === 1);
    const events = server.lines.filter((l) => l.startsWith('_e{'));
    expect(events.some((e) => e.includes('Set Stop Key: kvexpress/m5/stop') && e.includes('frozen'))).to.equal(true);
    expect(events.some((e) => e.includes('Stop key is present: kvexpress/m5/stop'))).to.equal(true);
  });

  it('counts checksum mismatches on delivery', async () => {
    const metrics = new TransferMetrics({ statsd, hostname: 'h' });
    await h.consul.kv.put('kvexpress/m6/data', textLines(12));
    await h.consul.kv.put('kvexpress/m6/checksum', 'f'.repeat(64));
    await deliver({ consul: h.consul, key: 'm6', file: join(dir, 'f'), metrics }).catch(() => undefined);
    await eventually('the mismatch metric', () => metric('kvx.checksum_mismatch').length === 1);
    expect(metric('kvx.checksum_mismatch')[0]).to.equal('kvx.checksum_mismatch:1|c|#key:m6,host:h,direction:out,location:checksum_mismatch');
  });

  it('validates its options', () => {
    expect(() => new TransferMetrics({ prefix: 'bad prefix' })).to.throw(/prefix/);
  });
});
