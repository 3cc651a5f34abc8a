import { expect } from 'chai';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Output } from '../../packages/cli/src/output.js';
import { Progress, PROGRESS_MIN_BYTES, PROGRESS_MIN_MS } from '../../packages/cli/src/progress.js';
import { run } from '../../packages/cli/src/run.js';
import { startTestAgent, type DevAgent } from '../support/dev-agent.js';
import { testContext } from './support/context.js';

describe('cli progress bar', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'kvx-cli-progress-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('is drawn on a TTY for a transfer of at least 1 MiB', async () => {
    const ctx = testContext({ cwd: dir, isTTY: true });
    const progress = Progress.for(ctx, new Output(ctx, {}), 'reading');
    progress.update(1, PROGRESS_MIN_BYTES);
    expect(progress.shown).to.equal(true);
    await progress.stop();
  });

  it('is drawn on a TTY once a small transfer has taken 500 ms', async () => {
    let now = 0;
    const ctx = { ...testContext({ cwd: dir, isTTY: true }), now: () => now };
    const progress = Progress.for(ctx, new Output(ctx, {}), 'reading');
    progress.update(10, 1000);
    expect(progress.shown).to.equal(false);
    now = PROGRESS_MIN_MS;
    progress.update(20, 1000);
    expect(progress.shown).to.equal(true);
    await progress.stop();
  });

  it('is never drawn without a TTY, with --json, or without a known total', async () => {
    const plain = testContext({ cwd: dir, isTTY: false });
    const noTty = Progress.for(plain, new Output(plain, {}), 'x');
    noTty.update(1, 10 * PROGRESS_MIN_BYTES);
    const tty = testContext({ cwd: dir, isTTY: true });
    const json = Progress.for(tty, new Output(tty, { json: true }), 'x');
    json.update(1, 10 * PROGRESS_MIN_BYTES);
    const unknown = Progress.for(tty, new Output(tty, {}), 'x');
    unknown.update(10 * PROGRESS_MIN_BYTES, 0);
    expect([noTty.shown, json.shown, unknown.shown]).to.deep.equal([false, false, false]);
  });

  describe('kvx in with a large file', () => {
    let agent: DevAgent;
    before(async () => {
      agent = await startTestAgent();
    });
    after(async () => {
      await agent.close();
    });

    it('draws the bar on a terminal and clears it, leaving the result line', async () => {
      await writeFile(path.join(dir, 'big'), `${'y'.repeat(99)}\n`.repeat(12_001));
      const ctx = testContext({ cwd: dir, isTTY: true });
      Object.assign(ctx.stderr, { isTTY: true, columns: 100 });
      const code = await run(['in', '-k', 'big', '-f', 'big', '--http-addr', agent.url], ctx);
      expect(code, ctx.stderr.text).to.equal(0);
      expect(ctx.stderr.text).to.include('reading big [');
      expect(ctx.stdout.text).to.match(/big: published 1200100 bytes/);
    });

    it('draws a bar for the upload of the stored data too', async () => {
      await writeFile(path.join(dir, 'big'), `${'u'.repeat(99)}\n`.repeat(12_002));
      const ctx = testContext({ cwd: dir, isTTY: true });
      Object.assign(ctx.stderr, { isTTY: true, columns: 100 });
      const code = await run(['in', '-k', 'bigup', '-f', 'big', '--http-addr', agent.url], ctx);
      expect(code, ctx.stderr.text).to.equal(0);
      expect(ctx.stderr.text).to.include('publishing bigup [');
    });

    it('kvx out draws a bar while the stored data downloads', async () => {
      await writeFile(path.join(dir, 'big'), `${'d'.repeat(99)}\n`.repeat(12_003));
      expect(await run(['in', '-k', 'bigdown', '-f', 'big', '--http-addr', agent.url], testContext({ cwd: dir }))).to.equal(0);
      const ctx = testContext({ cwd: dir, isTTY: true });
      Object.assign(ctx.stderr, { isTTY: true, columns: 100 });
      const code = await run(['out', '-k', 'bigdown', '-f', 'copy', '--http-addr', agent.url], ctx);
      expect(code, ctx.stderr.text).to.equal(0);
      expect(ctx.stderr.text).to.include('receiving bigdown [');
      expect(ctx.stdout.text).to.match(/copy: written from bigdown/);
    });

    it('kvx out --json draws no bar', async () => {
      await writeFile(path.join(dir, 'big'), `${'j'.repeat(99)}\n`.repeat(12_004));
      expect(await run(['in', '-k', 'bigjson', '-f', 'big', '--http-addr', agent.url], testContext({ cwd: dir }))).to.equal(0);
      const ctx = testContext({ cwd: dir, isTTY: true });
      Object.assign(ctx.stderr, { isTTY: true, columns: 100 });
      expect(await run(['out', '-k', 'bigjson', '-f', 'copy', '--json', '--http-addr', agent.url], ctx)).to.equal(0);
      expect(ctx.stderr.text).to.equal('');
    });

    it('draws nothing when stderr is not a terminal', async () => {
      await writeFile(path.join(dir, 'big'), `${'y'.repeat(99)}\n`.repeat(12_000));
      const ctx = testContext({ cwd: dir, isTTY: false });
      expect(await run(['in', '-k', 'big2', '-f', 'big', '--http-addr', agent.url], ctx)).to.equal(0);
      expect(ctx.stderr.text).to.equal('');
    });
  });
});
