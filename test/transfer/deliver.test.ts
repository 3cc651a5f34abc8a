import { expect } from 'chai';
import { execFileSync } from 'node:child_process';
import { chmod, chown, lstat, mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

import { deliver, publish, sha256Hex, type ExecFailedError, type VerifyError } from '@kvx/client';
import { listDir, rawPut, rejectsWith, removeDir, startHarness, tempDir, textLines, type Harness } from './helpers.js';

describe('transfer: deliver', () => {
  let h: Harness;
  let dir: string;
  before(async () => {
    h = await startHarness();
    await publish({ consul: h.consul, key: 'app', content: textLines(12) });
  });
  after(() => h.close());
  beforeEach(async () => {
    dir = await tempDir();
  });
  afterEach(() => removeDir(dir));

  const target = (name = 'app.conf') => join(dir, name);

  it('writes the file with mode 0640 and reports it written', async () => {
    const result = await deliver({ consul: h.consul, key: 'app', file: target() });
    expect(result.status).to.equal('written');
    expect(result.checksum).to.equal(sha256Hex(textLines(12)));
    expect(await readFile(target(), 'utf8')).to.equal(textLines(12));
    expect((await stat(target())).mode & 0o7777).to.equal(0o640);
  });

  it('does not rewrite an unchanged file nor rerun its command', async () => {
    const log = target('exec.log');
    const exec = ['sh', '-c', `echo run >> ${log}`];
    await deliver({ consul: h.consul, key: 'app', file: target(), exec });
    const inode = (await stat(target())).ino;
    const again = await deliver({ consul: h.consul, key: 'app', file: target(), exec });
    expect(again.status).to.equal('unchanged');
    expect(again.exec).to.equal(undefined);
    expect((await stat(target())).ino).to.equal(inode);
    expect(await readFile(log, 'utf8')).to.equal('run\n');
  });

  it('repairs a drifted mode and owner of an unchanged file in place, without running the command', async function () {
    if (process.getuid?.() !== 0) this.skip();
    await deliver({ consul: h.consul, key: 'app', file: target(), owner: 'root:root' });
    await chown(target(), 1, 1);
    await chmod(target(), 0o666);
    const inode = (await stat(target())).ino;
    const result = await deliver({ consul: h.consul, key: 'app', file: target(), owner: 'root:root', exec: ['false'] });
    expect(result.status).to.equal('unchanged');
    expect(result.repaired).to.deep.equal({ mode: true, owner: true });
    const st = await stat(target());
    expect([st.uid, st.gid, st.mode & 0o7777, st.ino]).to.deep.equal([0, 0, 0o640, inode]);
  });

  it('writes the file with the requested owner and mode (running as root)', async function () {
    if (process.getuid?.() !== 0) this.skip();
    await deliver({ consul: h.consul, key: 'app', file: target(), owner: { uid: 1, gid: 1 }, mode: 0o600 });
    const st = await stat(target());
    expect([st.uid, st.gid, st.mode & 0o7777]).to.deep.equal([1, 1, 0o600]);
  });

  it('runs exec after writing, with the KVX_* environment', async () => {
    await writeFile(target(), 'old\n');
    const result = await deliver({
      consul: h.consul,
      key: 'app',
      file: target(),
      exec: 'echo "$KVX_KEY|$KVX_FILE|$KVX_CHECKSUM|$KVX_PREVIOUS_CHECKSUM"',
      shell: true,
    });
    expect(result.exec?.stdout.trim()).to.equal(`app|${target()}|${sha256Hex(textLines(12))}|${sha256Hex('old\n')}`);
  });

  it('validates the staged temp file ({} and KVX_TEMP_FILE) before the swap', async () => {
    const result = await deliver({
      consul: h.consul,
      key: 'app',
      file: target(),
      validate: `sh -c 'test "$1" = "$KVX_TEMP_FILE" && grep -q "line 11" "$1"' validate {}`,
    });
    expect(result.validate?.exitCode).to.equal(0);
    expect(await readFile(target(), 'utf8')).to.equal(textLines(12));
  });

  it('keeps the old file and removes the temp file when validation fails', async () => {
    await writeFile(target(), 'old\n');
    const err = await rejectsWith(
      deliver({ consul: h.consul, key: 'app', file: target(), validate: ['sh', '-c', 'echo bad config >&2; exit 1'], exec: ['touch', target('ran')] }),
      'KVX_VERIFY',
    );
    expect((err as VerifyError).failure).to.equal('validate-failed');
    expect(err.message).to.include('bad config');
    expect(await readFile(target(), 'utf8')).to.equal('old\n');
    expect(await listDir(dir)).to.deep.equal(['app.conf']);
  });

  it('reports a failing exec as KVX_EXEC_FAILED after the file was written', async () => {
    const err = await rejectsWith(deliver({ consul: h.consul, key: 'app', file: target(), exec: 'sh -c "exit 4"' }), 'KVX_EXEC_FAILED');
    expect((err as ExecFailedError).outcome?.exitCode).to.equal(4);
    expect(await readFile(target(), 'utf8')).to.equal(textLines(12));
    expect(await listDir(dir)).to.deep.equal(['.app.conf.kvx-exec-pending', 'app.conf']);
  });

  it('kills an exec that runs past its timeout', async () => {
    const err = await rejectsWith(deliver({ consul: h.consul, key: 'app', file: target(), exec: 'sleep 10', execTimeout: 100 }), 'KVX_EXEC_FAILED');
    expect((err as ExecFailedError).outcome?.timedOut).to.equal(true);
  });

  it('delays exec by a random splay below the bound, and waits that long', async () => {
    const delays = new Set<number>();
    for (let i = 0; i < 5; i++) {
      await writeFile(target(), `old ${i}\n`);
      const started = performance.now();
      const result = await deliver({ consul: h.consul, key: 'app', file: target(), exec: ['true'], splay: 40 });
      expect(result.splayMs).to.be.within(0, 39);
      expect(performance.now() - started).to.be.at.least(result.splayMs);
      delays.add(result.splayMs);
    }
    expect(delays.size).to.be.greaterThan(1);
  });

  it('refuses a checksum mismatch with KVX_VERIFY and writes nothing', async () => {
    await rawPut(h.agent.url, 'kvexpress/mismatch/data', textLines(12));
    await rawPut(h.agent.url, 'kvexpress/mismatch/checksum', sha256Hex('something else'));
    const err = await rejectsWith(deliver({ consul: h.consul, key: 'mismatch', file: target() }), 'KVX_VERIFY');
    expect((err as VerifyError).failure).to.equal('checksum-mismatch');
    expect(await listDir(dir)).to.deep.equal([]);
  });

  it('refuses content below the minimum line count with KVX_VERIFY (too-short)', async () => {
    await rawPut(h.agent.url, 'kvexpress/short/data', textLines(3));
    await rawPut(h.agent.url, 'kvexpress/short/checksum', sha256Hex(textLines(3)));
    const err = await rejectsWith(deliver({ consul: h.consul, key: 'short', file: target() }), 'KVX_VERIFY');
    expect((err as VerifyError).failure).to.equal('too-short');
    expect(await listDir(dir)).to.deep.equal([]);
    await deliver({ consul: h.consul, key: 'short', file: target(), minLines: 3 });
    expect(await readFile(target(), 'utf8')).to.equal(textLines(3));
  });

  it('refuses unknown KV flags with KVX_UNKNOWN_ENCODING and writes nothing', async () => {
    await rawPut(h.agent.url, 'kvexpress/future/data', textLines(12), 7n);
    await rawPut(h.agent.url, 'kvexpress/future/checksum', sha256Hex(textLines(12)));
    await rejectsWith(deliver({ consul: h.consul, key: 'future', file: target() }), 'KVX_UNKNOWN_ENCODING');
    expect(await listDir(dir)).to.deep.equal([]);
  });

  it('refuses a directory as target with KVX_INPUT', async () => {
    await mkdir(target());
    await rejectsWith(deliver({ consul: h.consul, key: 'app', file: target() }), 'KVX_INPUT');
  });

  it('refuses empty data with KVX_VERIFY whatever the minimums, and writes nothing', async () => {
    await rawPut(h.agent.url, 'kvexpress/blank/data', '');
    await rawPut(h.agent.url, 'kvexpress/blank/checksum', sha256Hex(''));
    const err = await rejectsWith(deliver({ consul: h.consul, key: 'blank', file: target(), minLines: 0 }), 'KVX_VERIFY');
    expect((err as VerifyError).failure).to.equal('empty');
    expect(await listDir(dir)).to.deep.equal([]);
  });

  it('refuses a FIFO as target with KVX_INPUT at once, and leaves it a FIFO', async () => {
    execFileSync('mkfifo', [target()]);
    const err = await rejectsWith(deliver({ consul: h.consul, key: 'app', file: target() }), 'KVX_INPUT');
    expect(err.message).to.match(/not a regular file/);
    expect((await lstat(target())).isFIFO()).to.equal(true);
  });

  it('creates missing parent directories', async () => {
    await deliver({ consul: h.consul, key: 'app', file: join(dir, 'a/b/c.conf') });
    expect(await readFile(join(dir, 'a/b/c.conf'), 'utf8')).to.equal(textLines(12));
  });
});
