/**
 * The thread that writes files for {@link replaceFile}. Replacing a file durably takes about ten file-system
 * calls (open, write, fstat, fsync, close, rename, and open, fsync, close of the directory); made through
 * `fs.promises`, each is a trip through libuv's thread pool and back, with its wake-ups, promises and
 * `FileHandle` bookkeeping on the main thread. For a watcher process that delivers many files at once that
 * overhead cost more than the writing. Here the whole sequence runs as plain synchronous calls on a writer
 * thread, which the main thread reaches with one message and hears back from with one: the event loop never
 * blocks, even on a slow or hung file system, and a delivery costs two wake-ups instead of twenty.
 *
 * Threads start as writes need them (one for a write now and then, up to four under load, so that a slow or hung
 * file system holds up only the jobs handed to its thread), never keep the process alive while idle, and are
 * replaced if they ever die. Its code is plain CommonJS kept in this module as text (run with `eval`), so it works the same
 * from the compiled package, from the CLI's single-file bundle and from the TypeScript sources in tests.
 *
 * @module
 */

import { Worker } from 'node:worker_threads';

/** The identity of a written file as `fstat` reported it before the rename, for recognising it later. */
export interface WrittenFile {
  dev: bigint;
  ino: bigint;
  size: bigint;
  mtimeNs: bigint;
}

/** How to stage a temp file. */
export interface StageSpec {
  /** Path of the temp file to create (it must not exist). */
  temp: string;
  data: Uint8Array;
  /** Permission bits the file must end up with. */
  mode: number;
  /** Mode of parent directories created for it. */
  dirMode: number;
  /** Owner and group to set (`-1`: leave). */
  uid: number;
  gid: number;
}

type Job =
  | ({ op: 'stage' } & StageSpec)
  | ({ op: 'replace'; target: string } & StageSpec)
  | { op: 'commit'; temp: string; target: string }
  | { op: 'discard'; temp: string };

/** The error a failed call on the thread is rebuilt as: the message and the errno fields of the original. */
interface ErrorShape {
  message: string;
  code?: string;
  errno?: number;
  syscall?: string;
  path?: string;
  dest?: string;
}

type Reply = { id: number; result?: WrittenFile; error?: ErrorShape };

/**
 * The thread's code. `stage` leaves a synced temp file (removed again on any failure); `commit` renames it over
 * the target (removing it when that fails) and syncs the directory; `replace` is both; `discard` removes it.
 */
const WORKER_SOURCE = String.raw`
'use strict';
const fs = require('node:fs');
const { dirname } = require('node:path');
const { parentPort } = require('node:worker_threads');

function removeQuietly(path) {
  try { fs.unlinkSync(path); } catch {}
}

function stage(job) {
  let fd;
  try {
    fd = fs.openSync(job.temp, 'wx', job.mode);
  } catch (err) {
    if (err.code !== 'ENOENT') throw err;
    fs.mkdirSync(dirname(job.temp), { recursive: true, mode: job.dirMode });
    fd = fs.openSync(job.temp, 'wx', job.mode);
  }
  try {
    let stats;
    try {
      for (let offset = 0; offset < job.data.length; ) offset += fs.writeSync(fd, job.data, offset, job.data.length - offset);
      if (job.uid !== -1 || job.gid !== -1) fs.fchownSync(fd, job.uid, job.gid);
      // Read back after chown, which may clear set-id bits; the umask may have cleared others.
      stats = fs.fstatSync(fd, { bigint: true });
      if (Number(stats.mode & 0o7777n) !== job.mode) fs.fchmodSync(fd, job.mode);
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    return { dev: stats.dev, ino: stats.ino, size: stats.size, mtimeNs: stats.mtimeNs };
  } catch (err) {
    removeQuietly(job.temp);
    throw err;
  }
}

function commit(job) {
  try {
    fs.renameSync(job.temp, job.target);
  } catch (err) {
    removeQuietly(job.temp);
    throw err;
  }
  const dir = fs.openSync(dirname(job.target), 'r');
  try {
    fs.fsyncSync(dir);
  } finally {
    fs.closeSync(dir);
  }
}

parentPort.on('message', (job) => {
  try {
    let result;
    if (job.op === 'stage') result = stage(job);
    else if (job.op === 'replace') { result = stage(job); commit(job); }
    else if (job.op === 'commit') commit(job);
    else if (job.op === 'discard') removeQuietly(job.temp);
    parentPort.postMessage({ id: job.id, result });
  } catch (err) {
    const { message, code, errno, syscall, path, dest } = err;
    parentPort.postMessage({ id: job.id, error: { message: String(message), code, errno, syscall, path, dest } });
  }
});
`;

function rebuild(shape: ErrorShape): Error {
  const err = new Error(shape.message) as NodeJS.ErrnoException & { dest?: string };
  if (shape.code !== undefined) err.code = shape.code;
  if (shape.errno !== undefined) err.errno = shape.errno;
  if (shape.syscall !== undefined) err.syscall = shape.syscall;
  if (shape.path !== undefined) err.path = shape.path;
  if (shape.dest !== undefined) err.dest = shape.dest;
  return err;
}

interface Pending {
  resolve(result: WrittenFile | undefined): void;
  reject(err: Error): void;
}

/** Most writer threads, as many as libuv's default thread pool: one slow file system cannot stall the rest. */
const MAX_THREADS = 4;
/**
 * Most jobs handed to one thread at a time. A few in flight let a thread go from one job to the next without
 * waiting for the main thread; more would leave them stuck behind a hung file system while other threads idle.
 */
const JOBS_PER_THREAD = 8;

/** One writer thread and the jobs it has been handed. */
class WriterThread {
  readonly pending = new Map<number, Pending>();
  private readonly worker: Worker;
  private dead = false;

  constructor(onIdle: (thread: WriterThread) => void, onDead: (thread: WriterThread) => void) {
    // No inherited flags: the thread needs no loader, and its code is plain JavaScript.
    this.worker = new Worker(WORKER_SOURCE, { eval: true, execArgv: [], stdout: false, stderr: false });
    this.worker.unref();
    this.worker.on('message', (reply: Reply) => {
      const waiting = this.pending.get(reply.id);
      this.pending.delete(reply.id);
      if (this.pending.size === 0) this.worker.unref();
      if (reply.error !== undefined) waiting?.reject(rebuild(reply.error));
      else waiting?.resolve(reply.result);
      onIdle(this);
    });
    const fail = (err: Error): void => {
      if (this.dead) return;
      this.dead = true;
      onDead(this);
      for (const waiting of this.pending.values()) waiting.reject(err);
      this.pending.clear();
    };
    this.worker.on('error', fail);
    this.worker.on('exit', (code) => fail(new Error(`the file writer thread exited (code ${code}) before answering`)));
  }

  get load(): number {
    return this.pending.size;
  }

  run(id: number, job: Job, waiting: Pending): void {
    try {
      this.worker.postMessage({ ...job, id });
    } catch (err) {
      waiting.reject(err as Error);
      return;
    }
    if (this.pending.size === 0) this.worker.ref();
    this.pending.set(id, waiting);
  }
}

/** The writer threads, started as the work needs them, and the jobs waiting for one. */
class FileWriterPool {
  private readonly threads: WriterThread[] = [];
  private readonly queue: { id: number; job: Job; waiting: Pending }[] = [];
  private nextId = 0;

  run(job: Job): Promise<WrittenFile | undefined> {
    return new Promise((resolve, reject) => {
      this.queue.push({ id: this.nextId++, job, waiting: { resolve, reject } });
      this.drain();
    });
  }

  /** Hands queued jobs to the least loaded thread with room, starting threads while all are busy. */
  private drain(): void {
    while (this.queue.length > 0) {
      let thread = this.threads.reduce<WriterThread | undefined>((best, t) => (best === undefined || t.load < best.load ? t : best), undefined);
      if ((thread === undefined || thread.load > 0) && this.threads.length < MAX_THREADS) {
        try {
          thread = this.start();
        } catch (err) {
          // No thread could be started (out of memory, say): the jobs that have none fail rather than wait forever.
          if (thread === undefined) {
            for (const { waiting } of this.queue.splice(0)) waiting.reject(err as Error);
            return;
          }
        }
      }
      if (thread === undefined || thread.load >= JOBS_PER_THREAD) return;
      const { id, job, waiting } = this.queue.shift()!;
      thread.run(id, job, waiting);
    }
  }

  private start(): WriterThread {
    const thread = new WriterThread(
      () => this.drain(),
      (dead) => {
        const i = this.threads.indexOf(dead);
        if (i !== -1) this.threads.splice(i, 1);
        this.drain();
      },
    );
    this.threads.push(thread);
    return thread;
  }
}

const pool = new FileWriterPool();

/** Creates, fills and syncs a temp file (removed again on failure); resolves with its identity. */
export async function stageFile(spec: StageSpec): Promise<WrittenFile> {
  return (await pool.run({ op: 'stage', ...spec })) as WrittenFile;
}

/** Renames a staged temp file over `target` (removing the temp file if that fails) and syncs the directory. */
export async function commitFile(temp: string, target: string): Promise<void> {
  await pool.run({ op: 'commit', temp, target });
}

/** {@link stageFile} then {@link commitFile} in one trip to the writer thread. */
export async function stageAndCommit(spec: StageSpec, target: string): Promise<WrittenFile> {
  return (await pool.run({ op: 'replace', ...spec, target })) as WrittenFile;
}

/** Removes a staged temp file that will not be committed; never fails. */
export async function discardFile(temp: string): Promise<void> {
  await pool.run({ op: 'discard', temp }).catch(() => undefined);
}
