/**
 * kvexpress v1.16's integration suite (test/tests.bash, T_10…T_84) ported to the library, one `it` per original
 * test id. Each case arranges its own state (kvexpress's basht cases ran in name order on shared state).
 * T_06 (bare `kvexpress` prints help) is a CLI behaviour and lives with the CLI tests.
 */
import { expect } from 'chai';
import { chmod, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { brotliDecompressSync } from 'node:zlib';

import { clean, copy, deliver, pin, pinKey, publish, raw, sha256Hex, stop, unpin, type VerifyError } from '@kvx/client';
import { fixture, listDir, rawGet, rejectsWith, URL_CHECKSUM, useHarness } from './helpers.js';

/** A fresh "sorting" fixture (the original gist is lost): unsorted, with blank lines. */
const SORTING =
  '192.168.1.3 gamma\n\n10.0.0.2 beta\n10.0.0.1 alpha\n\n172.16.0.9 zeta\n10.0.0.10 kappa\n192.168.1.1 eta\n\n8.8.8.8 dns\n' +
  '127.0.0.1 localhost\n10.0.0.3 delta\n1.1.1.1 one\n10.0.0.4 epsilon\n9.9.9.9 quad\n';
/** Its kvexpress --sorted form: blank lines dropped, byte order, no trailing newline. */
const SORTED =
  '1.1.1.1 one\n10.0.0.1 alpha\n10.0.0.10 kappa\n10.0.0.2 beta\n10.0.0.3 delta\n10.0.0.4 epsilon\n127.0.0.1 localhost\n' +
  '172.16.0.9 zeta\n192.168.1.1 eta\n192.168.1.3 gamma\n8.8.8.8 dns\n9.9.9.9 quad';
const PREDICTED_CHECKSUM = sha256Hex(SORTED);

describe('transfer: kvexpress integration suite (T_10…T_84)', () => {
  const t = useHarness();

  const publishSorting = (key = 'testing') => publish({ consul: t.consul, key, content: SORTING, sorted: true, sideFiles: join(t.dir, 'sorting') });
  const publishUrl = async (key = 'url', compress = false) => publish({ consul: t.consul, key, content: await fixture('url-gistfile1.txt'), compress });

  it('T_10 in --sorted: the checksum key holds the sha of the sorted, blank-stripped text', async () => {
    await publishSorting();
    expect((await rawGet(t.agent.url, 'kvexpress/testing/checksum'))?.value.toString()).to.equal(PREDICTED_CHECKSUM);
    expect((await rawGet(t.agent.url, 'kvexpress/testing/data'))?.value.toString()).to.equal(SORTED);
  });

  it('T_11 out of a key that does not exist: a typed refusal, nothing written', async () => {
    const err = await rejectsWith(deliver({ consul: t.consul, key: 'random-key-does-not-exist', file: join(t.dir, 'output') }), 'KVX_VERIFY');
    expect((err as VerifyError).failure).to.equal('missing');
    expect(await listDir(t.dir)).to.deep.equal([]);
  });

  it('T_12 out: the file hashes to the predicted checksum', async () => {
    await publishSorting();
    await deliver({ consul: t.consul, key: 'testing', file: join(t.dir, 'output') });
    expect(sha256Hex(await readFile(join(t.dir, 'output')))).to.equal(PREDICTED_CHECKSUM);
  });

  it('T_14 out over a changed file with mode 777: rewritten with mode 0640', async () => {
    await publishSorting();
    const output = join(t.dir, 'output');
    await writeFile(output, 'changed\n');
    await chmod(output, 0o777);
    await deliver({ consul: t.consul, key: 'testing', file: output });
    expect(sha256Hex(await readFile(output))).to.equal(PREDICTED_CHECKSUM);
    expect((await stat(output)).mode & 0o777).to.equal(0o640);
  });

  it('T_16 stop: the stop key holds the reason', async () => {
    await stop({ consul: t.consul, key: 'stop-16', reason: 'Setting a stop key.' });
    expect((await rawGet(t.agent.url, 'kvexpress/stop-16/stop'))?.value.toString()).to.equal('Setting a stop key.');
  });

  it('T_20 out of a stopped key: refused with the stop reason', async () => {
    await publishSorting('stopped-20');
    await stop({ consul: t.consul, key: 'stopped-20', reason: 'Setting a stop key.' });
    const err = await rejectsWith(deliver({ consul: t.consul, key: 'stopped-20', file: join(t.dir, 'stopped') }), 'KVX_STOPPED');
    expect(err.message).to.include('Setting a stop key.');
  });

  it('T_22 out of a stopped key: the file does not exist', async () => {
    await publishSorting('stopped-22');
    await stop({ consul: t.consul, key: 'stopped-22', reason: 'Setting a stop key.' });
    await rejectsWith(deliver({ consul: t.consul, key: 'stopped-22', file: join(t.dir, 'stopped') }), 'KVX_STOPPED');
    expect(await listDir(t.dir)).to.not.include('stopped');
  });

  it('T_24 out --ignore_stop: the file is written despite the stop key', async () => {
    await publishSorting('stopped-24');
    await stop({ consul: t.consul, key: 'stopped-24', reason: 'Setting a stop key.' });
    await deliver({ consul: t.consul, key: 'stopped-24', file: join(t.dir, 'ignored'), ignoreStop: true });
    expect(sha256Hex(await readFile(join(t.dir, 'ignored')))).to.equal(PREDICTED_CHECKSUM);
  });

  it('T_30 lock: the per-host pin key says "No reason given"', async () => {
    const file = join(t.dir, 'lock-test');
    await pin({ consul: t.consul, file, hostname: 'node-30' });
    const value = await rawGet(t.agent.url, pinKey(file, 'node-30'));
    expect(value?.value.toString()).to.include('No reason given');
  });

  it('T_32/T_34 lock: lock-test.locked exists and says "No reason given"', async () => {
    const file = join(t.dir, 'lock-test');
    await pin({ consul: t.consul, file, hostname: 'node-32' });
    expect(await readFile(`${file}.locked`, 'utf8')).to.include('No reason given');
  });

  it('T_36 out to a pinned file, even with --ignore_stop: the file keeps its single line', async () => {
    await publishSorting('pinned-36');
    const file = join(t.dir, 'lock-test');
    await writeFile(file, 'one line\n');
    await pin({ consul: t.consul, file, hostname: 'node-36' });
    await rejectsWith(deliver({ consul: t.consul, key: 'pinned-36', file, hostname: 'node-36', ignoreStop: true }), 'KVX_PINNED');
    expect(await readFile(file, 'utf8')).to.equal('one line\n');
  });

  it('T_38 unlock: the note is gone and the pin key deleted', async () => {
    const file = join(t.dir, 'lock-test');
    await pin({ consul: t.consul, file, hostname: 'node-38' });
    await unpin({ consul: t.consul, file, hostname: 'node-38' });
    expect(await listDir(t.dir)).to.not.include('lock-test.locked');
    expect(await rawGet(t.agent.url, pinKey(file, 'node-38'))).to.equal(undefined);
  });

  it('T_40/T_42/T_44 clean: sorting, sorting.compare and sorting.last are gone', async () => {
    await writeFile(join(t.dir, 'sorting'), SORTING);
    await publishSorting('clean-40');
    expect(await listDir(t.dir)).to.deep.equal(['sorting', 'sorting.compare', 'sorting.last']);
    await clean({ file: join(t.dir, 'sorting'), removeFile: true });
    expect(await listDir(t.dir)).to.deep.equal([]);
  });

  it('T_50 in of the gist content: the checksum key is URL_CHECKSUM', async () => {
    await publishUrl();
    expect((await rawGet(t.agent.url, 'kvexpress/url/checksum'))?.value.toString()).to.equal(URL_CHECKSUM);
  });

  it('T_52 out: the file hashes to URL_CHECKSUM', async () => {
    await publishUrl();
    await deliver({ consul: t.consul, key: 'url', file: join(t.dir, 'url') });
    expect(sha256Hex(await readFile(join(t.dir, 'url')))).to.equal(URL_CHECKSUM);
  });

  it("T_54/T_56 out -e 'touch additional-file': the file and the command's file both exist", async () => {
    await publishUrl();
    await deliver({ consul: t.consul, key: 'url', file: join(t.dir, 'url_exec'), exec: ['touch', join(t.dir, 'additional-file')] });
    expect(await listDir(t.dir)).to.deep.equal(['additional-file', 'url_exec']);
  });

  it('T_60 raw -l 1 of the checksum key: the file holds the checksum verbatim', async () => {
    await publishUrl();
    await raw({ consul: t.consul, key: 'kvexpress/url/checksum', file: join(t.dir, 'raw_checksum'), minLines: 1 });
    expect(await readFile(join(t.dir, 'raw_checksum'), 'utf8')).to.equal(URL_CHECKSUM);
  });

  it('T_70 copy url → copied: the copied checksum is URL_CHECKSUM', async () => {
    await publishUrl();
    await copy({ consul: t.consul, from: 'url', to: 'copied' });
    expect((await rawGet(t.agent.url, 'kvexpress/copied/checksum'))?.value.toString()).to.equal(URL_CHECKSUM);
  });

  it('T_80 in -z: the stored value is brotli (flags 1) decoding to the gist (v1.16, not the pre-1.16 gzip constant)', async () => {
    await publishUrl('compressed', true);
    const entry = await rawGet(t.agent.url, 'kvexpress/compressed/data');
    expect(entry?.flags).to.equal(1n);
    expect(brotliDecompressSync(entry?.value ?? Buffer.alloc(0)).equals(await fixture('url-gistfile1.txt'))).to.equal(true);
  });

  it('T_82 out -z of the compressed key: the file hashes to URL_CHECKSUM', async () => {
    await publishUrl('compressed', true);
    await deliver({ consul: t.consul, key: 'compressed', file: join(t.dir, 'decompressed'), compress: true });
    expect(sha256Hex(await readFile(join(t.dir, 'decompressed')))).to.equal(URL_CHECKSUM);
  });

  it('T_84 out -z of a missing key: a typed refusal, no crash, nothing written (#92)', async () => {
    await rejectsWith(deliver({ consul: t.consul, key: 'does-not-exist', file: join(t.dir, 'will-never-write'), compress: true }), 'KVX_VERIFY');
    expect(await listDir(t.dir)).to.deep.equal([]);
  });
});
