/**
 * Installing verified content as a local file — the part `deliver`, `raw` and `watchAndDeliver` share:
 *
 * - when the file already hashes to the content's checksum it is not rewritten and `exec` does not run, but
 *   a drifted mode or owner is repaired in place (kvexpress left both alone); that decision always reads the
 *   file. The exception: a pending-exec marker for this checksum and this command (exec-pending.ts) says the
 *   command of this version never succeeded, so it runs again; a marker of another checksum or command is
 *   stale and removed;
 * - otherwise atomic-write.ts replaces it, with `validate` run on the staged temp file before the swap;
 * - then, after a random `splay` delay (so a fleet does not reload at once), `exec` runs with `KVX_KEY`,
 *   `KVX_FILE`, `KVX_CHECKSUM` and `KVX_PREVIOUS_CHECKSUM`. With an `exec`, the pending-exec marker is written
 *   before the rename, put back as it was when the rename fails, and removed once the command succeeded;
 *   without an `exec`, a write removes any marker (it owed a command for a version that is now replaced).
 *
 * `exec` and `validate` are parsed when the installer is prepared, so a command that can never run is an
 * `InvalidArgumentError` before any file is touched.
 *
 * The checksum of a file about to be replaced (`previousChecksum`, `KVX_PREVIOUS_CHECKSUM`) is remembered from
 * the installer's last write or read rather than read again, as long as one `stat` shows the same device,
 * inode, size and mtime: a long-running watcher replaces its file at every change, and reading back the file
 * it wrote itself was most of a delivery's file work. An edit that keeps all four (same size, within the file
 * system's timestamp granularity) can only leave `previousChecksum` stale; it never skips a write.
 *
 * @module
 */

import type { BigIntStats } from 'node:fs';
import { stat } from 'node:fs/promises';
import { resolve } from 'node:path';

import { sleep } from '../transport/rate-limit.js';
import { checkMode, DEFAULT_FILE_MODE, repairAttributesOf, replaceFile, type AttributeRepair } from './atomic-write.js';
import { digestFile } from './checksum.js';
import {
  commandHash,
  readExecPending,
  readExecPendingBytes,
  removeExecPending,
  restoreExecPending,
  writeExecPending,
} from './exec-pending.js';
import { commandArgv, type Command, type CommandResult } from './exec.js';
import type { WrittenFile } from './file-writer.js';
import { runExec, runValidate, type HookEnv, type HookSpec } from './hooks.js';
import type { TransferLogger } from './logger.js';
import { resolveOwner, type FileOwner } from './owner.js';
import type { CountMetric, Direction, TransferMetrics } from './transfer-metrics.js';
import { durationOption } from './transfer-options.js';

/** How a file is installed. */
export interface InstallOptions {
  /** The target file; relative paths are resolved against the current directory. */
  file: string;
  /** Mode of the file, enforced with chmod (also repaired when the content is unchanged). Default: `0o640`. */
  mode?: number;
  /** Owner of the file: `user[:group]`, `:group`, or ids. Default: the current user, not enforced. */
  owner?: string | FileOwner;
  /** Command run after the file was written. Default: none. */
  exec?: Command;
  /**
   * Command that checks the staged temp file before the swap; `{}` is replaced by its path and
   * `KVX_TEMP_FILE` holds it. A failure keeps the old file. Default: none.
   */
  validate?: Command;
  /** Run `exec` and `validate` through `/bin/sh -c`. Default: `false`. */
  shell?: boolean;
  /** Timeout of `exec`, in ms (`0`: none). Default: `60000`. */
  execTimeout?: number;
  /** Timeout of `validate`, in ms (`0`: none). Default: `60000`. */
  validateTimeout?: number;
  /** Upper bound of the random delay before `exec`, in ms. Default: `0`. */
  splay?: number;
  /** Rewrite the file and run `exec` even when the file is unchanged. Default: `false`. */
  force?: boolean;
}

/** What an installation did. */
export interface InstallResult {
  /** `written`: the file was replaced; `unchanged`: it already had this content. */
  status: 'written' | 'unchanged';
  /** The absolute path of the file. */
  file: string;
  /** The checksum of the file before (`undefined`: there was none). */
  previousChecksum: string | undefined;
  /** Mode or owner repaired in place (only for `unchanged`). */
  repaired: AttributeRepair;
  /** The validate command's outcome, when it ran. */
  validate: CommandResult | undefined;
  /** The exec command's outcome, when it ran. */
  exec: CommandResult | undefined;
  /** The random delay applied before `exec`, in ms (`0` when no command ran). */
  splayMs: number;
  /**
   * The file was already up to date but the command of this version had not succeeded yet (it failed, or kvx
   * stopped before running it), so it ran again (see exec-pending.ts).
   */
  execRetried: boolean;
}

/** Who is installing, for metrics and logs. */
export interface InstallContext {
  /** The key (metric tag, `KVX_KEY`). */
  key: string;
  direction: Direction;
  /** Counted once the file is in place (`out`, `raw`). */
  writtenMetric: CountMetric;
  metrics: TransferMetrics;
  logger: TransferLogger;
  signal?: AbortSignal | undefined;
}

/** A version of the target this installer wrote or read: its checksum and what identifies it on disk. */
interface KnownVersion {
  checksum: string;
  dev: bigint;
  ino: bigint;
  size: bigint;
  mtimeNs: bigint;
}

function knownVersion(checksum: string, stats: WrittenFile): KnownVersion {
  return { checksum, dev: stats.dev, ino: stats.ino, size: stats.size, mtimeNs: stats.mtimeNs };
}

function sameVersion(known: KnownVersion, stats: BigIntStats): boolean {
  return (
    stats.isFile() &&
    stats.ino === known.ino &&
    stats.dev === known.dev &&
    stats.size === known.size &&
    stats.mtimeNs === known.mtimeNs
  );
}

/** One file's installation settings, checked once (owner names resolved). */
export class FileInstaller {
  /** Absolute path of the target. */
  readonly file: string;
  private readonly mode: number;
  private readonly splay: number;
  private readonly force: boolean;
  private readonly exec: HookSpec | undefined;
  /** {@link commandHash} of `exec`, recorded in the pending-exec marker (`''`: no exec). */
  private readonly execHash: string;
  private readonly validate: HookSpec | undefined;
  /** The target as this installer last wrote or read it (`undefined`: unknown). */
  private known: KnownVersion | undefined;
  /**
   * Whether a pending-exec marker left by an earlier configuration with `exec` has been cleared. Once is
   * enough: a marker written later by another configuration names its own version and command, and that
   * installer drops it as stale when it no longer matches.
   */
  private markerCleared = false;

  private constructor(
    options: InstallOptions,
    private readonly owner: FileOwner | undefined,
  ) {
    this.file = resolve(options.file);
    this.mode = checkMode(options.mode ?? DEFAULT_FILE_MODE);
    this.splay = durationOption('splay', options.splay, 0);
    this.force = options.force ?? false;
    const shell = options.shell ?? false;
    // Parsed now so that a command that could never run fails before the file is touched, not after.
    this.execHash = options.exec === undefined ? '' : commandHash(commandArgv(options.exec, shell), shell);
    if (options.validate !== undefined) commandArgv(options.validate, shell);
    this.exec =
      options.exec === undefined
        ? undefined
        : { command: options.exec, shell, timeout: durationOption('execTimeout', options.execTimeout, 60_000) };
    this.validate =
      options.validate === undefined
        ? undefined
        : { command: options.validate, shell, timeout: durationOption('validateTimeout', options.validateTimeout, 60_000) };
  }

  /** Checks the options and resolves the owner (throws `InvalidArgumentError` on bad options). */
  static async prepare(options: InstallOptions): Promise<FileInstaller> {
    const owner = options.owner === undefined ? undefined : await resolveOwner(options.owner);
    return new FileInstaller(options, owner);
  }

  private get attributes(): { mode: number; owner?: FileOwner } {
    return this.owner === undefined ? { mode: this.mode } : { mode: this.mode, owner: this.owner };
  }

  /**
   * The checksum of the target as it is now (`undefined`: there is no file), with its attributes when the file
   * was read for it. The remembered checksum stands in for reading the file only when the content is going to
   * be replaced anyway, so "already up to date" is always decided from the file itself.
   */
  private async current(incoming: string): Promise<{ checksum: string; stats?: BigIntStats } | undefined> {
    const known = this.known;
    if (known !== undefined && (known.checksum !== incoming || this.force)) {
      const stats = await stat(this.file, { bigint: true }).catch((err: NodeJS.ErrnoException) => {
        if (err.code === 'ENOENT') return null;
        // Anything else is reported by reading the file, as it always was.
        return undefined;
      });
      if (stats === null) {
        this.known = undefined;
        return undefined;
      }
      if (stats !== undefined && sameVersion(known, stats)) return { checksum: known.checksum };
    }
    const digest = await digestFile(this.file);
    this.known = digest === undefined ? undefined : knownVersion(digest.checksum, digest.stats);
    return digest;
  }

  /** Installs `content` (whose SHA-256 is `checksum`) as described in the module documentation. */
  async install(content: Buffer, checksum: string, ctx: InstallContext): Promise<InstallResult> {
    const { key, direction, metrics, logger, signal } = ctx;
    const previous = await this.current(checksum);
    const previousChecksum = previous?.checksum;
    if (previous?.stats !== undefined && previous.checksum === checksum && !this.force) {
      const repaired = await repairAttributesOf(this.file, previous.stats, this.attributes);
      if (repaired.mode || repaired.owner) {
        metrics.count('repaired', direction, key);
        logger('info', 'file unchanged; repaired its attributes', { key, file: this.file, ...repaired });
      } else {
        logger('debug', 'file already up to date', { key, file: this.file, checksum });
      }
      metrics.count('unchanged', direction, key, 'file_checksums_match');
      const unchanged = { status: 'unchanged' as const, file: this.file, previousChecksum, repaired, validate: undefined };
      const pending = this.exec === undefined ? undefined : await readExecPending(this.file);
      if (pending === undefined) return { ...unchanged, exec: undefined, splayMs: 0, execRetried: false };
      if (pending.checksum !== checksum || pending.command !== this.execHash) {
        // Owed for a version no longer installed, or by a command no longer configured: never owed by this one.
        logger('info', 'removing a stale pending-exec marker', { key, file: this.file, checksum: pending.checksum });
        await removeExecPending(this.file);
        return { ...unchanged, exec: undefined, splayMs: 0, execRetried: false };
      }
      logger('warn', 'file up to date but its command has not succeeded yet; running it again', { key, file: this.file, checksum });
      const env = { KVX_KEY: key, KVX_FILE: this.file, KVX_CHECKSUM: checksum, KVX_PREVIOUS_CHECKSUM: pending.previousChecksum };
      return { ...unchanged, ...(await this.runOwedExec(env, ctx)), execRetried: true };
    }
    const env: HookEnv = {
      KVX_KEY: key,
      KVX_FILE: this.file,
      KVX_CHECKSUM: checksum,
      KVX_PREVIOUS_CHECKSUM: previousChecksum ?? '',
    };
    let validate: CommandResult | undefined;
    const validateSpec = this.validate;
    const owesExec = this.exec !== undefined;
    this.known = undefined;
    let written: WrittenFile;
    /** The marker as it was before this write put its own (`null`: this write has not touched it). */
    let markerBefore: Buffer | undefined | null = null;
    try {
      written = await replaceFile(this.file, content, {
        ...this.attributes,
        ...(validateSpec === undefined && !owesExec
          ? {}
          : {
              beforeRename: async (temp: string) => {
                if (validateSpec !== undefined) validate = await runValidate(validateSpec, temp, env, logger, signal);
                // Before the rename: a crash between the rename and the command must still leave it owed.
                if (owesExec) {
                  const before = await readExecPendingBytes(this.file);
                  await writeExecPending(this.file, { checksum, previousChecksum: previousChecksum ?? '', command: this.execHash });
                  markerBefore = before;
                }
              },
            }),
      });
    } catch (err) {
      // The write failed after the marker was written. Unless the version got in anyway (only syncing the
      // directory failed after the rename), its command is not owed.
      if (markerBefore !== null && !(await this.holds(checksum))) await this.restoreMarker(markerBefore, ctx);
      const rejected = (err as { failure?: unknown }).failure === 'validate-failed';
      const location = rejected ? 'validate_failed' : 'write_file';
      metrics.count(rejected ? 'validate_failed' : 'panic', direction, key, location);
      metrics.event('failure', `Delivery failed: ${this.file}`, (err as Error).message, 'error', direction, key, location);
      throw err;
    }
    // A validate command may have rewritten the staged file after its attributes were read.
    if (validateSpec === undefined) this.known = knownVersion(checksum, written);
    metrics.count(ctx.writtenMetric, direction, key);
    logger('info', 'file written', { key, file: this.file, checksum, previousChecksum, size: content.length });
    if (!owesExec && !this.markerCleared) {
      await removeExecPending(this.file);
      this.markerCleared = true;
    }
    const ran = owesExec ? await this.runOwedExec(env, ctx) : { exec: undefined, splayMs: 0 };
    return { status: 'written', file: this.file, previousChecksum, repaired: { mode: false, owner: false }, validate, ...ran, execRetried: false };
  }

  /** Whether the target now has the content of `checksum` (unreadable counts as no). */
  private async holds(checksum: string): Promise<boolean> {
    const digest = await digestFile(this.file).catch(() => undefined);
    return digest?.checksum === checksum;
  }

  /** Puts the pending-exec marker back as it was before a failed write; a failure to do so is logged, not thrown. */
  private async restoreMarker(before: Buffer | undefined, ctx: InstallContext): Promise<void> {
    try {
      await restoreExecPending(this.file, before);
    } catch (err) {
      ctx.logger('warn', 'could not restore the pending-exec marker after a failed write', {
        key: ctx.key,
        file: this.file,
        error: (err as Error).message,
      });
    }
  }

  /**
   * Runs `exec` after the splay and clears the pending-exec marker once it succeeded; a failure leaves the
   * marker, so the next delivery of this version runs the command again.
   */
  private async runOwedExec(env: HookEnv, ctx: InstallContext): Promise<{ exec: CommandResult | undefined; splayMs: number }> {
    const { key, direction, metrics, logger, signal } = ctx;
    const spec = this.exec;
    if (spec === undefined) return { exec: undefined, splayMs: 0 };
    const delay = Math.floor(Math.random() * this.splay);
    if (delay > 0) {
      logger('debug', 'splay before exec', { key, delayMs: delay });
      await sleep(delay, signal);
    }
    let exec: CommandResult;
    try {
      exec = await runExec(spec, env, logger, signal);
    } catch (err) {
      metrics.count('exec_failed', direction, key, 'exec');
      metrics.event('failure', `Exec failed after delivering ${this.file}`, (err as Error).message, 'error', direction, key, 'exec');
      throw err;
    }
    await removeExecPending(this.file);
    return { exec, splayMs: delay };
  }
}
