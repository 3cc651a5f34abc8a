/**
 * The commander program: verbs, their flags and help text. Each action loads its command module on demand,
 * so `kvx out` never pays for the dev agent, the diff library or the progress bar.
 *
 * @module
 */

import { readFileSync } from 'node:fs';
import { Command, Option } from 'commander';
import type {
  CleanArgs,
  CopyArgs,
  DemoArgs,
  DiffArgs,
  InArgs,
  OutArgs,
  PinArgs,
  RawArgs,
  StartArgs,
  StatusArgs,
  StopArgs,
  UnpinArgs,
} from './args.js';
import type { CommandContext } from './context.js';
import { exitCodeHelpText } from './exit-codes.js';
import {
  addConsulFlags,
  addExecFlags,
  addFileModeFlags,
  addLengthFlags,
  addOutputFlags,
  addPrefixFlag,
  checkRequiredOptions,
  hiddenAlias,
  keyOption,
  maxValueSizeOption,
  mergeAlias,
  required,
  withoutNegatableDefaults,
} from './flags.js';
import { parseCount, parseDuration, parseKey } from './parse.js';

/** Verbs whose whole command line belongs to another package's entry point. */
export const PASSTHROUGH_VERBS: ReadonlySet<string> = new Set(['agent', 'lock']);

/** The `@kvx/cli` version, read from its package.json (same relative path from `src/` and `dist/`). */
export function cliVersion(): string {
  const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}

/** Commander's error text as one `kvx: …` line. */
function oneLine(text: string): string {
  return `kvx: ${text.replace(/^error: /, '').replace(/\s*\n\s*/g, ' ').trim()}\n`;
}

/** Folds the hidden kvexpress spellings `--server` and `--dogstatsd_address` into their kvx flags. */
function withConsulAliases(opts: Record<string, unknown>): Record<string, unknown> {
  const { server, dogstatsd_address: dogstatsdAddress, ...rest } = opts;
  return {
    ...rest,
    ...(rest['httpAddr'] === undefined && server !== undefined ? { httpAddr: server } : {}),
    ...(rest['dogstatsd'] === undefined && dogstatsdAddress !== undefined ? { dogstatsd: dogstatsdAddress } : {}),
  };
}

/**
 * Builds the program. `setExitCode` receives the exit code of the command that ran; commander errors
 * (unknown verb or flag, missing mandatory flag) surface as a thrown `CommanderError` after their one-line
 * message was written.
 */
export function buildProgram(ctx: CommandContext, setExitCode: (code: number) => void): Command {
  const program = new Command('kvx');
  program
    .description('Move configuration files through Consul KV (kvexpress successor), run 1-of-N locked processes, and a dev agent.')
    .version(cliVersion(), '-v, --version', 'print the version')
    .exitOverride()
    .configureOutput({
      writeOut: (s) => ctx.stdout.write(s),
      writeErr: (s) => ctx.stderr.write(s),
      outputError: (s, write) => write(oneLine(s)),
    })
    .addHelpText('after', exitCodeHelpText())
    .helpCommand('help [command]', 'show help for a command');

  type Opts = Record<string, unknown>;
  const action = <A>(
    cmd: Command,
    load: () => Promise<(ctx: CommandContext, args: A) => Promise<number>>,
    toArgs: (opts: Opts) => A = (opts) => opts as A,
  ): Command =>
    cmd.action(async (_opts: unknown, self: Command) => {
      checkRequiredOptions(self);
      const args = toArgs(withConsulAliases(withoutNegatableDefaults(self, self.opts())));
      const fn = await load();
      setExitCode(await fn(ctx, args));
    });

  // in
  const inCmd = program
    .command('in')
    .description('publish a file, a URL or stdin (-f -) to <prefix>/<key> (data + checksum, one transaction)')
    .addOption(keyOption(true))
    .addOption(new Option('-f, --file <file>', 'input file, or - for stdin').conflicts('url'))
    .option('-u, --url <url>', 'input URL (http or https; non-2xx is an error)');
  addPrefixFlag(inCmd);
  addLengthFlags(inCmd);
  inCmd
    .option('-S, --sorted', 'sort lines (byte order) and drop empty lines, as kvexpress --sorted')
    .option('-z, --compress', 'store brotli-compressed (KV flags 1, kvexpress v1.16 format)')
    .addOption(maxValueSizeOption());
  addExecFlags(inCmd);
  addConsulFlags(inCmd);
  action<InArgs>(inCmd, async () => (await import('./commands/in.js')).inCommand);

  // out
  const outCmd = program
    .command('out')
    .description('deliver <prefix>/<key> to a file: verify, write atomically, run --exec; --watch keeps delivering')
    .addOption(keyOption(false))
    .option('-f, --file <file>', 'file to write')
    .option('-z, --compress', 'also decode kvexpress <= 1.15 gzip+base64 values (plain and brotli are detected by their flags)');
  addPrefixFlag(outCmd);
  addLengthFlags(outCmd);
  addFileModeFlags(outCmd);
  addExecFlags(outCmd);
  outCmd
    .option('--validate <command>', 'command that must accept the new content ({} or $KVX_TEMP_FILE = temp file) before it is swapped in')
    .option('--ignore-stop', 'deliver even while the stop key is set')
    .addOption(hiddenAlias('--ignore_stop', 'kvexpress spelling of --ignore-stop'))
    .option('--watch', 'keep running: deliver every change (the --config files: list, or -k/-f) until SIGINT/SIGTERM')
    .option('--splay <duration>', 'wait a random delay up to this before --exec, so a fleet does not reload at once', (v) => parseDuration(v, '--splay'));
  addConsulFlags(outCmd);
  action<OutArgs>(
    outCmd,
    async () => (await import('./commands/out.js')).outCommand,
    (opts) => {
      const { ignore_stop: _alias, ...rest } = opts;
      const ignoreStop = mergeAlias<boolean>(opts, 'ignoreStop', 'ignore_stop');
      return { ...rest, ...(ignoreStop === undefined ? {} : { ignoreStop }) };
    },
  );

  // raw
  const rawCmd = program
    .command('raw')
    .description('write any key\'s value verbatim to a file (full key path; no prefix, checksum or decoding)')
    .addOption(keyOption(true, 'full key path'))
    .addOption(required(new Option('-f, --file <file>', 'file to write')));
  addLengthFlags(rawCmd);
  addFileModeFlags(rawCmd);
  addExecFlags(rawCmd);
  addConsulFlags(rawCmd);
  action<RawArgs>(rawCmd, async () => (await import('./commands/raw.js')).rawCommand);

  // copy
  const copyCmd = program
    .command('copy')
    .description('copy a published file from one key to another (promote a canary)')
    .option('--from <key>', 'source key', (v) => parseKey(v, '--from'))
    .option('--to <key>', 'destination key', (v) => parseKey(v, '--to'))
    .addOption(hiddenAlias('--keyfrom <key>', 'kvexpress spelling of --from').argParser((v) => parseKey(v, '--keyfrom')))
    .addOption(hiddenAlias('--keyto <key>', 'kvexpress spelling of --to').argParser((v) => parseKey(v, '--keyto')))
    .option('-z, --compress', 'store the destination brotli-compressed (default: the source\'s encoding)')
    .option('-l, --length <lines>', 'minimum number of lines of the source (default 10)', (v) => parseCount(v, '--length'));
  addPrefixFlag(copyCmd);
  addConsulFlags(copyCmd);
  action<CopyArgs>(
    copyCmd,
    async () => (await import('./commands/copy.js')).copyCommand,
    (opts) => {
      const { keyfrom: _f, keyto: _t, ...rest } = opts;
      return {
        ...rest,
        from: mergeAlias<string>(opts, 'from', 'keyfrom'),
        to: mergeAlias<string>(opts, 'to', 'keyto'),
      } as CopyArgs;
    },
  );

  // stop / start
  const stopCmd = program
    .command('stop')
    .description('set the stop key: every in/out of <prefix>/<key> halts until kvx start')
    .addOption(keyOption(true))
    .addOption(required(new Option('-r, --reason <text>', 'why (shown to everyone who is stopped)')));
  addPrefixFlag(stopCmd);
  addConsulFlags(stopCmd);
  action<StopArgs>(stopCmd, async () => (await import('./commands/stop.js')).stopCommand);

  const startCmd = program.command('start').description('clear the stop key of <prefix>/<key>').addOption(keyOption(true));
  addPrefixFlag(startCmd);
  addConsulFlags(startCmd);
  action<StartArgs>(startCmd, async () => (await import('./commands/start.js')).startCommand);

  // pin / unpin
  const pinCmd = program
    .command('pin')
    .description('pin a file on this host: out leaves it untouched until kvx unpin (kvexpress lock)')
    .addOption(required(new Option('-f, --file <file>', 'absolute path of the delivered file')))
    .option('-r, --reason <text>', 'why (default: who and when)');
  addPrefixFlag(pinCmd);
  addConsulFlags(pinCmd);
  action<PinArgs>(pinCmd, async () => (await import('./commands/pin.js')).pinCommand);

  const unpinCmd = program
    .command('unpin')
    .description('release the pin of a file on this host (kvexpress unlock)')
    .addOption(required(new Option('-f, --file <file>', 'absolute path of the delivered file')));
  addPrefixFlag(unpinCmd);
  addConsulFlags(unpinCmd);
  action<UnpinArgs>(unpinCmd, async () => (await import('./commands/unpin.js')).unpinCommand);

  // clean
  const cleanCmd = program
    .command('clean')
    .description('remove a file and its kvx side files (no Consul access)')
    .addOption(required(new Option('-f, --file <file>', 'file to remove, with its .compare, .last and leftover temp files')))
    .option('--keep-file', 'remove only the side files, keep the file itself');
  addOutputFlags(cleanCmd);
  action<CleanArgs>(cleanCmd, async () => (await import('./commands/clean.js')).cleanCommand);

  // status
  const statusCmd = program
    .command('status')
    .description('table of the files published under a prefix: size, encoding, checksum, index, stop reason')
    .addOption(keyOption(false, 'only this key'));
  addPrefixFlag(statusCmd);
  addConsulFlags(statusCmd);
  action<StatusArgs>(statusCmd, async () => (await import('./commands/status.js')).statusCommand);

  // diff
  const diffCmd = program
    .command('diff')
    .description('show what kvx out would change in a file (unified diff); exit 0 either way')
    .addOption(keyOption(true))
    .addOption(required(new Option('-f, --file <file>', 'the delivered file')))
    .option('-z, --compress', 'also decode kvexpress <= 1.15 gzip+base64 values');
  addPrefixFlag(diffCmd);
  addLengthFlags(diffCmd);
  addFileModeFlags(diffCmd);
  addConsulFlags(diffCmd);
  action<DiffArgs>(diffCmd, async () => (await import('./commands/diff.js')).diffCommand);

  // demo
  const demoCmd = program
    .command('demo')
    .description('self-contained tour: embedded dev agent, a published file, watchers delivering it, a stop key')
    .option('--watchers <n>', 'number of delivery watchers (default 5)', (v) => parseCount(v, '--watchers'));
  addOutputFlags(demoCmd);
  action<DemoArgs>(demoCmd, async () => (await import('./commands/demo.js')).demoCommand);

  // Listed for help only: run() hands their command lines to @kvx/devagent and @kvx/lock untouched.
  program.command('agent').description('run a Consul-compatible dev agent: kvx agent --dev [--http-addr 127.0.0.1:8500] (see kvx agent --help)');
  program.command('lock').description('run a command while holding a Consul lock or semaphore slot, consul-lock compatible (see kvx lock --help)');

  return program;
}
