/**
 * Durable atomic file replacement. Readers of the target see the old file or the new one, never a partial
 * write, and a crash never leaves a half-written target:
 *
 * 1. the content goes to a temp file beside the target (`.<name>.kvx-<pid>-<random>.tmp`: same file system so
 *    the rename is atomic, hidden so `conf.d/*` globs do not pick it up, unique so concurrent writers do not
 *    collide — kvexpress used a fixed `<file>.kvexpress`);
 * 2. missing parent directories are created (mode `dirMode`) when the temp file cannot be created without
 *    them (the usual case, an existing directory, costs no `mkdir`);
 * 3. explicit `chown`, then `chmod` unless the file already has exactly the wanted mode (the umask and a
 *    `chown` clearing set-id bits are both caught, as the mode is read back after them), then `fsync`;
 * 4. an optional check of the temp file (the `validate` command), which can veto the swap;
 * 5. `rename` over the target, then `fsync` of the directory so the rename itself is durable.
 *
 * On any failure the temp file is removed and the target is untouched. A target the rename cannot replace is an
 * `InputError` (exit code 1): a directory (`not-a-file`), or a bind-mounted file or one on another file system
 * (`EBUSY`, `EXDEV`: `not-replaceable`), which no atomic rename can ever replace.
 *
 * @module
 */

import { randomBytes } from 'node:crypto';
import { chmod, chown, readdir, stat } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

import { InvalidArgumentError } from '../errors.js';
import { InputError } from './errors.js';
import { commitFile, discardFile, stageAndCommit, stageFile, type StageSpec, type WrittenFile } from './file-writer.js';
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

/** Atomically replaces `path` with `data` (see the module documentation for the steps). */
export async function writeFileAtomic(path: string, data: Buffer, options: AtomicWriteOptions = {}): Promise<void> {
  await replaceFile(path, data, options);
}

/**
 * {@link writeFileAtomic}, resolving to the identity of the new file read back before the swap. Its device,
 * inode, size and mtime are those of the target afterwards (a rename changes none of them), so a caller can
 * later tell with one `stat` whether the target is still the file it wrote. The file-system calls run on the
 * writer thread (file-writer.ts), all of them in one trip when there is no check before the rename.
 */
export async function replaceFile(path: string, data: Buffer, options: AtomicWriteOptions = {}): Promise<WrittenFile> {
  const spec: StageSpec = {
    temp: tempPathFor(path),
    data,
    mode: checkMode(options.mode ?? DEFAULT_FILE_MODE),
    dirMode: checkMode(options.dirMode ?? 0o755),
    uid: options.owner?.uid ?? -1,
    gid: options.owner?.gid ?? -1,
  };
  try {
    if (options.beforeRename === undefined) return await stageAndCommit(spec, path);
    const written = await stageFile(spec);
    try {
      await options.beforeRename(spec.temp);
    } catch (err) {
      await discardFile(spec.temp);
      throw err;
    }
    await commitFile(spec.temp, path);
    return written;
  } catch (err) {
    throw renameFailure(path, err);
  }
}

/** A failed rename over `path` as the {@link InputError} it is when no atomic rename can ever replace the target. */
function renameFailure(path: string, err: unknown): unknown {
  const { code, syscall } = err as NodeJS.ErrnoException;
  if (syscall !== 'rename') return err;
  if (code === 'EISDIR' || code === 'ENOTEMPTY' || code === 'EEXIST') {
    return new InputError('not-a-file', `${path} is a directory, not a file`, err);
  }
  if (code === 'EBUSY' || code === 'EXDEV') {
    return new InputError(
      'not-replaceable',
      `${path} cannot be replaced (${code}): is the target a bind mount or on another file system? ` +
        'kvx replaces files by renaming a temp file over them; deliver to a path inside the mounted directory instead',
      err,
    );
  }
  return err;
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
  return repairAttributesOf(path, await stat(path), options);
}

/** {@link repairAttributes} for a file whose attributes were just read (`current`). */
export async function repairAttributesOf(
  path: string,
  current: { mode: number | bigint; uid: number | bigint; gid: number | bigint },
  options: { mode?: number; owner?: FileOwner },
): Promise<AttributeRepair> {
  const mode = checkMode(options.mode ?? DEFAULT_FILE_MODE);
  const repair: AttributeRepair = { mode: false, owner: false };
  if ((Number(current.mode) & 0o7777) !== mode) {
    await chmod(path, mode);
    repair.mode = true;
  }
  const { uid, gid } = options.owner ?? {};
  if ((uid !== undefined && Number(current.uid) !== uid) || (gid !== undefined && Number(current.gid) !== gid)) {
    await chown(path, uid ?? -1, gid ?? -1);
    repair.owner = true;
    // chown clears set-id bits on some systems: restore the mode.
    if (mode & 0o6000) await chmod(path, mode);
  }
  return repair;
}
