/**
 * Helpers of the lock tests: temp dirs, process liveness, and the interval log children write.
 */

import { readFileSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { eventually } from '../support/eventually.js';

/** A fresh temp dir under the OS temp dir; remove it with {@link removeTempDir}. */
export async function makeTempDir(): Promise<string> {
  return mkdtemp(join(tmpdir(), 'kvx-lock-'));
}

export async function removeTempDir(dir: string | undefined): Promise<void> {
  // Children stopped a moment ago may still be appending to their logs: retry a non-empty directory.
  if (dir !== undefined) await rm(dir, { recursive: true, force: true, maxRetries: 10, retryDelay: 100 });
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * Whether a process with this pid can still run code: it exists and is not a zombie (in containers pid 1
 * may take seconds to reap orphans, and a zombie is as dead as a process gets).
 */
export function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const state = stat.slice(stat.lastIndexOf(')') + 2).split(' ')[0];
    return state !== 'Z' && state !== 'X';
  } catch {
    return false;
  }
}

/** Reads a file, or `undefined` when it does not exist yet. */
export async function readIfExists(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

/** Reads a pid written by a child script, once the file is complete. */
export async function readPid(path: string, timeoutMs = 10_000): Promise<number> {
  return eventually(`a pid in ${path}`, async () => {
    const text = await readIfExists(path);
    const pid = Number(text?.trim());
    return text?.endsWith('\n') === true && Number.isInteger(pid) && pid > 0 ? pid : undefined;
  }, timeoutMs);
}
