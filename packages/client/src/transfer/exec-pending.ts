/**
 * The pending-exec marker: `.<name>.kvx-exec-pending` beside a target, holding the checksum (and the previous
 * checksum) of a version whose `exec` command has not yet succeeded.
 *
 * Without it a failed reload was lost: the file is already up to date, so later runs and the watch loop find
 * nothing to do and never run the command again. The marker is written durably BEFORE the rename that
 * installs the new file and removed only after the command succeeded, so a command that failed, timed out,
 * was interrupted, or never started because kvx crashed between the rename and the exec, runs at the next
 * delivery of the same version. A marker for another checksum (the file was replaced since) is ignored.
 *
 * @module
 */

import { readFile, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

import { writeFileAtomic } from './atomic-write.js';

/** What a marker records. */
export interface PendingExec {
  /** Checksum of the version whose command is owed. */
  checksum: string;
  /** Checksum the file had before that version (`KVX_PREVIOUS_CHECKSUM`; empty when there was none). */
  previousChecksum: string;
}

/** The marker's path for `target` (hidden, in the same directory). */
export function execPendingPath(target: string): string {
  return join(dirname(target), `.${basename(target)}.kvx-exec-pending`);
}

/** Records durably that the command of `pending.checksum` is owed. */
export async function writeExecPending(target: string, pending: PendingExec): Promise<void> {
  await writeFileAtomic(execPendingPath(target), Buffer.from(`${JSON.stringify(pending)}\n`), { mode: 0o600 });
}

/** The owed command of `target`, if any; an unreadable or foreign marker counts as none. */
export async function readExecPending(target: string): Promise<PendingExec | undefined> {
  let text: string;
  try {
    text = await readFile(execPendingPath(target), 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  try {
    const parsed = JSON.parse(text) as Partial<PendingExec>;
    if (typeof parsed.checksum !== 'string') return undefined;
    return { checksum: parsed.checksum, previousChecksum: typeof parsed.previousChecksum === 'string' ? parsed.previousChecksum : '' };
  } catch {
    return undefined;
  }
}

/** Removes the marker once the owed command succeeded (a missing marker is fine). */
export async function removeExecPending(target: string): Promise<void> {
  await unlink(execPendingPath(target)).catch((err: NodeJS.ErrnoException) => {
    if (err.code !== 'ENOENT') throw err;
  });
}
