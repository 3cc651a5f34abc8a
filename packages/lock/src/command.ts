/**
 * `kvx lock` / `kvx-lock`: the command line of the supervisor. Flags are `consul lock`'s (in GNU spelling,
 * with Go's single-dash spelling accepted too, see `argv.ts`) plus kvx's additions; validation messages and
 * exit codes are `consul lock`'s.
 *
 * @module
 */

import { Command, CommanderError, Option } from 'commander';
import { Consul, InvalidArgumentError, KvxError, parseDuration, type ConsulOptions, type TlsOptions } from '@kvx/client';
import { normaliseArgv } from './argv.js';
import { resolveSupervisorSettings, type SupervisorLog, type SupervisorOptions } from './options.js';
import { processSignals, type SignalSource } from './signals.js';
import { LockSupervisor } from './supervisor.js';

/** Streams, environment and signals of the command; each defaults to the current process's. */
export interface LockIo {
  /** How the command was invoked, for the help's usage line: `kvx-lock` for the bin. Default: `kvx lock`. */
  programName?: string;
  /** Help output. */
  stdout?: NodeJS.WritableStream;
  /** Errors, warnings and (with `--verbose`) progress messages. */
  stderr?: NodeJS.WritableStream;
  /** Environment: `CONSUL_*` settings, `SHELL`, and the base of the child's environment. */
  env?: Readonly<Record<string, string | undefined>>;
  /** Signals to forward to the child (SIGINT/SIGTERM also stop the supervision). */
  signals?: SignalSource;
}

/** The parsed command line. */
export interface LockCommandLine {
  /** Supervisor options, without the client, log and environment. */
  supervisor: Omit<SupervisorOptions, 'consul' | 'log' | 'env'>;
  /** Client options from the Consul flags; the `CONSUL_*` environment fills the rest. */
  consul: ConsulOptions;
  /** `--verbose`. */
  verbose: boolean;
  /** `--dogstatsd`: where the client sends its request metrics; none when absent. */
  dogstatsd?: DogStatsdAddress;
}

/** A DogStatsD agent's UDP address. */
export interface DogStatsdAddress {
  /** Host name or IP address from `--dogstatsd <host:port>`; an IPv6 address is given in brackets, stored without them. */
  host: string;
  /** UDP port from `--dogstatsd <host:port>`, 1–65535. */
  port: number;
}

/** The program name in the help when {@link LockIo.programName} is not given. */
export const DEFAULT_PROGRAM_NAME = 'kvx lock';

interface RawFlags {
  limit: string;
  name?: string;
  passStdin?: boolean;
  timeout?: string;
  try?: string;
  monitorRetry: string;
  shell: boolean;
  childExitCode?: boolean;
  verbose?: boolean;
  sessionTtl: string;
  lockDelay?: string;
  killGrace: string;
  fenceMargin?: string;
  httpAddr?: string;
  token?: string;
  tokenFile?: string;
  datacenter?: string;
  stale?: boolean;
  consistent?: boolean;
  caFile?: string;
  caPath?: string;
  clientCert?: string;
  clientKey?: string;
  tlsServerName?: string;
  tlsSkipVerify?: boolean;
  dogstatsd?: string;
}

function program(name: string, out: (s: string) => void, err: (s: string) => void): Command {
  return new Command(name)
    .usage('[options] PREFIX CHILD...')
    .description(
      'Run CHILD only while holding a lock (or a semaphore slot) at PREFIX: start the same command on N machines, ' +
        'one runs it and the others wait as hot spares. Compatible with `consul lock` on the same keys. ' +
        "Single-dash long flags (consul's -timeout=5s) are accepted too.",
    )
    .argument('[prefix]', 'key prefix; the lock key is PREFIX/.lock')
    .argument('[child...]', 'command to run while the lock is held')
    .option('-n, --limit <n>', 'holder limit: 1 = lock at PREFIX/.lock, more = semaphore under PREFIX', '1')
    .option('--name <name>', "session name (default: Consul lock for '<child>' at '<prefix>')")
    .option('--pass-stdin', 'let the child read stdin (default: the null device)')
    .option('--timeout <duration>', 'give up acquiring after this long (default 0: wait forever)')
    .option('--try <duration>', 'deprecated alias of --timeout')
    .option('--monitor-retry <n>', 'transient errors tolerated while watching the lock (1 s apart)', '3')
    .option('--shell', 'run CHILD through $SHELL -c', true)
    .option('--no-shell', 'execute CHILD directly')
    .option('--child-exit-code', 'exit 2 if the child fails')
    .option('--verbose', 'explain every step on stderr')
    .option('--session-ttl <duration>', 'session TTL', '15s')
    .option('--lock-delay <duration>', "session lock-delay (default: the server's, 15s)")
    .option('--kill-grace <duration>', 'SIGTERM to SIGKILL grace when stopping the child', '5s')
    .option('--fence-margin <duration>', 'child is killed this long before the session could expire (default TTL/5)')
    .option('--http-addr <address>', 'Consul agent address (default: CONSUL_HTTP_ADDR, 127.0.0.1:8500)')
    .option('--token <token>', 'ACL token (default: CONSUL_HTTP_TOKEN)')
    .option('--token-file <path>', 'file holding the ACL token (default: CONSUL_HTTP_TOKEN_FILE)')
    .option('--datacenter <dc>', "datacenter (default: the agent's)")
    // Every read of the lock and semaphore sets its own consistency (see README), so these two only change
    // the client's default for other reads; they exist because every other kvx command accepts them.
    .addOption(new Option('--stale', 'default reads may be stale (lock reads keep their own consistency)').conflicts('consistent'))
    .option('--consistent', 'default reads are consistent (lock reads keep their own consistency)')
    .option('--ca-file <path>', 'CA certificate file (default: CONSUL_CACERT)')
    .option('--ca-path <dir>', 'directory of CA certificates (default: CONSUL_CAPATH)')
    .option('--client-cert <path>', 'client certificate (default: CONSUL_CLIENT_CERT)')
    .option('--client-key <path>', 'client key (default: CONSUL_CLIENT_KEY)')
    .option('--tls-server-name <name>', 'server name to verify (default: CONSUL_TLS_SERVER_NAME)')
    .option('--tls-skip-verify', "do not verify the agent's certificate (default: CONSUL_HTTP_SSL_VERIFY)")
    .option('--dogstatsd <host:port>', "send the client's request metrics to this DogStatsD agent")
    .helpOption('-h, --help', 'show this help')
    .addHelpText(
      'after',
      '\nThe child gets CONSUL_LOCK_HELD=true, KVX_LOCK_INDEX (fencing token) and KVX_LOCK_SESSION.\n' +
        'Exit codes: 0 done (also after the lock was lost or a shutdown signal), 1 usage, setup,\n' +
        'acquisition failure or timeout, 2 failed child with --child-exit-code.\n',
    )
    .passThroughOptions()
    .exitOverride()
    .configureOutput({ writeOut: out, writeErr: err, outputError: (text, write) => write(text) });
}

function integerFlag(flag: string, raw: string): number {
  if (!/^[+-]?\d+$/.test(raw.trim())) throw new InvalidArgumentError(`invalid value "${raw}" for flag -${flag}: parse error`);
  return Number(raw);
}

function durationFlag(flag: string, raw: string): number {
  try {
    return parseDuration(raw);
  } catch {
    throw new InvalidArgumentError(`invalid value "${raw}" for flag -${flag}: parse error`);
  }
}

function hostPortFlag(flag: string, raw: string): DogStatsdAddress {
  const m = /^(?:\[([^\]]+)\]|([^:[\]\s]+)):(\d{1,5})$/.exec(raw.trim());
  const host = m?.[1] ?? m?.[2];
  const port = Number(m?.[3]);
  if (host === undefined || !(port > 0 && port < 65536)) {
    throw new InvalidArgumentError(`invalid value "${raw}" for flag -${flag}: parse error (use host:port)`);
  }
  return { host, port };
}

function consulOptions(flags: RawFlags): ConsulOptions {
  const options: ConsulOptions = {};
  if (flags.httpAddr !== undefined) options.address = flags.httpAddr;
  if (flags.token !== undefined) options.token = flags.token;
  if (flags.tokenFile !== undefined) options.tokenFile = flags.tokenFile;
  if (flags.datacenter !== undefined) options.datacenter = flags.datacenter;
  if (flags.stale === true) options.consistency = 'stale';
  if (flags.consistent === true) options.consistency = 'consistent';
  const tls: TlsOptions = {};
  if (flags.caFile !== undefined) tls.caFile = flags.caFile;
  if (flags.caPath !== undefined) tls.caPath = flags.caPath;
  if (flags.clientCert !== undefined) tls.certFile = flags.clientCert;
  if (flags.clientKey !== undefined) tls.keyFile = flags.clientKey;
  if (flags.tlsServerName !== undefined) tls.serverName = flags.tlsServerName;
  if (flags.tlsSkipVerify === true) tls.verify = false;
  if (Object.keys(tls).length > 0) options.tls = tls;
  return options;
}

/**
 * Parses `kvx lock` arguments.
 *
 * @returns the command line, or `undefined` when help was requested and printed.
 * @throws {@link @kvx/client!InvalidArgumentError} (`consul lock`'s messages) or commander's `CommanderError`.
 */
export function parseLockArgs(
  argv: readonly string[],
  out: (s: string) => void = () => undefined,
  err: (s: string) => void = () => undefined,
  programName: string = DEFAULT_PROGRAM_NAME,
): LockCommandLine | undefined {
  const cmd = program(programName, out, err);
  try {
    cmd.parse(normaliseArgv(argv), { from: 'user' });
  } catch (e) {
    if (e instanceof CommanderError && (e.code === 'commander.helpDisplayed' || e.code === 'commander.help')) return undefined;
    throw e;
  }
  const flags = cmd.opts<RawFlags>();
  const [prefix, child] = cmd.processedArgs as [string | undefined, string[]];
  const timeout = flags.timeout ?? flags.try;
  const supervisor: LockCommandLine['supervisor'] = {
    limit: integerFlag('n', flags.limit),
    prefix: prefix ?? '',
    command: child,
    passStdin: flags.passStdin === true,
    timeoutMs: timeout === undefined ? 0 : durationFlag(flags.timeout === undefined ? 'try' : 'timeout', timeout),
    monitorRetries: integerFlag('monitor-retry', flags.monitorRetry),
    shell: flags.shell,
    childExitCode: flags.childExitCode === true,
    sessionTtlMs: durationFlag('session-ttl', flags.sessionTtl),
    killGraceMs: durationFlag('kill-grace', flags.killGrace),
  };
  if (flags.name !== undefined) supervisor.sessionName = flags.name;
  if (flags.lockDelay !== undefined) supervisor.lockDelayMs = durationFlag('lock-delay', flags.lockDelay);
  if (flags.fenceMargin !== undefined) supervisor.fenceMarginMs = durationFlag('fence-margin', flags.fenceMargin);
  const line: LockCommandLine = { supervisor, consul: consulOptions(flags), verbose: flags.verbose === true };
  if (flags.dogstatsd !== undefined) line.dogstatsd = hostPortFlag('dogstatsd', flags.dogstatsd);
  return line;
}

function oneLine(err: unknown): string {
  const text = err instanceof Error ? err.message : String(err);
  return text.replace(/\s*\n\s*/g, ' ').trim();
}

/**
 * Runs `kvx lock` with `argv` (the arguments after the command name).
 *
 * @returns the exit code: 0 success (also after the lock was lost or a shutdown signal), 1 for usage,
 *   setup, acquisition failure or timeout, 2 for a failed child with `--child-exit-code`.
 */
export async function lockMain(argv: string[], io: LockIo = {}): Promise<number> {
  const stdout = io.stdout ?? process.stdout;
  const stderr = io.stderr ?? process.stderr;
  const env = io.env ?? process.env;
  const write = (stream: NodeJS.WritableStream) => (s: string) => void stream.write(s);
  let line: LockCommandLine | undefined;
  try {
    line = parseLockArgs(argv, write(stdout), write(stderr), io.programName);
  } catch (e) {
    // Commander has already printed its own parse errors.
    if (!(e instanceof CommanderError)) stderr.write(`${oneLine(e)}\n`);
    return 1;
  }
  if (line === undefined) return 0;
  const verbose = line.verbose;
  const log: SupervisorLog = {
    info: (message) => {
      if (verbose) stderr.write(`${message}\n`);
    },
    error: (message) => void stderr.write(`${message}\n`),
  };
  try {
    resolveSupervisorSettings(line.supervisor);
  } catch (e) {
    log.error(oneLine(e));
    return 1;
  }
  const options: ConsulOptions = { ...line.consul, env: { ...env } };
  if (line.dogstatsd !== undefined) {
    // The client owns this StatsD socket and closes it (flushing) with itself.
    options.metrics = { ...line.dogstatsd, errorHandler: (err: Error) => log.info(`dogstatsd: ${oneLine(err)}`) };
  }
  let consul: Consul;
  try {
    consul = new Consul(options);
  } catch (e) {
    log.error(`Error connecting to Consul agent: ${oneLine(e)}`);
    return 1;
  }
  try {
    const supervisor = new LockSupervisor({ ...line.supervisor, consul, log, env });
    return await supervisor.run(io.signals ?? processSignals);
  } catch (e) {
    log.error(e instanceof KvxError ? oneLine(e) : `Unexpected error: ${oneLine(e)}`);
    return 1;
  } finally {
    await consul.close();
  }
}
