/**
 * Durability for the dev agent: a write-ahead log with group commit, periodic snapshots, and crash recovery.
 *
 * Layout of the data directory:
 * - `snapshot` — one framed record: a full store image and the number of the log generation that follows it.
 * - `wal-<generation>.log` — framed commit records appended after that image.
 * - `LOCK` — pid of the agent using the directory.
 *
 * Every commit is appended and `fdatasync`ed before the request that caused it is answered; commits that arrive
 * while a sync is running are written together by the next one (group commit). When the log outgrows the
 * threshold, the flush loop takes a store image *instead of* writing the pending batch (the image already
 * contains it), starts a new generation, writes the image to `snapshot.tmp`, syncs it, renames it over
 * `snapshot`, syncs the directory and only then deletes older generations — so at every instant the directory
 * holds either the old image plus its complete log or the new image. On start the image is loaded and later
 * generations replayed; a torn last record (short or failing its checksum) is cut off.
 *
 * @module
 */
import { mkdir, open, readdir, readFile, rename, rm, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';

import { DataDirError } from '../errors.js';
import type { Journal, Mutation, Store } from '../state/store.js';
import { decodeCommit, decodeImage, encodeCommit, encodeImage } from './codec.js';
import { frame, readFrames } from './frame.js';

/** Tuning of the journal. */
export interface JournalOptions {
  /** Log size in bytes that triggers a snapshot. */
  readonly snapshotThreshold: number;
}

const SNAPSHOT = 'snapshot';
const SNAPSHOT_TMP = 'snapshot.tmp';
const LOCK = 'LOCK';
const WAL = /^wal-(\d{12})\.log$/;

function walName(generation: number): string {
  return `wal-${String(generation).padStart(12, '0')}.log`;
}

async function syncDir(dir: string): Promise<void> {
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

function isMissing(err: unknown): boolean {
  return (err as NodeJS.ErrnoException).code === 'ENOENT';
}

interface Pending {
  readonly seq: number;
  readonly resolve: () => void;
  readonly reject: (err: Error) => void;
}

/** The write-ahead log of one data directory. */
export class DurableJournal implements Journal {
  private seq = 0;
  private durableSeq = 0;
  private batch: Buffer[] = [];
  private readonly waiting: Pending[] = [];
  private flushing: Promise<void> | undefined;
  private failure: Error | undefined;
  private closed = false;

  constructor(
    private readonly dir: string,
    private readonly store: Store,
    private readonly options: JournalOptions,
    private handle: FileHandle,
    private generation: number,
    private size: number,
  ) {}

  encode(index: number, mutations: readonly Mutation[]): Buffer {
    // A log that can no longer record anything refuses here, so the store does not run ahead of the disk.
    if (this.failure) throw this.failure;
    if (this.closed) throw new DataDirError('the agent is shutting down');
    // Throws for a value the log could not read back, before anything reached the log or the store.
    return frame(encodeCommit(index, mutations));
  }

  append(record: Buffer): Promise<void> {
    if (this.failure) return Promise.reject(this.failure);
    if (this.closed) return Promise.reject(new DataDirError('the agent is shutting down'));
    this.batch.push(record);
    this.seq++;
    const done = this.waitFor(this.seq);
    this.kick();
    return done;
  }

  barrier(): Promise<void> | undefined {
    if (this.failure) return Promise.reject(this.failure);
    if (this.durableSeq === this.seq) return undefined;
    return this.waitFor(this.seq);
  }

  private waitFor(seq: number): Promise<void> {
    return new Promise<void>((resolve, reject) => this.waiting.push({ seq, resolve, reject }));
  }

  private kick(): void {
    this.flushing ??= this.flushLoop().finally(() => {
      this.flushing = undefined;
    });
  }

  private async flushLoop(): Promise<void> {
    try {
      while (this.batch.length > 0) {
        const upTo = this.seq;
        if (this.size >= this.options.snapshotThreshold) {
          await this.snapshot();
        } else {
          const records = this.batch;
          this.batch = [];
          let bytes = 0;
          for (const r of records) bytes += r.length;
          await this.writeAll(records, bytes);
          await this.handle.datasync();
          this.size += bytes;
        }
        this.durableSeq = upTo;
        this.settle();
      }
    } catch (err) {
      this.fail(err instanceof Error ? err : new Error(String(err)));
    }
  }

  private async writeAll(records: Buffer[], bytes: number): Promise<void> {
    const { bytesWritten } = await this.handle.writev(records, this.size);
    if (bytesWritten !== bytes) {
      const rest = Buffer.concat(records).subarray(bytesWritten);
      let offset = this.size + bytesWritten;
      let remaining = rest;
      while (remaining.length > 0) {
        const { bytesWritten: n } = await this.handle.write(remaining, 0, remaining.length, offset);
        offset += n;
        remaining = remaining.subarray(n);
      }
    }
  }

  /** Writes an image of the store (covering every appended commit) and starts a new log generation. */
  private async snapshot(): Promise<void> {
    const image = this.store.image();
    this.batch = [];
    const next = this.generation + 1;
    const newHandle = await open(join(this.dir, walName(next)), 'w');
    await syncDir(this.dir);
    const tmp = join(this.dir, SNAPSHOT_TMP);
    const out = await open(tmp, 'w');
    try {
      await out.writeFile(frame(encodeImage(image, next)));
      await out.sync();
    } finally {
      await out.close();
    }
    await rename(tmp, join(this.dir, SNAPSHOT));
    await syncDir(this.dir);
    const old = this.handle;
    const oldGeneration = this.generation;
    this.handle = newHandle;
    this.generation = next;
    this.size = 0;
    await old.close();
    await removeGenerationsBelow(this.dir, next, oldGeneration);
  }

  private settle(): void {
    while (this.waiting.length > 0 && (this.waiting[0] as Pending).seq <= this.durableSeq) {
      (this.waiting.shift() as Pending).resolve();
    }
  }

  private fail(err: Error): void {
    this.failure = new DataDirError(`write-ahead log failed, the agent can no longer persist writes: ${err.message}`, err);
    for (const p of this.waiting.splice(0)) p.reject(this.failure);
  }

  /** Flushes what is pending, then closes the log and releases the directory. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    while (this.flushing) await this.flushing;
    await this.handle.close().catch(() => undefined);
    await rm(join(this.dir, LOCK), { force: true });
  }
}

async function removeGenerationsBelow(dir: string, generation: number, hint?: number): Promise<void> {
  const names = hint === undefined ? await readdir(dir) : [walName(hint), ...(await readdir(dir))];
  for (const name of new Set(names)) {
    const m = WAL.exec(name);
    if (m && Number(m[1]) < generation) await rm(join(dir, name), { force: true });
  }
}

async function pidAlive(pid: number): Promise<boolean> {
  try {
    process.kill(pid, 0);
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
  // A killed process whose parent has not reaped it yet still answers signal 0; on Linux its state says so.
  try {
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
    return !/^\d+ \(.*\) [ZX] /s.test(stat);
  } catch {
    return true;
  }
}

async function lockDir(dir: string): Promise<void> {
  const path = join(dir, LOCK);
  try {
    const owner = Number((await readFile(path, 'utf8')).trim());
    if (Number.isInteger(owner) && owner > 0 && owner !== process.pid && (await pidAlive(owner))) {
      throw new DataDirError(`data directory ${dir} is in use by process ${owner}`);
    }
  } catch (err) {
    if (!isMissing(err)) throw err;
  }
  const handle = await open(path, 'w');
  try {
    await handle.writeFile(`${process.pid}\n`);
  } finally {
    await handle.close();
  }
}

/** Recovers the store from `dir` (creating it if needed) and returns the journal to append to. */
export async function openJournal(dir: string, store: Store, options: JournalOptions): Promise<DurableJournal> {
  try {
    await mkdir(dir, { recursive: true });
  } catch (err) {
    throw new DataDirError(`cannot create data directory ${dir}: ${(err as Error).message}`, err);
  }
  await lockDir(dir);
  await rm(join(dir, SNAPSHOT_TMP), { force: true });
  let firstGeneration = 1;
  try {
    const data = await readFile(join(dir, SNAPSHOT));
    const { records } = readFrames(data);
    if (records.length !== 1) throw new DataDirError(`snapshot in ${dir} is corrupt`);
    const { image, nextGeneration } = decodeImage(records[0] as Buffer);
    store.load(image);
    firstGeneration = nextGeneration;
  } catch (err) {
    if (!isMissing(err)) throw err;
  }
  const generations = (await readdir(dir))
    .map((name) => WAL.exec(name))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => Number(m[1]))
    .sort((a, b) => a - b);
  await removeGenerationsBelow(dir, firstGeneration);
  let generation = firstGeneration;
  let size = 0;
  for (const g of generations.filter((x) => x >= firstGeneration)) {
    const path = join(dir, walName(g));
    const data = await readFile(path);
    const { records, validLength, corrupt } = readFrames(data);
    if (corrupt) {
      throw new DataDirError(`log ${path} is damaged at byte ${validLength} (intact records follow); refusing to drop them`);
    }
    for (const payload of records) {
      const { index, mutations } = decodeCommit(payload);
      store.replay(index, mutations);
    }
    if (validLength < data.length) {
      const handle = await open(path, 'r+');
      try {
        await handle.truncate(validLength);
        await handle.sync();
      } finally {
        await handle.close();
      }
    }
    generation = g;
    size = validLength;
  }
  const handle = await open(join(dir, walName(generation)), 'a+');
  await syncDir(dir);
  return new DurableJournal(dir, store, options, handle, generation, size);
}
