import { expect } from 'chai';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';

import { runCommand } from '@kvx/client';
import { rejectsWith, removeDir, tempDir } from './helpers.js';

describe('transfer: exec', () => {
  let dir: string | undefined;
  beforeEach(async () => {
    dir = await tempDir();
  });
  afterEach(() => removeDir(dir));

  it('runs a string command as argv without a shell', async () => {
    const result = await runCommand({ command: `printf '%s|' "a b" c` });
    expect(result.exitCode).to.equal(0);
    expect(result.stdout).to.equal('a b|c|');
    expect(result.argv).to.deep.equal(['printf', '%s|', 'a b', 'c']);
  });

  it('runs through /bin/sh -c only with shell: true', async () => {
    const result = await runCommand({ command: 'false || echo rescued', shell: true });
    expect(result.exitCode).to.equal(0);
    expect(result.stdout.trim()).to.equal('rescued');
  });

  it('reports the exit status and captures stderr', async () => {
    const result = await runCommand({ command: 'echo oops >&2; exit 3', shell: true });
    expect(result.exitCode).to.equal(3);
    expect(result.stderr.trim()).to.equal('oops');
  });

  it('passes the given environment on top of the inherited one', async () => {
    const result = await runCommand({ command: ['sh', '-c', 'echo "$KVX_KEY:$PATH"'], env: { KVX_KEY: 'hosts' } });
    expect(result.stdout.startsWith('hosts:')).to.equal(true);
    expect(result.stdout.trim().length).to.be.greaterThan('hosts:'.length);
  });

  it('kills the whole process group on timeout, grandchildren included', async () => {
    const marker = join(dir as string, 'survivor');
    const result = await runCommand({
      command: `(sleep 1; touch ${marker}) & sleep 5`,
      shell: true,
      timeout: 200,
      killGrace: 200,
    });
    expect(result.timedOut).to.equal(true);
    expect(result.signal).to.equal('SIGTERM');
    await new Promise((r) => setTimeout(r, 1300));
    const exists = await readFile(marker).then(
      () => true,
      () => false,
    );
    expect(exists).to.equal(false);
  });

  it('escalates to SIGKILL when SIGTERM is ignored', async () => {
    const result = await runCommand({ command: `trap '' TERM; sleep 5`, shell: true, timeout: 100, killGrace: 200 });
    expect(result.timedOut).to.equal(true);
    expect(result.signal).to.equal('SIGKILL');
  });

  it('does not wait for a background daemon that keeps stdout open', async () => {
    const started = Date.now();
    const result = await runCommand({ command: 'sleep 3 & echo started', shell: true, timeout: 10_000 });
    expect(result.exitCode).to.equal(0);
    expect(Date.now() - started).to.be.lessThan(2_000);
  });

  it('throws KVX_EXEC_FAILED when the program cannot be started', async () => {
    await rejectsWith(runCommand({ command: 'kvx-no-such-program-xyz' }), 'KVX_EXEC_FAILED');
  });

  it('refuses empty commands and shell syntax without shell: true', async () => {
    await rejectsWith(runCommand({ command: '   ' }), 'KVX_INVALID_ARGUMENT');
    await rejectsWith(runCommand({ command: 'a | b' }), 'KVX_INVALID_ARGUMENT');
  });
});
