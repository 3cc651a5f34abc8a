/**
 * Interoperability with kvexpress v1.16 both ways: data written the way kvexpress writes it (plain PUTs, data
 * then checksum; brotli raw with flags 1; the ≤ 1.15 gzip+base64 form) is delivered by kvx, and what kvx
 * publishes reads back over raw HTTP exactly as kvexpress reads it.
 */
import { expect } from 'chai';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { brotliCompressSync, brotliDecompressSync, constants } from 'node:zlib';

import { deliver, publish, sha256Hex, type VerifyError } from '@kvx/client';
import { fixture, listDir, rawGet, rawPut, rejectsWith, removeDir, startHarness, tempDir, URL_CHECKSUM, type Harness } from './helpers.js';

describe('transfer: interop with kvexpress v1.16', () => {
  let h: Harness;
  let dir: string;
  let gist: Buffer;
  before(async () => {
    h = await startHarness();
    gist = await fixture('url-gistfile1.txt');
  });
  after(() => h.close());
  beforeEach(async () => {
    dir = await tempDir();
  });
  afterEach(() => removeDir(dir));

  /** kvexpress `in`: PUT data (flags only when non-zero), then PUT checksum. */
  const kvexpressIn = async (key: string, value: Buffer, flags: bigint): Promise<void> => {
    await rawPut(h.agent.url, `kvexpress/${key}/data`, value, flags);
    await rawPut(h.agent.url, `kvexpress/${key}/checksum`, URL_CHECKSUM);
  };

  describe('kvexpress writes, kvx reads', () => {
    it('delivers plain data (flags 0)', async () => {
      await kvexpressIn('kx-plain', gist, 0n);
      await deliver({ consul: h.consul, key: 'kx-plain', file: join(dir, 'f') });
      expect(sha256Hex(await readFile(join(dir, 'f')))).to.equal(URL_CHECKSUM);
    });

    it('delivers brotli data (flags 1) without being told it is compressed', async () => {
      const value = brotliCompressSync(gist, { params: { [constants.BROTLI_PARAM_QUALITY]: 11 } });
      await kvexpressIn('kx-brotli', value, 1n);
      const result = await deliver({ consul: h.consul, key: 'kx-brotli', file: join(dir, 'f') });
      expect(result.encoding).to.equal('brotli');
      expect(sha256Hex(await readFile(join(dir, 'f')))).to.equal(URL_CHECKSUM);
    });

    it('delivers legacy gzip+base64 (flags 0) with compress', async () => {
      await kvexpressIn('kx-legacy', await fixture('legacy-gzip-b64-of-url-fixture.txt'), 0n);
      const result = await deliver({ consul: h.consul, key: 'kx-legacy', file: join(dir, 'f'), compress: true });
      expect(result.encoding).to.equal('gzip-base64');
      expect(sha256Hex(await readFile(join(dir, 'f')))).to.equal(URL_CHECKSUM);
    });

    it('refuses legacy gzip+base64 read without compress as a checksum mismatch, writing nothing', async () => {
      await kvexpressIn('kx-legacy-plain', await fixture('legacy-gzip-b64-of-url-fixture.txt'), 0n);
      const err = await rejectsWith(deliver({ consul: h.consul, key: 'kx-legacy-plain', file: join(dir, 'f'), minLines: 1 }), 'KVX_VERIFY');
      expect((err as VerifyError).failure).to.equal('checksum-mismatch');
      expect(await listDir(dir)).to.deep.equal([]);
    });

    it('refuses a data key with a checksum still from the previous version (kvexpress between its two PUTs)', async () => {
      await kvexpressIn('kx-between', gist, 0n);
      await rawPut(h.agent.url, 'kvexpress/kx-between/data', Buffer.concat([gist, Buffer.from('\nnew line\n')]));
      await rejectsWith(deliver({ consul: h.consul, key: 'kx-between', file: join(dir, 'f') }), 'KVX_VERIFY');
      expect(await listDir(dir)).to.deep.equal([]);
    });
  });

  describe('kvx writes, kvexpress reads', () => {
    it('plain: data flags 0 is the content, the checksum its sha256', async () => {
      await publish({ consul: h.consul, key: 'kvx-plain', content: gist });
      const data = await rawGet(h.agent.url, 'kvexpress/kvx-plain/data');
      expect(data?.flags).to.equal(0n);
      expect(data?.value.equals(gist)).to.equal(true);
      expect((await rawGet(h.agent.url, 'kvexpress/kvx-plain/checksum'))?.value.toString()).to.equal(URL_CHECKSUM);
    });

    it('compressed: data flags 1 is raw brotli that decompresses to the content (kvexpress -z)', async () => {
      await publish({ consul: h.consul, key: 'kvx-brotli', content: gist, compress: true });
      const data = await rawGet(h.agent.url, 'kvexpress/kvx-brotli/data');
      expect(data?.flags).to.equal(1n);
      expect(sha256Hex(brotliDecompressSync(data?.value ?? Buffer.alloc(0)))).to.equal(URL_CHECKSUM);
      expect((await rawGet(h.agent.url, 'kvexpress/kvx-brotli/checksum'))?.value.toString()).to.equal(URL_CHECKSUM);
    });

    it('skips an upload when kvexpress already stored the same content', async () => {
      await kvexpressIn('kx-same', brotliCompressSync(gist), 1n);
      const result = await publish({ consul: h.consul, key: 'kx-same', content: gist, compress: true });
      expect(result.status).to.equal('unchanged');
    });
  });
});
