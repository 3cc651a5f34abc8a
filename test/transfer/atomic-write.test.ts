import { expect } from 'chai';
import { chmod, chown, mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

import { leftoverTempFiles, repairAttributes, resolveOwner, writeFileAtomic } from '@kvx/client';
import { listDir, rejectsWith, removeDir, tempDir } from './helpers.js';

describe('transfer: atomic write', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await tempDir();
  });
  afterEach(() => removeDir(dir));

  it('creates parent directories and writes the content with mode 0640 by default', async () => {
    const target = join(dir, 'a/b/file');
    await writeFileAtomic(target, Buffer.from('content'));
    expect(await readFile(target, 'utf8')).to.equal('content');
    expect((await stat(target)).mode & 0o7777).to.equal(0o640);
    expect(await listDir(join(dir, 'a/b'))).to.deep.equal(['file']);
  });

  it('applies the mode explicitly, whatever the umask', async () => {
    const old = process.umask(0o077);
    try {
      await writeFileAtomic(join(dir, 'f'), Buffer.from('x'), { mode: 0o644 });
    } finally {
      process.umask(old);
    }
    expect((await stat(join(dir, 'f'))).mode & 0o7777).to.equal(0o644);
  });

  it('replaces an existing file and its mode', async () => {
    const target = join(dir, 'f');
    await writeFile(target, 'old', { mode: 0o777 });
    await chmod(target, 0o777);
    await writeFileAtomic(target, Buffer.from('new'));
    expect(await readFile(target, 'utf8')).to.equal('new');
    expect((await stat(target)).mode & 0o7777).to.equal(0o640);
  });

  it('sets the owner when asked (running as root)', async function () {
    if (process.getuid?.() !== 0) this.skip();
    const target = join(dir, 'owned');
    await writeFileAtomic(target, Buffer.from('x'), { owner: { uid: 1, gid: 1 } });
    const st = await stat(target);
    expect([st.uid, st.gid]).to.deep.equal([1, 1]);
  });

  it('keeps the old file and leaves no temp file when the check before the rename fails', async () => {
    const target = join(dir, 'f');
    await writeFile(target, 'old');
    let staged = '';
    const failing = writeFileAtomic(target, Buffer.from('new'), {
      beforeRename: async (temp) => {
        staged = await readFile(temp, 'utf8');
        throw new Error('rejected');
      },
    });
    await failing.then(
      () => expect.fail('should reject'),
      (err: Error) => expect(err.message).to.equal('rejected'),
    );
    expect(staged).to.equal('new');
    expect(await readFile(target, 'utf8')).to.equal('old');
    expect(await listDir(dir)).to.deep.equal(['f']);
  });

  it('refuses a directory as target without touching it', async () => {
    await mkdir(join(dir, 'd'));
    await rejectsWith(writeFileAtomic(join(dir, 'd'), Buffer.from('x')), 'KVX_INPUT');
    expect(await listDir(dir)).to.deep.equal(['d']);
  });

  it('lists leftover temp files of a target', async () => {
    const target = join(dir, 'f');
    await writeFile(join(dir, `.f.kvx-1-abc.tmp`), 'x');
    await writeFile(join(dir, `.g.kvx-1-abc.tmp`), 'x');
    expect(await leftoverTempFiles(target)).to.deep.equal([join(dir, '.f.kvx-1-abc.tmp')]);
  });

  describe('repairAttributes', () => {
    it('repairs a drifted mode in place and reports it', async () => {
      const target = join(dir, 'f');
      await writeFile(target, 'x');
      await chmod(target, 0o777);
      expect(await repairAttributes(target, { mode: 0o640 })).to.deep.equal({ mode: true, owner: false });
      expect((await stat(target)).mode & 0o7777).to.equal(0o640);
      expect(await repairAttributes(target, { mode: 0o640 })).to.deep.equal({ mode: false, owner: false });
    });

    it('repairs a drifted owner in place (running as root)', async function () {
      if (process.getuid?.() !== 0) this.skip();
      const target = join(dir, 'f');
      await writeFile(target, 'x', { mode: 0o640 });
      await chown(target, 1, 1);
      expect(await repairAttributes(target, { mode: 0o640, owner: { uid: 0, gid: 0 } })).to.deep.equal({ mode: false, owner: true });
      const st = await stat(target);
      expect([st.uid, st.gid]).to.deep.equal([0, 0]);
    });
  });

  describe('resolveOwner', () => {
    it('resolves user names to uid and primary gid from /etc/passwd', async () => {
      expect(await resolveOwner('root')).to.deep.equal({ uid: 0, gid: 0 });
    });

    it('resolves user:group, :group and numeric ids', async () => {
      expect(await resolveOwner('root:root')).to.deep.equal({ uid: 0, gid: 0 });
      expect(await resolveOwner(':0')).to.deep.equal({ gid: 0 });
      expect(await resolveOwner('1:2')).to.deep.equal({ uid: 1, gid: 2 });
    });

    it('refuses unknown names and malformed specs', async () => {
      await rejectsWith(resolveOwner('kvx-no-such-user'), 'KVX_INVALID_ARGUMENT');
      await rejectsWith(resolveOwner('root:kvx-no-such-group'), 'KVX_INVALID_ARGUMENT');
      await rejectsWith(resolveOwner('a:b:c'), 'KVX_INVALID_ARGUMENT');
      await rejectsWith(resolveOwner({ uid: -2 }), 'KVX_INVALID_ARGUMENT');
    });

    it('refuses numeric ids beyond 32 bits instead of letting them wrap to root', async () => {
      for (const spec of ['4294967296', '4294967297', ':4294967296', '4294967295', '99999999999999999999']) {
        const err = await rejectsWith(resolveOwner(spec), 'KVX_INVALID_ARGUMENT');
        expect(err.message).to.match(/out of range/);
      }
      expect(await resolveOwner('4294967294')).to.deep.equal({ uid: 4294967294 });
    });
  });
});
