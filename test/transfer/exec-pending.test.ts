import { expect } from 'chai';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

import { clean, deliver, exitCodeFor, publish, sha256Hex, start, stop, watchAndDeliver, type DeliverResult, type WatchDelivery } from '@kvx/client';
import { eventually } from '../support/eventually.js';
import { listDir, rejectsWith, removeDir, startHarness, tempDir, textLines, type Harness } from './helpers.js';

describe('transfer: a failed exec is owed until it succeeds', () => {
  let h: Harness;
  let dir: string;
  let running: WatchDelivery | undefined;
  before(async () => {
    h = await startHarness();
    await publish({ consul: h.consul, key: 'owed', content: textLines(12) });
  });
  after(() => h.close());
  beforeEach(async () => {
    dir = await tempDir();
  });
  afterEach(async () => {
    await running?.stop();
    running = undefined;
    await removeDir(dir);
  });

  const target = (): string => join(dir, 'hosts');
  const marker = (): string => join(dir, '.hosts.kvx-exec-pending');
  /** Logs "$KVX_CHECKSUM $KVX_PREVIOUS_CHECKSUM" and fails until the file `ok` exists. */
  const reload = (): string[] => ['sh', '-c', `echo "$KVX_CHECKSUM $KVX_PREVIOUS_CHECKSUM" >> ${join(dir, 'runs')}; test -f ${join(dir, 'ok')}`];
  const runs = async (): Promise<string[]> => (await readFile(join(dir, 'runs'), 'utf8').catch(() => '')).split('\n').filter(Boolean);

  it('reruns the command of an unchanged file whose last run failed, with the original previous checksum', async () => {
    await writeFile(target(), 'old\n');
    await rejectsWith(deliver({ consul: h.consul, key: 'owed', file: target(), exec: reload() }), 'KVX_EXEC_FAILED');
    expect(await readFile(target(), 'utf8')).to.equal(textLines(12));
    await writeFile(join(dir, 'ok'), '');
    const again = await deliver({ consul: h.consul, key: 'owed', file: target(), exec: reload() });
    expect([again.status, again.execRetried, again.exec?.exitCode]).to.deep.equal(['unchanged', true, 0]);
    const expected = `${sha256Hex(textLines(12))} ${sha256Hex('old\n')}`;
    expect(await runs()).to.deep.equal([expected, expected]);
  });

  it('forgets the owed command once it succeeded', async () => {
    await rejectsWith(deliver({ consul: h.consul, key: 'owed', file: target(), exec: reload() }), 'KVX_EXEC_FAILED');
    await writeFile(join(dir, 'ok'), '');
    await deliver({ consul: h.consul, key: 'owed', file: target(), exec: reload() });
    const third = await deliver({ consul: h.consul, key: 'owed', file: target(), exec: reload() });
    expect([third.status, third.execRetried, third.exec]).to.deep.equal(['unchanged', false, undefined]);
    expect(await runs()).to.have.length(2);
    expect(await listDir(dir)).to.deep.equal(['hosts', 'ok', 'runs']);
  });

  it('runs the command next time when the delivery stopped between the rename and the command', async () => {
    const controller = new AbortController();
    const interrupted = deliver({ consul: h.consul, key: 'owed', file: target(), exec: reload(), splay: 10_000, signal: controller.signal });
    await eventually('the file', async () => (await readFile(target(), 'utf8').catch(() => '')) === textLines(12));
    controller.abort();
    await interrupted.then(
      () => expect.fail('the delivery should have been interrupted'),
      () => undefined,
    );
    expect(await runs()).to.deep.equal([]);
    await writeFile(join(dir, 'ok'), '');
    const next = await deliver({ consul: h.consul, key: 'owed', file: target(), exec: reload() });
    expect([next.status, next.execRetried]).to.deep.equal(['unchanged', true]);
    expect(await runs()).to.have.length(1);
  });

  it('ignores a marker of another version', async () => {
    await rejectsWith(deliver({ consul: h.consul, key: 'owed', file: target(), exec: reload() }), 'KVX_EXEC_FAILED');
    await writeFile(marker(), `${JSON.stringify({ checksum: sha256Hex('other\n'), previousChecksum: '' })}\n`);
    const again = await deliver({ consul: h.consul, key: 'owed', file: target(), exec: reload() });
    expect([again.status, again.execRetried, again.exec]).to.deep.equal(['unchanged', false, undefined]);
  });

  it('removes a marker of another version instead of keeping it', async () => {
    await writeFile(target(), textLines(12));
    await writeFile(marker(), `${JSON.stringify({ checksum: sha256Hex('other\n'), previousChecksum: '' })}\n`);
    await deliver({ consul: h.consul, key: 'owed', file: target(), exec: reload() });
    expect(await listDir(dir)).to.deep.equal(['hosts']);
  });

  it('does not run a different command for a marker left by another one, and removes the marker', async () => {
    await rejectsWith(deliver({ consul: h.consul, key: 'owed', file: target(), exec: reload() }), 'KVX_EXEC_FAILED');
    await writeFile(join(dir, 'ok'), '');
    const other = ['sh', '-c', `echo other >> ${join(dir, 'runs')}`];
    const again = await deliver({ consul: h.consul, key: 'owed', file: target(), exec: other });
    expect([again.status, again.execRetried, again.exec]).to.deep.equal(['unchanged', false, undefined]);
    expect(await runs()).to.have.length(1);
    expect(await listDir(dir)).to.deep.equal(['hosts', 'ok', 'runs']);
  });

  it('a write without a command removes the marker a command of an older version left', async () => {
    await rejectsWith(deliver({ consul: h.consul, key: 'owed', file: target(), exec: reload() }), 'KVX_EXEC_FAILED');
    await publish({ consul: h.consul, key: 'owed-next', content: textLines(12, 'next') });
    const next = await deliver({ consul: h.consul, key: 'owed-next', file: target() });
    expect(next.status).to.equal('written');
    expect(await listDir(dir)).to.deep.equal(['hosts', 'runs']);
  });

  /** A validate command that turns the target into a non-empty directory, so the rename after it fails. */
  const turnTargetIntoDirectory = (): string[] => ['sh', '-c', `rm -f ${target()} && mkdir ${target()} && touch ${target()}/x`];

  it('a failed rename leaves no marker when there was none', async () => {
    await writeFile(target(), 'old\n');
    const err = await rejectsWith(
      deliver({ consul: h.consul, key: 'owed', file: target(), exec: reload(), validate: turnTargetIntoDirectory() }),
      'KVX_INPUT',
    );
    expect(exitCodeFor(err)).to.equal(1);
    expect(await listDir(dir)).to.deep.equal(['hosts']);
    expect(await runs()).to.deep.equal([]);
  });

  it('a failed rename puts back the marker that was there before', async () => {
    await writeFile(target(), 'old\n');
    const earlier = `${JSON.stringify({ checksum: sha256Hex('old\n'), previousChecksum: '', command: 'earlier' })}\n`;
    await writeFile(marker(), earlier);
    await rejectsWith(
      deliver({ consul: h.consul, key: 'owed', file: target(), exec: reload(), validate: turnTargetIntoDirectory() }),
      'KVX_INPUT',
    );
    expect(await readFile(marker(), 'utf8')).to.equal(earlier);
  });

  it('clean removes the marker, so the owed command is forgotten', async () => {
    await rejectsWith(deliver({ consul: h.consul, key: 'owed', file: target(), exec: reload() }), 'KVX_EXEC_FAILED');
    expect(await clean({ file: target(), removeFile: false })).to.deep.equal([marker()]);
    const again = await deliver({ consul: h.consul, key: 'owed', file: target(), exec: reload() });
    expect(again.execRetried).to.equal(false);
  });

  it('watchAndDeliver runs an owed command again only when its retry is due, not at other wake-ups', async () => {
    const duplicates: Record<string, unknown>[] = [];
    running = await watchAndDeliver({
      consul: h.consul,
      files: [{ key: 'owed', file: target(), exec: reload() }],
      rateLimit: false,
      restartDelay: 60_000,
      logger: (_level, message, fields) => {
        if (message.startsWith('wake-up without a new version')) duplicates.push(fields);
      },
    });
    await eventually('the first run of the command', async () => (await runs()).length === 1);
    await stop({ consul: h.consul, key: 'owed', reason: 'maintenance' });
    await start({ consul: h.consul, key: 'owed' });
    await eventually('the wake-up of the cleared stop key', async () => duplicates.some((f) => f.stopped === false) || (await runs()).length > 1);
    expect(await runs()).to.have.length(1);
  });

  it('watchAndDeliver starts the retry backoff over when a new version arrives', async () => {
    await publish({ consul: h.consul, key: 'owed-backoff', content: textLines(12, 'first') });
    running = await watchAndDeliver({
      consul: h.consul,
      files: [{ key: 'owed-backoff', file: target(), exec: reload() }],
      rateLimit: false,
      restartDelay: 100,
    });
    // Runs at 0, 100, 300, 700, 1500 ms: the next retry of this version would wait 1.6 s.
    await eventually('five failed runs', async () => (await runs()).length >= 5);
    const second = textLines(12, 'second');
    await publish({ consul: h.consul, key: 'owed-backoff', content: second });
    const ofSecond = async (): Promise<number> => (await runs()).filter((r) => r.startsWith(sha256Hex(second))).length;
    await eventually('the first run for the new version', async () => (await ofSecond()) >= 1);
    await eventually('a retry after the first delay, not the grown one', async () => (await ofSecond()) >= 2, 1_000);
  });

  it('watchAndDeliver retries a failed command with backoff until it succeeds', async () => {
    const results: DeliverResult[] = [];
    const errors: unknown[] = [];
    running = await watchAndDeliver({
      consul: h.consul,
      files: [{ key: 'owed', file: target(), exec: reload() }],
      rateLimit: false,
      restartDelay: 20,
      onResult: (r) => results.push(r),
      onError: (e) => errors.push(e),
    });
    await eventually('a retry of the command', async () => (await runs()).length >= 2);
    await writeFile(join(dir, 'ok'), '');
    await eventually('the successful retry', () => results.length === 1);
    expect([results[0]?.status, results[0]?.execRetried, results[0]?.exec?.exitCode]).to.deep.equal(['unchanged', true, 0]);
    expect(errors.map((e) => (e as { code?: string }).code).every((c) => c === 'KVX_EXEC_FAILED')).to.equal(true);
    expect(await listDir(dir)).to.deep.equal(['hosts', 'ok', 'runs']);
  });
});
