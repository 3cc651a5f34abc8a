/**
 * The pending-exec marker: `.<name>.kvx-exec-pending` beside a target, holding the checksum (and the previous
 * checksum) of a version whose `exec` command has not yet succeeded, and a hash of that command.
 *
 * Without it a failed reload was lost: the file is already up to date, so later runs and the watch loop find
 * nothing to do and never run the command again. The marker is written durably BEFORE the rename that
 * installs the new file and removed only after the command succeeded, so a command that failed, timed out,
 * was interrupted, or never started because kvx crashed between the rename and the exec, runs at the next
 * delivery of the same version. A failed rename puts the marker back as it was: no new version was installed,
 * so no new command is owed.
 *
 * A marker owes one command for one version only: a marker of another checksum (the file was replaced since)
 * or of another command (the owed reload belongs to a configuration that changed, e.g. a different `--exec`)
 * is stale, and the installer clears it rather than running today's command for it.
 *
 * @module
 */

import { createHash } from 'node:crypto';
import { readFile, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

import { writeFileAtomic } from './atomic-write.js';

/** What a marker records. */
export interface PendingExec {
  /** Checksum of the version whose command is owed. */
  checksum: string;
  /** Checksum the file had before that version (`KVX_PREVIOUS_CHECKSUM`; empty when there was none). */
  previousChecksum: string;
  /** {@link commandHash} of the owed command. */
  command: string;
}

/** The marker's path for `target` (hidden, in the same directory). */
export function execPendingPath(target: string): string {
  return join(dirname(target), `.${basename(target)}.kvx-exec-pending`);
}

/** Identifies a command by its argv and shell flag (SHA-256 hex), so a marker never stores the command itself. */
export function commandHash(argv: readonly string[], shell: boolean): string {
  return createHash('sha256').update(JSON.stringify({ argv, shell })).digest('hex');
}

/** Records durably that the command of `pending.checksum` is owed. */
export async function writeExecPending(target: string, pending: PendingExec): Promise<void> {
  await writeMarker(target, Buffer.from(`${JSON.stringify(pending)}\n`));
}

async function writeMarker(target: string, bytes: Buffer): Promise<void> {
  await writeFileAtomic(execPendingPath(target), bytes, { mode: 0o600 });
}

/** The marker's bytes as they are (`undefined`: there is none), to be put back by {@link restoreExecPending}. */
export async function readExecPendingBytes(target: string): Promise<Buffer | undefined> {
  try {
    return await readFile(execPendingPath(target));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

/** Puts the marker back to `bytes` as read by {@link readExecPendingBytes} (`undefined`: removes it). */
export async function restoreExecPending(target: string, bytes: Buffer | undefined): Promise<void> {
  if (bytes === undefined) await removeExecPending(target);
  else await writeMarker(target, bytes);
}

/** The marker of `target`, if any; an unreadable or foreign marker counts as none. */
export async function readExecPending(target: string): Promise<PendingExec | undefined> {
  const bytes = await readExecPendingBytes(target);
  if (bytes === undefined) return undefined;
  try {
    const parsed = JSON.parse(bytes.toString('utf8')) as Partial<PendingExec>;
    if (typeof parsed.checksum !== 'string') return undefined;
    return {
      checksum: parsed.checksum,
      previousChecksum: typeof parsed.previousChecksum === 'string' ? parsed.previousChecksum : '',
      command: typeof parsed.command === 'string' ? parsed.command : '',
    };
  } catch {
    return undefined;
  }
}

/** Removes the marker (a missing marker is fine). */
export async function removeExecPending(target: string): Promise<void> {
  await unlink(execPendingPath(target)).catch((err: NodeJS.ErrnoException) => {
    if (err.code !== 'ENOENT') throw err;
  });
}
