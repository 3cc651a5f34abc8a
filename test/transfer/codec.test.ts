import { expect } from 'chai';
import { randomBytes } from 'node:crypto';
import { brotliCompressSync } from 'node:zlib';

import { DataFlags, decodeValue, encodeContent, formatManifest, KvxError, parseManifest, sha256Hex } from '@kvx/client';
import { fixture, URL_CHECKSUM } from './helpers.js';

describe('transfer: codec', () => {
  it('stores plain content as is with flags 0', async () => {
    const encoded = await encodeContent(Buffer.from('abc'), false);
    expect(encoded.flags).to.equal(0n);
    expect(encoded.value.toString()).to.equal('abc');
  });

  it('stores compressed content as raw brotli with flags 1 that any brotli decoder reads', async () => {
    const content = await fixture('url-gistfile1.txt');
    const encoded = await encodeContent(content, true);
    expect(encoded.flags).to.equal(1n);
    const decoded = await decodeValue('k', encoded.value, encoded.flags, false);
    expect(decoded.content.equals(content)).to.equal(true);
    expect(decoded.encoding).to.equal('brotli');
  });

  it('releases the caller of a long compression as soon as its signal aborts', async () => {
    // Brotli 11 of 4 MB of noise takes seconds.
    const content = randomBytes(4 * 1024 * 1024);
    const controller = new AbortController();
    const pending = encodeContent(content, true, controller.signal).then(
      () => expect.fail('the compression should have been abandoned'),
      (err: unknown) => err,
    );
    await new Promise((resolve) => setTimeout(resolve, 50));
    const abortedAt = performance.now();
    controller.abort();
    const err = (await pending) as KvxError;
    expect(err.code).to.equal('KVX_ABORTED');
    expect(performance.now() - abortedAt).to.be.below(500);
  });

  it('reads brotli by its flags without being told to decompress', async () => {
    const value = brotliCompressSync(Buffer.from('hello'));
    expect((await decodeValue('k', value, DataFlags.BROTLI, false)).content.toString()).to.equal('hello');
  });

  it('T_80 legacy: with compress, a flags-0 gzip+base64 value decodes to the gist fixture', async () => {
    const legacy = await fixture('legacy-gzip-b64-of-url-fixture.txt');
    const decoded = await decodeValue('k', legacy, DataFlags.PLAIN, true);
    expect(decoded.encoding).to.equal('gzip-base64');
    expect(sha256Hex(decoded.content)).to.equal(URL_CHECKSUM);
  });

  it('reads a flags-0 legacy value as plain bytes without compress (flags describe the data)', async () => {
    const legacy = await fixture('legacy-gzip-b64-of-url-fixture.txt');
    const decoded = await decodeValue('k', legacy, DataFlags.PLAIN, false);
    expect(decoded.encoding).to.equal('plain');
    expect(decoded.content.equals(legacy)).to.equal(true);
  });

  it('reads plain text as plain even with compress', async () => {
    const content = await fixture('unit-example.txt');
    const decoded = await decodeValue('k', content, DataFlags.PLAIN, true);
    expect(decoded.encoding).to.equal('plain');
    expect(decoded.content.equals(content)).to.equal(true);
  });

  it('reports corrupt brotli as KVX_VERIFY undecodable', async () => {
    const err = await decodeValue('k', Buffer.from('not brotli at all'), DataFlags.BROTLI, false).catch((e: unknown) => e);
    expect(err).to.be.instanceOf(KvxError);
    expect((err as KvxError).code).to.equal('KVX_VERIFY');
    expect((err as { failure: string }).failure).to.equal('undecodable');
  });

  it('round-trips a chunk manifest and refuses malformed ones', () => {
    const manifest = {
      id: 'a'.repeat(64),
      encoding: 'plain' as const,
      size: 10,
      storedSize: 10,
      chunkSize: 4,
      chunks: 3,
      sha256: 'b'.repeat(64),
    };
    const text = formatManifest(manifest);
    expect(text.includes(0x0a)).to.equal(false);
    expect(parseManifest('k', text)).to.deep.equal(manifest);
    expect(() => parseManifest('k', Buffer.from('{"format":"kvx-chunked/1"}'))).to.throw(/flags 2/);
    expect(() => parseManifest('k', formatManifest({ ...manifest, chunks: 2 }))).to.throw(/inconsistent/);
    expect(() => parseManifest('k', Buffer.from('garbage'))).to.throw(/not JSON/);
  });
});
