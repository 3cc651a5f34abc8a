/**
 * Reading `kvx in`'s input: a file, stdin (`-f -`) or a URL. Every failure here is bad input (exit 1) with a
 * message naming the file or URL; unlike kvexpress, a URL answering non-2xx is refused rather than published,
 * and a fetch has a timeout.
 *
 * @module
 */

import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import path from 'node:path';
import type { CommandContext } from './context.js';
import { UsageError } from './errors.js';
import type { Progress } from './progress.js';

/** Default timeout of a `--url` fetch, in ms. */
export const URL_TIMEOUT_MS = 30_000;

/** The content and a description of where it came from (recorded in the published meta). */
export interface Input {
  content: Buffer;
  source: string;
}

/**
 * The largest input `kvx in` takes: far beyond any configuration file, and a bound on the memory an endless
 * input (`-f -` fed by a stream that never ends) can take before it is refused.
 */
export const MAX_INPUT_BYTES = 1024 ** 3;

/** Thrown by {@link collect} when the input passes {@link MAX_INPUT_BYTES}. */
class InputTooLarge extends UsageError {}

async function collect(stream: AsyncIterable<Uint8Array | string>, total: number, progress: Progress): Promise<Buffer> {
  const parts: Buffer[] = [];
  let done = 0;
  for await (const chunk of stream) {
    const buf = typeof chunk === 'string' ? Buffer.from(chunk) : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    done += buf.length;
    if (done > MAX_INPUT_BYTES) throw new InputTooLarge(`the input is larger than ${MAX_INPUT_BYTES / 1024 ** 3} GiB; nothing was published`);
    parts.push(buf);
    progress.update(done, total);
  }
  return Buffer.concat(parts);
}

/** Reads a file (relative to `ctx.cwd`), or stdin for `-`. */
export async function readFileInput(ctx: CommandContext, file: string, progress: Progress): Promise<Input> {
  if (file === '-') return { content: await collect(ctx.stdin, 0, progress), source: 'stdin' };
  const full = path.resolve(ctx.cwd, file);
  let size: number;
  try {
    const st = await stat(full);
    if (st.isDirectory()) throw new UsageError(`${file} is a directory, not a file`);
    // A pipe is an input (`-f <(cmd)`); a device is not (/dev/zero never ends, /dev/tty waits for a person).
    if (st.isCharacterDevice() || st.isBlockDevice() || st.isSocket()) throw new UsageError(`${file} is a device or socket, not a file`);
    if (st.size > MAX_INPUT_BYTES) throw new UsageError(`${file} is larger than ${MAX_INPUT_BYTES / 1024 ** 3} GiB; nothing was published`);
    size = st.size;
  } catch (err) {
    if (err instanceof UsageError) throw err;
    throw new UsageError(`cannot read ${file}: ${describeFsError(err)}`, err);
  }
  try {
    return { content: await collect(createReadStream(full), size, progress), source: full };
  } catch (err) {
    if (err instanceof InputTooLarge) throw err;
    throw new UsageError(`cannot read ${file}: ${describeFsError(err)}`, err);
  }
}

/** Query parameters whose values are credentials: never printed, never recorded in the meta. */
const SECRET_PARAM = /token|passw(or)?d|secret|api[-_]?key|auth|signature|^sig$|credential/i;

/** Whether a query parameter of this name holds a credential. */
export function isSecretParam(name: string): boolean {
  return SECRET_PARAM.test(name);
}

/**
 * `url` as it may be shown and recorded: user info removed and the values of credential-like query
 * parameters replaced by `***`. Text that does not parse as a URL loses anything ending in `@` (user info) and
 * everything from its first `?` or `#`.
 */
export function redactUrl(url: string | URL): string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return String(url).replace(/[^\s/]*@/g, '').replace(/[?#].*$/s, '…');
  }
  const query = [...parsed.searchParams]
    .map(([name, value]) => `${encodeURIComponent(name)}=${isSecretParam(name) ? '***' : encodeURIComponent(value)}`)
    .join('&');
  return `${parsed.protocol}//${parsed.host}${parsed.pathname}${query === '' ? '' : `?${query}`}`;
}

/** Credentials in a URL's user info, as the `Authorization: Basic` header `fetch` will not build itself. */
function basicAuth(parsed: URL): string | undefined {
  if (parsed.username === '' && parsed.password === '') return undefined;
  const user = decodeURIComponent(parsed.username);
  const password = decodeURIComponent(parsed.password);
  return `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
}

/**
 * Fetches a URL; non-2xx, network errors and timeouts are usage errors. Credentials in the URL
 * (`http://user:pass@host/…`) are sent as an `Authorization: Basic` header; every message and the recorded
 * source use {@link redactUrl}.
 */
export async function readUrlInput(url: string, timeoutMs: number, progress: Progress): Promise<Input> {
  const shown = redactUrl(url);
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new UsageError(`--url: '${shown}' is not a valid URL`);
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
    throw new UsageError(`--url: only http and https URLs are supported, got ${parsed.protocol}`);
  }
  const authorization = basicAuth(parsed);
  parsed.username = '';
  parsed.password = '';
  let response: Response;
  const signal = AbortSignal.timeout(timeoutMs);
  try {
    response = await fetch(parsed, {
      signal,
      redirect: 'follow',
      ...(authorization === undefined ? {} : { headers: { authorization } }),
    });
  } catch (err) {
    const reason = signal.aborted ? `no answer within ${timeoutMs} ms` : describeFetchError(err);
    throw new UsageError(`cannot fetch ${shown}: ${reason}`, err);
  }
  if (!response.ok) {
    await response.body?.cancel();
    throw new UsageError(`cannot fetch ${shown}: HTTP ${response.status} ${response.statusText}`.trim());
  }
  const total = Number(response.headers.get('content-length') ?? 0);
  try {
    const body = response.body === null ? Buffer.alloc(0) : await collect(response.body, Number.isFinite(total) ? total : 0, progress);
    return { content: body, source: shown };
  } catch (err) {
    if (err instanceof InputTooLarge) throw err;
    const reason = signal.aborted ? `no complete answer within ${timeoutMs} ms` : describeFetchError(err);
    throw new UsageError(`cannot fetch ${shown}: ${reason}`, err);
  }
}

function describeFsError(err: unknown): string {
  const code = (err as NodeJS.ErrnoException).code;
  if (code === 'ENOENT') return 'no such file';
  if (code === 'EACCES' || code === 'EPERM') return 'permission denied';
  if (code === 'EISDIR') return 'is a directory';
  return code ?? (err as Error).message;
}

function describeFetchError(err: unknown): string {
  const cause = (err as { cause?: { code?: string; message?: string } }).cause;
  return cause?.code ?? cause?.message ?? (err as Error).message;
}
