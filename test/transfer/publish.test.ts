import { expect } from 'chai';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';

import { publish, sha256Hex, stop, type InputError } from '@kvx/client';
import { listDir, rawGet, rawPut, rejectsWith, textLines, useHarness } from './helpers.js';

describe('transfer: publish', () => {
  const t = useHarness();

  const modifyIndexes = async (key: string): Promise<bigint[]> => {
    const { value } = await t.consul.kv.list(`kvexpress/${key}/`);
    return value.map((p) => p.modifyIndex);
  };

  it('commits data, checksum and meta in one transaction (one index for all three)', async () => {
    const result = await publish({ consul: t.consul, key: 'one-txn', content: textLines(12) });
    expect(result.status).to.equal('updated');
    const { value } = await t.consul.kv.list('kvexpress/one-txn/');
    expect(value.map((p) => p.key)).to.deep.equal(['kvexpress/one-txn/checksum', 'kvexpress/one-txn/data', 'kvexpress/one-txn/meta']);
    expect(new Set(value.map((p) => p.modifyIndex)).size).to.equal(1);
    expect(value[0]?.modifyIndex).to.equal(result.index);
  });

  it('stores the checksum as 64 lowercase hex characters without a newline', async () => {
    const content = textLines(12);
    await publish({ consul: t.consul, key: 'checksum-form', content });
    expect((await rawGet(t.agent.url, 'kvexpress/checksum-form/checksum'))?.value.toString()).to.equal(sha256Hex(content));
  });

  it('skips an upload Consul already holds, writing nothing', async () => {
    await publish({ consul: t.consul, key: 'skip', content: textLines(12) });
    const before = await modifyIndexes('skip');
    const again = await publish({ consul: t.consul, key: 'skip', content: textLines(12) });
    expect(again.status).to.equal('unchanged');
    expect(again.attempts).to.equal(1);
    expect(await modifyIndexes('skip')).to.deep.equal(before);
  });

  it('rewrites when the checksum matches but the data does not (a half-finished kvexpress write)', async () => {
    const content = textLines(12);
    await rawPut(t.agent.url, 'kvexpress/half/data', 'truncated');
    await rawPut(t.agent.url, 'kvexpress/half/checksum', sha256Hex(content));
    const result = await publish({ consul: t.consul, key: 'half', content });
    expect(result.status).to.equal('updated');
    expect((await rawGet(t.agent.url, 'kvexpress/half/data'))?.value.toString()).to.equal(content);
  });

  it('commits unchanged content again with force', async () => {
    await publish({ consul: t.consul, key: 'forced', content: textLines(12) });
    const result = await publish({ consul: t.consul, key: 'forced', content: textLines(12), force: true });
    expect(result.status).to.equal('updated');
  });

  it('replaces content written by kvexpress (plain PUTs without indexes)', async () => {
    await rawPut(t.agent.url, 'kvexpress/replace/data', textLines(11, 'old'));
    await rawPut(t.agent.url, 'kvexpress/replace/checksum', sha256Hex(textLines(11, 'old')));
    const result = await publish({ consul: t.consul, key: 'replace', content: textLines(12) });
    expect(result.previousChecksum).to.equal(sha256Hex(textLines(11, 'old')));
    expect((await rawGet(t.agent.url, 'kvexpress/replace/data'))?.value.toString()).to.equal(textLines(12));
  });

  it('refuses empty input with KVX_INPUT (empty) and sends nothing', async () => {
    const err = await rejectsWith(publish({ consul: t.consul, key: 'empty', content: '', minLines: 0 }), 'KVX_INPUT');
    expect((err as InputError).failure).to.equal('empty');
    expect(await rawGet(t.agent.url, 'kvexpress/empty/data')).to.equal(undefined);
  });

  it('refuses input below the minimum line count with KVX_INPUT (too-short)', async () => {
    const err = await rejectsWith(publish({ consul: t.consul, key: 'short', content: textLines(9) }), 'KVX_INPUT');
    expect((err as InputError).failure).to.equal('too-short');
    expect(await rawGet(t.agent.url, 'kvexpress/short/data')).to.equal(undefined);
  });

  it('refuses input below minBytes with KVX_INPUT (too-small)', async () => {
    const err = await rejectsWith(publish({ consul: t.consul, key: 'small', content: 'x', minLines: 1, minBytes: 10 }), 'KVX_INPUT');
    expect((err as InputError).failure).to.equal('too-small');
  });

  it('refuses to publish a stopped key with KVX_STOPPED and leaves it untouched', async () => {
    await publish({ consul: t.consul, key: 'stopped', content: textLines(12) });
    await stop({ consul: t.consul, key: 'stopped', reason: 'maintenance' });
    const before = await modifyIndexes('stopped');
    const err = await rejectsWith(publish({ consul: t.consul, key: 'stopped', content: textLines(13) }), 'KVX_STOPPED');
    expect(err.message).to.include('maintenance');
    expect(await modifyIndexes('stopped')).to.deep.equal(before);
  });

  it('writes the kvexpress side files only after Consul acknowledged', async () => {
    const side = join(t.dir, 'hosts');
    await publish({ consul: t.consul, key: 'side', content: textLines(12), sideFiles: side });
    expect(await listDir(t.dir)).to.deep.equal(['hosts.compare', 'hosts.last']);
    expect(await readFile(`${side}.last`, 'utf8')).to.equal(textLines(12));
  });

  it('runs exec after an update with the KVX_* environment, and not when unchanged', async () => {
    const log = join(t.dir, 'exec.log');
    const exec = ['sh', '-c', `echo "$KVX_KEY $KVX_CHECKSUM $KVX_PREVIOUS_CHECKSUM" >> ${log}`];
    const first = await publish({ consul: t.consul, key: 'exec', content: textLines(12), exec });
    expect(first.exec?.exitCode).to.equal(0);
    await publish({ consul: t.consul, key: 'exec', content: textLines(12), exec });
    expect(await readFile(log, 'utf8')).to.equal(`exec ${sha256Hex(textLines(12))} \n`);
  });

  it('applies kvexpress --sorted before hashing', async () => {
    const result = await publish({ consul: t.consul, key: 'sorted', content: 'b\n\na\n', sorted: true, minLines: 1 });
    expect(result.checksum).to.equal(sha256Hex('a\nb'));
  });

  it('validates options eagerly', async () => {
    await rejectsWith(publish({ consul: t.consul, key: 'x', content: 'x', minLines: -1 }), 'KVX_INVALID_ARGUMENT');
    await rejectsWith(publish({ consul: t.consul, key: '', content: 'x' }), 'KVX_INVALID_ARGUMENT');
    await rejectsWith(publish({ consul: t.consul, key: 'x', content: 'x', maxValueSize: 10 }), 'KVX_INVALID_ARGUMENT');
  });
});
