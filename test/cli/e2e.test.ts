/**
 * End-to-end: the shipped binary (packages/cli/bin/kvx.js → dist/kvx.mjs, the esbuild bundle) as users run it.
 * `npm test` builds before mocha; run `npm run build` first when running this file alone (`tsc -b` alone does
 * not rebuild the bundle: the `before` hook refuses a missing or stale one).
 */
import { expect } from 'chai';
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { REPO_ROOT, spawnAgent, type SpawnedAgent } from '../support/dev-agent.js';

const BIN = fileURLToPath(new URL('../../packages/cli/bin/kvx.js', import.meta.url));
const BUNDLE = fileURLToPath(new URL('../../packages/cli/dist/kvx.mjs', import.meta.url));
/** Compiled output the bundle is made from. */
const BUNDLED_DIST = ['cli', 'client'].map((p) => fileURLToPath(new URL(`../../packages/${p}/dist/`, import.meta.url)));

/** Newest modification time (ms) of the compiled `.js` files under `dir`. */
function newestJs(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (entry.isFile() && entry.name.endsWith('.js')) newest = Math.max(newest, statSync(path.join(entry.parentPath, entry.name)).mtimeMs);
  }
  return newest;
}

interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Runs the binary to completion (killed after `timeoutMs`). */
function kvx(args: readonly string[], opts: { cwd: string; env?: NodeJS.ProcessEnv; timeoutMs?: number }): Promise<Exit> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], {
      cwd: opts.cwd,
      env: { PATH: process.env['PATH'], HOME: process.env['HOME'], ...opts.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (c: string) => (stdout += c));
    child.stderr.setEncoding('utf8').on('data', (c: string) => (stderr += c));
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 15_000);
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
  });
}

describe('kvx binary (end to end)', function () {
  let dir: string;
  before(() => {
    if (!existsSync(BUNDLE)) throw new Error(`${BUNDLE} is missing: run \`npm run build\` first`);
    const compiled = Math.max(...BUNDLED_DIST.map(newestJs));
    if (statSync(BUNDLE).mtimeMs < compiled) {
      throw new Error(`${BUNDLE} is older than the compiled sources (tsc -b without the bundle step): run \`npm run build\``);
    }
  });
  beforeEach(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'kvx-cli-e2e-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('kvx --help lists the exit codes', async () => {
    const r = await kvx(['--help'], { cwd: dir });
    expect(r.code).to.equal(0);
    expect(r.stdout).to.include('Exit codes:').and.match(/ 5 {2}Consul unreachable/).and.match(/ 8 {2}the file was written but the --exec/);
  });

  it('kvx help lock | true: a reader that went away ends the command quietly with exit 0', async () => {
    const child = spawn(process.execPath, [BIN, 'help', 'lock'], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (c: string) => (stderr += c));
    child.stdout.destroy();
    const code = await new Promise<number | null>((resolve) => child.on('exit', (c) => resolve(c)));
    expect(stderr).to.equal('');
    expect(code).to.equal(0);
  });

  it('an unknown command exits 1 with one line and no stack trace', async () => {
    const r = await kvx(['nope'], { cwd: dir });
    expect(r.code).to.equal(1);
    expect(r.stderr).to.equal("kvx: unknown command 'nope' (Did you mean copy?)\n");
  });

  describe('against a dev agent', () => {
    let agent: SpawnedAgent;
    before(async () => {
      agent = await spawnAgent();
    });
    after(async () => {
      await agent.stop();
    });

    it('kvx in + kvx out round-trip a file', async () => {
      const fixture = '/work/shared/fixtures/kvexpress/url-gistfile1.txt';
      const env = { CONSUL_HTTP_ADDR: agent.url };
      const pub = await kvx(['in', '-k', 'e2e', '-f', fixture, '-z'], { cwd: dir, env });
      expect(pub.code, pub.stderr).to.equal(0);
      const del = await kvx(['out', '-k', 'e2e', '-f', 'hosts', '-c', '0644'], { cwd: dir, env });
      expect(del.code, del.stderr).to.equal(0);
      expect(await readFile(path.join(dir, 'hosts'))).to.deep.equal(await readFile(fixture));
    });

    it('kvx out --watch delivers, then exits 0 on SIGTERM without lingering', async () => {
      const env = { CONSUL_HTTP_ADDR: agent.url };
      await writeFile(path.join(dir, 'src'), 'watched\n'.repeat(12));
      expect((await kvx(['in', '-k', 'e2e-watch', '-f', 'src'], { cwd: dir, env })).code).to.equal(0);
      const child = spawn(process.execPath, [BIN, 'out', '--watch', '-k', 'e2e-watch', '-f', 'hosts'], {
        cwd: dir,
        env: { PATH: process.env['PATH'], ...env },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let stdout = '';
      child.stdout.setEncoding('utf8').on('data', (c: string) => (stdout += c));
      const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
      for (let i = 0; i < 250 && !stdout.includes('written from e2e-watch'); i++) {
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      expect(await readFile(path.join(dir, 'hosts'), 'utf8')).to.equal('watched\n'.repeat(12));
      child.kill('SIGTERM');
      expect(await exited).to.equal(0);
      expect(stdout).to.match(/stopped\n$/);
    });

    it('kvx status with its stdout closed before it prints exits 0 without a stack trace', async () => {
      const env = { CONSUL_HTTP_ADDR: agent.url };
      await writeFile(path.join(dir, 'src'), 'status\n'.repeat(12));
      expect((await kvx(['in', '-k', 'e2e-status', '-f', 'src'], { cwd: dir, env })).code).to.equal(0);
      const child = spawn(process.execPath, [BIN, 'status'], { cwd: dir, env: { PATH: process.env['PATH'], ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
      child.stdout.destroy();
      let stderr = '';
      child.stderr.setEncoding('utf8').on('data', (c: string) => (stderr += c));
      const code = await new Promise<number | null>((resolve) => child.on('exit', (c) => resolve(c)));
      expect(stderr).to.equal('');
      expect(code).to.equal(0);
    });

    it('SIGINT during kvx out --validate ends the validate process, removes the temp file and exits 130', async () => {
      const env = { CONSUL_HTTP_ADDR: agent.url };
      await writeFile(path.join(dir, 'src'), 'validated\n'.repeat(12));
      expect((await kvx(['in', '-k', 'e2e-int', '-f', 'src'], { cwd: dir, env })).code).to.equal(0);
      const pidFile = path.join(dir, 'validate.pid');
      const child = spawn(process.execPath, [BIN, 'out', '-k', 'e2e-int', '-f', 'hosts', '--shell', '--validate', `echo $$ > ${pidFile}; exec sleep 31`], {
        cwd: dir,
        env: { PATH: process.env['PATH'], ...env },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let stderr = '';
      child.stderr.setEncoding('utf8').on('data', (c: string) => (stderr += c));
      const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
      let pid = '';
      for (let i = 0; i < 250 && pid === ''; i++) {
        await new Promise((resolve) => setTimeout(resolve, 20));
        pid = (await readFile(pidFile, 'utf8').catch(() => '')).trim();
      }
      child.kill('SIGINT');
      expect(await exited).to.equal(130);
      expect(stderr).to.match(/^kvx: interrupted by SIGINT/);
      expect((await readdir(dir)).sort()).to.deep.equal(['src', 'validate.pid']);
      let gone = false;
      for (let i = 0; i < 100 && !gone; i++) {
        try {
          process.kill(Number(pid), 0);
          await new Promise((resolve) => setTimeout(resolve, 20));
        } catch {
          gone = true;
        }
      }
      expect(gone, `validate process ${pid} still running`).to.equal(true);
    });

    it('kvx out exits 5 in bounded time when the agent is down', async () => {
      const r = await kvx(['out', '-k', 'e2e', '-f', 'x', '--http-addr', '127.0.0.1:1', '--retries', '1'], { cwd: dir });
      expect(r.code).to.equal(5);
      expect(r.stderr.split('\n').filter(Boolean)).to.have.length(1);
    });
  });

  it('kvx demo exits 0', async () => {
    const r = await kvx(['demo'], { cwd: dir, timeoutMs: 20_000 });
    expect(r.code, r.stderr).to.equal(0);
    expect(r.stdout).to.include('5 nodes converged');
  });

  it('kvx agent --dev prints the listening line and exits 0 on SIGTERM', async () => {
    const child = spawn(process.execPath, [BIN, 'agent', '--dev', '--http-addr', '127.0.0.1:0'], {
      cwd: dir,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    child.stdout.setEncoding('utf8').on('data', (c: string) => (stdout += c));
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    for (let i = 0; i < 250 && !/listening on http:\/\/127\.0\.0\.1:\d+/.test(stdout); i++) {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    expect(stdout).to.match(/^kvx dev agent listening on http:\/\/127\.0\.0\.1:\d+\n$/);
    child.kill('SIGTERM');
    expect(await exited).to.equal(0);
  });

  it('kvx lock runs a child under the lock', async () => {
    const agent = await spawnAgent();
    try {
      const marker = path.join(dir, 'ran');
      await writeFile(marker, '');
      const r = await kvx(['lock', '--http-addr', agent.url, 'e2e/lock', `echo locked > ${marker}`], { cwd: dir });
      expect(r.code, r.stderr).to.equal(0);
      expect(await readFile(marker, 'utf8')).to.equal('locked\n');
    } finally {
      await agent.stop();
    }
  });

  it('runs from the repository root too (bin shim path resolution)', async () => {
    const r = await kvx(['--version'], { cwd: REPO_ROOT });
    expect(r.code).to.equal(0);
    expect(r.stdout).to.match(/^\d+\.\d+\.\d+\n$/);
  });
});
