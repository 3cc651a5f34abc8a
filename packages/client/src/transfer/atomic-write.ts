/**
 * Durable atomic file replacement. Readers of the target see the old file or the new one, never a partial
 * write, and a crash never leaves a half-written target:
 *
 * 1. parent directories are created (mode `dirMode`);
 * 2. the content goes to a temp file beside the target (`.<name>.kvx-<pid>-<random>.tmp`: same file system so
 *    the rename is atomic, hidden so `conf.d/*` globs do not pick it up, unique so concurrent writers do not
 *    collide — kvexpress used a fixed `<file>.kvexpress`);
 * 3. explicit `chown` and `chmod` (independent of the umask), then `fsync`;
 * 4. an optional check of the temp file (the `validate` command), which can veto the swap;
 * 5. `rename` over the target, then `fsync` of the directory so the rename itself is durable.
 *
 * On any failure the temp file is removed and the target is untouched.
 *
 * @module
 */

import { randomBytes } from 'node:crypto';
import { chmod, chown, mkdir, open, readdir, rename, stat, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

import { InvalidArgumentError } from '../errors.js';
import { InputError } from './errors.js';
import type { FileOwner } from './owner.js';

/** kvexpress's default file mode. */
export const DEFAULT_FILE_MODE = 0o640;

/** Options of {@link writeFileAtomic}. */
export interface AtomicWriteOptions {
  /** Permission bits of the file, applied with an explicit chmod. Default: `0o640`. */
  mode?: number;
  /** Owner of the file. Default: the writing process's user and group. */
  owner?: FileOwner;
  /** Mode of parent directories that have to be created. Default: `0o755`. */
  dirMode?: number;
  /** Called with the temp file's path once it is complete; throwing vetoes the swap. */
  beforeRename?: (tempPath: string) => Promise<void>;
}

/** Checks a permission mode (0 … 0o7777). */
export function checkMode(mode: number): number {
  if (!Number.isInteger(mode) || mode < 0 || mode > 0o7777) {
    throw new InvalidArgumentError(`mode must be an integer between 0 and 0o7777, got ${mode}`);
  }
  return mode;
}

const TEMP_MARK = '.kvx-';

/** The temp file name used for `target`: `.<name>.kvx-<pid>-<random>.tmp` in the same directory. */
export function tempPathFor(target: string): string {
  return join(dirname(target), `.${basename(target)}${TEMP_MARK}${process.pid}-${randomBytes(6).toString('hex')}.tmp`);
}

/** Temp files of `target` left by interrupted kvx writers (by any process). */
export async function leftoverTempFiles(target: string): Promise<string[]> {
  const head = `.${basename(target)}${TEMP_MARK}`;
  let names: string[];
  try {
    names = await readdir(dirname(target));
  } catch {
    return [];
  }
  return names.filter((n) => n.startsWith(head) && n.endsWith('.tmp')).map((n) => join(dirname(target), n));
}

async function syncDirectory(dir: string): Promise<void> {
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** Atomically replaces `path` with `data` (see the module documentation for the steps). */
export async function writeFileAtomic(path: string, data: Buffer, options: AtomicWriteOptions = {}): Promise<void> {
  const mode = checkMode(options.mode ?? DEFAULT_FILE_MODE);
  const dirMode = checkMode(options.dirMode ?? 0o755);
  const dir = dirname(path);
  await mkdir(dir, { recursive: true, mode: dirMode });
  const temp = tempPathFor(path);
  let created = false;
  try {
    const handle = await open(temp, 'wx', mode);
    created = true;
    try {
      await handle.writeFile(data);
      if (options.owner?.uid !== undefined || options.owner?.gid !== undefined) {
        await handle.chown(options.owner.uid ?? -1, options.owner.gid ?? -1);
      }
      // After chown, which may clear set-id bits.
      await handle.chmod(mode);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await options.beforeRename?.(temp);
    try {
      await rename(temp, path);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'EISDIR' || code === 'ENOTEMPTY' || code === 'EEXIST') {
        throw new InputError('not-a-file', `${path} is a directory, not a file`, err);
      }
      throw err;
    }
    created = false;
    await syncDirectory(dir);
  } catch (err) {
    if (created) await unlink(temp).catch(() => undefined);
    throw err;
  }
}

/** Which attributes {@link repairAttributes} changed. */
export interface AttributeRepair {
  /** The permission bits were changed. */
  mode: boolean;
  /** The owner or group was changed. */
  owner: boolean;
}

/**
 * Puts mode and owner of an existing file back to the wanted ones, in place (the content is not touched):
 * kvexpress left a drifted mode or owner alone when the content was unchanged.
 */
export async function repairAttributes(path: string, options: { mode?: number; owner?: FileOwner }): Promise<AttributeRepair> {
  const mode = checkMode(options.mode ?? DEFAULT_FILE_MODE);
  const st = await stat(path);
  const repair: AttributeRepair = { mode: false, owner: false };
  if ((st.mode & 0o7777) !== mode) {
    await chmod(path, mode);
    repair.mode = true;
  }
  const { uid, gid } = options.owner ?? {};
  if ((uid !== undefined && st.uid !== uid) || (gid !== undefined && st.gid !== gid)) {
    await chown(path, uid ?? -1, gid ?? -1);
    repair.owner = true;
    // chown clears set-id bits on some systems: restore the mode.
    if (mode & 0o6000) await chmod(path, mode);
  }
  return repair;
}
