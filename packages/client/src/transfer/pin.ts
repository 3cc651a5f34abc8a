/**
 * `pin` / `unpin` (kvexpress `lock` / `unlock`): hold one file on one host. The pin key is
 * `<prefix>/locks/<sha256(absolute path)>/<hostname>` (layout.ts `pinKey`), its value the reason; `deliver`
 * and `watchAndDeliver` leave a pinned file alone even with `ignoreStop`. A human note `<file>.locked` is
 * written beside the file (only if absent, as kvexpress did) and removed by `unpin`.
 *
 * @module
 */

import { rm, stat, unlink, writeFile } from 'node:fs/promises';
import { hostname as osHostname, userInfo } from 'node:os';
import { resolve } from 'node:path';

import { InputError } from './errors.js';
import { pinKey } from './layout.js';
import { SILENT } from './logger.js';
import { NO_TRANSFER_METRICS } from './transfer-metrics.js';
import { oneLineOption, type TransferOptions } from './transfer-options.js';

/** Options of {@link pin} and {@link unpin}. */
export interface PinOptions extends TransferOptions {
  /** The pinned file; resolved to an absolute path. */
  file: string;
  /** Host name of the pin. Default: `os.hostname()`. */
  hostname?: string;
  /** Write (pin) or remove (unpin) the `<file>.locked` note. Default: `true`. */
  note?: boolean;
}

/** Options of {@link pin}. */
export interface PinFileOptions extends PinOptions {
  /** Why. Default: kvexpress's `No reason given for '<file>' by '<user>' at '<time>'.` */
  reason?: string;
}

/** What {@link pin} or {@link unpin} did. */
export interface PinResult {
  /** The absolute file path. */
  file: string;
  /** The pin key. */
  pinKey: string;
  /** The reason stored (pin) or removed (unpin; `undefined` when it was not pinned). */
  reason: string | undefined;
  /** The note file's path, when it was written or removed. */
  note: string | undefined;
}

function currentUser(): string {
  try {
    return userInfo().username;
  } catch {
    return String(process.getuid?.() ?? 'unknown');
  }
}

/** The note kvx writes to `<file>.locked`. */
export function pinNote(file: string, reason: string): string {
  return (
    `This file is pinned by kvx on this host: deliveries to '${file}' are skipped.\n` +
    `To unpin it run: sudo kvx unpin -f ${file}\n` +
    `Reason Locked: ${reason}\n`
  );
}

/** Pins a file on this host (see the module documentation). */
export async function pin(options: PinFileOptions): Promise<PinResult> {
  const file = resolve(options.file);
  const key = pinKey(file, options.hostname ?? osHostname(), options.prefix);
  const reason = options.reason?.trim()
    ? options.reason
    : `No reason given for '${file}' by '${currentUser()}' at '${new Date().toISOString().replace(/\.\d{3}Z$/, 'Z')}'.`;
  oneLineOption('a pin reason', reason);
  if ((await stat(file).catch(() => undefined))?.isDirectory() === true) {
    throw new InputError('not-a-file', `${file} is a directory; pin the file kvx delivers there`);
  }
  // The note first: a pin that cannot leave its note (a missing directory) must not be left in Consul either.
  const note = (options.note ?? true) ? `${file}.locked` : undefined;
  /** The note this call wrote (an existing one is kept, and left in place if the pin fails). */
  let written: string | undefined;
  if (note !== undefined) {
    try {
      await writeFile(note, pinNote(file, reason), { flag: 'wx', mode: 0o644 });
      written = note;
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code !== 'EEXIST') throw new InputError('not-a-file', `cannot write the pin note ${note} (${code ?? String(err)}); nothing was pinned`, err);
    }
  }
  try {
    await options.consul.kv.put(key, reason, options.signal === undefined ? {} : { signal: options.signal });
  } catch (err) {
    if (written !== undefined) await rm(written, { force: true });
    throw err;
  }
  (options.metrics ?? NO_TRANSFER_METRICS).count('lock', 'lock', key);
  (options.logger ?? SILENT)('info', 'file pinned', { file, pinKey: key, reason });
  return { file, pinKey: key, reason, note };
}

/** Unpins a file on this host. */
export async function unpin(options: PinOptions): Promise<PinResult> {
  const file = resolve(options.file);
  const key = pinKey(file, options.hostname ?? osHostname(), options.prefix);
  const signal = options.signal === undefined ? {} : { signal: options.signal };
  const { value: before } = await options.consul.kv.get(key, signal);
  await options.consul.kv.delete(key, signal);
  (options.metrics ?? NO_TRANSFER_METRICS).count('unlock', 'unlock', key);
  (options.logger ?? SILENT)('info', 'file unpinned', { file, pinKey: key });
  let note: string | undefined;
  if (options.note ?? true) {
    note = `${file}.locked`;
    await unlink(note).catch((err: NodeJS.ErrnoException) => {
      if (err.code !== 'ENOENT') throw err;
    });
  }
  return { file, pinKey: key, reason: before === undefined || before.value.length === 0 ? undefined : before.value.toString('utf8'), note };
}
