import { spawn } from 'node:child_process';
import { readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { expect } from 'chai';

import { commitFile, discardFile, stageAndCommit, stageFile } from '../../packages/client/src/transfer/file-writer.js';
import { listDir, removeDir, tempDir } from './helpers.js';

const spec = (temp: string, data: string) => ({ temp, data: Buffer.from(data), mode: 0o640, dirMode: 0o755, uid: -1, gid: -1 });

describe('transfer: file writer thread', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await tempDir();
  });
  afterEach(() => removeDir(dir));

  it('replaces a file in one trip and reports the identity the target has afterwards', async () => {
    const target = join(dir, 'a', 'file');
    const written = await stageAndCommit(spec(join(dir, 'a', '.tmp'), 'hello'), target);
    const after = await stat(target, { bigint: true });
    expect([written.ino, written.size, written.mtimeNs]).to.deep.equal([after.ino, after.size, after.mtimeNs]);
    expect(await readFile(target, 'utf8')).to.equal('hello');
    expect(await listDir(join(dir, 'a'))).to.deep.equal(['file']);
  });

  it('stages a temp file that a commit renames over the target, and a discard removes', async () => {
    await writeFile(join(dir, 'target'), 'old');
    await stageFile(spec(join(dir, '.kept'), 'new'));
    await stageFile(spec(join(dir, '.dropped'), 'never'));
    await commitFile(join(dir, '.kept'), join(dir, 'target'));
    await discardFile(join(dir, '.dropped'));
    expect(await listDir(dir)).to.deep.equal(['target']);
    expect(await readFile(join(dir, 'target'), 'utf8')).to.equal('new');
  });

  it('fails with the errno fields of the call that failed, and leaves no temp file behind', async () => {
    await writeFile(join(dir, 'plain'), 'x');
    const err = await stageFile(spec(join(dir, 'plain', 'sub', '.tmp'), 'x')).then(
      () => undefined,
      (e: unknown) => e as NodeJS.ErrnoException,
    );
    expect(err?.code).to.equal('ENOTDIR');
    expect(err?.syscall).to.be.a('string');
    const renamed = await commitFile(join(dir, 'missing.tmp'), join(dir, 'target')).then(
      () => undefined,
      (e: unknown) => e as NodeJS.ErrnoException,
    );
    expect([renamed?.code, renamed?.syscall]).to.deep.equal(['ENOENT', 'rename']);
    expect(await listDir(dir)).to.deep.equal(['plain']);
  });

  it('never keeps a process alive: one that wrote a file exits by itself', async function () {
    this.timeout(20_000);
    const target = join(dir, 'from-child');
    const script = `import { writeFileAtomic } from '@kvx/client'; await writeFileAtomic(${JSON.stringify(target)}, Buffer.from('child'));`;
    const child = spawn(process.execPath, ['--import', 'tsx', '--conditions=kvx-source', '--input-type=module', '-e', script], { stdio: 'ignore' });
    const code = await new Promise<number | null>((resolve, reject) => {
      const timer = setTimeout(() => {
        child.kill('SIGKILL');
        reject(new Error('the writing process did not exit by itself within 15 s'));
      }, 15_000);
      child.on('exit', (c) => {
        clearTimeout(timer);
        resolve(c);
      });
    });
    expect(code).to.equal(0);
    expect(await readFile(target, 'utf8')).to.equal('child');
  });
});
