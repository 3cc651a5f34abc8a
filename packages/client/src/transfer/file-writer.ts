/**
 * The thread that writes files for {@link replaceFile}. Replacing a file durably takes about ten file-system
 * calls (open, write, fstat, fsync, close, rename, and open, fsync, close of the directory); made through
 * `fs.promises`, each is a trip through libuv's thread pool and back, with its wake-ups, promises and
 * `FileHandle` bookkeeping on the main thread. For a watcher process that delivers many files at once that
 * overhead cost more than the writing. Here the whole sequence runs as plain synchronous calls on one worker
 * thread, which the main thread reaches with one message and hears back from with one: the event loop never
 * blocks, even on a slow or hung file system, and a delivery costs two wake-ups instead of twenty.
 *
 * The thread starts on the first write, never keeps the process alive while idle, and is started again if it
 * ever dies. Its code is plain CommonJS kept in this module as text (run with `eval`), so it works the same
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

/** The writer thread and the calls waiting on it. */
class FileWriterThread {
  private worker: Worker | undefined;
  private readonly pending = new Map<number, Pending>();
  private nextId = 0;

  run(job: Job): Promise<WrittenFile | undefined> {
    const worker = this.worker ?? this.start();
    return new Promise((resolve, reject) => {
      const id = this.nextId++;
      if (this.pending.size === 0) worker.ref();
      this.pending.set(id, { resolve, reject });
      worker.postMessage({ ...job, id });
    });
  }

  private start(): Worker {
    // No inherited flags: the thread needs no loader, and its code is plain JavaScript.
    const worker = new Worker(WORKER_SOURCE, { eval: true, execArgv: [], stdout: false, stderr: false });
    worker.unref();
    worker.on('message', (reply: Reply) => {
      const waiting = this.pending.get(reply.id);
      this.pending.delete(reply.id);
      if (this.pending.size === 0) worker.unref();
      if (reply.error !== undefined) waiting?.reject(rebuild(reply.error));
      else waiting?.resolve(reply.result);
    });
    const fail = (err: Error): void => {
      if (this.worker === worker) this.worker = undefined;
      for (const waiting of this.pending.values()) waiting.reject(err);
      this.pending.clear();
    };
    worker.on('error', fail);
    worker.on('exit', (code) => fail(new Error(`the file writer thread exited (code ${code}) before answering`)));
    this.worker = worker;
    return worker;
  }
}

const thread = new FileWriterThread();

/** Creates, fills and syncs a temp file (removed again on failure); resolves with its identity. */
export async function stageFile(spec: StageSpec): Promise<WrittenFile> {
  return (await thread.run({ op: 'stage', ...spec })) as WrittenFile;
}

/** Renames a staged temp file over `target` (removing the temp file if that fails) and syncs the directory. */
export async function commitFile(temp: string, target: string): Promise<void> {
  await thread.run({ op: 'commit', temp, target });
}

/** {@link stageFile} then {@link commitFile} in one trip to the writer thread. */
export async function stageAndCommit(spec: StageSpec, target: string): Promise<WrittenFile> {
  return (await thread.run({ op: 'replace', ...spec, target })) as WrittenFile;
}

/** Removes a staged temp file that will not be committed; never fails. */
export async function discardFile(temp: string): Promise<void> {
  await thread.run({ op: 'discard', temp }).catch(() => undefined);
}
