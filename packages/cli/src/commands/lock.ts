/**
 * `kvx lock …`: hands the command line to `@kvx/lock`'s `lockMain` (consul-lock compatible supervisor), with
 * this context's streams and environment. In the real process the supervisor subscribes to the process's
 * signals itself, because it forwards more than SIGINT/SIGTERM (SIGHUP, SIGUSR1, …) to its child; a test
 * context's signal source is handed over instead.
 *
 * `--config FILE` is handled here rather than in `@kvx/lock`, which stays free of the YAML parser: the file's
 * connection settings become lock flags, with the precedence of every other command (flag > `CONSUL_*`
 * environment > config file). The flags only travel inside this process, never on a command line.
 *
 * @module
 */

import path from 'node:path';

import type { ConfigFile } from '../config-file.js';
import { processSignals, type CommandContext } from '../context.js';
import { oneLineMessage } from '../errors.js';
import { ExitCode } from '../exit-codes.js';

/** Splits `--config FILE` (any spelling `consul lock` users write) off the supervisor's own options. */
function takeConfig(argv: readonly string[], valueFlags: ReadonlySet<string>): { config?: string; rest: string[] } {
  const rest: string[] = [];
  let config: string | undefined;
  let i = 0;
  while (i < argv.length) {
    const arg = argv[i]!;
    if (arg === '--' || arg === '-' || !arg.startsWith('-')) break;
    const body = arg.replace(/^--?/, '');
    const eq = body.indexOf('=');
    const name = eq < 0 ? body : body.slice(0, eq);
    if (name === 'config') {
      config = eq < 0 ? argv[i + 1] : body.slice(eq + 1);
      i += eq < 0 ? 2 : 1;
      continue;
    }
    rest.push(arg);
    i++;
    // A value flag's separate value must not be mistaken for the key prefix.
    if (eq < 0 && (name === 'n' || valueFlags.has(name)) && i < argv.length) rest.push(argv[i++]!);
  }
  return config === undefined ? { rest: [...argv] } : { config, rest: [...rest, ...argv.slice(i)] };
}

/** Lock flags for the config file's connection settings that neither a flag nor the environment set. */
function configFlags(
  file: ConfigFile,
  given: ReadonlySet<string>,
  env: Readonly<Record<string, string | undefined>>,
  cwd: string,
): string[] {
  const flags: string[] = [];
  const unset = (...vars: string[]): boolean => !vars.some((v) => (env[v] ?? '') !== '');
  const add = (flag: string, value: string | undefined, ...vars: string[]): void => {
    if (value !== undefined && !given.has(flag) && unset(...vars)) flags.push(`--${flag}=${value}`);
  };
  const filePath = (p: string | undefined): string | undefined => (p === undefined ? undefined : path.resolve(cwd, p));
  const c = file.connection;
  add('http-addr', c.address, 'CONSUL_HTTP_ADDR');
  if (!given.has('token-file')) add('token', c.token, 'CONSUL_HTTP_TOKEN', 'CONSUL_HTTP_TOKEN_FILE');
  if (!given.has('token')) add('token-file', filePath(c.tokenFile), 'CONSUL_HTTP_TOKEN', 'CONSUL_HTTP_TOKEN_FILE');
  add('datacenter', c.datacenter);
  add('ca-file', filePath(c.caFile), 'CONSUL_CACERT');
  add('ca-path', filePath(c.caPath), 'CONSUL_CAPATH');
  add('client-cert', filePath(c.clientCert), 'CONSUL_CLIENT_CERT');
  add('client-key', filePath(c.clientKey), 'CONSUL_CLIENT_KEY');
  add('tls-server-name', c.tlsServerName, 'CONSUL_TLS_SERVER_NAME');
  if (c.tlsSkipVerify === true && !given.has('tls-skip-verify') && unset('CONSUL_HTTP_SSL_VERIFY')) flags.push('--tls-skip-verify');
  if (file.dogstatsd !== undefined) add('dogstatsd', `${file.dogstatsd.host}:${file.dogstatsd.port}`);
  return flags;
}

/** Runs `kvx lock`; `argv` is everything after `lock`. */
export async function lockCommand(ctx: CommandContext, argv: readonly string[]): Promise<number> {
  const { lockMain, normaliseArgv, VALUE_FLAGS } = await import('@kvx/lock');
  const { config, rest } = takeConfig(argv, VALUE_FLAGS);
  let args = rest;
  if (config !== undefined) {
    try {
      const { loadConfigFile } = await import('../config-file.js');
      const file = await loadConfigFile(path.resolve(ctx.cwd, config));
      const normalised = normaliseArgv(rest);
      const end = normalised.findIndex((a) => !a.startsWith('--') || a === '--');
      const given = new Set(
        normalised.slice(0, end < 0 ? normalised.length : end).map((a) => a.slice(2).split('=')[0]!.replace(/^no-/, '')),
      );
      args = [...configFlags(file, given, ctx.env, ctx.cwd), ...rest];
    } catch (err) {
      ctx.stderr.write(`kvx lock: ${oneLineMessage(err)}\n`);
      return ExitCode.USAGE;
    }
  }
  return lockMain(args, {
    stdout: ctx.stdout,
    stderr: ctx.stderr,
    env: ctx.env,
    ...(ctx.signals === processSignals ? {} : { signals: ctx.signals }),
  });
}
