import { expect } from 'chai';
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { Consul } from '@kvx/client';
import { ExitCode } from '../../packages/cli/src/exit-codes.js';
import { startTestAgent, type DevAgent } from '../support/dev-agent.js';
import { kvxRunner, type KvxRun } from './support/kvx.js';

const FIXTURE = '/work/shared/fixtures/kvexpress/url-gistfile1.txt';
const FIXTURE_SHA = '307b198c768b7a174b11e00c70bb1bd7b32597a86790279f763c4544dc12d1ff';
const LEGACY = '/work/shared/fixtures/kvexpress/legacy-gzip-b64-of-url-fixture.txt';

const sha = (b: Buffer | string): string => createHash('sha256').update(b).digest('hex');
const lines = (n: number): string => Array.from({ length: n }, (_, i) => `line ${i + 1}`).join('\n') + '\n';

describe('kvx transfer verbs (in-process, dev agent)', () => {
  let agent: DevAgent;
  let consul: Consul;
  let dir: string;
  let kvx: ReturnType<typeof kvxRunner>;
  let n = 0;
  /** A key no other test uses. */
  const key = (): string => `k${++n}`;

  before(async () => {
    agent = await startTestAgent();
    consul = new Consul({ address: agent.url, env: {} });
  });
  after(async () => {
    await consul.close();
    await agent.close();
  });
  beforeEach(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'kvx-cli-verbs-'));
    kvx = kvxRunner(dir, () => agent.url);
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  /** Exactly one `kvx: …` line on stderr, no stack trace. */
  function expectOneLine(r: KvxRun, pattern: RegExp): void {
    const errLines = r.stderr.split('\n').filter(Boolean);
    expect(errLines, r.stderr).to.have.length(1);
    expect(errLines[0]).to.match(/^kvx: /).and.match(pattern);
  }

  async function published(k: string, content = lines(12)): Promise<void> {
    await writeFile(path.join(dir, `${k}.src`), content);
    const r = await kvx(['in', '-k', k, '-f', `${k}.src`]);
    expect(r.code, r.stderr).to.equal(0);
  }

  describe('in', () => {
    it('publishes a file: data and checksum land in Consul (kvexpress T_50)', async () => {
      const k = key();
      const r = await kvx(['in', '-k', k, '-f', FIXTURE]);
      expect(r.code, r.stderr).to.equal(ExitCode.OK);
      expect(r.stdout).to.match(new RegExp(`${k}: published 334 bytes, 18 lines`));
      expect((await consul.kv.get(`kvexpress/${k}/checksum`)).value?.value.toString()).to.equal(FIXTURE_SHA);
      expect((await consul.kv.get(`kvexpress/${k}/data`)).value?.value).to.deep.equal(await readFile(FIXTURE));
    });

    it('exits 0 with "unchanged" when Consul already holds the content', async () => {
      const k = key();
      await kvx(['in', '-k', k, '-f', FIXTURE]);
      const r = await kvx(['in', '-k', k, '-f', FIXTURE]);
      expect(r.code).to.equal(0);
      expect(r.stdout).to.include('unchanged');
    });

    it('reads stdin with -f -', async () => {
      const k = key();
      const r = await kvx(['in', '-k', k, '-f', '-', '-p', 'other'], { stdin: lines(11) });
      expect(r.code, r.stderr).to.equal(0);
      expect((await consul.kv.get(`other/${k}/data`)).value?.value.toString()).to.equal(lines(11));
    });

    it('fetches a URL, and refuses a non-2xx answer with exit 1', async () => {
      const server = http.createServer((req, res) => {
        if (req.url === '/hosts') res.end(lines(12));
        else res.writeHead(404).end('not found\n'.repeat(20));
      });
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
      try {
        const k = key();
        expect((await kvx(['in', '-k', k, '-u', `${base}/hosts`])).code).to.equal(0);
        expect((await consul.kv.get(`kvexpress/${k}/checksum`)).value?.value.toString()).to.equal(sha(lines(12)));
        const missing = await kvx(['in', '-k', key(), '-u', `${base}/missing`]);
        expect(missing.code).to.equal(ExitCode.USAGE);
        expectOneLine(missing, /HTTP 404/);
      } finally {
        server.close();
      }
    });

    it('stores brotli with -z and out decodes it by its flags', async () => {
      const k = key();
      expect((await kvx(['in', '-k', k, '-f', FIXTURE, '-z'])).code).to.equal(0);
      expect((await consul.kv.get(`kvexpress/${k}/data`)).value?.flags).to.equal(1n);
      const r = await kvx(['out', '-k', k, '-f', 'out.txt']);
      expect(r.code, r.stderr).to.equal(0);
      expect(sha(await readFile(path.join(dir, 'out.txt')))).to.equal(FIXTURE_SHA);
    });

    it('sorts with -S (byte order, blank lines dropped, no trailing newline)', async () => {
      const k = key();
      await writeFile(path.join(dir, 'unsorted'), `${lines(12)}\n\nb\na\n`);
      expect((await kvx(['in', '-k', k, '-f', 'unsorted', '-S'])).code).to.equal(0);
      const data = (await consul.kv.get(`kvexpress/${k}/data`)).value?.value.toString() ?? '';
      expect(data.split('\n')).to.deep.equal(['a', 'b', 'line 1', 'line 10', 'line 11', 'line 12', ...[2, 3, 4, 5, 6, 7, 8, 9].map((i) => `line ${i}`)]);
      expect(data.endsWith('\n')).to.equal(false);
    });

    it('refuses a missing input file with exit 1 and one line', async () => {
      const r = await kvx(['in', '-k', key(), '-f', 'does-not-exist']);
      expect(r.code).to.equal(ExitCode.USAGE);
      expectOneLine(r, /cannot read does-not-exist: no such file/);
    });

    it('refuses a directory as input with exit 1', async () => {
      await mkdir(path.join(dir, 'adir'));
      const r = await kvx(['in', '-k', key(), '-f', 'adir']);
      expect(r.code).to.equal(ExitCode.USAGE);
      expectOneLine(r, /adir is a directory/);
    });

    it('refuses a device as input with exit 1 instead of reading it without end', async () => {
      const k = key();
      const r = await kvx(['in', '-k', k, '-f', '/dev/zero', '-l', '0']);
      expect(r.code).to.equal(ExitCode.USAGE);
      expectOneLine(r, /\/dev\/zero is a device or socket, not a file/);
      expect((await consul.kv.keys(`kvexpress/${k}`)).value).to.deep.equal([]);
    });

    it('refuses empty input with exit 1 and writes nothing', async () => {
      const k = key();
      const r = await kvx(['in', '-k', k, '-f', '-', '-l', '0'], { stdin: '' });
      expect(r.code).to.equal(ExitCode.USAGE);
      expectOneLine(r, /empty/);
      expect((await consul.kv.get(`kvexpress/${k}/data`)).value).to.equal(undefined);
    });

    it('refuses input shorter than --length with exit 1', async () => {
      const r = await kvx(['in', '-k', key(), '-f', '-', '-l', '20'], { stdin: lines(12) });
      expect(r.code).to.equal(ExitCode.USAGE);
      expectOneLine(r, /12 lines, fewer than the minimum 20/);
    });

    it('refuses both -f and -u, and neither', async () => {
      expect((await kvx(['in', '-k', key(), '-f', 'a', '-u', 'http://x/'])).code).to.equal(ExitCode.USAGE);
      const neither = await kvx(['in', '-k', key()]);
      expect(neither.code).to.equal(ExitCode.USAGE);
      expectOneLine(neither, /exactly one input/);
    });

    it('exits 2 while the stop key is set, and publishes nothing', async () => {
      const k = key();
      await kvx(['stop', '-k', k, '-r', 'maintenance']);
      const r = await kvx(['in', '-k', k, '-f', FIXTURE]);
      expect(r.code).to.equal(ExitCode.STOPPED);
      expectOneLine(r, /stopped by kvexpress\/k\d+\/stop: maintenance/);
      expect((await consul.kv.get(`kvexpress/${k}/data`)).value).to.equal(undefined);
    });

    it('exits 8 when --exec fails after publishing', async () => {
      const k = key();
      const r = await kvx(['in', '-k', k, '-f', FIXTURE, '-e', 'false']);
      expect(r.code).to.equal(ExitCode.EXEC_FAILED);
      expectOneLine(r, /exec command false failed/);
      expect((await consul.kv.get(`kvexpress/${k}/checksum`)).value?.value.toString()).to.equal(FIXTURE_SHA);
    });
  });

  describe('out', () => {
    it('writes the file with the requested mode (kvexpress T_12/T_14)', async () => {
      const k = key();
      await published(k);
      const r = await kvx(['out', '-k', k, '-f', 'sub/out.txt', '-c', '0600']);
      expect(r.code, r.stderr).to.equal(0);
      expect(r.stdout).to.match(/out\.txt: written from k\d+/);
      const file = path.join(dir, 'sub/out.txt');
      expect(await readFile(file, 'utf8')).to.equal(lines(12));
      expect((await stat(file)).mode & 0o777).to.equal(0o600);
    });

    it('exits 0 without rewriting when the file is up to date', async () => {
      const k = key();
      await published(k);
      await kvx(['out', '-k', k, '-f', 'o']);
      const r = await kvx(['out', '-k', k, '-f', 'o', '-e', 'touch ran']);
      expect(r.code).to.equal(0);
      expect(r.stdout).to.include('up to date');
      expect(await stat(path.join(dir, 'ran')).catch(() => undefined)).to.equal(undefined);
    });

    it('runs --exec after writing, in the working directory of the caller', async () => {
      const k = key();
      await published(k);
      const r = await kvx(['out', '-k', k, '-f', 'o', '-e', `touch ${path.join(dir, 'ran')}`]);
      expect(r.code, r.stderr).to.equal(0);
      expect((await stat(path.join(dir, 'ran'))).isFile()).to.equal(true);
    });

    it('exits 2 while stopped and writes nothing; --ignore-stop delivers (T_20..T_24)', async () => {
      const k = key();
      await published(k);
      await kvx(['stop', '-k', k, '-r', 'hold it']);
      const r = await kvx(['out', '-k', k, '-f', 'stopped']);
      expect(r.code).to.equal(ExitCode.STOPPED);
      expectOneLine(r, /hold it/);
      expect(await stat(path.join(dir, 'stopped')).catch(() => undefined)).to.equal(undefined);
      expect((await kvx(['out', '-k', k, '-f', 'ignored', '--ignore-stop'])).code).to.equal(0);
      expect((await kvx(['out', '-k', k, '-f', 'ignored2', '--ignore_stop'])).code).to.equal(0);
    });

    it('exits 3 while the file is pinned on this host, even with --ignore-stop (T_36)', async () => {
      const k = key();
      await published(k);
      await writeFile(path.join(dir, 'pinned'), 'local edit\n');
      expect((await kvx(['pin', '-f', 'pinned', '-r', 'debugging'])).code).to.equal(0);
      const r = await kvx(['out', '-k', k, '-f', 'pinned', '--ignore-stop']);
      expect(r.code).to.equal(ExitCode.PINNED);
      expectOneLine(r, /pinned on this host .*debugging/);
      expect(await readFile(path.join(dir, 'pinned'), 'utf8')).to.equal('local edit\n');
      expect((await kvx(['unpin', '-f', 'pinned'])).code).to.equal(0);
      expect((await kvx(['out', '-k', k, '-f', 'pinned'])).code).to.equal(0);
    });

    it('exits 4 for a key that was never published, and creates no file (T_11)', async () => {
      const r = await kvx(['out', '-k', 'random-key-does-not-exist', '-f', 'output']);
      expect(r.code).to.equal(ExitCode.VERIFICATION_FAILED);
      expectOneLine(r, /does not exist/);
      expect(await stat(path.join(dir, 'output')).catch(() => undefined)).to.equal(undefined);
    });

    it('exits 4 on a checksum mismatch and keeps the old file', async () => {
      const k = key();
      await consul.kv.put(`kvexpress/${k}/data`, lines(12));
      await consul.kv.put(`kvexpress/${k}/checksum`, sha('something else'));
      await writeFile(path.join(dir, 'keep'), 'old\n');
      const r = await kvx(['out', '-k', k, '-f', 'keep']);
      expect(r.code).to.equal(ExitCode.VERIFICATION_FAILED);
      expectOneLine(r, /checksum/);
      expect(await readFile(path.join(dir, 'keep'), 'utf8')).to.equal('old\n');
    });

    it('exits 4 when the content is shorter than --length', async () => {
      const k = key();
      await published(k);
      const r = await kvx(['out', '-k', k, '-f', 'o', '-l', '50']);
      expect(r.code).to.equal(ExitCode.VERIFICATION_FAILED);
    });

    it('exits 4 when --validate rejects the new content, keeping the old file', async () => {
      const k = key();
      await published(k);
      await writeFile(path.join(dir, 'conf'), 'old\n');
      const r = await kvx(['out', '-k', k, '-f', 'conf', '--validate', 'grep -q nope {}']);
      expect(r.code).to.equal(ExitCode.VERIFICATION_FAILED);
      expectOneLine(r, /rejected/);
      expect(await readFile(path.join(dir, 'conf'), 'utf8')).to.equal('old\n');
    });

    it('exits 8 when --exec fails; the file is written', async () => {
      const k = key();
      await published(k);
      const r = await kvx(['out', '-k', k, '-f', 'o', '-e', 'sh -c "exit 3"', '--shell']);
      expect(r.code).to.equal(ExitCode.EXEC_FAILED);
      expectOneLine(r, /exit code 3/);
      expect(await readFile(path.join(dir, 'o'), 'utf8')).to.equal(lines(12));
    });

    it('decodes kvexpress <= 1.15 gzip+base64 values with -z (T_82)', async () => {
      const k = key();
      await consul.kv.put(`kvexpress/${k}/data`, await readFile(LEGACY));
      await consul.kv.put(`kvexpress/${k}/checksum`, FIXTURE_SHA);
      const r = await kvx(['out', '-k', k, '-f', 'decompressed', '-z']);
      expect(r.code, r.stderr).to.equal(0);
      expect(sha(await readFile(path.join(dir, 'decompressed')))).to.equal(FIXTURE_SHA);
    });

    it('prints one JSON document with --json', async () => {
      const k = key();
      await published(k);
      const r = await kvx(['out', '-k', k, '-f', 'o', '--json']);
      expect(r.code).to.equal(0);
      const doc = JSON.parse(r.stdout) as Record<string, unknown>;
      expect(doc).to.include({ ok: true, command: 'out', status: 'written', file: path.join(dir, 'o'), checksum: sha(lines(12)) });
    });

    it('runs --exec after a --splay delay', async () => {
      const k = key();
      await published(k);
      const r = await kvx(['out', '-k', k, '-f', 'o', '--splay', '50ms', '-e', `touch ${path.join(dir, 'ran')}`]);
      expect(r.code, r.stderr).to.equal(0);
      expect((await stat(path.join(dir, 'ran'))).isFile()).to.equal(true);
    });

    it('refuses out without -k/-f', async () => {
      const r = await kvx(['out', '-f', 'o']);
      expect(r.code).to.equal(ExitCode.USAGE);
      expectOneLine(r, /needs -k KEY and -f FILE/);
    });
  });

  describe('raw, copy, stop/start, pin/unpin, clean, status, diff', () => {
    it('raw writes any key verbatim, the prefix ignored (T_60)', async () => {
      const k = key();
      await published(k);
      const r = await kvx(['raw', '-k', `kvexpress/${k}/checksum`, '-f', 'raw_checksum', '-l', '1']);
      expect(r.code, r.stderr).to.equal(0);
      expect(await readFile(path.join(dir, 'raw_checksum'), 'utf8')).to.equal(sha(lines(12)));
    });

    it('raw exits 4 for a missing key', async () => {
      expect((await kvx(['raw', '-k', 'no/such/key', '-f', 'x', '-l', '1'])).code).to.equal(ExitCode.VERIFICATION_FAILED);
    });

    it('copy promotes one key to another, with kvexpress --keyfrom/--keyto too (T_70)', async () => {
      const from = key();
      await published(from);
      const to = key();
      expect((await kvx(['copy', '--from', from, '--to', to])).code).to.equal(0);
      expect((await consul.kv.get(`kvexpress/${to}/checksum`)).value?.value.toString()).to.equal(sha(lines(12)));
      const to2 = key();
      expect((await kvx(['copy', '--keyfrom', from, '--keyto', to2])).code).to.equal(0);
      expect((await consul.kv.get(`kvexpress/${to2}/checksum`)).value?.value.toString()).to.equal(sha(lines(12)));
    });

    it('copy needs both keys', async () => {
      expect((await kvx(['copy', '--from', 'a'])).code).to.equal(ExitCode.USAGE);
    });

    it('stop sets the reason (T_16) and start removes it', async () => {
      const k = key();
      expect((await kvx(['stop', '-k', k, '-r', 'Setting a stop key.'])).code).to.equal(0);
      expect((await consul.kv.get(`kvexpress/${k}/stop`)).value?.value.toString()).to.equal('Setting a stop key.');
      const r = await kvx(['start', '-k', k]);
      expect(r.code).to.equal(0);
      expect(r.stdout).to.include('was stopped: Setting a stop key.');
      expect((await consul.kv.get(`kvexpress/${k}/stop`)).value).to.equal(undefined);
    });

    it('pin writes the note file and unpin removes it (T_30..T_38)', async () => {
      const file = path.join(dir, 'lock-test');
      expect((await kvx(['pin', '-f', file])).code).to.equal(0);
      expect(await readFile(`${file}.locked`, 'utf8')).to.include('No reason given');
      expect((await kvx(['unpin', '-f', file])).code).to.equal(0);
      expect(await stat(`${file}.locked`).catch(() => undefined)).to.equal(undefined);
    });

    it('clean removes the file and its side files (T_40..T_44), or only the side files with --keep-file', async () => {
      for (const f of ['sorting', 'sorting.compare', 'sorting.last', 'kept', 'kept.last']) await writeFile(path.join(dir, f), 'x');
      const r = await kvx(['clean', '-f', 'sorting'], { noAgent: true });
      expect(r.code, r.stderr).to.equal(0);
      for (const f of ['sorting', 'sorting.compare', 'sorting.last']) expect(await stat(path.join(dir, f)).catch(() => undefined)).to.equal(undefined);
      expect((await kvx(['clean', '-f', 'kept', '--keep-file'], { noAgent: true })).code).to.equal(0);
      expect(await readFile(path.join(dir, 'kept'), 'utf8')).to.equal('x');
      expect(await stat(path.join(dir, 'kept.last')).catch(() => undefined)).to.equal(undefined);
    });

    it('status shows a table with size, encoding, checksum, index and stop reason', async () => {
      const prefix = `status${++n}`;
      await writeFile(path.join(dir, 'a'), lines(12));
      await kvx(['in', '-k', 'alpha', '-f', 'a', '-p', prefix]);
      await kvx(['in', '-k', 'beta', '-f', 'a', '-p', prefix, '-z']);
      await kvx(['stop', '-k', 'beta', '-r', 'frozen', '-p', prefix]);
      const r = await kvx(['status', '-p', prefix]);
      expect(r.code, r.stderr).to.equal(0);
      const [header, alpha, beta] = r.stdout.trim().split('\n');
      expect(header).to.match(/^KEY\s+SIZE\s+ENCODING\s+CHECKSUM\s+INDEX\s+STOP$/);
      expect(alpha).to.match(new RegExp(`^alpha\\s+${lines(12).length}\\s+plain\\s+${sha(lines(12)).slice(0, 12)}\\s+\\d+\\s+-$`));
      expect(beta).to.match(/^beta\s+.*brotli.*STOPPED: frozen$/);
    });

    it('status --json prints the files as one document', async () => {
      const prefix = `status${++n}`;
      await writeFile(path.join(dir, 'a'), lines(12));
      await kvx(['in', '-k', 'alpha', '-f', 'a', '-p', prefix]);
      const r = await kvx(['status', '-p', prefix, '--json']);
      const doc = JSON.parse(r.stdout) as { files: { key: string; checksum: string; index: string }[] };
      expect(doc.files).to.have.length(1);
      expect(doc.files[0]).to.include({ key: 'alpha', checksum: sha(lines(12)) });
      expect(doc.files[0]?.index).to.match(/^\d+$/);
    });

    it('diff shows what out would change, and exits 0', async () => {
      const k = key();
      await published(k);
      await writeFile(path.join(dir, 'local'), lines(12).replace('line 3', 'line three'));
      const r = await kvx(['diff', '-k', k, '-f', 'local']);
      expect(r.code, r.stderr).to.equal(0);
      expect(r.stdout).to.include('-line three').and.include('+line 3');
      await writeFile(path.join(dir, 'local'), lines(12));
      const same = await kvx(['diff', '-k', k, '-f', 'local', '-c', '0644']);
      expect(same.stdout).to.include('up to date');
    });
  });
});
