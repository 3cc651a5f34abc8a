/**
 * The parsed arguments of each verb: what `run` hands a command function after commander and the flag
 * parsers are done, and what tests pass when they call a command function directly. Defaults are applied
 * by the command functions, so a directly-called command behaves like the command line.
 *
 * @module
 */

import type { ConsulFlags } from './consul-flags.js';
import type { OutputFlags } from './output.js';

/** Minimum-content checks (`-l`, `--min-bytes`). */
export interface LengthFlags {
  /** Minimum number of lines (`\n` count, a text without one counts 1). Default: `10`. */
  length?: number;
  /** Minimum size in bytes. Default: `0`. */
  minBytes?: number;
}

/** The command run after a successful write. */
export interface ExecFlags {
  /** Command line; split into words (quotes honoured, no shell) unless `shell`. Default: none. */
  exec?: string;
  /** Run `exec` (and `validate`) through `/bin/sh -c`. Default: `false`. */
  shell?: boolean;
  /** Kill `exec` after this many ms (`0`: never). Default: `60000`. */
  execTimeout?: number;
}

/** Mode and owner of a written file. */
export interface FileModeFlags {
  /** File mode. Default: `0o640`. */
  chmod?: number;
  /** Owner, `user[:group]` (names or ids). Default: the current user. */
  owner?: string;
}

/** `kvx in`: publish a file, a URL or stdin to `<prefix>/<key>`. */
export interface InArgs extends ConsulFlags, LengthFlags, ExecFlags {
  /** Key name under the prefix (`-k`): the content goes to `<prefix>/<key>`. Required. */
  key: string;
  /** Input file; `-` reads stdin. Exactly one of `file` and `url`. */
  file?: string;
  /** Input URL (http or https). */
  url?: string;
  /** KV prefix. Default: `kvexpress`. */
  prefix?: string;
  /** Sort lines (byte order) and drop empty ones, as kvexpress `--sorted`. Default: `false`. */
  sorted?: boolean;
  /** Store brotli-compressed (KV flags 1). Default: `false`. */
  compress?: boolean;
  /** Chunk size: the agent's `kv_max_value_size` (`--max-value-size`). Default: config `max_value_size`, else 512 KiB. */
  maxValueSize?: number;
}

/** `kvx out`: deliver `<prefix>/<key>` to a file, once or (`watch`) on every change. */
export interface OutArgs extends ConsulFlags, LengthFlags, ExecFlags, FileModeFlags {
  /** Required unless `watch` with a config file listing `files`. */
  key?: string;
  /** Required unless `watch` with a config file listing `files`. */
  file?: string;
  /** KV prefix (`-p`); with `watch` also of config `files` entries without one. Default: `kvexpress` (`watch`: config `prefix` first). */
  prefix?: string;
  /** Command that must accept the new content (given the temp file's path) before it replaces the file. */
  validate?: string;
  /** Deliver even while the stop key is set. Default: `false`. */
  ignoreStop?: boolean;
  /** Also decode kvexpress <= 1.15 gzip+base64 values (flags 0). Default: `false`. */
  compress?: boolean;
  /** Keep running and deliver every change (blocking queries) until SIGINT/SIGTERM. Default: `false`. */
  watch?: boolean;
  /** Wait a random delay up to this many ms before running `exec`, so a fleet does not reload at once. Default: `0`. */
  splay?: number;
}

/** `kvx raw`: write any key's value verbatim to a file. */
export interface RawArgs extends ConsulFlags, LengthFlags, ExecFlags, FileModeFlags {
  /** Full key path (no prefix is added). */
  key: string;
  /** File to write (`-f`). Required. */
  file: string;
}

/** `kvx copy`: copy a published file from one key to another (canary promotion). */
export interface CopyArgs extends ConsulFlags {
  /** Minimum line count of the source. Default: `10`. */
  length?: number;
  /** Source key under the prefix (`--from`, kvexpress `--keyfrom`). Required. */
  from: string;
  /** Destination key under the prefix (`--to`, kvexpress `--keyto`); must differ from `from`. Required. */
  to: string;
  /** KV prefix (`-p`). Default: `kvexpress`. */
  prefix?: string;
  /** Re-encode the destination brotli-compressed. Default: keep the source's encoding. */
  compress?: boolean;
}

/** `kvx stop`: set the stop key of `<prefix>/<key>`. */
export interface StopArgs extends ConsulFlags {
  /** Key name under the prefix (`-k`). Required. */
  key: string;
  /** Why (`-r`), stored as the stop key's value and shown to every stopped `in`/`out`. Required, not blank. */
  reason: string;
  /** KV prefix (`-p`). Default: `kvexpress`. */
  prefix?: string;
}

/** `kvx start`: clear the stop key. */
export interface StartArgs extends ConsulFlags {
  /** Key name under the prefix (`-k`). Required. */
  key: string;
  /** KV prefix (`-p`). Default: `kvexpress`. */
  prefix?: string;
}

/** `kvx pin`: hold a file on this host (out leaves it untouched). */
export interface PinArgs extends ConsulFlags {
  /** Absolute path of the delivered file. */
  file: string;
  /** Why (`-r`), stored as the pin's value. Default: `No reason given for '<file>' by '<user>' at '<time>'.` */
  reason?: string;
  /** KV prefix (`-p`). Default: `kvexpress`. */
  prefix?: string;
}

/** `kvx unpin`: release a pin. */
export interface UnpinArgs extends ConsulFlags {
  /** Absolute path of the delivered file (`-f`; a relative one is resolved against the working directory). Required. */
  file: string;
  /** KV prefix (`-p`). Default: `kvexpress`. */
  prefix?: string;
}

/** `kvx clean`: remove a file and its kvx side files. */
export interface CleanArgs extends OutputFlags {
  /** File to remove (`-f`), with its `.compare`, `.last` and leftover temp files. Required. */
  file: string;
  /** Remove only the side files, not the file itself. Default: `false` (kvexpress removed the file too). */
  keepFile?: boolean;
}

/** `kvx status`: table of the published files under a prefix. */
export interface StatusArgs extends ConsulFlags {
  /** KV prefix (`-p`). Default: `kvexpress`. */
  prefix?: string;
  /** Only this key. Default: every key under the prefix. */
  key?: string;
}

/** `kvx diff`: what `out` would change (with the same checks and attributes as that `out`). */
export interface DiffArgs extends ConsulFlags, LengthFlags, FileModeFlags {
  /** Key name under the prefix (`-k`). Required. */
  key: string;
  /** The delivered file to compare (`-f`). Required. */
  file: string;
  /** KV prefix (`-p`). Default: `kvexpress`. */
  prefix?: string;
  /** Also decode kvexpress <= 1.15 gzip+base64 values. Default: `false`. */
  compress?: boolean;
}

/** `kvx demo`. */
export interface DemoArgs extends OutputFlags {
  /** Number of in-process delivery watchers. Default: `5`. */
  watchers?: number;
}
