/**
 * Key paths joined the way `consul lock` joins them (Go's `path.Join`), so that `svc/`, `svc` and `svc//`
 * name the same lock and a mutex and a semaphore on one prefix collide on the same `.lock` key.
 *
 * @module
 */

import { InvalidArgumentError } from '../errors.js';

/** Go's `path.Clean`: collapses `//`, resolves `.` and `..`, drops a trailing `/`; `""` becomes `"."`. */
export function cleanPath(path: string): string {
  if (path === '') return '.';
  const rooted = path.startsWith('/');
  const out: string[] = [];
  for (const part of path.split('/')) {
    if (part === '' || part === '.') continue;
    if (part === '..') {
      if (out.length > 0 && out[out.length - 1] !== '..') out.pop();
      else if (!rooted) out.push('..');
      continue;
    }
    out.push(part);
  }
  const joined = (rooted ? '/' : '') + out.join('/');
  return joined === '' ? '.' : joined;
}

/** Go's `path.Join`: joins the non-empty elements with `/` and cleans the result (`""` if all are empty). */
export function joinPath(...elements: string[]): string {
  const parts = elements.filter((e) => e !== '');
  return parts.length === 0 ? '' : cleanPath(parts.join('/'));
}

/**
 * Normalises a lock key or semaphore prefix: path-joined like Go, without the leading `/` that Consul's
 * HTTP API cannot store (`consul lock` strips it too).
 *
 * @throws {@link InvalidArgumentError} `missing <what>` when nothing is left.
 */
export function normalizeKey(what: 'key' | 'prefix', ...elements: string[]): string {
  for (const e of elements) {
    if (typeof e !== 'string') throw new InvalidArgumentError(`${what} must be a string`);
  }
  const joined = joinPath(...elements).replace(/^\/+/, '');
  if (joined === '' || joined === '.') throw new InvalidArgumentError(`missing ${what}`);
  return joined;
}
