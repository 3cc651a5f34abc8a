import { expect } from 'chai';
import { readFile, stat, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

import { NO_TRANSFER_METRICS, SILENT, sha256Hex } from '@kvx/client';
import { FileInstaller, type InstallContext } from '../../packages/client/src/transfer/file-install.js';
import { removeDir, tempDir, textLines } from './helpers.js';

describe('transfer: FileInstaller remembers what it wrote, never instead of reading an up-to-date file', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await tempDir();
  });
  afterEach(() => removeDir(dir));

  const ctx: InstallContext = { key: 'k', direction: 'out', writtenMetric: 'out', metrics: NO_TRANSFER_METRICS, logger: SILENT };
  const content = Buffer.from(textLines(12));
  const checksum = sha256Hex(content);

  it('restores a file edited in place to the same size and mtime when the same version is applied again', async () => {
    const file = join(dir, 'hosts');
    const installer = await FileInstaller.prepare({ file });
    expect((await installer.install(content, checksum, ctx)).status).to.equal('written');
    // A whole-second mtime survives utimes exactly, so the edit below keeps device, inode, size and mtime.
    const when = new Date(1_700_000_000_000);
    await utimes(file, when, when);
    expect((await installer.install(content, checksum, ctx)).status).to.equal('unchanged');
    const before = await stat(file, { bigint: true });
    const edited = Buffer.from(textLines(12).replace('line 3', 'LINE 3'));
    await writeFile(file, edited);
    await utimes(file, when, when);
    const after = await stat(file, { bigint: true });
    expect([after.dev, after.ino, after.size, after.mtimeNs]).to.deep.equal([before.dev, before.ino, before.size, before.mtimeNs]);

    const result = await installer.install(content, checksum, ctx);
    expect([result.status, result.previousChecksum]).to.deep.equal(['written', sha256Hex(edited)]);
    expect(await readFile(file)).to.deep.equal(content);
  });
});
