import { expect } from 'chai';
import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';

import { deliver, exitCodeFor, KeyLayout, lineCount, parseManifest, publish, readContent, readSnapshot, sha256Hex } from '@kvx/client';
import { rawGet, rawPut, rejectsWith, startHarness, useHarness } from './helpers.js';

/** Content with enough newlines to pass the default line minimum. */
function bigText(bytes: number, seed: string): Buffer {
  const line = Buffer.from(`${seed} ${'x'.repeat(70)}\n`);
  return Buffer.concat(Array.from({ length: Math.ceil(bytes / line.length) }, () => line)).subarray(0, bytes);
}

describe('transfer: chunked content (no size ceiling)', () => {
  const t = useHarness();

  const chunkDirs = async (key: string): Promise<string[]> =>
    (await t.consul.kv.keys(`kvexpress/${key}.chunks/`, { separator: '/' })).value;

  it('stores a 2 MB file as chunks plus a flags-2 manifest, and delivers it byte for byte', async () => {
    const content = bigText(2 * 1024 * 1024, 'two');
    const result = await publish({ consul: t.consul, key: 'two-mb', content });
    expect(result.chunks).to.equal(4);
    const data = await rawGet(t.agent.url, 'kvexpress/two-mb/data');
    expect(data?.flags).to.equal(2n);
    const manifest = parseManifest('kvexpress/two-mb/data', data?.value ?? Buffer.alloc(0));
    expect(manifest).to.include({ size: content.length, chunks: 4, sha256: sha256Hex(content), encoding: 'plain' });
    const delivered = await deliver({ consul: t.consul, key: 'two-mb', file: join(t.dir, 'two-mb') });
    expect(delivered.chunks).to.equal(4);
    expect((await readFile(join(t.dir, 'two-mb'))).equals(content)).to.equal(true);
  });

  it('uses inline data up to the transaction limit and chunks beyond it', async () => {
    const inline = await publish({ consul: t.consul, key: 'edge-a', content: bigText(370 * 1024, 'a') });
    const chunked = await publish({ consul: t.consul, key: 'edge-b', content: bigText(400 * 1024, 'b') });
    expect([inline.chunks, chunked.chunks]).to.deep.equal([0, 1]);
  });

  it('chunks compressed content that is still too large after brotli', async () => {
    const content = Buffer.concat([randomBytes(600 * 1024), Buffer.from('\n'.repeat(20))]);
    const result = await publish({ consul: t.consul, key: 'bro-big', content, compress: true });
    expect(result.encoding).to.equal('brotli');
    expect(result.chunks).to.be.greaterThan(1);
    await deliver({ consul: t.consul, key: 'bro-big', file: join(t.dir, 'bro') });
    expect((await readFile(join(t.dir, 'bro'))).equals(content)).to.equal(true);
  });

  it('shows kvexpress readers a manifest that fails their checks, so they write nothing', async () => {
    const content = bigText(600 * 1024, 'old-reader');
    await publish({ consul: t.consul, key: 'old-reader', content });
    const data = await rawGet(t.agent.url, 'kvexpress/old-reader/data');
    const checksum = (await rawGet(t.agent.url, 'kvexpress/old-reader/checksum'))?.value.toString();
    // kvexpress `out` without -z: the raw value is the content; it is 1 line and does not hash to the checksum.
    expect(lineCount(data?.value ?? Buffer.alloc(0))).to.equal(1);
    expect(sha256Hex(data?.value ?? Buffer.alloc(0))).to.not.equal(checksum);
    // The checksum key still names the real content, so kvexpress watches on it fire as usual.
    expect(checksum).to.equal(sha256Hex(content));
  });

  it('removes the chunks of the replaced version after committing a new one', async () => {
    await publish({ consul: t.consul, key: 'replace', content: bigText(600 * 1024, 'v1') });
    const [first] = await chunkDirs('replace');
    await publish({ consul: t.consul, key: 'replace', content: bigText(600 * 1024, 'v2') });
    const after = await chunkDirs('replace');
    expect(after).to.have.length(1);
    expect(after[0]).to.not.equal(first);
  });

  it('skips an unchanged chunked upload, but repairs a version whose chunks went missing', async () => {
    const content = bigText(600 * 1024, 'repair');
    await publish({ consul: t.consul, key: 'repair', content });
    expect((await publish({ consul: t.consul, key: 'repair', content })).status).to.equal('unchanged');
    await t.consul.kv.deleteTree('kvexpress/repair.chunks/');
    expect((await publish({ consul: t.consul, key: 'repair', content })).status).to.equal('updated');
    await deliver({ consul: t.consul, key: 'repair', file: join(t.dir, 'repair') });
    expect((await readFile(join(t.dir, 'repair'))).equals(content)).to.equal(true);
  });

  it('removes all chunks when a chunked file is replaced by a small one', async () => {
    await publish({ consul: t.consul, key: 'shrink', content: bigText(600 * 1024, 'big') });
    await publish({ consul: t.consul, key: 'shrink', content: bigText(2 * 1024, 'small') });
    expect(await chunkDirs('shrink')).to.deep.equal([]);
  });

  it('removes leftovers of a failed push at the next commit', async () => {
    const stray = 'f'.repeat(64);
    await rawPut(t.agent.url, `kvexpress/leftover.chunks/${stray}/guard`, '{}');
    await rawPut(t.agent.url, `kvexpress/leftover.chunks/${stray}/0`, 'partial');
    await publish({ consul: t.consul, key: 'leftover', content: bigText(4 * 1024, 'ok') });
    expect(await chunkDirs('leftover')).to.deep.equal([]);
  });

  it('a reader whose version is replaced mid-read re-reads and gets the new version whole', async () => {
    const layout = new KeyLayout('midread');
    await publish({ consul: t.consul, key: 'midread', content: bigText(600 * 1024, 'v1') });
    const stale = await readSnapshot(t.consul, layout);
    const v2 = bigText(700 * 1024, 'v2');
    await publish({ consul: t.consul, key: 'midread', content: v2 });
    const resolved = await readContent(t.consul, stale);
    expect(resolved.content.equals(v2)).to.equal(true);
    expect(resolved.snapshot.index > stale.index).to.equal(true);
  });

  it('delivers a kvexpress write over a previously chunked key (stale meta ignored), and cleans up on the next publish', async () => {
    await publish({ consul: t.consul, key: 'mixed', content: bigText(600 * 1024, 'kvx') });
    const small = bigText(2048, 'kvexpress');
    await rawPut(t.agent.url, 'kvexpress/mixed/data', small);
    await rawPut(t.agent.url, 'kvexpress/mixed/checksum', sha256Hex(small));
    await deliver({ consul: t.consul, key: 'mixed', file: join(t.dir, 'mixed') });
    expect((await readFile(join(t.dir, 'mixed'))).equals(small)).to.equal(true);
    await publish({ consul: t.consul, key: 'mixed', content: bigText(3000, 'kvx-again') });
    expect(await chunkDirs('mixed')).to.deep.equal([]);
  });

  it('an agent with a smaller value limit refuses oversized values with KVX_TOO_LARGE; a matching maxValueSize chunks them', async () => {
    const small = await startHarness({ kvMaxValueSize: 64 * 1024 });
    try {
      const content = bigText(200 * 1024, 'limit');
      const err = await rejectsWith(publish({ consul: small.consul, key: 'limited', content }), 'KVX_TOO_LARGE');
      expect(exitCodeFor(err)).to.equal(7);
      const result = await publish({ consul: small.consul, key: 'limited', content, maxValueSize: 64 * 1024 });
      expect(result.chunks).to.equal(4);
      await deliver({ consul: small.consul, key: 'limited', file: join(t.dir, 'limited') });
      expect((await readFile(join(t.dir, 'limited'))).equals(content)).to.equal(true);
    } finally {
      await small.close();
    }
  });

  it('publishes and delivers a 50 MB file with the default agent limits', async function () {
    this.timeout(15_000);
    const content = Buffer.concat([randomBytes(50 * 1024 * 1024), Buffer.from('\n'.repeat(10))]);
    const result = await publish({ consul: t.consul, key: 'fifty', content });
    expect(result.chunks).to.equal(101);
    await deliver({ consul: t.consul, key: 'fifty', file: join(t.dir, 'fifty') });
    expect(sha256Hex(await readFile(join(t.dir, 'fifty')))).to.equal(sha256Hex(content));
    await t.consul.kv.deleteTree('kvexpress/fifty');
  });
});
