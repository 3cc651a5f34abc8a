/**
 * Commander option definitions shared by several verbs, so one flag has one spelling, one parser and one
 * help line everywhere. kvexpress spellings that differ from kvx's (`--server`, `--ignore_stop`,
 * `--keyfrom`) are accepted as hidden aliases and merged by {@link mergeAlias}.
 *
 * @module
 */

import { Option, type Command } from 'commander';
import {
  parseByteSize,
  parseCount,
  parseDuration,
  parseHostPort,
  parseKey,
  parseMode,
  parsePrefix,
} from './parse.js';

/** Default KV prefix, as in kvexpress. */
export const DEFAULT_PREFIX = 'kvexpress';
/** Default minimum line count, as in kvexpress. */
export const DEFAULT_LENGTH = 10;
/** Default mode of delivered files, as in kvexpress. */
export const DEFAULT_MODE = 0o640;

/** Wraps a flag parser so its messages name the flag as typed. */
function by<T>(parse: (text: string, flag: string) => T, flag: string): (text: string) => T {
  return (text) => parse(text, flag);
}

/** `--verbose` and `--json`. */
export function addOutputFlags(cmd: Command): Command {
  return cmd
    .option('--verbose', 'print debug lines (timestamped) on stderr')
    .option('--json', 'print the result as one JSON document on stdout');
}

/** Connection, metrics and config-file flags. */
export function addConsulFlags(cmd: Command): Command {
  cmd
    .option('--http-addr <addr>', 'Consul agent: host:port, http(s)://host:port or unix:///path (env CONSUL_HTTP_ADDR; default 127.0.0.1:8500)')
    .addOption(new Option('-s, --server <addr>', 'kvexpress spelling of --http-addr').hideHelp())
    .option('-t, --token <token>', 'ACL token (env CONSUL_HTTP_TOKEN); never printed')
    .option('--token-file <file>', 'file holding the ACL token (env CONSUL_HTTP_TOKEN_FILE)')
    .option('--datacenter <dc>', 'datacenter (default: the agent\'s)')
    .option('--ca-file <file>', 'CA certificate to verify the agent (env CONSUL_CACERT)')
    .option('--ca-path <dir>', 'directory of CA certificates (env CONSUL_CAPATH)')
    .option('--client-cert <file>', 'client certificate for mutual TLS (env CONSUL_CLIENT_CERT)')
    .option('--client-key <file>', 'client key for mutual TLS (env CONSUL_CLIENT_KEY)')
    .option('--tls-server-name <name>', 'server name to verify the agent\'s certificate against (env CONSUL_TLS_SERVER_NAME)')
    .option('--tls-skip-verify', 'do not verify the agent\'s certificate (env CONSUL_HTTP_SSL_VERIFY=false)')
    .addOption(new Option('--stale', 'read from any server, possibly stale').conflicts('consistent'))
    .option('--consistent', 'read through the leader with a quorum check')
    .option('--timeout <duration>', 'per-request timeout, e.g. 5s (default 10s)', by(parseDuration, '--timeout'))
    .option('--retries <n>', 'retries after a transient Consul failure (default 4)', by(parseCount, '--retries'))
    .option('--dogstatsd <host:port>', 'send metrics and events to this DogStatsD agent', by(parseHostPort, '--dogstatsd'))
    .addOption(
      new Option('-D, --dogstatsd_address <host:port>', 'kvexpress spelling of --dogstatsd')
        .argParser(by(parseHostPort, '--dogstatsd_address'))
        .hideHelp(),
    )
    .option('--metrics-prefix <prefix>', 'prefix of metric names (default kvx)')
    .option('--no-diff-events', 'leave the unified diff out of update events (config diff_events: false), for files holding secrets')
    .option('-C, --config <file>', 'YAML config file (kvexpress keys; files: list for out --watch)');
  return addOutputFlags(cmd);
}

/** `-p/--prefix`. */
export function addPrefixFlag(cmd: Command): Command {
  return cmd.option('-p, --prefix <prefix>', `KV prefix (default ${DEFAULT_PREFIX})`, by(parsePrefix, '--prefix'));
}

/**
 * Options that must be given. Commander checks its own mandatory options before unknown ones, so
 * `kvx in --bogus` would complain about `-k` instead of `--bogus`; these are checked by
 * {@link checkRequiredOptions} once parsing (and the unknown-option check) is done.
 */
const REQUIRED = new WeakSet<Option>();

/** Marks `opt` as required (see {@link checkRequiredOptions}). */
export function required(opt: Option): Option {
  REQUIRED.add(opt);
  return opt;
}

/** Fails, with commander's own message and exit code 1, when a {@link required} option of `cmd` is missing. */
export function checkRequiredOptions(cmd: Command): void {
  for (const opt of cmd.options) {
    if (REQUIRED.has(opt) && cmd.getOptionValue(opt.attributeName()) === undefined) {
      cmd.error(`error: required option '${opt.flags}' not specified`, { code: 'commander.missingMandatoryOptionValue', exitCode: 1 });
    }
  }
}

/**
 * Drops the implicit `true` commander gives a `--no-*` option that was not used, so a value from the config
 * file can still apply (flag > config > default).
 */
export function withoutNegatableDefaults(cmd: Command, opts: Record<string, unknown>): Record<string, unknown> {
  const result = { ...opts };
  for (const opt of cmd.options) {
    if (opt.negate && cmd.getOptionValueSource(opt.attributeName()) === 'default') delete result[opt.attributeName()];
  }
  return result;
}

/** `-k/--key` (a key under the prefix). */
export function keyOption(isRequired: boolean, description = 'key name under the prefix'): Option {
  const opt = new Option('-k, --key <key>', description).argParser(by(parseKey, '--key'));
  return isRequired ? required(opt) : opt;
}

/** `--max-value-size` of `kvx in`. */
export function maxValueSizeOption(): Option {
  return new Option(
    '--max-value-size <bytes>',
    "largest value the agent accepts (its kv_max_value_size; config max_value_size): bigger content is chunked to this size (default 512KiB)",
  ).argParser(by(parseByteSize, '--max-value-size'));
}

/** `-l/--length` and `--min-bytes`. */
export function addLengthFlags(cmd: Command): Command {
  return cmd
    .option('-l, --length <lines>', `minimum number of lines ('\\n' count; default ${DEFAULT_LENGTH})`, by(parseCount, '--length'))
    .option('--min-bytes <n>', 'minimum size in bytes (default 0)', by(parseCount, '--min-bytes'));
}

/** `-e/--exec`, `--shell`, `--exec-timeout`. */
export function addExecFlags(cmd: Command): Command {
  return cmd
    .option('-e, --exec <command>', 'command to run after a successful write (split into words, quotes honoured, no shell unless --shell)')
    .option('--shell', 'run --exec (and --validate) through /bin/sh')
    .option('--exec-timeout <duration>', 'kill --exec (and --validate) after this long, e.g. 30s (default 60s; 0: never)', by(parseDuration, '--exec-timeout'));
}

/** `-c/--chmod` and `-o/--owner`. */
export function addFileModeFlags(cmd: Command): Command {
  return cmd
    .option('-c, --chmod <mode>', 'mode of the written file, octal (default 0640)', by(parseMode, '--chmod'))
    .option('-o, --owner <user[:group]>', 'owner of the written file, names or ids (default: the current user)');
}

/** A hidden kvexpress-spelled alias of a flag, e.g. `--ignore_stop` for `--ignore-stop`. */
export function hiddenAlias(flags: string, description: string): Option {
  return new Option(flags, description).hideHelp();
}

/**
 * The value of `name`, or of its hidden alias `alias` when only that was given. Both given with different
 * values is a usage error left to the caller; here the kvx spelling wins.
 */
export function mergeAlias<T>(opts: Record<string, unknown>, name: string, alias: string): T | undefined {
  return (opts[name] ?? opts[alias]) as T | undefined;
}
