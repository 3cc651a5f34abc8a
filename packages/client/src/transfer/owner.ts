/**
 * Resolves a file owner given as `user`, `user:group`, `:group`, numeric ids, or `{ uid, gid }`.
 * Names are looked up in `/etc/passwd` and `/etc/group` first (no subprocess, works in minimal containers),
 * then through `getent` so NSS sources (LDAP, sssd) work too. An unknown name is an error — kvexpress
 * silently fell back to the current user. `user` (or `user:`) also sets that user's primary group, as
 * kvexpress did.
 *
 * @module
 */

import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { promisify } from 'node:util';

import { InvalidArgumentError } from '../errors.js';

const execFileAsync = promisify(execFile);

/** An owner by id; a missing id is left unchanged. */
export interface FileOwner {
  /** User id. Default: unchanged. */
  uid?: number;
  /** Group id. Default: unchanged. */
  gid?: number;
}

/** A database entry: `name:x:id:…` (passwd has the primary gid in the fourth field). */
interface DbEntry {
  id: number;
  primaryGid?: number;
}

async function lookupFile(path: string, name: string): Promise<DbEntry | undefined> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch {
    return undefined;
  }
  for (const line of text.split('\n')) {
    const fields = line.split(':');
    if (fields[0] === name && fields.length >= 3) return entryFrom(fields);
  }
  return undefined;
}

function entryFrom(fields: string[]): DbEntry | undefined {
  const id = Number(fields[2]);
  if (!Number.isSafeInteger(id) || id < 0) return undefined;
  const primaryGid = Number(fields[3]);
  return Number.isSafeInteger(primaryGid) && fields[3] !== '' ? { id, primaryGid } : { id };
}

async function lookupGetent(database: 'passwd' | 'group', name: string): Promise<DbEntry | undefined> {
  try {
    const { stdout } = await execFileAsync('getent', [database, name], { timeout: 5_000 });
    return entryFrom(stdout.trim().split(':'));
  } catch {
    return undefined;
  }
}

async function lookup(database: 'passwd' | 'group', name: string): Promise<DbEntry | undefined> {
  return (await lookupFile(`/etc/${database}`, name)) ?? lookupGetent(database, name);
}

/** Largest id `chown` takes as one: 2^32 − 1 is `(uid_t) -1`, "leave unchanged". */
const MAX_ID = 0xfffffffe;

/** An all-digit user or group is an id, never a name: one out of range is refused, not looked up (getent wraps it). */
function numericId(name: string, text: string): number | undefined {
  if (!/^\d+$/.test(text)) return undefined;
  const id = Number(text);
  if (!(Number.isSafeInteger(id) && id <= MAX_ID)) throw new InvalidArgumentError(`${name} ${text} is out of range (0 to ${MAX_ID})`);
  return id;
}

function checkId(name: string, id: number | undefined): void {
  if (id !== undefined && (!Number.isSafeInteger(id) || id < 0 || id > MAX_ID)) {
    throw new InvalidArgumentError(`${name} must be an integer id from 0 to ${MAX_ID}, got ${id}`);
  }
}

/** Resolves an owner spec to ids (see the module documentation for the accepted forms). */
export async function resolveOwner(spec: string | FileOwner): Promise<FileOwner> {
  if (typeof spec !== 'string') {
    checkId('uid', spec.uid);
    checkId('gid', spec.gid);
    return { ...spec };
  }
  const [userPart = '', groupPart, ...extra] = spec.split(':');
  if (extra.length > 0 || (userPart === '' && (groupPart === undefined || groupPart === ''))) {
    throw new InvalidArgumentError(`owner "${spec}" is not of the form user, user:group or :group`);
  }
  const owner: FileOwner = {};
  if (userPart !== '') {
    const uid = numericId('uid', userPart);
    if (uid !== undefined) {
      owner.uid = uid;
    } else {
      const entry = await lookup('passwd', userPart);
      if (entry === undefined) throw new InvalidArgumentError(`unknown user "${userPart}" in owner "${spec}"`);
      owner.uid = entry.id;
      if ((groupPart ?? '') === '' && entry.primaryGid !== undefined) owner.gid = entry.primaryGid;
    }
  }
  if (groupPart !== undefined && groupPart !== '') {
    const gid = numericId('gid', groupPart);
    if (gid !== undefined) {
      owner.gid = gid;
    } else {
      const entry = await lookup('group', groupPart);
      if (entry === undefined) throw new InvalidArgumentError(`unknown group "${groupPart}" in owner "${spec}"`);
      owner.gid = entry.id;
    }
  }
  return owner;
}
