import { expect } from 'chai';
import { join } from 'node:path';

import { deliver, publish, raw, watchAndDeliver } from '@kvx/client';
import { listDir, rawGet, rejectsWith, removeDir, startHarness, tempDir, textLines, type Harness } from './helpers.js';

describe('transfer: commands are checked before anything is written', () => {
  let h: Harness;
  let dir: string;
  before(async () => {
    h = await startHarness();
    await publish({ consul: h.consul, key: 'cmd', content: textLines(12) });
  });
  after(() => h.close());
  beforeEach(async () => {
    dir = await tempDir();
  });
  afterEach(() => removeDir(dir));

  it('deliver refuses an exec string that needs a shell and writes no file', async () => {
    await rejectsWith(deliver({ consul: h.consul, key: 'cmd', file: join(dir, 'hosts'), exec: 'pkill -HUP dnsmasq || true' }), 'KVX_INVALID_ARGUMENT');
    expect(await listDir(dir)).to.deep.equal([]);
  });

  it('deliver refuses a validate string with an unterminated quote as KVX_INVALID_ARGUMENT and writes no file', async () => {
    await rejectsWith(deliver({ consul: h.consul, key: 'cmd', file: join(dir, 'hosts'), validate: "nginx -t -c '{}" }), 'KVX_INVALID_ARGUMENT');
    expect(await listDir(dir)).to.deep.equal([]);
  });

  it('deliver refuses an empty exec argv', async () => {
    await rejectsWith(deliver({ consul: h.consul, key: 'cmd', file: join(dir, 'hosts'), exec: [] }), 'KVX_INVALID_ARGUMENT');
    expect(await listDir(dir)).to.deep.equal([]);
  });

  it('raw refuses an invalid exec string and writes no file', async () => {
    await rejectsWith(raw({ consul: h.consul, key: 'kvexpress/cmd/data', file: join(dir, 'hosts'), exec: 'echo $HOME' }), 'KVX_INVALID_ARGUMENT');
    expect(await listDir(dir)).to.deep.equal([]);
  });

  it('watchAndDeliver refuses an invalid exec string when it starts', async () => {
    await rejectsWith(
      watchAndDeliver({ consul: h.consul, files: [{ key: 'cmd', file: join(dir, 'hosts'), exec: 'reload; true' }] }),
      'KVX_INVALID_ARGUMENT',
    );
    expect(await listDir(dir)).to.deep.equal([]);
  });

  it('publish refuses an invalid exec string and commits nothing', async () => {
    await rejectsWith(publish({ consul: h.consul, key: 'cmd-new', content: textLines(12), exec: 'echo $HOME' }), 'KVX_INVALID_ARGUMENT');
    expect(await rawGet(h.agent.url, 'kvexpress/cmd-new/data')).to.equal(undefined);
  });

  it('publish refuses an argv exec combined with the shell option and commits nothing', async () => {
    await rejectsWith(publish({ consul: h.consul, key: 'cmd-new', content: textLines(12), exec: ['true'], shell: true }), 'KVX_INVALID_ARGUMENT');
    expect(await rawGet(h.agent.url, 'kvexpress/cmd-new/data')).to.equal(undefined);
  });
});
