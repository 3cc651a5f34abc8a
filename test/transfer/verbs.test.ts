import { expect } from 'chai';
import { execFileSync } from 'node:child_process';
import { lstat, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

import { clean, copy, diffFile, pin, publish, raw, sha256Hex, start, status, stop, unpin } from '@kvx/client';
import { listDir, rawGet, rawPut, rejectsWith, textLines, useHarness } from './helpers.js';

describe('transfer: other verbs', () => {
  const t = useHarness();

  describe('raw', () => {
    it('writes any key verbatim, ignoring the prefix, stop keys and checksums', async () => {
      await rawPut(t.agent.url, 'elsewhere/config', textLines(10));
      const result = await raw({ consul: t.consul, key: 'elsewhere/config', file: join(t.dir, 'f') });
      expect(result.status).to.equal('written');
      expect(await readFile(join(t.dir, 'f'), 'utf8')).to.equal(textLines(10));
    });

    it('refuses a missing key (kvexpress wrote an empty file) and a too-short value', async () => {
      await rejectsWith(raw({ consul: t.consul, key: 'no/such/key', file: join(t.dir, 'f'), minLines: 1 }), 'KVX_VERIFY');
      await rawPut(t.agent.url, 'elsewhere/short', 'one line');
      await rejectsWith(raw({ consul: t.consul, key: 'elsewhere/short', file: join(t.dir, 'f') }), 'KVX_VERIFY');
      expect(await listDir(t.dir)).to.deep.equal([]);
    });

    it('leaves an unchanged file alone unless forced', async () => {
      await rawPut(t.agent.url, 'elsewhere/same', textLines(10));
      await raw({ consul: t.consul, key: 'elsewhere/same', file: join(t.dir, 'f') });
      expect((await raw({ consul: t.consul, key: 'elsewhere/same', file: join(t.dir, 'f') })).status).to.equal('unchanged');
      expect((await raw({ consul: t.consul, key: 'elsewhere/same', file: join(t.dir, 'f'), force: true })).status).to.equal('written');
    });
  });

  describe('copy', () => {
    it('keeps the source encoding and commits data and checksum together', async () => {
      await publish({ consul: t.consul, key: 'canary', content: textLines(12), compress: true });
      const result = await copy({ consul: t.consul, from: 'canary', to: 'everyone' });
      expect(result.encoding).to.equal('brotli');
      expect((await rawGet(t.agent.url, 'kvexpress/everyone/data'))?.flags).to.equal(1n);
      expect((await rawGet(t.agent.url, 'kvexpress/everyone/checksum'))?.value.toString()).to.equal(sha256Hex(textLines(12)));
    });

    it('refuses a source that fails verification', async () => {
      await rawPut(t.agent.url, 'kvexpress/broken/data', textLines(12));
      await rawPut(t.agent.url, 'kvexpress/broken/checksum', sha256Hex('other'));
      await rejectsWith(copy({ consul: t.consul, from: 'broken', to: 'target' }), 'KVX_VERIFY');
      expect(await rawGet(t.agent.url, 'kvexpress/target/data')).to.equal(undefined);
    });

    it('honours the destination stop key', async () => {
      await publish({ consul: t.consul, key: 'src', content: textLines(12) });
      await stop({ consul: t.consul, key: 'dst', reason: 'frozen' });
      await rejectsWith(copy({ consul: t.consul, from: 'src', to: 'dst' }), 'KVX_STOPPED');
    });

    it('copies a chunked source', async () => {
      const big = textLines(9000, `big ${'z'.repeat(50)}`);
      await publish({ consul: t.consul, key: 'big-src', content: big });
      const result = await copy({ consul: t.consul, from: 'big-src', to: 'big-dst' });
      expect(result.chunks).to.be.greaterThan(0);
      expect(result.checksum).to.equal(sha256Hex(big));
    });
  });

  describe('stop and start', () => {
    it('start removes the stop key so publishing works again', async () => {
      await stop({ consul: t.consul, key: 'toggle', reason: 'wait' });
      await rejectsWith(publish({ consul: t.consul, key: 'toggle', content: textLines(12) }), 'KVX_STOPPED');
      const result = await start({ consul: t.consul, key: 'toggle' });
      expect(result.previousReason).to.equal('wait');
      expect((await publish({ consul: t.consul, key: 'toggle', content: textLines(12) })).status).to.equal('updated');
    });

    it('refuses an empty stop reason (it would not stop anything)', async () => {
      await rejectsWith(stop({ consul: t.consul, key: 'k', reason: ' ' }), 'KVX_INVALID_ARGUMENT');
    });
  });

  describe('pin and unpin', () => {
    it('stores the given reason and keeps an existing note', async () => {
      const file = join(t.dir, 'f');
      await writeFile(`${file}.locked`, 'my note\n');
      const result = await pin({ consul: t.consul, file, reason: 'debugging', hostname: 'h1' });
      expect((await rawGet(t.agent.url, result.pinKey))?.value.toString()).to.equal('debugging');
      expect(await readFile(`${file}.locked`, 'utf8')).to.equal('my note\n');
      const removed = await unpin({ consul: t.consul, file, hostname: 'h1' });
      expect(removed.reason).to.equal('debugging');
      expect(await listDir(t.dir)).to.deep.equal([]);
    });

    it('pins nothing in Consul when it cannot leave its note (a missing directory)', async () => {
      const file = join(t.dir, 'missing-dir', 'f');
      const err = await rejectsWith(pin({ consul: t.consul, file, reason: 'x', hostname: 'h2' }), 'KVX_INPUT');
      expect(err.message).to.match(/cannot write the pin note .*nothing was pinned/);
      expect((await t.consul.kv.keys('kvexpress/locks/')).value).to.deep.equal([]);
    });

    it('refuses a directory and a reason of several lines, before writing anything', async () => {
      await rejectsWith(pin({ consul: t.consul, file: t.dir, reason: 'x', hostname: 'h3' }), 'KVX_INPUT');
      await rejectsWith(pin({ consul: t.consul, file: join(t.dir, 'f'), reason: 'a\nb', hostname: 'h3' }), 'KVX_INVALID_ARGUMENT');
      await rejectsWith(stop({ consul: t.consul, key: 'multi', reason: 'a\nb' }), 'KVX_INVALID_ARGUMENT');
      expect(await listDir(t.dir)).to.deep.equal([]);
      expect((await t.consul.kv.keys('kvexpress/')).value.filter((k) => k.startsWith('kvexpress/locks/') || k.startsWith('kvexpress/multi/'))).to.deep.equal([]);
    });
  });

  describe('clean', () => {
    it('removes side files and leftover temp files but keeps the file unless asked', async () => {
      const file = join(t.dir, 'f');
      for (const name of ['f', 'f.compare', 'f.last', 'f.kvexpress', '.f.kvx-1-abc.tmp', 'other']) await writeFile(join(t.dir, name), 'x');
      const removed = await clean({ file });
      expect(removed).to.have.length(4);
      expect(await listDir(t.dir)).to.deep.equal(['f', 'other']);
    });

    it('refuses directories with KVX_INPUT', async () => {
      await mkdir(join(t.dir, 'f.last'));
      await rejectsWith(clean({ file: join(t.dir, 'f') }), 'KVX_INPUT');
    });

    it('never removes a FIFO or device node, even when asked to remove the file', async () => {
      execFileSync('mkfifo', [join(t.dir, 'f')]);
      await rejectsWith(clean({ file: join(t.dir, 'f'), removeFile: true }), 'KVX_INPUT');
      expect((await lstat(join(t.dir, 'f'))).isFIFO()).to.equal(true);
    });
  });

  describe('status', () => {
    it('lists files with encoding, sizes, checksum, stop reason, chunks and pins', async () => {
      await publish({ consul: t.consul, key: 'st/plain', prefix: 'status-test', content: textLines(12) });
      await publish({ consul: t.consul, key: 'st/brotli', prefix: 'status-test', content: textLines(12), compress: true });
      await publish({ consul: t.consul, key: 'st/big', prefix: 'status-test', content: textLines(9000, `x ${'y'.repeat(50)}`) });
      await stop({ consul: t.consul, key: 'st/plain', prefix: 'status-test', reason: 'frozen' });
      await pin({ consul: t.consul, file: join(t.dir, 'p'), prefix: 'status-test', hostname: 'h9', reason: 'r', note: false });
      const result = await status({ consul: t.consul, prefix: 'status-test' });
      expect(result.files.map((f) => [f.key, f.encoding, f.stopReason, f.chunks > 0])).to.deep.equal([
        ['st/big', 'chunked', undefined, true],
        ['st/brotli', 'brotli', undefined, false],
        ['st/plain', 'plain', 'frozen', false],
      ]);
      const brotli = result.files[1];
      expect(brotli?.size).to.equal(textLines(12).length);
      expect(brotli?.checksum).to.equal(sha256Hex(textLines(12)));
      expect(brotli?.storedSize).to.be.lessThan(brotli?.size ?? 0);
      expect(result.pins.map((p) => [p.hostname, p.reason])).to.deep.equal([['h9', 'r']]);
    });

    it('restricts to the given keys', async () => {
      await publish({ consul: t.consul, key: 'only-a', prefix: 'status-2', content: textLines(12) });
      await publish({ consul: t.consul, key: 'only-b', prefix: 'status-2', content: textLines(12) });
      const result = await status({ consul: t.consul, prefix: 'status-2', keys: ['only-b'] });
      expect(result.files.map((f) => f.key)).to.deep.equal(['only-b']);
    });
  });

  describe('diffFile', () => {
    it('shows the unified diff deliver would apply, and the attributes it would repair', async () => {
      await publish({ consul: t.consul, key: 'diffed', content: 'a\nb\nc\n', minLines: 1 });
      const file = join(t.dir, 'f');
      await writeFile(file, 'a\nB\nc\n', { mode: 0o600 });
      const result = await diffFile({ consul: t.consul, key: 'diffed', file, minLines: 1 });
      expect(result.changed).to.equal(true);
      expect(result.patch).to.equal(`--- ${file}\n+++ kvexpress/diffed/data\n@@ -1,3 +1,3 @@\n a\n-B\n+b\n c\n`);
      expect(result.drift.mode).to.equal(true);
      expect(await readFile(file, 'utf8')).to.equal('a\nB\nc\n');
    });

    it('reports no change for an up-to-date file, and a stop that would hold deliver', async () => {
      await publish({ consul: t.consul, key: 'same-diff', content: textLines(12) });
      await writeFile(join(t.dir, 'f'), textLines(12));
      await stop({ consul: t.consul, key: 'same-diff', reason: 'r' });
      const result = await diffFile({ consul: t.consul, key: 'same-diff', file: join(t.dir, 'f') });
      expect([result.changed, result.patch, result.stopReason]).to.deep.equal([false, '', 'r']);
    });
  });
});
