import { expect } from 'chai';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';

import { deliver, publish } from '@kvx/client';
import { textLines, useHarness } from './helpers.js';

describe('transfer: progress callbacks', () => {
  const t = useHarness();

  /** 10 lines of incompressible text, about 20 KiB. */
  const big = textLines(10, randomBytes(1024).toString('hex'));
  type Call = [number, number];

  it('publish reports an inline value once, after the commit', async () => {
    const calls: Call[] = [];
    const r = await publish({ consul: t.consul, key: 'p-inline', content: textLines(12), onProgress: (d, t) => calls.push([d, t]) });
    expect(calls).to.deep.equal([[r.storedSize, r.storedSize]]);
  });

  it('publish reports each uploaded chunk, growing to the stored size', async () => {
    const calls: Call[] = [];
    const r = await publish({ consul: t.consul, key: 'p-chunked', content: big, maxValueSize: 4096, onProgress: (d, t) => calls.push([d, t]) });
    expect(r.chunks).to.be.greaterThan(1);
    expect(calls).to.have.length(r.chunks);
    expect(calls.map(([, t]) => t).every((t) => t === r.storedSize)).to.equal(true);
    expect(calls.map(([d]) => d)).to.deep.equal([...calls.map(([d]) => d)].sort((a, b) => a - b));
    expect(calls.at(-1)).to.deep.equal([r.storedSize, r.storedSize]);
  });

  it('publish does not report when Consul already holds the content', async () => {
    await publish({ consul: t.consul, key: 'p-same', content: textLines(12) });
    const calls: Call[] = [];
    await publish({ consul: t.consul, key: 'p-same', content: textLines(12), onProgress: (d, t) => calls.push([d, t]) });
    expect(calls).to.deep.equal([]);
  });

  it('deliver reports an inline value once', async () => {
    const p = await publish({ consul: t.consul, key: 'd-inline', content: textLines(12) });
    const calls: Call[] = [];
    await deliver({ consul: t.consul, key: 'd-inline', file: join(t.dir, 'f'), onProgress: (d, t) => calls.push([d, t]) });
    expect(calls).to.deep.equal([[p.storedSize, p.storedSize]]);
  });

  it('deliver reports each downloaded chunk, growing to the stored size', async () => {
    const p = await publish({ consul: t.consul, key: 'd-chunked', content: big, maxValueSize: 4096 });
    const calls: Call[] = [];
    await deliver({ consul: t.consul, key: 'd-chunked', file: join(t.dir, 'f'), onProgress: (d, t) => calls.push([d, t]) });
    expect(calls).to.have.length(p.chunks);
    expect(calls.map(([d]) => d)).to.deep.equal([...calls.map(([d]) => d)].sort((a, b) => a - b));
    expect(calls.at(-1)).to.deep.equal([p.storedSize, p.storedSize]);
  });
});
