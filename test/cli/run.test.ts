import { expect } from 'chai';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { run } from '../../packages/cli/src/run.js';
import { EXIT_CODE_HELP, ExitCode } from '../../packages/cli/src/exit-codes.js';
import { testContext, type TestContext } from './support/context.js';

describe('kvx command line', () => {
  let dir: string;
  let ctx: TestContext;
  beforeEach(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'kvx-cli-run-'));
    ctx = testContext({ cwd: dir });
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  /** The command failed with exactly one `kvx: …` line and nothing on stdout. */
  function expectOneLineError(pattern: RegExp): void {
    expect(ctx.stderr.lines, ctx.stderr.text).to.have.length(1);
    expect(ctx.stderr.lines[0]).to.match(/^kvx: /).and.match(pattern);
    expect(ctx.stderr.text).not.to.match(/\n\s+at /);
    expect(ctx.stdout.text).to.equal('');
  }

  it('lists every exit code in --help and exits 0', async () => {
    expect(await run(['--help'], ctx)).to.equal(0);
    expect(ctx.stdout.text).to.include('Exit codes:');
    for (const [code, text] of EXIT_CODE_HELP) expect(ctx.stdout.text).to.include(`${String(code).padStart(3)}  ${text}`);
  });

  it('says in the help which code a too-short input of in gets (1) and which a too-short delivery gets (4)', async () => {
    expect(await run(['--help'], ctx)).to.equal(0);
    expect(ctx.stdout.text).to.match(/\n {4}1 {2}usage or bad input \(.*for in: input empty, too short or too small\)/);
    expect(ctx.stdout.text).to.match(/\n {4}4 {2}verification failed when delivering \(out\/raw\/copy\/diff: missing, empty, too short,/);
  });

  it('lists the interrupted exit codes 130 (SIGINT) and 143 (SIGTERM) in the help', async () => {
    expect(await run(['--help'], ctx)).to.equal(0);
    expect(ctx.stdout.text).to.match(/\n {2}130 {2}interrupted by SIGINT/).and.match(/\n {2}143 {2}interrupted by SIGTERM/);
  });

  it('prints the help and exits 0 when called without a command (kvexpress T_06)', async () => {
    expect(await run([], ctx)).to.equal(0);
    expect(ctx.stdout.text).to.include('Usage: kvx');
  });

  it('prints the version with --version', async () => {
    expect(await run(['--version'], ctx)).to.equal(0);
    expect(ctx.stdout.text.trim()).to.match(/^\d+\.\d+\.\d+/);
  });

  it('shows a verb\'s flags with <verb> --help', async () => {
    expect(await run(['out', '--help'], ctx)).to.equal(0);
    expect(ctx.stdout.text).to.include('--ignore-stop').and.include('--watch').and.include('--dogstatsd');
  });

  it('shows the dev agent\'s and the lock supervisor\'s own help for help agent / help lock', async () => {
    expect(await run(['help', 'agent'], ctx)).to.equal(0);
    expect(ctx.stdout.text).to.include('Usage: kvx agent --dev [options]');
    expect(await run(['help', 'lock'], ctx)).to.equal(0);
    expect(ctx.stdout.text).to.include('Usage: kvx lock [options] PREFIX CHILD...');
  });

  it('rejects an unknown command with exit 1 and one line', async () => {
    expect(await run(['frobnicate'], ctx)).to.equal(ExitCode.USAGE);
    expectOneLineError(/unknown command 'frobnicate'/);
  });

  it('rejects an unknown flag with exit 1 and one line', async () => {
    expect(await run(['in', '-k', 'x', '-f', 'f', '--bogus'], ctx)).to.equal(ExitCode.USAGE);
    expectOneLineError(/unknown option '--bogus'/);
  });

  it('reports an unknown flag before a missing mandatory one', async () => {
    expect(await run(['in', '--bogus'], ctx)).to.equal(ExitCode.USAGE);
    expectOneLineError(/^kvx: unknown option '--bogus'$/);
  });

  it('still reports a missing mandatory flag of another verb after its other flags were checked (raw -k x)', async () => {
    expect(await run(['raw', '-k', 'x'], ctx)).to.equal(ExitCode.USAGE);
    expectOneLineError(/^kvx: required option '-f, --file <file>' not specified$/);
    expect(ctx.consulOptions).to.have.length(0);
  });

  it('rejects a missing mandatory flag with exit 1 and one line', async () => {
    expect(await run(['stop', '-k', 'x'], ctx)).to.equal(ExitCode.USAGE);
    expectOneLineError(/required option '-r, --reason <text>' not specified/);
  });

  it('rejects an invalid flag value with exit 1, one line naming the flag', async () => {
    expect(await run(['out', '-k', 'x', '-f', 'f', '--chmod', '0999'], ctx)).to.equal(ExitCode.USAGE);
    expectOneLineError(/--chmod: invalid file mode '0999'/);
  });

  it('rejects kvexpress\'s "-z true" spelling instead of ignoring the value', async () => {
    expect(await run(['in', '-k', 'x', '-f', 'f', '-z', 'true'], ctx)).to.equal(ExitCode.USAGE);
    expectOneLineError(/too many arguments/);
  });

  it('rejects an invalid --dogstatsd address before connecting', async () => {
    expect(await run(['out', '-k', 'x', '-f', 'f', '--dogstatsd', 'localhost'], ctx)).to.equal(ExitCode.USAGE);
    expectOneLineError(/--dogstatsd: invalid address 'localhost'/);
  });

  it('rejects a key with a leading slash (kvexpress wrote kvexpress//x)', async () => {
    expect(await run(['start', '-k', '/x'], ctx)).to.equal(ExitCode.USAGE);
    expectOneLineError(/--key: invalid key '\/x'/);
  });

  it('rejects --stale with --consistent', async () => {
    expect(await run(['status', '--stale', '--consistent'], ctx)).to.equal(ExitCode.USAGE);
    expectOneLineError(/cannot be used/);
  });

  it('reports a missing config file with exit 1 before connecting', async () => {
    expect(await run(['status', '--config', path.join(dir, 'nope.yaml')], ctx)).to.equal(ExitCode.USAGE);
    expectOneLineError(/cannot read config file .*nope\.yaml: ENOENT/);
    expect(ctx.consulOptions).to.have.length(0);
  });

  it('adds a JSON error document on stdout with --json', async () => {
    expect(await run(['in', '-k', 'x', '--json'], ctx)).to.equal(ExitCode.USAGE);
    expect(JSON.parse(ctx.stdout.text)).to.deep.include({ ok: false, exitCode: 1 });
    expect(ctx.stderr.lines).to.have.length(1);
  });
});
