/**
 * `clean`: removes the local side files of a target — kvexpress's `<file>.compare`, `<file>.last`,
 * `<file>.kvexpress` (its temp file), kvx's leftover temp files `.<file>.kvx-*.tmp` and its pending-exec marker
 * `.<file>.kvx-exec-pending` (so the owed command is forgotten) — and, with
 * `removeFile` (kvexpress `clean` always did it), the file itself. No Consul access.
 *
 * @module
 */

import { lstat, unlink } from 'node:fs/promises';
import { resolve } from 'node:path';

import { leftoverTempFiles } from './atomic-write.js';
import { assertRegularFile } from './errors.js';
import { execPendingPath } from './exec-pending.js';

/** Options of {@link clean}. */
export interface CleanOptions {
  /** The target file. */
  file: string;
  /** Remove the file itself too (kvexpress `clean` behaviour). Default: `false`. */
  removeFile?: boolean;
}

/** Removes the side files (see the module documentation); returns the paths it removed. */
export async function clean(options: CleanOptions): Promise<string[]> {
  const file = resolve(options.file);
  const candidates = [`${file}.compare`, `${file}.last`, `${file}.kvexpress`, execPendingPath(file), ...(await leftoverTempFiles(file))];
  if (options.removeFile) candidates.unshift(file);
  const removed: string[] = [];
  for (const path of candidates) {
    try {
      const st = await lstat(path);
      // A symbolic link is removed, not what it points to.
      if (!st.isSymbolicLink()) assertRegularFile(path, st);
      await unlink(path);
      removed.push(path);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
  }
  return removed;
}
